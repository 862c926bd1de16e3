//! The stored runs of `ipbn reproduce`: shards then a merge give the same files as one
//! process; a restarted reproduce trains no finished run (also after a real SIGKILL); a merge
//! with a run missing names the shard to rerun.

use ipbn_reports::cmd_reproduce::{reproduce, ReproduceArgs};
use ipbn_reports::error::CliError;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// Two network figures that share their runs, one with other runs, and a single-unit figure
/// (drawn by the merge).
const IDS: [&str; 4] = ["bn-mnist", "homogenisation", "batch-size", "equivalence"];

fn args(out: &Path) -> ReproduceArgs {
    ReproduceArgs {
        ids: IDS.iter().map(|s| s.to_string()).collect(),
        quick: true,
        out: out.to_path_buf(),
        ..ReproduceArgs::default()
    }
}

/// Every file directly in `dir/sub` (name → bytes).
fn files(dir: &Path, sub: &str) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir.join(sub))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn mtimes(dir: &Path) -> BTreeMap<String, SystemTime> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect()
}

#[test]
fn shards_then_merge_give_the_files_of_one_process_and_restarts_train_nothing_finished() {
    let one = tempfile::tempdir().unwrap();
    let single = reproduce(&args(one.path())).unwrap();
    let trained: usize = single.iter().map(|o| o.runs.computed).sum();
    // homogenisation reads bn-mnist's runs; the single-unit figure has none.
    let by_id = |id: &str| single.iter().find(|o| o.id == id).unwrap().runs;
    assert_eq!(by_id("homogenisation").computed, 0);
    assert_eq!(by_id("homogenisation").loaded, by_id("bn-mnist").computed);
    assert_eq!(
        by_id("equivalence").computed + by_id("equivalence").loaded,
        0
    );
    let stored = files(one.path(), "runs");
    assert_eq!(stored.len(), trained, "each distinct run stored once");
    assert!(trained > 20, "{trained} runs");

    // Two shards into one folder, then the merge.
    let split = tempfile::tempdir().unwrap();
    for shard in ["1/2", "2/2"] {
        let out = reproduce(&ReproduceArgs {
            shard: Some(shard.into()),
            ..args(split.path())
        })
        .unwrap();
        assert!(out.is_empty(), "a shard draws nothing");
        assert!(!split.path().join("bn-mnist.json").exists());
    }
    let shard_runs = files(split.path(), "runs");
    assert_eq!(
        shard_runs, stored,
        "the shards store the same runs, byte for byte"
    );
    let merged = reproduce(&ReproduceArgs {
        merge_only: true,
        ..args(split.path())
    })
    .unwrap();
    assert!(
        merged.iter().all(|o| o.runs.computed == 0),
        "the merge trains nothing"
    );
    for id in IDS {
        for ext in ["json", "csv"] {
            let name = format!("{id}.{ext}");
            let a = std::fs::read(one.path().join(&name));
            let b = std::fs::read(split.path().join(&name));
            assert_eq!(
                a.is_ok(),
                b.is_ok(),
                "{name} written by one but not the other"
            );
            if let (Ok(a), Ok(b)) = (a, b) {
                assert!(
                    a == b,
                    "{name} differs between one process and shards + merge"
                );
            }
        }
    }

    // A merge with a run missing names how many and the shard to rerun.
    let victim = stored.keys().next().unwrap().clone();
    std::fs::remove_file(split.path().join("runs").join(&victim)).unwrap();
    match reproduce(&ReproduceArgs {
        merge_only: true,
        ..args(split.path())
    }) {
        Err(CliError::Run(m)) => {
            assert!(
                m.contains(&format!("1 of {trained} runs are not stored")),
                "{m}"
            );
            assert!(m.contains("(1 missing)") && m.contains("/2"), "{m}");
        }
        other => panic!("expected a missing run, got {other:?}"),
    }

    // Restarted after losing a figure's file and a run: only that run is trained again and
    // every file comes back byte for byte; the other stored runs are not rewritten.
    let before = mtimes(&one.path().join("runs"));
    std::fs::remove_file(one.path().join("bn-mnist.json")).unwrap();
    let lost = stored
        .keys()
        .find(|k| k.starts_with("plain-"))
        .unwrap()
        .clone();
    std::fs::remove_file(one.path().join("runs").join(&lost)).unwrap();
    let again = reproduce(&args(one.path())).unwrap();
    let computed: usize = again.iter().map(|o| o.runs.computed).sum();
    assert_eq!(computed, 1, "only the deleted run is trained again");
    assert_eq!(files(one.path(), "runs"), stored);
    let after = mtimes(&one.path().join("runs"));
    for (name, t) in &before {
        if *name != lost {
            assert_eq!(after[name], *t, "{name} was rewritten");
        }
    }
    for id in IDS {
        let name = format!("{id}.json");
        assert!(
            std::fs::read(one.path().join(&name)).unwrap()
                == std::fs::read(split.path().join(&name)).unwrap(),
            "{name} differs after the restart"
        );
    }
}

