//! Training runs on small synthetic data: learning, recording, divergence, JSON output,
//! configuration errors and a pinned short run.

use ipbn_math::seed::rng;
use ipbn_math::Activation;
use ipbn_train::config::{DataSource, SyntheticData, TrainConfig};
use ipbn_train::mlp::{LayerKind, Mlp, MlpSpec};
use ipbn_train::sweep::SweepConfig;
use ipbn_train::{trainer, write_json_atomic, Init, RunResult};
use ndarray::Array2;
use ndarray_rand::rand_distr::{Distribution, StandardNormal};

fn small(condition: &str) -> TrainConfig {
    TrainConfig {
        hidden: vec![16, 12],
        condition: condition.parse().unwrap(),
        batch: 10,
        steps: 60,
        lr: 0.5,
        eval_every: 20,
        probe_size: 40,
        probe_units: vec![0, 3],
        ip_lr: 0.01,
        init: Init::Gauss { std: 0.3 },
        data: DataSource::Synthetic(SyntheticData {
            train: 300,
            test: 90,
            features: 12,
            classes: 3,
            separation: 3.0,
            seed: 5,
        }),
        ..TrainConfig::default()
    }
}

#[test]
fn sgd_step_decreases_the_loss_of_its_batch() {
    for kind in [LayerKind::Plain, LayerKind::Bn] {
        let spec = MlpSpec {
            inputs: 6,
            hidden: vec![8, 8],
            classes: 3,
            activation: Activation::Tanh,
            kind,
            init: Init::Glorot,
        };
        let mut r = rng(11);
        let mut net = Mlp::<f32>::new(&spec, &mut r).unwrap();
        let x = Array2::from_shape_fn((12, 6), |_| {
            let z: f32 = StandardNormal.sample(&mut r);
            z
        });
        let labels: Vec<u8> = (0..12).map(|i| (i % 3) as u8).collect();
        let mut ws = net.workspace(12, true);
        let mut losses = Vec::new();
        for _ in 0..5 {
            let out = net
                .train_step(x.view(), &labels, &mut ws, 0.05, 0.0)
                .unwrap();
            assert!(out.finite);
            losses.push(out.loss);
        }
        assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
    }
}

#[test]
fn every_condition_learns_separable_data_and_records_everything() {
    for cond in ["plain", "bn", "ip:triesch", "ip+affine:infomax-logistic"] {
        let cfg = small(cond);
        let data = cfg.data.load().unwrap();
        let mut calls = 0;
        let res = trainer::run(&cfg, &data, &mut |p| {
            calls += 1;
            assert!(p.step <= p.steps);
        })
        .unwrap();
        assert!(calls >= 4);
        assert!(!res.diverged && res.diverged_at_step.is_none());
        assert_eq!(res.steps_completed, 60);
        let acc = res.final_test_accuracy.unwrap();
        assert!(acc > 0.8, "{cond}: accuracy {acc} (chance 0.33)");
        let steps: Vec<usize> = res.history.iter().map(|r| r.step).collect();
        assert_eq!(steps, [0, 20, 40, 60]);
        assert_eq!(res.layers, ["hidden1", "hidden2", "output"]);
        let last = res.history.last().unwrap();
        assert_eq!(last.grad_norms.len(), 3);
        assert!(last.grad_norms.iter().all(|g| g.unwrap() > 0.0));
        assert!(res.history[0].grad_norms.iter().all(|g| g.is_none()));
        // Weight norms at every record; before training they are those of gauss:0.3 draws,
        // 0.3·√(fan_in·fan_out) to within sampling error (≈ 5 % for 192 entries).
        let w0 = &res.history[0].weight_norms;
        assert_eq!(w0.len(), 3);
        for (l, entries) in [(0, 12.0 * 16.0), (1, 16.0 * 12.0)] {
            let expected = 0.3 * f64::sqrt(entries);
            let got = w0[l].unwrap();
            assert!(
                (got / expected - 1.0).abs() < 0.2,
                "layer {l}: {got} vs {expected}"
            );
        }
        assert!(last.weight_norms.iter().all(|w| w.unwrap() > 0.0));
        assert!(res.history[0].train_loss.is_none() && last.train_loss.unwrap() > 0.0);
        assert_eq!(last.mean_slope.len(), 2);
        assert!(last
            .mean_slope
            .iter()
            .all(|s| (0.0..=0.25).contains(&s.unwrap())));
        assert!(last
            .correlation
            .iter()
            .all(|c| (0.0..=1.0).contains(&c.unwrap())));
        assert_eq!(last.unit_inputs.len(), 2);
        for u in &last.unit_inputs {
            let v: Vec<f64> = u.values.iter().map(|v| v.unwrap()).collect();
            assert!(v[0] <= v[1] && v[1] <= v[2], "{v:?}");
        }
        let is_ip = cond.starts_with("ip");
        for s in &last.ip {
            assert_eq!(s.is_some(), is_ip);
            if let Some(s) = s {
                // α moved away from 1 under the rule.
                assert!(s.alpha.min.unwrap() < s.alpha.max.unwrap());
            }
        }
        assert_eq!(res.probe.samples, 40);
    }
}

