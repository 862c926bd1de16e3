//! `ipbn reproduce --quick` over all eight figures, through the library: every file is
//! written and parses, no number in any JSON is non-finite (serde_json writes NaN as `null`),
//! and the generated index names every figure.

mod common;

use common::{check_json, check_png, check_svg, FIGURE_IDS};
use ipbn_reports::cmd_reproduce::{reproduce, ReproduceArgs};
use ipbn_reports::error::CliError;
use serde_json::Value;

#[test]
fn quick_reproduce_writes_every_figure_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let args = ReproduceArgs {
        quick: true,
        out: dir.path().to_path_buf(),
        ..ReproduceArgs::default()
    };
    let started = std::time::Instant::now();
    let outputs = reproduce(&args).unwrap_or_else(|e| panic!("reproduce --quick failed: {e}"));
    eprintln!(
        "reproduce --quick: {:.1} s for {} figures",
        started.elapsed().as_secs_f64(),
        outputs.len()
    );
    let ids: Vec<&str> = outputs.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, FIGURE_IDS, "figures in the order of figures.md");
    for o in &outputs {
        assert!(
            o.finding.len() > 40 && !o.finding.contains("NaN"),
            "{}: finding `{}`",
            o.id,
            o.finding
        );
        for ext in ["svg", "png", "json"] {
            let p = dir.path().join(format!("{}.{ext}", o.id));
            assert!(p.is_file(), "{} missing", p.display());
            assert!(o.files.contains(&p), "{} not listed", p.display());
        }
        check_svg(&dir.path().join(format!("{}.svg", o.id)));
        let (w, h) = check_png(&dir.path().join(format!("{}.png", o.id)), 10_000);
        assert!(
            (800..=4000).contains(&w) && (500..=4000).contains(&h),
            "{}.png: {w}x{h}",
            o.id
        );
        let text = std::fs::read_to_string(dir.path().join(format!("{}.json", o.id))).unwrap();
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}.json does not parse: {e}", o.id));
        let numbers = check_json(&v, &o.id);
        assert!(numbers > 20, "{}.json holds only {numbers} numbers", o.id);
        assert_eq!(v["id"], Value::String(o.id.clone()));
        assert!(v.get("version").is_some(), "{}.json has no version", o.id);
    }
    // The network figures record their data files, seeds and configurations.
    for id in [
        "bn-mnist",
        "vanishing-gradient",
        "lr-stability",
        "batch-size",
        "homogenisation",
    ] {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("{id}.json"))).unwrap(),
        )
        .unwrap();
        let files = v["data"]["files"].as_array().expect("data.files");
        assert!(
            files
                .iter()
                .any(|f| f.as_str().is_some_and(|s| s.contains("sha256:"))),
            "{id}: data files {files:?}"
        );
        assert!(
            !v["run_seeds"].as_array().unwrap().is_empty(),
            "{id}: seeds"
        );
        let runs = v["runs"].as_array().expect("runs");
        assert!(
            runs.iter().all(|r| r["config"]["hidden"].is_array()),
            "{id}: every run carries its full configuration"
        );
    }
    // BN at batch 1 is drawn as undefined, not as an accuracy.
    let bs: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("batch-size.json")).unwrap())
            .unwrap();
    let bn = bs["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == "bn")
        .expect("bn condition");
    assert_eq!(bn["undefined_batches"], serde_json::json!([1]));
    assert!(!bn["final_accuracy_vs_batch"]["x"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(1.0)));

    let readme = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    for id in FIGURE_IDS {
        assert!(readme.contains(&format!("## {id}")), "README lacks {id}");
        assert!(
            readme.contains(&format!("({id}.png)")),
            "README lacks {id}.png"
        );
    }
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("index.json")).unwrap())
            .unwrap();
    assert_eq!(index.as_array().unwrap().len(), FIGURE_IDS.len());

    // `--seeds` overrides a figure's default; homogenisation reuses bn-mnist's runs.
    let one = ReproduceArgs {
        ids: vec!["homogenisation".into()],
        seeds: Some(1),
        ..args.clone()
    };
    reproduce(&one).unwrap();
    let h: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("homogenisation.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(h["run_seeds"].as_array().unwrap().len(), 1);
    let per_cond = h["conditions"].as_array().unwrap().len();
    assert_eq!(h["runs"].as_array().unwrap().len(), per_cond);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = ReproduceArgs {
        ids: vec!["no-such-figure".into()],
        out: dir.path().to_path_buf(),
        ..ReproduceArgs::default()
    };
    match reproduce(&unknown) {
        Err(CliError::Usage(m)) => assert!(m.contains("bn-mnist"), "{m}"),
        other => panic!("expected a usage error, got {other:?}"),
    }
    // A folder without MNIST files: the network figure reports the data problem.
    let empty = tempfile::tempdir().unwrap();
    let no_data = ReproduceArgs {
        ids: vec!["bn-mnist".into()],
        quick: true,
        data: Some(empty.path().to_path_buf()),
        out: dir.path().to_path_buf(),
        ..ReproduceArgs::default()
    };
    match reproduce(&no_data) {
        Err(CliError::Usage(m)) => assert!(m.contains("--data"), "{m}"),
        other => panic!("expected a usage error, got {other:?}"),
    }
}