/// `runs: X trained, Y stored` of the final line of `ipbn reproduce`.
fn trained_and_stored(stdout: &str) -> (usize, usize) {
    let line = stdout.lines().find(|l| l.contains("runs: ")).expect(stdout);
    let tail = line.split("runs: ").nth(1).unwrap();
    let mut nums = tail
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().unwrap());
    (nums.next().unwrap(), nums.next().unwrap())
}

#[test]
fn a_killed_reproduce_restarted_trains_no_finished_run() {
    let exe = env!("CARGO_BIN_EXE_ipbn");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cmd = |out: &Path| {
        let mut c = Command::new(exe);
        c.args(["reproduce", "bn-mnist", "--quick", "--jobs", "1", "--out"])
            .arg(out)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        c
    };
    let mut child = cmd(&out).spawn().unwrap();
    let runs = out.join("runs");
    let count = || {
        std::fs::read_dir(&runs).map_or(0, |d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
    };
    let start = Instant::now();
    while count() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no run stored in 2 min"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept = files(&out, "runs")
        .into_iter()
        .filter(|(k, _)| !k.starts_with('.'))
        .collect::<BTreeMap<_, _>>();
    let kept_times = mtimes(&runs);
    assert!(!kept.is_empty());

    let restarted = cmd(&out).output().unwrap();
    assert!(restarted.status.success());
    let (trained, stored) = trained_and_stored(&String::from_utf8_lossy(&restarted.stdout));
    assert_eq!(stored, kept.len(), "every finished run is read back");
    let all = files(&out, "runs");
    assert_eq!(
        trained + kept.len(),
        all.len(),
        "only the others are trained"
    );
    assert!(
        !all.keys().any(|k| k.starts_with('.')),
        "no temporary file left"
    );
    for (name, bytes) in &kept {
        assert_eq!(&all[name], bytes);
        assert_eq!(
            mtimes(&runs)[name],
            kept_times[name],
            "{name} was rewritten"
        );
    }
    // The figure equals one drawn without interruption.
    let clean = dir.path().join("clean");
    let ok = cmd(&clean).output().unwrap();
    assert!(ok.status.success());
    assert!(
        std::fs::read(out.join("bn-mnist.json")).unwrap()
            == std::fs::read(clean.join("bn-mnist.json")).unwrap()
    );
    assert_eq!(files(&out, "runs"), files(&clean, "runs"));
}

#[test]
fn a_figure_in_two_stages_sharded_one_after_another_merges_to_the_single_process_files() {
    // vanishing-gradient confirms its best grid cells with runs that depend on the grid's
    // results: shard 2 completes the grid, then trains the confirmation runs of both shards.
    let a = |out: &Path| ReproduceArgs {
        ids: vec!["vanishing-gradient".into()],
        quick: true,
        out: out.to_path_buf(),
        ..ReproduceArgs::default()
    };
    let one = tempfile::tempdir().unwrap();
    let single = reproduce(&a(one.path())).unwrap();
    let trained: usize = single.iter().map(|o| o.runs.computed).sum();
    let split = tempfile::tempdir().unwrap();
    for shard in ["1/2", "2/2"] {
        reproduce(&ReproduceArgs {
            shard: Some(shard.into()),
            ..a(split.path())
        })
        .unwrap();
    }
    let stored = files(split.path(), "runs");
    assert_eq!(stored.len(), trained, "both stages stored after the shards");
    assert_eq!(stored, files(one.path(), "runs"));
    let merged = reproduce(&ReproduceArgs {
        merge_only: true,
        ..a(split.path())
    })
    .unwrap();
    assert_eq!(merged[0].runs.computed, 0, "the merge trains nothing");
    for ext in ["json", "csv"] {
        let name = format!("vanishing-gradient.{ext}");
        assert!(
            std::fs::read(one.path().join(&name)).unwrap()
                == std::fs::read(split.path().join(&name)).unwrap(),
            "{name} differs between one process and shards + merge"
        );
    }
    // The confirmation (stage 2) has runs of its own: fresh seeds, longer.
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.path().join("vanishing-gradient.json")).unwrap())
            .unwrap();
    let conf = &v["confirmation"];
    assert!(conf["conditions"].as_array().unwrap().len() >= 3, "{conf}");
    let grid_seeds = v["run_seeds"].as_array().unwrap();
    for s in conf["seeds"].as_array().unwrap() {
        assert!(!grid_seeds.contains(s), "confirmation seed {s} reused");
    }
}
