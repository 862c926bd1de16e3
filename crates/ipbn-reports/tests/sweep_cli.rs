//! `ipbn sweep` as a real process: killed with SIGKILL at random-ish moments and restarted,
//! interrupted with SIGINT (once: the runs in progress finish; twice: it quits at once),
//! sharded over concurrent processes and merged, and with diverging runs. Every case must end
//! with the same bytes as an uninterrupted, unsharded sweep and with no temporary file left.

use ipbn_train::result::RunResult;
use ipbn_train::sweep::SweepSummary;
use ndarray_rand::rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const IPBN: &str = env!("CARGO_BIN_EXE_ipbn");
const SIGINT: i32 = 2;

extern "C" {
    /// The C library's `kill(2)` (linked by the standard library on Unix).
    fn kill(pid: i32, sig: i32) -> i32;
}

fn send_sigint(child: &Child) {
    let pid = i32::try_from(child.id()).expect("pid fits in i32");
    // SAFETY: `kill` only sends a signal to our own child process.
    let rc = unsafe { kill(pid, SIGINT) };
    assert_eq!(rc, 0, "kill(SIGINT) failed");
}

/// Twelve runs of ~0.1–0.2 s each (in the test profile): long enough to kill a sweep between
/// and during runs, short enough for a fast test.
const SLOW: &str = r#"{
    "name": "cli-kill",
    "seed": 5,
    "base": {
        "hidden": [32, 32], "batch": 16, "steps": 2000, "eval_every": 500, "probe_size": 50,
        "init": "gauss:0.3", "ip_lr": 0.01,
        "data": {"synthetic": {"train": 500, "test": 100, "features": 16, "classes": 4,
                               "separation": 3.0, "seed": 2}}
    },
    "grid": {"conditions": ["plain", "bn", "ip:triesch"], "lrs": [0.1, 0.5], "seeds": [0, 1]}
}"#;
const SLOW_RUNS: usize = 12;

/// The same grid with tiny runs, for sharding.
const FAST: &str = r#"{
    "name": "cli-shards",
    "seed": 9,
    "base": {
        "hidden": [12, 10], "batch": 8, "steps": 40, "eval_every": 10, "probe_size": 30,
        "init": "gauss:0.3", "ip_lr": 0.01,
        "data": {"synthetic": {"train": 200, "test": 60, "features": 10, "classes": 3,
                               "separation": 3.0, "seed": 1}}
    },
    "grid": {"conditions": ["plain", "bn", "ip:triesch"], "lrs": [0.1, 0.5], "seeds": [0, 1]}
}"#;

/// Writes `text` as `dir/sweep-config.json` and returns its path.
fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("sweep-config.json");
    std::fs::write(&p, text).unwrap();
    p
}

fn sweep_cmd(config: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(IPBN);
    c.arg("sweep")
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run_ok(mut cmd: Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every file under `dir` (relative path → bytes), hidden files included.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Names of the finished run files (`runs/<id>.json`, no temporaries).
fn run_names(out: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(out.join("runs")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

/// Asserts that `got` holds exactly the files of `want`, byte for byte.
fn assert_same_files(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>) {
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "left behind: {extra:?}; missing: {missing:?}"
    );
    for (k, v) in want {
        assert!(
            &got[k] == v,
            "{k} differs from the uninterrupted sweep's file"
        );
    }
}

/// The files of an uninterrupted, unsharded sweep of `config_text` (computed once per text).
fn reference(config_text: &'static str) -> &'static BTreeMap<String, Vec<u8>> {
    static SLOW_REF: OnceLock<BTreeMap<String, Vec<u8>>> = OnceLock::new();
    static FAST_REF: OnceLock<BTreeMap<String, Vec<u8>>> = OnceLock::new();
    let cell = if config_text == SLOW {
        &SLOW_REF
    } else {
        &FAST_REF
    };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), config_text);
        let out = dir.path().join("out");
        run_ok(sweep_cmd(&config, &out, &["--threads", "2"]));
        files(&out)
    })
}

