//! Protocols as data: `ipbn reproduce --set` and `--config` change a figure's settings, the
//! resolved settings go into `ID.json`, and an unknown key or a bad value exits with 2 on one
//! line naming the figure, the key and the accepted keys.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn ipbn(out: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipbn"))
        .arg("reproduce")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn usage_line(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

fn config(out: &Path, id: &str) -> Value {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(format!("{id}.json"))).unwrap())
            .unwrap();
    v["config"].clone()
}

#[test]
fn unknown_keys_and_bad_values_exit_2_naming_the_accepted_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let e = usage_line(&ipbn(
        out,
        &["bn-mnist", "--quick", "--set", "no_such_key=1"],
    ));
    assert!(
        e.contains("bn-mnist")
            && e.contains("no_such_key")
            && e.contains("accepted keys: base, collapse_drop, conditions, seed, seeds, threshold"),
        "{e}"
    );
    // With every figure selected, a key none has is an error naming each figure's keys.
    let e = usage_line(&ipbn(out, &["--quick", "--set", "no_such_key=1"]));
    assert!(
        e.contains("no selected figure has the key `no_such_key`"),
        "{e}"
    );
    assert!(e.contains("equivalence: accepted keys:"), "{e}");
    let e = usage_line(&ipbn(
        out,
        &["bn-mnist", "--quick", "--set", "base.steps=many"],
    ));
    assert!(
        e.contains("bn-mnist: --set base.steps=many: bad value at `base.steps`")
            && e.contains("accepted keys of base:"),
        "{e}"
    );
    // equivalence has no seeds to set.
    let e = usage_line(&ipbn(out, &["equivalence", "--quick", "--seeds", "3"]));
    assert!(e.contains("equivalence") && e.contains("`seeds`"), "{e}");
    let e = usage_line(&ipbn(
        out,
        &["single-neuron", "--quick", "--set", "bn-mnist.seeds=3"],
    ));
    assert!(e.contains("`bn-mnist` is not selected"), "{e}");
    // Nothing was run.
    assert!(!out.join("bn-mnist.json").exists());
}

#[test]
fn set_and_config_change_the_resolved_config_in_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let o = ipbn(
        out,
        &[
            "single-neuron",
            "--quick",
            "--set",
            "steps=321",
            "--set",
            "seed=9",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    let c = config(out, "single-neuron");
    assert_eq!(
        (c["steps"].as_u64(), c["seed"].as_u64()),
        (Some(321), Some(9))
    );

    // A figure-targeted key and a config file mapping figures to their settings.
    let file = dir.path().join("protocol.json");
    std::fs::write(
        &file,
        r#"{"bn-mnist": {"base": {"steps": 40, "eval_every": 20}, "conditions": ["plain", "bn"]}}"#,
    )
    .unwrap();
    let o = ipbn(
        out,
        &[
            "bn-mnist",
            "single-neuron",
            "--quick",
            "--config",
            file.to_str().unwrap(),
            "--set",
            "bn-mnist.seeds=3",
            "--set",
            "bins=7",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    let c = config(out, "bn-mnist");
    assert_eq!(c["base"]["steps"].as_u64(), Some(40));
    assert_eq!(c["seeds"].as_u64(), Some(3));
    assert_eq!(c["conditions"], serde_json::json!(["plain", "bn"]));
    // Settings not named keep the quick protocol's values.
    assert!(c["base"]["lr"].as_f64().is_some_and(|lr| lr > 0.0));
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bn-mnist.json")).unwrap()).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2 * 3, "2 conditions × 3 seeds");
    assert!(runs.iter().all(|r| r["config"]["steps"] == 40));
    assert_eq!(config(out, "single-neuron")["bins"].as_u64(), Some(7));
    // A file that is not a map of figures needs a single figure.
    std::fs::write(&file, r#"{"seeds": 2}"#).unwrap();
    let e = usage_line(&ipbn(
        out,
        &[
            "bn-mnist",
            "single-neuron",
            "--quick",
            "--config",
            file.to_str().unwrap(),
        ],
    ));
    assert!(e.contains("must map figure ids"), "{e}");
}
