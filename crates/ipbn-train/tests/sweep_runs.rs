//! Sweeps: determinism across thread counts, resuming after cancellation, redoing corrupt
//! files, sharding and merging.

use ipbn_train::sweep::{self, Shard, SweepConfig, SweepEvent, SweepOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn sweep_config() -> SweepConfig {
    SweepConfig::from_json(
        r#"{
        "name": "test",
        "seed": 9,
        "base": {
            "hidden": [12, 10], "batch": 8, "steps": 30, "eval_every": 10, "probe_size": 30,
            "init": "gauss:0.3", "ip_lr": 0.01,
            "data": {"synthetic": {"train": 200, "test": 60, "features": 10, "classes": 3,
                                   "separation": 3.0, "seed": 1}}
        },
        "grid": {
            "conditions": ["plain", "bn", "ip:triesch"],
            "lrs": [0.1, 0.5],
            "seeds": [0, 1]
        }
    }"#,
    )
    .unwrap()
}

/// Every file under `dir` (relative path → bytes), hidden files included.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    ipbn_train::io::read_tree(dir).unwrap()
}

fn pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap()
}

#[test]
fn expansion_is_ordered_deduplicated_and_seeded_per_replicate() {
    let s = sweep_config();
    let runs = s.expand();
    assert_eq!(runs.len(), 12);
    assert!(runs
        .iter()
        .enumerate()
        .all(|(i, r)| r.index == i && r.invalid.is_none()));
    // Seeds vary fastest; runs that differ only in condition or lr share the seed.
    assert_eq!(runs[0].config.seed, runs[2].config.seed);
    assert_ne!(runs[0].config.seed, runs[1].config.seed);
    assert_eq!(runs[0].config.seed, ipbn_math::derive_seed(9, 0));
    assert_eq!(runs[0].config.condition.to_string(), "plain");
    assert_eq!(runs[4].config.condition.to_string(), "bn");
    let ids: std::collections::HashSet<_> = runs.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 12);
    assert!(
        runs[0].id.starts_with("plain-lr0.1-b8-r0-"),
        "{}",
        runs[0].id
    );
    // ip_lrs only multiply IP conditions; bn with batch 1 is marked invalid, not an error.
    let mut s2 = s.clone();
    s2.grid.ip_lrs = vec![0.01, 0.1];
    s2.grid.batches = vec![1, 8];
    let runs2 = s2.expand();
    assert_eq!(runs2.len(), 2 * 2 * 2 * (1 + 1 + 2));
    let invalid: Vec<_> = runs2.iter().filter(|r| r.invalid.is_some()).collect();
    assert_eq!(invalid.len(), 4);
    assert!(invalid
        .iter()
        .all(|r| r.config.batch == 1 && r.config.condition.is_bn()));
    // Equal sweeps give equal ids; ids survive a grown grid.
    let mut s3 = s.clone();
    s3.grid.lrs.push(1.0);
    let ids3: std::collections::HashSet<_> = s3.expand().into_iter().map(|r| r.id).collect();
    assert!(ids.is_subset(&ids3));
}

#[test]
fn one_and_two_threads_give_byte_identical_files() {
    let s = sweep_config();
    let data = s.base.data.load().unwrap();
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let o1 = pool(1)
        .install(|| {
            sweep::run_sweep_with_data(&s, &data, d1.path(), SweepOptions::default(), &|_| {})
        })
        .unwrap();
    let o2 = pool(2)
        .install(|| {
            sweep::run_sweep_with_data(&s, &data, d2.path(), SweepOptions::default(), &|_| {})
        })
        .unwrap();
    assert_eq!((o1.ran, o2.ran), (12, 12));
    assert_eq!(o1.summary.present, 12);
    assert_eq!(o1.summary.missing, 0);
    let (f1, f2) = (files(d1.path()), files(d2.path()));
    assert_eq!(f1.len(), 12 + 2, "{:?}", f1.keys().collect::<Vec<_>>());
    assert_eq!(f1.keys().collect::<Vec<_>>(), f2.keys().collect::<Vec<_>>());
    for (k, v) in &f1 {
        assert!(v == &f2[k], "{k} differs between 1 and 2 threads");
    }
    // The summary is sorted by id.
    let ids: Vec<_> = o1.summary.runs.iter().map(|r| r.id.clone()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
}

#[test]
fn cancelled_sweep_resumes_with_every_run_exactly_once() {
    let s = sweep_config();
    let data = s.base.data.load().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cancel = AtomicBool::new(false);
    let finished = AtomicUsize::new(0);
    let stop_after = |ev: &SweepEvent<'_>| {
        if let SweepEvent::Finished { .. } = ev {
            if finished.fetch_add(1, Ordering::SeqCst) + 1 >= 3 {
                cancel.store(true, Ordering::SeqCst);
            }
        }
    };
    let opts = SweepOptions {
        shard: None,
        cancel: Some(&cancel),
    };
    let first = pool(2)
        .install(|| sweep::run_sweep_with_data(&s, &data, dir.path(), opts, &stop_after))
        .unwrap();
    assert!(first.cancelled);
    assert!(first.ran >= 3 && first.ran < 12, "ran {}", first.ran);
    assert_eq!(first.summary.present, first.ran);
    assert_eq!(first.summary.missing, 12 - first.ran);
    let on_disk = std::fs::read_dir(dir.path().join("runs")).unwrap().count();
    assert_eq!(on_disk, first.ran, "only finished runs are on disk");

    // Corrupt one finished result: it must be redone.
    let victim = &first.summary.runs[0].id;
    std::fs::write(sweep::run_path(dir.path(), victim), b"{\"config\": trunc").unwrap();

    let second = pool(2)
        .install(|| {
            sweep::run_sweep_with_data(&s, &data, dir.path(), SweepOptions::default(), &|_| {})
        })
        .unwrap();
    assert!(!second.cancelled);
    assert_eq!(second.already_done, first.ran - 1);
    assert_eq!(second.ran, 12 - first.ran + 1);
    assert_eq!(second.summary.present, 12);
    assert_eq!(second.summary.missing, 0);
    let names: Vec<String> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 12, "{names:?}");
    assert!(names
        .iter()
        .all(|n| n.ends_with(".json") && !n.starts_with('.')));
    // A third run does nothing.
    let third = sweep::run_sweep_with_data(&s, &data, dir.path(), SweepOptions::default(), &|_| {})
        .unwrap();
    assert_eq!((third.ran, third.already_done), (0, 12));
}

