//! Downloading a catalogued dataset into its cache folder, checksummed and atomically.
//!
//! [`fetch`] gets each file of a [`DatasetSpec`] that is not already there and verified:
//! it tries the mirrors in order, streams the body into a temporary file beside the target
//! (`.NAME.XXXXXX.part`), checks the byte count against `Content-Length` and the digest
//! against the published checksum, and only then renames the temporary file to its final
//! name. A failed attempt (HTTP error, refused connection, timeout, short body, checksum
//! mismatch) deletes its temporary file and moves on to the next mirror; when every mirror
//! has failed, [`FetchError::Download`] names each URL tried and what went wrong. Temporary
//! files left by a killed process are removed by the next fetch into the same folder.
//!
//! The standard proxy variables (`ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, and
//! their lower-case forms) are honoured unless [`FetchOptions::proxy_from_env`] is off.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::catalog::{DatasetSpec, RemoteFile};
use super::DataError;

/// Environment variable setting the network timeout in seconds (connecting, and waiting for
/// each read), e.g. `IPBN_DATA_TIMEOUT=5`.
pub const TIMEOUT_ENV: &str = "IPBN_DATA_TIMEOUT";

/// Network settings of a fetch.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchOptions {
    /// Longest wait for a connection. Default: 30 s.
    pub connect_timeout: Duration,
    /// Longest wait for the response headers and for each read of the body. Default: 60 s.
    pub read_timeout: Duration,
    /// Use the proxy named by the standard environment variables. Default: true.
    pub proxy_from_env: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            proxy_from_env: true,
        }
    }
}

impl FetchOptions {
    /// The defaults, with both timeouts set from [`TIMEOUT_ENV`] if it is set.
    ///
    /// # Errors
    /// [`DataError::Invalid`] if the variable is not a positive number of seconds.
    pub fn from_env() -> Result<FetchOptions, DataError> {
        let mut o = FetchOptions::default();
        if let Ok(v) = std::env::var(TIMEOUT_ENV) {
            let secs: f64 = v.trim().parse().unwrap_or(f64::NAN);
            if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
                return Err(DataError::invalid(
                    TIMEOUT_ENV,
                    format!("`{v}` is not a timeout; give seconds, e.g. 30"),
                ));
            }
            o.connect_timeout = Duration::from_secs_f64(secs);
            o.read_timeout = Duration::from_secs_f64(secs);
        }
        Ok(o)
    }
}

/// Whether a cached file is there and matches its checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileState {
    /// Present, and its digest is the published one.
    Verified,
    /// No file of that name.
    Missing,
    /// Present, but its digest differs.
    Mismatch {
        /// The digest found (hexadecimal).
        found: String,
    },
    /// Present but unreadable.
    Unreadable {
        /// The operating system's error.
        reason: String,
    },
}

impl std::fmt::Display for FileState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileState::Verified => write!(f, "verified"),
            FileState::Missing => write!(f, "missing"),
            FileState::Mismatch { found } => write!(f, "checksum mismatch (found {found})"),
            FileState::Unreadable { reason } => write!(f, "unreadable ({reason})"),
        }
    }
}

/// The state of `dir/FILE` for one file of a dataset.
pub fn check_file(dir: &Path, file: &RemoteFile) -> FileState {
    let path = dir.join(&file.name);
    let mut f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return FileState::Missing,
        Err(e) => {
            return FileState::Unreadable {
                reason: e.to_string(),
            }
        }
    };
    if !path.is_file() {
        return FileState::Unreadable {
            reason: "not a regular file".into(),
        };
    }
    let mut hasher = file.checksum.hasher();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return FileState::Unreadable {
                    reason: e.to_string(),
                }
            }
        }
    }
    let found = hasher.finish_hex();
    if found == file.checksum.hex() {
        FileState::Verified
    } else {
        FileState::Mismatch { found }
    }
}

/// The state of every file of `spec` in `dir`, in the spec's order.
pub fn check_dataset(spec: &DatasetSpec, dir: &Path) -> Vec<(RemoteFile, FileState)> {
    spec.files
        .iter()
        .map(|f| (f.clone(), check_file(dir, f)))
        .collect()
}