/// Polls every 2 ms until `cond` holds or the child exits; returns whether it exited.
fn wait_until(child: &mut Child, deadline: Duration, cond: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        if cond() {
            return false;
        }
        assert!(start.elapsed() < deadline, "the sweep made no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Parses `ran R, already done D` from the sweep's report line.
fn ran_and_done(stdout: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(stdout);
    let num = |key: &str| -> usize {
        let at = text
            .find(key)
            .unwrap_or_else(|| panic!("no `{key}` in {text}"))
            + key.len();
        text[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (num("ran "), num("already done "))
}

#[test]
fn sigkill_at_random_moments_then_restart_gives_identical_files() {
    let want = reference(SLOW);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), SLOW);
    let out = dir.path().join("out");
    let mut rng = ipbn_math::rng(31);
    // (inode, mtime) of every finished run file seen after a kill: it must never be rewritten.
    let mut seen: BTreeMap<String, (u64, i64, i64)> = BTreeMap::new();
    let mut partial_kills = 0;
    for kill_no in 0..4 {
        let present = run_names(&out).len();
        let remaining = SLOW_RUNS - present;
        assert!(
            remaining >= 3,
            "kill {kill_no}: too few runs left to kill in"
        );
        // Kill after 0, 1 or 2 more runs are written (never the last two), plus 0–60 ms, so
        // the kill lands at start-up, between runs, inside a run or inside a write.
        let more = rng.random_range(0..=2.min(remaining - 3));
        let delay = Duration::from_millis(rng.random_range(0..=60));
        let mut child = sweep_cmd(&config, &out, &["--threads", "1"])
            .spawn()
            .unwrap();
        let exited = wait_until(&mut child, Duration::from_secs(60), || {
            run_names(&out).len() >= present + more
        });
        assert!(
            !exited,
            "kill {kill_no}: the sweep ended before it was killed"
        );
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "kill {kill_no}: {status}");
        // Only complete results at final names, each parsing as a run result.
        let names = run_names(&out);
        assert!(
            names.len() < SLOW_RUNS,
            "kill {kill_no}: nothing was left to do"
        );
        for n in &names {
            let text = std::fs::read_to_string(out.join("runs").join(n)).unwrap();
            serde_json::from_str::<RunResult>(&text)
                .unwrap_or_else(|e| panic!("kill {kill_no}: {n} is not a complete result: {e}"));
            let m = std::fs::metadata(out.join("runs").join(n)).unwrap();
            let stamp = (m.ino(), m.mtime(), m.mtime_nsec());
            assert_eq!(
                *seen.entry(n.clone()).or_insert(stamp),
                stamp,
                "{n} was written twice"
            );
        }
        if !names.is_empty() {
            partial_kills += 1;
        }
    }
    assert!(
        partial_kills >= 2,
        "too few kills after some runs were written"
    );
    // The restart runs exactly the runs not on disk, once each.
    let before = run_names(&out).len();
    let last = run_ok(sweep_cmd(&config, &out, &["--threads", "2"]));
    assert_eq!(ran_and_done(&last.stdout), (SLOW_RUNS - before, before));
    for (n, stamp) in &seen {
        let m = std::fs::metadata(out.join("runs").join(n)).unwrap();
        assert_eq!(
            (m.ino(), m.mtime(), m.mtime_nsec()),
            *stamp,
            "{n} was redone"
        );
    }
    assert_same_files(&files(&out), want);
    // A further start does nothing.
    let again = run_ok(sweep_cmd(&config, &out, &["--threads", "2"]));
    assert_eq!(ran_and_done(&again.stdout), (0, SLOW_RUNS));
}

#[test]
fn sigint_finishes_the_runs_in_progress_and_a_second_sigint_quits_at_once() {
    let want = reference(SLOW);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), SLOW);
    let out = dir.path().join("out");

    // One Ctrl-C after the first run is written.
    let mut child = sweep_cmd(&config, &out, &["--threads", "2"])
        .spawn()
        .unwrap();
    let exited = wait_until(&mut child, Duration::from_secs(60), || {
        !run_names(&out).is_empty()
    });
    assert!(!exited, "the sweep ended before Ctrl-C");
    let at_signal = run_names(&out).len();
    send_sigint(&child);
    let first = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let after = run_names(&out).len();
    assert!(
        after > at_signal && after < SLOW_RUNS,
        "{at_signal} runs written at Ctrl-C, {after} after: the runs in progress must finish, \
         and no new run start"
    );
    // The summary written on the way out lists what is on disk.
    let summary: SweepSummary =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        (summary.present, summary.missing),
        (after, SLOW_RUNS - after)
    );
    assert!(
        files(&out).keys().all(|k| !k.ends_with(".tmp")),
        "a clean stop leaves no temporary file"
    );

    // Ctrl-C twice: the process ends by the signal without waiting for its runs.
    let mut child = sweep_cmd(&config, &out, &["--threads", "2"])
        .spawn()
        .unwrap();
    let exited = wait_until(&mut child, Duration::from_secs(60), || {
        run_names(&out).len() > after
    });
    assert!(!exited, "the sweep ended before the double Ctrl-C");
    send_sigint(&child);
    std::thread::sleep(Duration::from_millis(20));
    send_sigint(&child);
    let second = child.wait().unwrap();
    assert_eq!(second.signal(), Some(SIGINT), "{second}");

    // Started again, it completes with the uninterrupted sweep's bytes.
    let before = run_names(&out).len();
    let last = run_ok(sweep_cmd(&config, &out, &["--threads", "2"]));
    assert_eq!(ran_and_done(&last.stdout), (SLOW_RUNS - before, before));
    assert_same_files(&files(&out), want);
}

