//! `ipbn data` and `--data NAME` as a real process, against an HTTP server on 127.0.0.1 that
//! the test starts (nothing leaves the machine): a bad name exits 2; files whose checksums are
//! not the published ones exit 1 with one line naming the checksum and leave no IDX file;
//! a mirror with nothing listening is named; a dataset not in the cache exits 2 telling to
//! fetch it.

#[path = "../../ipbn-train/tests/support/http.rs"]
mod http;

use http::{dead_base, Route, Server};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

const IPBN: &str = env!("CARGO_BIN_EXE_ipbn");

const PROXY_VARS: [&str; 8] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// `ipbn ARGS` in `cwd` with `envs`, no proxy, no inherited dataset settings.
fn ipbn(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(IPBN);
    cmd.current_dir(cwd).args(args);
    for v in PROXY_VARS
        .iter()
        .chain(&["IPBN_DATA", "IPBN_DATA_MIRRORS", "IPBN_DATA_TIMEOUT"])
    {
        cmd.env_remove(v);
    }
    cmd.envs(envs.iter().copied());
    cmd.output().expect("run ipbn")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last line of stderr, which must be the error, with every line before it being
/// progress (not part of the error).
fn error_line(o: &Output) -> String {
    let e = stderr(o);
    let line = e.lines().last().unwrap_or("").to_string();
    assert!(line.starts_with("ipbn: error: "), "{e}");
    assert_eq!(
        e.matches("ipbn: error: ").count(),
        1,
        "one error line only: {e}"
    );
    line
}

fn idx_files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("-ubyte"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_unknown_dataset_exits_2() {
    let cwd = tempfile::tempdir().unwrap();
    let o = ipbn(cwd.path(), &["data", "fetch", "no-such-set"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let line = error_line(&o);
    assert!(
        line.contains("no-such-set: no such dataset") && line.contains("fashion-mnist"),
        "{line}"
    );
    let o = ipbn(cwd.path(), &["data", "fetch"], &[]);
    assert_eq!(o.status.code(), Some(2), "a missing NAME is a usage error");
}

#[test]
fn files_with_other_checksums_exit_1_naming_the_checksum_and_leave_no_idx_file() {
    let files = [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ];
    let routes: HashMap<String, Route> = files
        .iter()
        .map(|f| {
            (
                format!("/{f}"),
                Route::Body(format!("not {f}").into_bytes()),
            )
        })
        .collect();
    let server = Server::start(routes);
    let cwd = tempfile::tempdir().unwrap();
    let target = cwd.path().join("mnist-here");
    let o = ipbn(
        cwd.path(),
        &["data", "fetch", "mnist", "--dir", target.to_str().unwrap()],
        &[
            ("IPBN_DATA_MIRRORS", &server.base),
            ("IPBN_DATA_TIMEOUT", "5"),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let line = error_line(&o);
    assert!(
        line.contains(&format!("{}/train-images-idx3-ubyte.gz", server.base))
            && line.contains("MD5 checksum mismatch")
            && line.contains("published f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "{line}"
    );
    assert_eq!(
        server.hits(),
        1,
        "stops at the first file that cannot be had"
    );
    assert!(
        idx_files_in(&target).is_empty(),
        "{:?}",
        idx_files_in(&target)
    );
    // Nothing half-written under any name either.
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}

#[test]
fn a_mirror_with_nothing_listening_is_named() {
    let base = dead_base();
    let cwd = tempfile::tempdir().unwrap();
    let cache = cwd.path().join("cache");
    let o = ipbn(
        cwd.path(),
        &["data", "fetch", "kmnist"],
        &[
            ("IPBN_DATA", cache.to_str().unwrap()),
            ("IPBN_DATA_MIRRORS", &base),
            ("IPBN_DATA_TIMEOUT", "5"),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let line = error_line(&o);
    assert!(
        line.contains(&format!(
            "{base}/train-images-idx3-ubyte.gz: connection refused"
        )),
        "{line}"
    );
    assert!(idx_files_in(&cache.join("kmnist")).is_empty());
}

#[test]
fn a_bad_mirror_list_is_a_usage_error() {
    let cwd = tempfile::tempdir().unwrap();
    let o = ipbn(
        cwd.path(),
        &["data", "fetch", "mnist"],
        &[("IPBN_DATA_MIRRORS", "ftp://example.org")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(error_line(&o).contains("IPBN_DATA_MIRRORS"));
}

#[test]
fn a_dataset_not_in_the_cache_exits_2_telling_to_fetch_it() {
    let cwd = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let env = [("IPBN_DATA", empty.path().to_str().unwrap())];
    let o = ipbn(
        cwd.path(),
        &["train", "--data", "mnist", "--steps", "1"],
        &env,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let line = error_line(&o);
    assert!(
        line.contains("mnist: not fetched") && line.contains("run `ipbn data fetch mnist`"),
        "{line}"
    );
    let o = ipbn(
        cwd.path(),
        &[
            "reproduce",
            "bn-mnist",
            "--quick",
            "--data",
            "fashion-mnist",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        error_line(&o).contains("run `ipbn data fetch fashion-mnist`"),
        "{}",
        stderr(&o)
    );
    assert!(
        !cwd.path().join("reports").exists(),
        "nothing written before the data check"
    );
    let sweep =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ipbn-train/examples/sweep-example.json");
    let out = cwd.path().join("sweep-out");
    let o = ipbn(
        cwd.path(),
        &[
            "sweep",
            "--config",
            sweep.to_str().unwrap(),
            "--data",
            "kmnist",
            "--out",
            out.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        error_line(&o).contains("run `ipbn data fetch kmnist`"),
        "{}",
        stderr(&o)
    );
    // `ipbn data list` shows where each dataset would be and that it is not there.
    let o = ipbn(cwd.path(), &["data", "list"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    for name in ["mnist", "fashion-mnist", "kmnist"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}: {out}"));
        assert!(
            row.contains(&empty.path().join(name).display().to_string())
                && row.contains(&format!("not fetched (run `ipbn data fetch {name}`)")),
            "{row}"
        );
    }
}