/// Why one download attempt (one file from one mirror) failed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// The server answered with an HTTP error status.
    Status(u16),
    /// Nothing accepted the connection.
    Refused,
    /// The host name did not resolve.
    HostNotFound,
    /// The server did not answer (or stopped sending) within the timeout.
    Timeout {
        /// The timeout, in seconds.
        secs: f64,
    },
    /// The body ended before the length the server announced.
    Truncated {
        /// Bytes announced by `Content-Length`.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// The file arrived whole but its digest is not the published one.
    Checksum {
        /// The algorithm, e.g. `MD5`.
        algorithm: &'static str,
        /// The published digest.
        expected: String,
        /// The digest of what arrived.
        found: String,
    },
    /// Any other network or protocol error.
    Other(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Status(404) => write!(f, "HTTP 404 (not found)"),
            Problem::Status(c) => write!(f, "HTTP {c}"),
            Problem::Refused => write!(f, "connection refused"),
            Problem::HostNotFound => write!(f, "host not found"),
            Problem::Timeout { secs } => write!(f, "no answer within {secs} s (timed out)"),
            Problem::Truncated { expected, received } => write!(
                f,
                "download cut short: {received} of {expected} bytes received"
            ),
            Problem::Checksum {
                algorithm,
                expected,
                found,
            } => write!(
                f,
                "{algorithm} checksum mismatch: got {found}, published {expected}"
            ),
            Problem::Other(m) => write!(f, "{m}"),
        }
    }
}

/// One failed attempt: the URL and what went wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// The URL tried.
    pub url: String,
    /// What went wrong.
    pub problem: Problem,
}

/// Everything that can stop a fetch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// A bad dataset name, option or environment variable, or no cache folder.
    #[error(transparent)]
    Data(#[from] DataError),

    /// A local file or folder could not be created, written or renamed.
    #[error("{path}: {action} failed: {source}; check that the folder is writable and has space")]
    Io {
        /// The path concerned.
        path: String,
        /// What was being done.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// Every mirror failed for one file; nothing was written under its name.
    #[error("{}", download_message(.file, .attempts))]
    Download {
        /// The file that could not be fetched.
        file: String,
        /// Each mirror tried, in order, with what went wrong.
        attempts: Vec<Attempt>,
    },
}

impl FetchError {
    /// True for bad input (unknown dataset, malformed option): exit code 2; false for a
    /// failure while fetching: exit code 1.
    pub fn is_usage(&self) -> bool {
        matches!(self, FetchError::Data(_))
    }

    fn io(path: &Path, action: &'static str, source: io::Error) -> Self {
        FetchError::Io {
            path: path.display().to_string(),
            action,
            source,
        }
    }
}

/// One line: the file, each URL with its problem, and what to do.
fn download_message(file: &str, attempts: &[Attempt]) -> String {
    let tried: Vec<String> = attempts
        .iter()
        .map(|a| format!("{}: {}", a.url, a.problem))
        .collect();
    let advice = if attempts
        .iter()
        .any(|a| matches!(a.problem, Problem::Checksum { .. }))
    {
        "the file served is not the published one; nothing was saved; try another mirror \
         (IPBN_DATA_MIRRORS=BASE_URL,...) or check the mirror's copy"
    } else {
        "nothing was saved; check the network connection and proxy settings (HTTPS_PROXY), \
         or set IPBN_DATA_MIRRORS to a reachable mirror, then run the command again"
    };
    if tried.is_empty() {
        format!("{file}: no mirror to download from; set IPBN_DATA_MIRRORS to a base URL")
    } else {
        format!(
            "{file}: download failed: {}; {advice}",
            tried.join("; then ")
        )
    }
}

/// What [`fetch`] reports as it goes, for a progress display.
#[derive(Debug)]
#[non_exhaustive]
pub enum FetchEvent<'a> {
    /// The file is already there and verified; it is not downloaded again.
    Skipped {
        /// File name.
        file: &'a str,
    },
    /// A download started.
    Started {
        /// File name.
        file: &'a str,
        /// URL.
        url: &'a str,
        /// Bytes announced by the server, if it said.
        total: Option<u64>,
    },
    /// Bytes received so far of the current download.
    Progress {
        /// Bytes received.
        received: u64,
    },
    /// A mirror failed; the next one is tried, if any.
    MirrorFailed {
        /// The failed attempt.
        attempt: &'a Attempt,
    },
    /// The file was downloaded, verified and saved under its final name.
    Saved {
        /// File name.
        file: &'a str,
        /// Where it now is.
        path: &'a Path,
        /// Its size in bytes.
        bytes: u64,
    },
}

/// What a completed [`fetch`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchReport {
    /// The dataset's folder.
    pub dir: PathBuf,
    /// Files downloaded now.
    pub downloaded: Vec<String>,
    /// Files already there and verified.
    pub skipped: Vec<String>,
}

/// Suffix of the temporary files of downloads in progress.
const PART_SUFFIX: &str = ".part";

