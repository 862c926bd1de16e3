//! Shared by the `tests/hostile_*.rs` tests: reading a corpus folder's `expected.txt` and
//! checking that a case fails the way it should.
//!
//! `expected.txt` has one line per case, `NAME | KIND | SUBSTRING | SUBSTRING ...`: the file
//! (or folder) name, what to read it as, and substrings the error message must contain (the
//! key or file at fault and the problem). Blank lines and lines starting with `#` are skipped.
//! Every entry of the folder must have a line and every line an entry, so no case is skipped.

#![allow(dead_code)]

use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// One line of `expected.txt`.
pub struct Case {
    /// File or folder name inside the corpus folder.
    pub name: String,
    /// How to read it (`images`, `labels`, `dir`, `train`, ...).
    pub kind: String,
    /// Substrings the message must contain.
    pub expect: Vec<String>,
    /// Full path of the case.
    pub path: PathBuf,
}

/// The corpus folder `sub` of this crate's `tests/corpus`.
pub fn corpus_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(sub)
}

/// Reads `dir/expected.txt` and checks that it lists exactly the entries of `dir` (apart from
/// `expected.txt` itself).
pub fn cases(dir: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(dir.join("expected.txt"))
        .unwrap_or_else(|e| panic!("{}/expected.txt: {e}", dir.display()));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split(" | ").map(str::trim).collect();
        assert!(
            parts.len() >= 3,
            "{}/expected.txt line {}: want `NAME | KIND | SUBSTRING...`, got `{line}`",
            dir.display(),
            i + 1
        );
        out.push(Case {
            name: parts[0].to_string(),
            kind: parts[1].to_string(),
            expect: parts[2..].iter().map(|s| s.to_string()).collect(),
            path: dir.join(parts[0]),
        });
    }
    let mut listed: Vec<&str> = out.iter().map(|c| c.name.as_str()).collect();
    listed.sort_unstable();
    let mut present: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "expected.txt")
        .collect();
    present.sort_unstable();
    assert_eq!(
        listed,
        present,
        "{}/expected.txt must list every case of the folder exactly once",
        dir.display()
    );
    out
}

/// Runs `f` and checks that it returns an error (without panicking) whose message is one
/// line, contains `names` and each expected substring. Returns a description of what is wrong.
pub fn check_error<T, E: Display>(
    case: &Case,
    names: &str,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<String, String> {
    let what = format!("{} ({})", case.name, case.kind);
    let msg = match catch_unwind(AssertUnwindSafe(f)) {
        Err(_) => return Err(format!("{what}: PANICKED instead of returning an error")),
        Ok(Ok(_)) => return Err(format!("{what}: was accepted, expected an error")),
        Ok(Err(e)) => e.to_string(),
    };
    let mut problems = Vec::new();
    if msg.contains(['\n', '\r']) {
        problems.push("spans several lines".to_string());
    }
    if !msg.contains(names) {
        problems.push(format!("does not name `{names}`"));
    }
    for s in &case.expect {
        if !msg.contains(s.as_str()) {
            problems.push(format!("lacks `{s}`"));
        }
    }
    if problems.is_empty() {
        Ok(msg)
    } else {
        Err(format!("{what}: {}: {msg:?}", problems.join(", ")))
    }
}

/// Panics listing every failure, if any.
pub fn report(results: Vec<Result<String, String>>, min_cases: usize) {
    let total = results.len();
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        failures.is_empty(),
        "{} of {total} hostile cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        total >= min_cases,
        "only {total} cases ran, expected at least {min_cases}"
    );
}