#[test]
fn concurrent_shard_processes_merged_equal_the_unsharded_sweep() {
    let want = reference(FAST);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), FAST);
    for n in [2usize, 3] {
        let out = dir.path().join(format!("out-{n}"));
        // All shards at once, in one folder, as a job array does.
        let children: Vec<Child> = (1..=n)
            .map(|i| {
                sweep_cmd(
                    &config,
                    &out,
                    &["--shard", &format!("{i}/{n}"), "--threads", "1"],
                )
                .spawn()
                .unwrap()
            })
            .collect();
        let mut ran = 0;
        for (i, c) in children.into_iter().enumerate() {
            let o = c.wait_with_output().unwrap();
            assert!(
                o.status.success(),
                "shard {}/{n}: {}",
                i + 1,
                String::from_utf8_lossy(&o.stderr)
            );
            let (r, done) = ran_and_done(&o.stdout);
            assert_eq!(done, 0);
            assert_eq!(
                r,
                (12 - i).div_ceil(n),
                "shard {}/{n} ran the wrong runs",
                i + 1
            );
            ran += r;
        }
        assert_eq!(ran, 12);
        let merge = run_ok(sweep_cmd(&config, &out, &["--merge-only"]));
        let line = String::from_utf8_lossy(&merge.stdout);
        assert!(line.contains("12 of 12 runs present (0 missing)"), "{line}");
        assert_same_files(&files(&out), want);
    }
}

#[test]
fn a_missing_shard_shows_in_the_merged_summary_and_bad_shards_are_usage_errors() {
    let want = reference(FAST);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), FAST);
    let out = dir.path().join("out");
    run_ok(sweep_cmd(&config, &out, &["--shard", "1/3"]));
    run_ok(sweep_cmd(&config, &out, &["--shard", "3/3"]));
    run_ok(sweep_cmd(&config, &out, &["--merge-only"]));
    let summary: SweepSummary =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let full: SweepSummary = serde_json::from_slice(&want["summary.json"]).unwrap();
    let expected_missing: Vec<String> = full
        .runs
        .iter()
        .filter(|r| r.index % 3 == 1)
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(summary.missing_ids, expected_missing);
    assert_eq!((summary.present, summary.missing), (8, 4));
    // The runs present are the unsharded sweep's lines, unchanged.
    let by_id: BTreeMap<&str, _> = full.runs.iter().map(|r| (r.id.as_str(), r)).collect();
    assert!(summary.runs.iter().all(|r| by_id[r.id.as_str()] == r));

    for bad in ["0/2", "3/2", "2", "a/b", "1/0"] {
        let fresh = dir.path().join(format!("bad-{}", bad.replace('/', "_")));
        let o = sweep_cmd(&config, &fresh, &["--shard", bad])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "--shard {bad}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("shard") && stderr.contains(bad), "{stderr}");
        assert!(!fresh.exists(), "--shard {bad} left output behind");
    }
}