/// Fetches every file of `spec` into `dir` (created if missing) that is not already there
/// and verified, reporting through `on`.
///
/// # Errors
/// [`FetchError::Io`] for a local file problem (the fetch stops), and
/// [`FetchError::Download`] when every mirror failed for a file (files fetched before it
/// are kept; a rerun skips them).
pub fn fetch(
    spec: &DatasetSpec,
    dir: &Path,
    options: &FetchOptions,
    on: &mut dyn FnMut(FetchEvent<'_>),
) -> Result<FetchReport, FetchError> {
    std::fs::create_dir_all(dir).map_err(|e| FetchError::io(dir, "creating the folder", e))?;
    remove_stale_parts(spec, dir)?;
    let agent = agent(options);
    let mut report = FetchReport {
        dir: dir.to_path_buf(),
        downloaded: Vec::new(),
        skipped: Vec::new(),
    };
    for file in &spec.files {
        if check_file(dir, file) == FileState::Verified {
            on(FetchEvent::Skipped { file: &file.name });
            report.skipped.push(file.name.clone());
            continue;
        }
        let mut attempts = Vec::new();
        let mut saved = false;
        for mirror in &spec.mirrors {
            let url = format!("{}/{}", mirror.trim_end_matches('/'), file.name);
            match download(&agent, &url, dir, file, options, on)? {
                Ok(bytes) => {
                    let path = dir.join(&file.name);
                    on(FetchEvent::Saved {
                        file: &file.name,
                        path: &path,
                        bytes,
                    });
                    saved = true;
                    break;
                }
                Err(problem) => {
                    let attempt = Attempt { url, problem };
                    on(FetchEvent::MirrorFailed { attempt: &attempt });
                    attempts.push(attempt);
                }
            }
        }
        if !saved {
            return Err(FetchError::Download {
                file: file.name.clone(),
                attempts,
            });
        }
        report.downloaded.push(file.name.clone());
    }
    Ok(report)
}

/// The HTTP agent: timeouts from `options`, errors for 4xx/5xx, proxy from the environment
/// unless switched off. Content is taken as sent (no transparent decompression), so the
/// checksum is of the published `.gz` bytes.
fn agent(options: &FetchOptions) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_connect(Some(options.connect_timeout))
        .timeout_recv_response(Some(options.read_timeout))
        .timeout_per_read(Some(options.read_timeout))
        .http_status_as_error(true)
        .user_agent(format!("ipbn/{}", env!("CARGO_PKG_VERSION")));
    if !options.proxy_from_env {
        config = config.proxy(None);
    }
    config.build().into()
}

/// Removes temporary files of this dataset's downloads left by a killed process.
fn remove_stale_parts(spec: &DatasetSpec, dir: &Path) -> Result<(), FetchError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FetchError::io(dir, "listing", e))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stale = name.ends_with(PART_SUFFIX)
            && spec
                .files
                .iter()
                .any(|f| name.starts_with(&format!(".{}.", f.name)));
        if stale {
            let path = entry.path();
            std::fs::remove_file(&path)
                .map_err(|e| FetchError::io(&path, "removing a stale partial download", e))?;
        }
    }
    Ok(())
}

/// One attempt: `Ok(Ok(bytes))` saved, `Ok(Err(problem))` this mirror failed (nothing left
/// behind), `Err` a local failure that no other mirror would fix.
fn download(
    agent: &ureq::Agent,
    url: &str,
    dir: &Path,
    file: &RemoteFile,
    options: &FetchOptions,
    on: &mut dyn FnMut(FetchEvent<'_>),
) -> Result<Result<u64, Problem>, FetchError> {
    let response = match agent.get(url).call() {
        Ok(r) => r,
        Err(e) => return Ok(Err(problem_of(&e, options))),
    };
    let total = response.body().content_length();
    on(FetchEvent::Started {
        file: &file.name,
        url,
        total,
    });
    let mut part = tempfile::Builder::new()
        .prefix(&format!(".{}.", file.name))
        .suffix(PART_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| FetchError::io(dir, "creating a temporary file", e))?;
    let mut reader = response.into_body().into_reader();
    let mut hasher = file.checksum.hasher();
    let mut buf = vec![0u8; 1 << 16];
    let mut received: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Ok(Err(problem_of_read(&e, received, total, options))),
        };
        hasher.update(&buf[..n]);
        part.write_all(&buf[..n])
            .map_err(|e| FetchError::io(part.path(), "writing", e))?;
        received += n as u64;
        on(FetchEvent::Progress { received });
    }
    if let Some(expected) = total.filter(|&t| t != received) {
        return Ok(Err(Problem::Truncated { expected, received }));
    }
    let found = hasher.finish_hex();
    if found != file.checksum.hex() {
        return Ok(Err(Problem::Checksum {
            algorithm: file.checksum.algorithm(),
            expected: file.checksum.hex().to_string(),
            found,
        }));
    }
    part.as_file()
        .sync_all()
        .map_err(|e| FetchError::io(part.path(), "flushing", e))?;
    let target = dir.join(&file.name);
    part.persist(&target)
        .map_err(|e| FetchError::io(&target, "renaming the verified download", e.error))?;
    Ok(Ok(received))
}