#[test]
fn huge_learning_rate_diverges_and_writes_valid_json() {
    let mut cfg = small("plain");
    cfg.activation = Activation::Relu;
    cfg.init = Init::He;
    cfg.lr = 1e6;
    cfg.steps = 200;
    let data = cfg.data.load().unwrap();
    let res = trainer::run(&cfg, &data, &mut |_| {}).unwrap();
    assert!(res.diverged);
    let at = res.diverged_at_step.unwrap();
    assert!((1..=200).contains(&at), "{at}");
    assert_eq!(res.steps_completed, at - 1);
    assert!(res.final_test_accuracy.is_none());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result.json");
    write_json_atomic(&path, &res).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("NaN") && !text.contains("inf"));
    let back: RunResult = serde_json::from_str(&text).unwrap();
    assert_eq!(back.diverged_at_step, Some(at));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["diverged"], true);
    assert!(v["final_test_accuracy"].is_null());
}

#[test]
fn result_json_has_the_promised_keys_and_round_trips() {
    let cfg = small("bn");
    let data = cfg.data.load().unwrap();
    let res = trainer::run(&cfg, &data, &mut |_| {}).unwrap();
    let v = serde_json::to_value(&res).unwrap();
    for key in [
        "config",
        "final_test_accuracy",
        "diverged",
        "diverged_at_step",
        "steps_completed",
        "history",
        "data_files",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!(v["diverged_at_step"].is_null());
    assert_eq!(v["config"]["condition"], "bn");
    for key in ["step", "train_loss", "test_accuracy", "grad_norms"] {
        assert!(
            v["history"][1].get(key).is_some(),
            "missing history key {key}"
        );
    }
    let text = serde_json::to_string(&res).unwrap();
    let back: RunResult = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
    // The stored config is complete: parsing it alone gives the same run.
    let cfg2 = TrainConfig::from_json(&serde_json::to_string(&v["config"]).unwrap()).unwrap();
    let res2 = trainer::run(&cfg2, &data, &mut |_| {}).unwrap();
    assert_eq!(serde_json::to_string(&res2).unwrap(), text);
}

/// Value stability: a short run's numbers are pinned, so any change to the numerics (layers,
/// rules, initialisation, batch order, seeding) is seen here first. If a change is intended,
/// update the pins and say why in the commit.
#[test]
fn short_runs_are_pinned() {
    let mut got = Vec::new();
    for cond in ["plain", "bn", "ip:triesch"] {
        let mut cfg = small(cond);
        cfg.steps = 20;
        cfg.eval_every = 20;
        let data = cfg.data.load().unwrap();
        let res = trainer::run(&cfg, &data, &mut |_| {}).unwrap();
        got.push(format!("{cond} {:.6}", res.final_train_loss.unwrap()));
    }
    assert_eq!(got, PINNED, "{got:?}");
}

const PINNED: [&str; 3] = ["plain 1.123318", "bn 0.841282", "ip:triesch 1.102504"];

fn key_of(json: &str) -> String {
    TrainConfig::from_json(json).unwrap_err().key
}

#[test]
fn config_errors_name_the_key() {
    assert_eq!(key_of(r#"{"lr": -1}"#), "lr");
    assert_eq!(key_of(r#"{"lr": "fast"}"#), "lr");
    assert_eq!(key_of(r#"{"lrr": 0.1}"#), "lrr");
    assert_eq!(key_of(r#"{"momentum": 1.0}"#), "momentum");
    assert_eq!(key_of(r#"{"hidden": [100, 0]}"#), "hidden");
    assert_eq!(key_of(r#"{"batch": 0}"#), "batch");
    assert_eq!(key_of(r#"{"batch": 1, "condition": "bn"}"#), "batch");
    assert_eq!(
        key_of(r#"{"condition": "ip:triesch", "activation": "tanh"}"#),
        "condition"
    );
    assert_eq!(key_of(r#"{"condition": "ip:nosuchrule"}"#), "condition");
    assert_eq!(key_of(r#"{"condition": "layernorm"}"#), "condition");
    assert_eq!(key_of(r#"{"init": "gauss:0"}"#), "init");
    assert_eq!(key_of(r#"{"activation": "identity"}"#), "activation");
    assert_eq!(key_of(r#"{"probe_units": [100]}"#), "probe_units");
    assert_eq!(key_of(r#"{"percentiles": [101]}"#), "percentiles");
    assert_eq!(key_of(r#"{"eval_every": 0}"#), "eval_every");
    assert_eq!(key_of(r#"{"data": {"ftp": "x"}}"#), "data");
    let e = TrainConfig::from_json(r#"{"lr": -1}"#).unwrap_err();
    assert!(e.to_string().contains("finite and > 0"), "{e}");
    let sweep_key = |j: &str| SweepConfig::from_json(j).unwrap_err().key;
    assert_eq!(sweep_key(r#"{"base": {"momentum": 1.5}}"#), "base.momentum");
    assert_eq!(sweep_key(r#"{"base": {"bogus": 1}}"#), "base.bogus");
    assert_eq!(sweep_key(r#"{"grid": {"lrs": [0.1, 0]}}"#), "grid.lrs");
    assert_eq!(sweep_key(r#"{"grid": {"bogus": 1}}"#), "grid.bogus");
    assert_eq!(sweep_key(r#"{"grid": {"seeds": [1, 1]}}"#), "grid.seeds");
    assert_eq!(sweep_key(r#"{"nmae": "x"}"#), "nmae");
    // Defaults are the Ioffe & Szegedy network.
    let d = TrainConfig::from_json("{}").unwrap();
    assert_eq!(
        (d.hidden.clone(), d.batch, d.activation),
        (vec![100, 100, 100], 60, Activation::Sigmoid)
    );
}
