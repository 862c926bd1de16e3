//! `data::fetch` against an HTTP server on 127.0.0.1 that this test starts, with the
//! dataset's checksums computed from the files the server serves: a good set, a corrupted
//! file, a 404, a truncated body, a server that never answers, a second mirror that
//! succeeds after the first fails, and a rerun that skips verified files. Nothing leaves
//! the machine.

#[path = "support/http.rs"]
mod http;

use http::{dead_base, Route, Server};
use ipbn_train::data::catalog::{Checksum, DatasetSpec, Hasher, RemoteFile};
use ipbn_train::data::fetch::{self, FetchError, FetchEvent, FetchOptions, FileState, Problem};
use ipbn_train::data::{self, idx, DataError};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The four files of a small IDX dataset (30 training and 10 test 4×3 images, labels 0–9).
fn dataset_files() -> Vec<(String, Vec<u8>)> {
    let images = |n: usize, salt: u8| -> Vec<u8> {
        (0..n * 12)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
            .collect()
    };
    let labels = |n: usize| -> Vec<u8> { (0..n).map(|i| (i % 10) as u8).collect() };
    vec![
        (
            "train-images-idx3-ubyte.gz".into(),
            idx::encode_idx_images(4, 3, &images(30, 1), true).unwrap(),
        ),
        (
            "train-labels-idx1-ubyte.gz".into(),
            idx::encode_idx_labels(&labels(30), true).unwrap(),
        ),
        (
            "t10k-images-idx3-ubyte.gz".into(),
            idx::encode_idx_images(4, 3, &images(10, 7), true).unwrap(),
        ),
        (
            "t10k-labels-idx1-ubyte.gz".into(),
            idx::encode_idx_labels(&labels(10), true).unwrap(),
        ),
    ]
}

fn md5_of(bytes: &[u8]) -> Checksum {
    let mut h = Hasher::md5();
    h.update(bytes);
    Checksum::md5(&h.finish_hex()).unwrap()
}

/// A spec for `files` (checksums of their true contents) fetched from `mirrors`.
fn spec(files: &[(String, Vec<u8>)], mirrors: Vec<String>) -> DatasetSpec {
    DatasetSpec {
        name: "tiny".into(),
        title: "Tiny".into(),
        mirrors,
        files: files
            .iter()
            .map(|(name, bytes)| RemoteFile {
                name: name.clone(),
                checksum: md5_of(bytes),
            })
            .collect(),
        licence: "test data".into(),
        checksum_source: "computed by the test".into(),
    }
}

/// Routes serving `files` under `/prefix/`, each through `route` (default: the true body).
fn routes(
    prefix: &str,
    files: &[(String, Vec<u8>)],
    route: impl Fn(&str, &[u8]) -> Route,
) -> HashMap<String, Route> {
    files
        .iter()
        .map(|(name, bytes)| (format!("/{prefix}/{name}"), route(name, bytes)))
        .collect()
}

fn quick() -> FetchOptions {
    FetchOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(700),
        proxy_from_env: false,
    }
}

/// Every file name in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn fetch_quiet(spec: &DatasetSpec, dir: &Path) -> Result<fetch::FetchReport, FetchError> {
    fetch::fetch(spec, dir, &quick(), &mut |_| {})
}

/// The single failed file and its attempts.
fn download_error(e: FetchError) -> (String, Vec<fetch::Attempt>, String) {
    let message = e.to_string();
    match e {
        FetchError::Download { file, attempts } => (file, attempts, message),
        other => panic!("expected a download error, got {other:?}"),
    }
}

