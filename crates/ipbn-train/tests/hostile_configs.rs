//! The hostile-input corpus of the trainer's JSON configs (`tests/corpus/configs` for
//! [`TrainConfig`], `tests/corpus/sweeps` for [`SweepConfig`]): every case is a
//! [`ConfigError`], never a panic, whose message is one line, names the file and the key at
//! fault, and says what is wrong (the substrings of each folder's `expected.txt`).
//!
//! Cases that failed when the corpus was written (open bugs in `config.rs`, `condition.rs`
//! and `sweep.rs`, reported to their owners): `huge-lr.json` and `grid-huge-lr.json` (a
//! learning rate of 1e308 is accepted), `duplicate-key.json` (`{"lr": 0.1, "lr": 0.2}` is
//! accepted, the last value silently winning), `not-an-object.json` (a top-level array is
//! read as a tuple: "expected a sequence"), `escaped-newline-in-key.json` and
//! `escaped-newline-in-condition.json` (a `\n` escape in a key or condition is echoed raw, so
//! the message breaks over two lines).

#[path = "corpus/harness.rs"]
mod harness;

use harness::{cases, check_error, corpus_dir, report};
use ipbn_train::{ConfigError, SweepConfig, TrainConfig};

#[test]
fn every_bad_train_config_is_a_one_line_error_naming_file_and_key() {
    let dir = corpus_dir("configs");
    let results = cases(&dir)
        .iter()
        .map(|case| {
            check_error(case, &case.path.display().to_string(), || {
                TrainConfig::from_file(&case.path)
            })
        })
        .collect();
    report(results, 40);
}

#[test]
fn every_bad_sweep_config_is_a_one_line_error_naming_file_and_key() {
    let dir = corpus_dir("sweeps");
    let results = cases(&dir)
        .iter()
        .map(|case| {
            check_error(case, &case.path.display().to_string(), || {
                SweepConfig::from_file(&case.path)
            })
        })
        .collect();
    report(results, 20);
}

#[test]
fn from_json_errors_carry_the_key_as_a_field() {
    // The key is also a field, for callers that map it to a command-line flag.
    for (json, key) in [
        (r#"{"lr": 0}"#, "lr"),
        (r#"{"batch": "60"}"#, "batch"),
        (r#"{"condition": "ip:oja"}"#, "condition"),
        (r#"{"lr": NaN}"#, "<file>"),
    ] {
        let e: ConfigError = TrainConfig::from_json(json).unwrap_err();
        assert_eq!(e.key, key, "{json}: {e}");
    }
    let e = SweepConfig::from_json(r#"{"grid": {"lrs": [0]}}"#).unwrap_err();
    assert_eq!(e.key, "grid.lrs");
}

#[test]
fn empty_grid_lists_are_errors_and_omitted_keys_mean_the_base_value() {
    for key in [
        "conditions",
        "activations",
        "hidden",
        "batches",
        "lrs",
        "ip_lrs",
        "seeds",
    ] {
        let e = SweepConfig::from_json(&format!(r#"{{"grid": {{"{key}": []}}}}"#)).unwrap_err();
        assert_eq!(e.key, format!("grid.{key}"));
        assert!(e.message.contains("empty list"), "{}", e.message);
    }
    let sweep =
        SweepConfig::from_json(r#"{"base": {"hidden": [3], "lr": 0.2}, "grid": {}}"#).unwrap();
    let runs = sweep.expand();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].config.hidden, vec![3]);
    assert_eq!(runs[0].config.lr, 0.2);
}
