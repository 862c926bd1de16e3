//! The hostile-input corpus of rule specs (`tests/corpus/specs.txt` and `specs-json.txt`, one
//! case per line): every case is a typed error, never a panic, whose message is one line,
//! names what is wrong and contains the substrings on the same line of the matching
//! `*.expected.txt` (`SUBSTRING | SUBSTRING ...`).

use ipbn_neurons::registry::parse_spec;
use ipbn_neurons::{NeuronError, RuleSpec};
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// The lines of a corpus file (a final newline ends the last case; it does not add one).
fn lines(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .map(str::to_string)
        .collect()
}

/// The cases of `name` with their expected substrings, checked to be the same number.
fn corpus(name: &str) -> Vec<(String, Vec<String>)> {
    let cases = lines(name);
    let expected = lines(&name.replace(".txt", ".expected.txt"));
    assert_eq!(
        cases.len(),
        expected.len(),
        "{name} and its .expected.txt must have one line per case"
    );
    cases
        .into_iter()
        .zip(expected)
        .map(|(c, e)| (c, e.split(" | ").map(str::to_string).collect()))
        .collect()
}

/// Checks one case; returns what is wrong with it.
fn check<T, E: Display>(
    case: &str,
    expect: &[String],
    f: impl FnOnce() -> Result<T, E>,
) -> Result<(), String> {
    let msg = match catch_unwind(AssertUnwindSafe(f)) {
        Err(_) => return Err(format!("{case:?}: PANICKED")),
        Ok(Ok(_)) => return Err(format!("{case:?}: was accepted, expected an error")),
        Ok(Err(e)) => e.to_string(),
    };
    let mut problems = Vec::new();
    if msg.contains(['\n', '\r']) {
        problems.push("spans several lines".to_string());
    }
    for s in expect {
        if !msg.contains(s.as_str()) {
            problems.push(format!("lacks `{s}`"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{case:?}: {}: {msg:?}", problems.join(", ")))
    }
}

fn report(results: Vec<Result<(), String>>, min_cases: usize) {
    let total = results.len();
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        failures.is_empty(),
        "{} of {total} hostile specs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= min_cases, "only {total} cases ran");
}

#[test]
fn every_bad_spec_string_is_a_one_line_error_naming_the_problem() {
    let results = corpus("specs.txt")
        .iter()
        .map(|(case, expect)| check(case, expect, || parse_spec(case)))
        .collect();
    report(results, 40);
}

#[test]
fn every_bad_spec_string_fails_the_same_through_from_str() {
    let results = corpus("specs.txt")
        .iter()
        .map(|(case, expect)| check(case, expect, || case.parse::<RuleSpec>()))
        .collect();
    report(results, 40);
}

#[test]
fn every_bad_json_spec_is_a_one_line_error_naming_the_problem() {
    let results = corpus("specs-json.txt")
        .iter()
        .map(|(case, expect)| check(case, expect, || serde_json::from_str::<RuleSpec>(case)))
        .collect();
    report(results, 25);
}

#[test]
fn out_of_range_values_are_typed_errors_with_the_value() {
    for (spec, param, value) in [
        ("triesch:mu=0", "mu", 0.0),
        ("schrauwen:sigma=-1", "sigma", -1.0),
        ("moment:rho=2", "rho", 2.0),
    ] {
        match parse_spec(spec) {
            Err(NeuronError::ParamOutOfRange {
                param: p, value: v, ..
            }) => {
                assert_eq!((p.as_str(), v), (param, value), "{spec}");
            }
            other => panic!("{spec}: expected ParamOutOfRange, got {other:?}"),
        }
    }
}

/// Regression (found by the `rule_spec` fuzz target, input `infoeopt=\rdam`): a control
/// character in a spec was echoed raw, so the message broke over lines. It is now escaped.
#[test]
fn control_characters_are_escaped_in_messages() {
    for (spec, shown) in [
        ("infoeopt=\rdam", "infoeopt=\\rdam"),
        ("tri\nesch", "tri\\nesch"),
        ("triesch:m\u{0}u=1", "m\\u{0}u"),
        ("triesch:mu=0.1x\u{1b}", "0.1x\\u{1b}"),
        ("triesch:opt=ad\nam", "ad\\nam"),
        ("triesch:mu=1,mu\r\n=2", "`mu` is given twice"),
        ("triesch:mu\u{85}", "mu\\u{85}"),
        ("moment:rho\n", "rho"),
    ] {
        let msg = parse_spec(spec).unwrap_err().to_string();
        assert!(!msg.contains(['\n', '\r']), "{spec:?} gave {msg:?}");
        assert!(
            msg.contains(shown),
            "{spec:?} gave {msg:?}, lacks {shown:?}"
        );
    }
    let json = serde_json::from_str::<RuleSpec>(r#"{"rule":"triesch","m\nu":1}"#)
        .unwrap_err()
        .to_string();
    assert!(!json.contains('\n') && json.contains("m\\nu"), "{json:?}");
}

#[test]
fn surrounding_whitespace_and_line_ends_still_parse() {
    // Escaping is only for messages: specs read from a file keep working.
    for spec in [
        "triesch:mu=0.2\n",
        " triesch : mu = 0.2 \r\n",
        "\ttriesch:mu=0.2",
    ] {
        let parsed = parse_spec(spec).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
        assert_eq!(parsed.to_string(), "triesch:mu=0.2,opt=sgd");
    }
}
