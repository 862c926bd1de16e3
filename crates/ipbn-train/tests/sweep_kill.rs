//! Kill-safety of sweeps at the library level: every state of an output folder that a process
//! killed at any moment can leave (any subset of finished run files, a stale or missing
//! `sweep.json`/`summary.json`, temporary files of an interrupted atomic write, a run file cut
//! short by a non-atomic copy) resumes to byte-identical files, with every finished run kept
//! and every other run done exactly once. The real-process tests (SIGKILL, SIGINT) are in
//! `crates/ipbn-reports/tests/sweep_cli_kill.rs`.

use ipbn_train::data::Split;
use ipbn_train::sweep::{self, Shard, SweepConfig, SweepOptions};
use ndarray_rand::rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;

fn sweep_config() -> SweepConfig {
    SweepConfig::from_json(
        r#"{
        "name": "kill",
        "seed": 4,
        "base": {
            "hidden": [10, 8], "batch": 8, "steps": 24, "eval_every": 8, "probe_size": 20,
            "init": "gauss:0.3", "ip_lr": 0.01,
            "data": {"synthetic": {"train": 120, "test": 40, "features": 6, "classes": 3,
                                   "separation": 3.0, "seed": 5}}
        },
        "grid": {
            "conditions": ["plain", "bn", "ip:triesch"],
            "lrs": [0.1, 0.4],
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

fn run_all(s: &SweepConfig, data: &Split, out: &Path) -> sweep::SweepOutcome {
    sweep::run_sweep_with_data(s, data, out, SweepOptions::default(), &|_| {}).unwrap()
}

/// The names a killed `write_json_atomic` leaves behind: `.<name>.<pid>.<random>.tmp`, the
/// random part of `ipbn_train::io::TEMP_RAND_LEN` letters and digits (here `n`, zero-padded).
fn temp_name(final_name: &str, pid: u32, n: u64) -> String {
    format!(
        ".{final_name}.{pid}.{n:0width$}.tmp",
        width = ipbn_train::io::TEMP_RAND_LEN
    )
}

#[test]
fn every_state_a_kill_can_leave_resumes_to_identical_files() {
    let s = sweep_config();
    let data = s.base.data.load().unwrap();
    let reference = tempfile::tempdir().unwrap();
    let full = run_all(&s, &data, reference.path());
    assert_eq!((full.ran, full.summary.missing), (12, 0));
    let want = files(reference.path());
    assert_eq!(want.len(), 12 + 2, "{:?}", want.keys().collect::<Vec<_>>());
    let run_files: Vec<(String, Vec<u8>)> = want
        .iter()
        .filter(|(k, _)| k.starts_with("runs/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    let mut rng = ChaCha8Rng::seed_from_u64(20);
    // 0 finished runs, 11 of 12, and random subsets in between.
    let mut sizes = vec![0usize, 11];
    sizes.extend((0..6).map(|_| rng.random_range(1..11)));
    for (case, &keep) in sizes.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::create_dir_all(out.join("runs")).unwrap();
        // A random subset of `keep` finished runs.
        let mut order: Vec<usize> = (0..run_files.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let (kept, rest) = order.split_at(keep);
        for &i in kept {
            std::fs::write(out.join(&run_files[i].0), &run_files[i].1).unwrap();
        }
        // The state of the folder's other files at the moment of the kill.
        if rng.random_bool(0.5) {
            std::fs::write(out.join("sweep.json"), &want["sweep.json"]).unwrap();
        }
        if rng.random_bool(0.5) {
            // A summary from an earlier pass, listing fewer runs than are on disk now.
            sweep::merge(&s, out).unwrap();
        }
        // Killed in the middle of an atomic write: a temporary file, cut short.
        let (victim_name, victim_bytes) = match rest.first() {
            Some(&i) => (&run_files[i].0, &run_files[i].1),
            None => (&run_files[0].0, &run_files[0].1),
        };
        let cut = rng.random_range(0..victim_bytes.len());
        let final_name = Path::new(victim_name)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        std::fs::write(
            out.join("runs")
                .join(temp_name(final_name, 4_000_000 + case as u32, 0)),
            &victim_bytes[..cut],
        )
        .unwrap();
        std::fs::write(
            out.join(temp_name("summary.json", 4_000_000 + case as u32, 1)),
            b"{\"name\": \"kill\", \"se",
        )
        .unwrap();
        // A run file cut short at its final name (e.g. copied by a tool that is not atomic):
        // it does not parse, so it must be redone.
        let mut truncated = 0;
        if let Some(&i) = rest.get(1) {
            let bytes = &run_files[i].1;
            let cut = rng.random_range(1..bytes.len());
            std::fs::write(out.join(&run_files[i].0), &bytes[..cut]).unwrap();
            truncated = 1;
        }

        let before = files(out);
        let resumed = run_all(&s, &data, out);
        assert!(
            !resumed.cancelled && resumed.failed.is_empty(),
            "case {case}"
        );
        assert_eq!(
            (resumed.already_done, resumed.ran),
            (keep, 12 - keep),
            "case {case}: the {keep} finished runs are kept, the others ({truncated} cut short) run once"
        );
        let got = files(out);
        let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
        assert!(
            extra.is_empty(),
            "case {case}: files left behind after the sweep completed: {extra:?}"
        );
        for (k, v) in &want {
            assert!(
                got.get(k) == Some(v),
                "case {case}: {k} differs from the uninterrupted sweep"
            );
        }
        // The finished runs were not rewritten (same bytes as before the restart).
        for &i in kept {
            assert_eq!(before[&run_files[i].0], got[&run_files[i].0], "case {case}");
        }
    }
}

#[test]
fn a_shard_leaves_other_writers_temporaries_alone_and_the_merge_removes_stale_ones() {
    // Shards of a job array write into one folder at the same time, so a shard must not
    // delete a temporary file that may belong to another shard's write in progress.
    let s = sweep_config();
    let data = s.base.data.load().unwrap();
    let reference = tempfile::tempdir().unwrap();
    run_all(&s, &data, reference.path());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let foreign = out
        .join("runs")
        .join(temp_name("plain-x.json", 4_100_000, 7));
    std::fs::create_dir_all(out.join("runs")).unwrap();
    std::fs::write(&foreign, b"{\"config\"").unwrap();
    // Files that only look alike are not the sweep's temporaries and stay.
    let unrelated = [
        "notes.tmp",
        ".plain.json.tmp",
        ".plain.json.12.x.tmp",
        ".a.txt.1.2.tmp",
    ];
    for name in unrelated {
        std::fs::write(out.join(name), b"keep").unwrap();
    }
    for i in 1..=3 {
        let shard: Shard = format!("{i}/3").parse().unwrap();
        let o = sweep::run_sweep_with_data(
            &s,
            &data,
            out,
            SweepOptions {
                shard: Some(shard),
                cancel: None,
            },
            &|_| {},
        )
        .unwrap();
        assert_eq!(o.ran, 4, "shard {shard}");
        assert!(
            foreign.exists(),
            "shard {shard} removed another writer's file"
        );
    }
    // After every shard has ended, the merge owns the folder: it removes the stale file and
    // the result equals the unsharded sweep byte for byte.
    let removed = sweep::remove_stale_temporaries(out).unwrap();
    assert_eq!(removed, 1);
    assert!(!foreign.exists());
    let merged = sweep::merge(&s, out).unwrap();
    assert_eq!((merged.present, merged.missing), (12, 0));
    for name in unrelated {
        assert_eq!(std::fs::read(out.join(name)).unwrap(), b"keep", "{name}");
        std::fs::remove_file(out.join(name)).unwrap();
    }
    assert_eq!(files(out), files(reference.path()));
}