/// Walks a JSON value and fails on any number that is not a finite f64.
fn assert_finite_numbers(v: &serde_json::Value, where_: &str) {
    match v {
        serde_json::Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            assert!(f.is_finite(), "{where_}: non-finite number {n}");
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| assert_finite_numbers(x, where_)),
        serde_json::Value::Object(o) => o.values().for_each(|x| assert_finite_numbers(x, where_)),
        _ => {}
    }
}

#[test]
fn diverging_runs_are_recorded_at_their_step_and_every_output_is_finite_json() {
    let text = r#"{
        "name": "diverge",
        "seed": 3,
        "base": {
            "hidden": [16, 16], "activation": "relu", "init": "he", "batch": 8, "steps": 200,
            "eval_every": 20, "probe_size": 30,
            "data": {"synthetic": {"train": 200, "test": 60, "features": 10, "classes": 3,
                                   "separation": 3.0, "seed": 1}}
        },
        "grid": {"conditions": ["plain", "bn"], "lrs": [0.1, 1000.0, 1e6]}
    }"#;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), text);
    let out = dir.path().join("out");
    run_ok(sweep_cmd(&config, &out, &[]));
    let all = files(&out);
    assert_eq!(all.len(), 6 + 2);
    for (name, bytes) in &all {
        let text = std::str::from_utf8(bytes).unwrap();
        for word in ["NaN", "nan", "inf", "Infinity"] {
            assert!(!text.contains(word), "{name} contains `{word}`");
        }
        let v: serde_json::Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
        assert_finite_numbers(&v, name);
    }
    let summary: SweepSummary = serde_json::from_slice(&all["summary.json"]).unwrap();
    assert_eq!(summary.runs.len(), 6);
    let data = ipbn_train::DataSource::Synthetic(ipbn_train::config::SyntheticData {
        train: 200,
        test: 60,
        features: 10,
        classes: 3,
        separation: 3.0,
        seed: 1,
    })
    .load()
    .unwrap();
    let mut diverged = 0;
    for line in &summary.runs {
        let run: RunResult =
            serde_json::from_slice(&all[&format!("runs/{}.json", line.id)]).unwrap();
        assert_eq!(run.diverged, line.diverged, "{}", line.id);
        assert_eq!(run.diverged_at_step, line.diverged_at_step, "{}", line.id);
        assert_eq!(run.steps_completed, line.steps_completed, "{}", line.id);
        if line.lr < 1.0 {
            assert!(!line.diverged, "{} should train", line.id);
            assert!(
                line.final_test_accuracy.is_some_and(|a| a > 0.5),
                "{}",
                line.id
            );
            assert_eq!(line.steps_completed, 200);
            continue;
        }
        diverged += 1;
        let at = line
            .diverged_at_step
            .unwrap_or_else(|| panic!("{} (lr {}) did not diverge", line.id, line.lr));
        assert!(line.diverged && at >= 1 && at <= 200, "{}", line.id);
        assert_eq!(line.steps_completed, at - 1, "{}", line.id);
        assert_eq!(
            (line.final_test_accuracy, line.final_train_loss),
            (None, None)
        );
        assert!(run.history.iter().all(|r| r.step < at), "{}", line.id);
        // "At its step", checked on its own: the same run stopped one step earlier does not
        // diverge, and stopped at that step diverges there.
        let mut cfg = run.config.clone();
        cfg.steps = at;
        let r = ipbn_train::trainer::run(&cfg, &data, &mut |_| {}).unwrap();
        assert_eq!(r.diverged_at_step, Some(at), "{}", line.id);
        if at > 1 {
            cfg.steps = at - 1;
            let r = ipbn_train::trainer::run(&cfg, &data, &mut |_| {}).unwrap();
            assert!(!r.diverged, "{}: diverged before step {at}", line.id);
        }
    }
    assert_eq!(diverged, 4);
}