#[test]
fn a_good_set_is_fetched_verified_and_loads() {
    let files = dataset_files();
    let server = Server::start(routes("m", &files, |_, b| Route::Body(b.to_vec())));
    let spec = spec(&files, vec![format!("{}/m/", server.base)]);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("tiny");
    let mut saved = Vec::new();
    let mut last_progress = 0;
    let report = fetch::fetch(&spec, &target, &quick(), &mut |ev| match ev {
        FetchEvent::Saved { file, bytes, .. } => saved.push((file.to_string(), bytes)),
        FetchEvent::Progress { received } => last_progress = received,
        _ => {}
    })
    .unwrap();
    assert_eq!(report.downloaded.len(), 4);
    assert!(report.skipped.is_empty());
    let expected: Vec<(String, u64)> = files
        .iter()
        .map(|(n, b)| (n.clone(), b.len() as u64))
        .collect();
    assert_eq!(saved, expected);
    assert_eq!(last_progress, files[3].1.len() as u64);
    let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(
        listing(&target),
        names,
        "only the four files, no temporaries"
    );
    for (file, state) in fetch::check_dataset(&spec, &target) {
        assert_eq!(state, FileState::Verified, "{}", file.name);
        let served = &files.iter().find(|(n, _)| *n == file.name).unwrap().1;
        assert_eq!(&std::fs::read(target.join(&file.name)).unwrap(), served);
    }
    let split = data::load_cached(&spec, &target).unwrap();
    assert_eq!((split.train.len(), split.test.len()), (30, 10));
    assert_eq!(split.train.features(), 12);
    assert_eq!(split.describe(), "tiny (30/10)");
    assert_eq!(split.train.name, "tiny:train");
    assert!(
        split.files[0].ends_with(&format!(
            "train-images-idx3-ubyte.gz md5:{}",
            spec.files[0].checksum.hex()
        )),
        "{:?}",
        split.files
    );
    assert_eq!(
        split.train.inputs[[1, 0]],
        f32::from(12u8.wrapping_mul(31).wrapping_add(1)) / 255.0
    );
}

#[test]
fn a_rerun_skips_verified_files_and_replaces_a_damaged_one() {
    let files = dataset_files();
    let server = Server::start(routes("m", &files, |_, b| Route::Body(b.to_vec())));
    let spec = spec(&files, vec![format!("{}/m", server.base)]);
    let dir = tempfile::tempdir().unwrap();
    fetch_quiet(&spec, dir.path()).unwrap();
    assert_eq!(server.hits(), 4);
    let again = fetch_quiet(&spec, dir.path()).unwrap();
    assert_eq!(again.skipped.len(), 4);
    assert!(again.downloaded.is_empty());
    assert_eq!(server.hits(), 4, "no request for verified files");
    // A damaged file and a stale partial download from a killed run.
    std::fs::write(dir.path().join(&files[1].0), b"damaged").unwrap();
    let stale = dir.path().join(format!(".{}.abc123.part", files[2].0));
    std::fs::write(&stale, b"half").unwrap();
    let e = data::load_cached(&spec, dir.path()).unwrap_err();
    assert!(matches!(e, DataError::NotFetched { .. }), "{e:?}");
    let m = e.to_string();
    assert!(
        m.contains("train-labels-idx1-ubyte.gz: checksum mismatch")
            && m.ends_with("run `ipbn data fetch tiny`"),
        "{m}"
    );
    let third = fetch_quiet(&spec, dir.path()).unwrap();
    assert_eq!(third.downloaded, vec![files[1].0.clone()]);
    assert_eq!(server.hits(), 5);
    assert!(!stale.exists(), "stale partial download removed");
    assert_eq!(listing(dir.path()).len(), 4);
    data::load_cached(&spec, dir.path()).unwrap();
}

#[test]
fn a_corrupted_file_is_not_saved_and_the_error_names_the_checksum() {
    let files = dataset_files();
    let bad = files[0].0.clone();
    let server = Server::start(routes("m", &files, |name, b| {
        let mut b = b.to_vec();
        if name == bad {
            let last = b.len() - 1;
            b[last] ^= 0x5a;
        }
        Route::Body(b)
    }));
    let spec = spec(&files, vec![format!("{}/m", server.base)]);
    let dir = tempfile::tempdir().unwrap();
    let (file, attempts, message) = download_error(fetch_quiet(&spec, dir.path()).unwrap_err());
    assert_eq!(file, bad);
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].url, format!("{}/m/{bad}", server.base));
    match &attempts[0].problem {
        Problem::Checksum {
            algorithm,
            expected,
            found,
        } => {
            assert_eq!(*algorithm, "MD5");
            assert_eq!(expected, spec.files[0].checksum.hex());
            assert_ne!(found, expected);
        }
        other => panic!("expected a checksum problem, got {other:?}"),
    }
    assert!(
        message.contains("MD5 checksum mismatch") && message.contains(spec.files[0].checksum.hex()),
        "{message}"
    );
    assert!(!message.contains('\n'));
    assert_eq!(
        listing(dir.path()),
        Vec::<String>::new(),
        "no file, final or temporary"
    );
}