/// The problem behind a request error.
fn problem_of(e: &ureq::Error, options: &FetchOptions) -> Problem {
    match e {
        ureq::Error::StatusCode(code) => Problem::Status(*code),
        ureq::Error::Timeout(t) => Problem::Timeout {
            secs: timeout_secs(*t, options),
        },
        ureq::Error::HostNotFound => Problem::HostNotFound,
        ureq::Error::Io(io) => problem_of_io(io, options),
        other => Problem::Other(other.to_string()),
    }
}

/// The problem behind an I/O error of the connection.
fn problem_of_io(e: &io::Error, options: &FetchOptions) -> Problem {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
        return problem_of(inner, options);
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Problem::Refused,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Problem::Timeout {
            secs: options.read_timeout.as_secs_f64(),
        },
        _ => Problem::Other(e.to_string()),
    }
}

/// The problem behind a failed read of the body after `received` bytes.
fn problem_of_read(
    e: &io::Error,
    received: u64,
    total: Option<u64>,
    options: &FetchOptions,
) -> Problem {
    match (problem_of_io(e, options), total) {
        (p @ Problem::Timeout { .. }, _) => p,
        (_, Some(expected)) if received < expected => Problem::Truncated { expected, received },
        (p, _) => p,
    }
}

/// The configured length of the timeout that fired.
fn timeout_secs(t: ureq::Timeout, options: &FetchOptions) -> f64 {
    match t {
        ureq::Timeout::Connect => options.connect_timeout.as_secs_f64(),
        _ => options.read_timeout.as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::catalog::Checksum;

    #[test]
    fn messages_name_each_url_and_what_to_do() {
        let attempts = vec![
            Attempt {
                url: "http://a/f.gz".into(),
                problem: Problem::Status(404),
            },
            Attempt {
                url: "http://b/f.gz".into(),
                problem: Problem::Checksum {
                    algorithm: "MD5",
                    expected: "00".into(),
                    found: "11".into(),
                },
            },
        ];
        let m = download_message("f.gz", &attempts);
        assert_eq!(
            m,
            "f.gz: download failed: http://a/f.gz: HTTP 404 (not found); then http://b/f.gz: \
             MD5 checksum mismatch: got 11, published 00; the file served is not the \
             published one; nothing was saved; try another mirror \
             (IPBN_DATA_MIRRORS=BASE_URL,...) or check the mirror's copy"
        );
        assert!(!m.contains('\n'));
        let m = download_message("f.gz", &attempts[..1]);
        assert!(m.contains("check the network connection"), "{m}");
    }

    #[test]
    fn files_are_checked_against_their_checksums() {
        let dir = tempfile::tempdir().unwrap();
        let file = RemoteFile {
            name: "x.gz".into(),
            checksum: Checksum::md5("900150983cd24fb0d6963f7d28e17f72").unwrap(),
        };
        assert_eq!(check_file(dir.path(), &file), FileState::Missing);
        std::fs::write(dir.path().join("x.gz"), b"abc").unwrap();
        assert_eq!(check_file(dir.path(), &file), FileState::Verified);
        std::fs::write(dir.path().join("x.gz"), b"abd").unwrap();
        assert!(matches!(
            check_file(dir.path(), &file),
            FileState::Mismatch { .. }
        ));
    }

    #[test]
    fn the_timeout_variable_is_checked() {
        // Only this test touches the variable in this test binary.
        std::env::set_var(TIMEOUT_ENV, "2.5");
        let o = FetchOptions::from_env().unwrap();
        assert_eq!(o.connect_timeout, Duration::from_millis(2500));
        assert_eq!(o.read_timeout, Duration::from_millis(2500));
        std::env::set_var(TIMEOUT_ENV, "soon");
        let e = FetchOptions::from_env().unwrap_err().to_string();
        assert!(e.starts_with(TIMEOUT_ENV) && e.contains("soon"), "{e}");
        std::env::remove_var(TIMEOUT_ENV);
        assert_eq!(FetchOptions::from_env().unwrap(), FetchOptions::default());
    }
}
