//! The single-unit figures (single-neuron, information, equivalence) in quick mode: every
//! file they write parses and every number drawn is finite.

mod common;

use common::{check_json, check_png, check_svg, FIGURE_IDS};
use ipbn_reports::figure::{DataSource, Figure, FigureContext};
use ipbn_reports::figures;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn context(dir: &Path, quick: bool) -> (FigureContext, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let ctx = FigureContext {
        quick,
        data: DataSource::Shipped,
        out_dir: dir.to_path_buf(),
        progress: Arc::new(move |done, total| {
            assert!(done <= total, "progress {done}/{total}");
            c.fetch_add(1, Ordering::SeqCst);
        }),
        runs: Default::default(),
        overrides: Default::default(),
    };
    (ctx, calls)
}

fn run_and_check(fig: &dyn Figure) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, calls) = context(dir.path(), true);
    let out = fig
        .run(&ctx)
        .unwrap_or_else(|e| panic!("{} failed: {e}", fig.id()));
    assert_eq!(out.id, fig.id());
    assert!(
        calls.load(Ordering::SeqCst) > 0,
        "{} reported no progress",
        fig.id()
    );
    let id = fig.id();
    for ext in ["svg", "png", "json"] {
        let p = dir.path().join(format!("{id}.{ext}"));
        assert!(p.exists(), "{} missing", p.display());
        assert!(
            out.files.contains(&p),
            "{} not listed in the output",
            p.display()
        );
    }
    check_png(&dir.path().join(format!("{id}.png")), 10_000);
    check_svg(&dir.path().join(format!("{id}.svg")));
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(format!("{id}.json"))).unwrap(),
    )
    .unwrap();
    let n = check_json(&json, id);
    assert!(n > 100, "{id}.json holds only {n} numbers");
    assert_eq!(json["id"], id);
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["finding"], out.finding.as_str());
    assert!(json["config"].is_object() && !json["seeds"].is_null());
    // The finding carries numbers from the run.
    assert!(
        out.finding.chars().any(|c| c.is_ascii_digit()),
        "{}",
        out.finding
    );
    // No temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // The three drawings and the JSON, plus `ID.csv` where the figure gives tidy rows.
    for ext in ["svg", "png", "json"] {
        assert!(names.contains(&format!("{id}.{ext}")), "{names:?}");
    }
    assert!(
        names.iter().all(|n| ["svg", "png", "json", "csv"]
            .map(|e| format!("{id}.{e}"))
            .contains(n)),
        "{names:?}"
    );
    json
}

#[test]
fn single_neuron_quick() {
    let json = run_and_check(&figures::SingleNeuron::default());
    let runs = json["runs"].as_array().unwrap();
    // Every registered KL rule on every input, with each of the quick settings' seeds.
    let kl_rules = ipbn_neurons::registry::default_rules()
        .into_iter()
        .filter(|r| r.kind() == ipbn_neurons::RuleKind::Kl)
        .count();
    let seeds = figures::single_neuron::SingleNeuronConfig::quick().seeds;
    assert_eq!(runs.len(), kl_rules * 3 * seeds);
    // The Triesch 2005 verdict is computed, with its evidence.
    let v = &json["verdicts"][0];
    assert_eq!(v["id"], "triesch2005-output-approaches-exponential");
    assert!(v["evidence"].as_str().unwrap().contains("95 % CI"));
    // Quadrature fixed points exist and the published triesch ones are matched.
    for r in runs {
        assert!(
            r["fixed_point_quadrature"].is_array(),
            "{}: no fixed point",
            r["rule"]
        );
        if let (Some(f), Some(p)) = (
            r["fixed_point_quadrature"].as_array(),
            r["fixed_point_published"].as_array(),
        ) {
            for i in 0..2 {
                let (f, p) = (f[i].as_f64().unwrap(), p[i].as_f64().unwrap());
                assert!(
                    (f - p).abs() < 2e-3 * p.abs().max(1.0),
                    "{}: {f} vs {p}",
                    r["rule"]
                );
            }
        }
    }
}

#[test]
fn information_quick() {
    let json = run_and_check(&figures::Information::default());
    let conds = json["conditions"].as_array().unwrap();
    // Entropy of outputs on the activation's range is at most ln(width) (up to histogram
    // bias): 0 for sigmoid, ln 2 for tanh; BN standardisation and infomax beat no adaptation
    // on the first input, every seed.
    let per_seed = |label: &str, key: &str| -> Vec<f64> {
        conds.iter().find(|c| c["label"] == label).unwrap()["per_input"][0][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    for c in conds {
        let max = match c["activation"].as_str().unwrap() {
            "sigmoid" => 0.0,
            "tanh" => 2f64.ln(),
            _ => f64::INFINITY,
        };
        for input in c["per_input"].as_array().unwrap() {
            for h in input["final_entropy_per_seed"].as_array().unwrap() {
                if let Some(h) = h.as_f64() {
                    assert!(h <= max + 1e-9, "{}: {h}", c["label"]);
                }
            }
        }
    }
    let none = per_seed("none (sigmoid)", "final_renyi2_per_seed");
    for other in ["bn (sigmoid)", "ip:infomax-logistic"] {
        let v = per_seed(other, "final_renyi2_per_seed");
        assert!(
            v.iter().zip(&none).all(|(a, b)| a > b),
            "{other}: {v:?} vs {none:?}"
        );
    }
    assert_eq!(json["verdicts"].as_array().unwrap().len(), 2);
}

#[test]
fn equivalence_quick() {
    let json = run_and_check(&figures::Equivalence::default());
    assert!(json["bn_vs_ip"]["worst_error_scaled"].as_f64().unwrap() < 1e-12);
    let claims = json["claims"].as_array().unwrap();
    assert_eq!(claims.len(), ipbn_train::claims::all().len());
}

#[test]
fn figure_list_is_in_spec_order_and_ids_are_unique() {
    let ids: Vec<&str> = figures::all().iter().map(|f| f.id()).collect();
    let mut last = 0;
    for id in &ids {
        let pos = FIGURE_IDS
            .iter()
            .position(|s| s == id)
            .unwrap_or_else(|| panic!("unknown figure {id}"));
        assert!(pos >= last, "{id} is out of order in {ids:?}");
        last = pos;
    }
    for id in ["single-neuron", "information", "equivalence"] {
        assert_eq!(ids.iter().filter(|i| **i == id).count(), 1);
    }
}

/// Renders the full variants into `IPBN_FIGURE_DIR` for inspection (run with `--ignored`).
#[test]
#[ignore = "full-size figures; run with IPBN_FIGURE_DIR=... cargo test --release -- --ignored"]
fn render_full_figures() {
    let dir = std::env::var_os("IPBN_FIGURE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap();
    let only = std::env::var("IPBN_FIGURE_ONLY").ok();
    let (ctx, _) = context(&dir, false);
    for f in figures::all() {
        if only.as_deref().is_some_and(|o| o != f.id()) {
            continue;
        }
        let t = std::time::Instant::now();
        let out = f.run(&ctx).unwrap();
        println!(
            "{} ({:.1} s): {}",
            out.id,
            t.elapsed().as_secs_f64(),
            out.finding
        );
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{}.json", out.id))).unwrap(),
        )
        .unwrap();
        check_json(&json, &out.id);
    }
}