#[test]
fn a_404_names_the_url_and_leaves_nothing() {
    let files = dataset_files();
    let server = Server::start(HashMap::new());
    let spec = spec(&files, vec![format!("{}/nowhere", server.base)]);
    let dir = tempfile::tempdir().unwrap();
    let (file, attempts, message) = download_error(fetch_quiet(&spec, dir.path()).unwrap_err());
    assert_eq!(file, files[0].0);
    assert_eq!(attempts[0].problem, Problem::Status(404));
    assert!(
        message.starts_with(&format!(
            "{}: download failed: {}/nowhere/{}: HTTP 404",
            files[0].0, server.base, files[0].0
        )),
        "{message}"
    );
    assert!(message.contains("IPBN_DATA_MIRRORS"), "{message}");
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn a_truncated_body_is_not_saved() {
    let files = dataset_files();
    let server = Server::start(routes("m", &files, |_, b| Route::Truncated {
        body: b[..b.len() / 2].to_vec(),
        claimed: b.len(),
    }));
    let spec = spec(&files, vec![format!("{}/m", server.base)]);
    let dir = tempfile::tempdir().unwrap();
    let (_, attempts, message) = download_error(fetch_quiet(&spec, dir.path()).unwrap_err());
    let len = files[0].1.len() as u64;
    match attempts[0].problem {
        Problem::Truncated { expected, received } => {
            assert_eq!(expected, len);
            assert!(received < len, "{received} of {len}");
        }
        ref other => panic!("expected a truncated body, got {other:?}"),
    }
    assert!(message.contains("cut short"), "{message}");
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn a_server_that_never_answers_times_out() {
    let files = dataset_files();
    let server = Server::start(routes("m", &files, |_, _| Route::Hang));
    let spec = spec(&files, vec![format!("{}/m", server.base)]);
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let (_, attempts, message) = download_error(fetch_quiet(&spec, dir.path()).unwrap_err());
    let took = start.elapsed();
    assert!(
        matches!(attempts[0].problem, Problem::Timeout { secs } if secs == 0.7),
        "{:?}",
        attempts[0].problem
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(message.contains("timed out"), "{message}");
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn nothing_listening_is_a_refused_connection() {
    let files = dataset_files();
    let base = dead_base();
    let spec = spec(&files, vec![base.clone()]);
    let dir = tempfile::tempdir().unwrap();
    let (_, attempts, message) = download_error(fetch_quiet(&spec, dir.path()).unwrap_err());
    assert_eq!(attempts[0].problem, Problem::Refused, "{message}");
    assert!(message.contains(&base), "{message}");
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn the_second_mirror_succeeds_after_the_first_fails() {
    let files = dataset_files();
    let broken = Server::start(routes("m", &files, |name, b| {
        if name.starts_with("train-images") {
            Route::Truncated {
                body: b[..10].to_vec(),
                claimed: b.len(),
            }
        } else {
            Route::Body(b"not the file".to_vec())
        }
    }));
    let good = Server::start(routes("mirror", &files, |_, b| Route::Body(b.to_vec())));
    let spec = spec(
        &files,
        vec![
            dead_base(),
            format!("{}/m", broken.base),
            format!("{}/mirror", good.base),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let report = fetch::fetch(&spec, dir.path(), &quick(), &mut |ev| {
        if let FetchEvent::MirrorFailed { attempt } = ev {
            failures.push(attempt.problem.clone());
        }
    })
    .unwrap();
    assert_eq!(report.downloaded.len(), 4);
    assert_eq!(
        failures.len(),
        8,
        "two failed mirrors per file: {failures:?}"
    );
    assert_eq!(failures[0], Problem::Refused);
    assert!(
        matches!(failures[1], Problem::Truncated { .. }),
        "{failures:?}"
    );
    assert!(
        matches!(failures[3], Problem::Checksum { .. }),
        "{failures:?}"
    );
    assert_eq!(good.hits(), 4);
    assert_eq!(listing(dir.path()).len(), 4);
    for (_, state) in fetch::check_dataset(&spec, dir.path()) {
        assert_eq!(state, FileState::Verified);
    }
}