#[test]
fn shards_merged_equal_the_unsharded_sweep() {
    let s = sweep_config();
    let data = s.base.data.load().unwrap();
    let whole = tempfile::tempdir().unwrap();
    let parts = tempfile::tempdir().unwrap();
    sweep::run_sweep_with_data(&s, &data, whole.path(), SweepOptions::default(), &|_| {}).unwrap();
    let mut counts = Vec::new();
    for i in 1..=2 {
        let shard: Shard = format!("{i}/2").parse().unwrap();
        let o = sweep::run_sweep_with_data(
            &s,
            &data,
            parts.path(),
            SweepOptions {
                shard: Some(shard),
                cancel: None,
            },
            &|_| {},
        )
        .unwrap();
        counts.push(o.ran);
        if i == 1 {
            assert_eq!(
                o.summary.missing, 6,
                "after shard 1 of 2 half the runs are missing"
            );
        }
    }
    assert_eq!(counts, [6, 6]);
    let merged = sweep::merge(&s, parts.path()).unwrap();
    assert_eq!(merged.missing, 0);
    assert_eq!(
        std::fs::read(whole.path().join("summary.json")).unwrap(),
        std::fs::read(parts.path().join("summary.json")).unwrap()
    );
    assert_eq!(files(whole.path()), files(parts.path()));
    assert!(
        "0/2".parse::<Shard>().is_err()
            && "3/2".parse::<Shard>().is_err()
            && "x".parse::<Shard>().is_err()
    );
}

#[test]
fn the_example_sweep_parses_and_expands() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sweep-example.json");
    let s = SweepConfig::from_file(&path).unwrap();
    let runs = s.expand();
    assert_eq!(runs.len(), 4 * 2 * 3);
    assert!(runs.iter().all(|r| r.invalid.is_none()));
}

#[test]
fn the_executor_reads_back_what_it_stored_and_computes_only_what_is_asked() {
    use sweep::{execute, ExecOptions, SweepRun};
    let s = sweep_config();
    let data = s.base.data.load().unwrap();
    let runs: Vec<SweepRun> = s.expand().into_iter().take(4).collect();
    let dir = tempfile::tempdir().unwrap();
    let opts = |compute, shard| ExecOptions {
        shard,
        cancel: None,
        compute,
        keep_results: true,
    };
    // Reading only: nothing on disk, so everything is missing and nothing is trained.
    let none = execute(&runs, &data, dir.path(), opts(false, None), &|_| {}).unwrap();
    assert_eq!((none.ran, none.loaded, none.missing.len()), (0, 0, 4));
    assert!(none.results.iter().all(Option::is_none));
    // One shard of two trains its two runs only.
    let half = Some(Shard { index: 2, count: 2 });
    let first = execute(&runs, &data, dir.path(), opts(true, half), &|_| {}).unwrap();
    assert_eq!((first.ran, first.loaded), (2, 0));
    assert_eq!(
        first
            .results
            .iter()
            .map(Option::is_some)
            .collect::<Vec<_>>(),
        [false, true, false, true]
    );
    // Then everything: the stored two are read back identically, the other two trained.
    let all = execute(&runs, &data, dir.path(), opts(true, None), &|_| {}).unwrap();
    assert_eq!((all.ran, all.loaded, all.missing.len()), (2, 2, 0));
    for i in [1, 3] {
        assert_eq!(
            serde_json::to_string(all.results[i].as_ref().unwrap()).unwrap(),
            serde_json::to_string(first.results[i].as_ref().unwrap()).unwrap()
        );
    }
    // Another data set gives other ids and does not take these files for its runs.
    let mut other_cfg = s.base.data.clone();
    if let ipbn_train::DataSource::Synthetic(syn) = &mut other_cfg {
        syn.seed += 1;
    }
    let other = other_cfg.load().unwrap();
    assert_ne!(
        sweep::run_id_on(&runs[0].config, &data),
        sweep::run_id_on(&runs[0].config, &other)
    );
    let elsewhere = execute(&runs, &other, dir.path(), opts(false, None), &|_| {}).unwrap();
    assert_eq!(elsewhere.loaded, 0);
    // Longer runs cost more.
    let mut long = runs[0].config.clone();
    long.steps *= 2;
    assert!(sweep::run_cost(&long, &data) > sweep::run_cost(&runs[0].config, &data));
}
