//! The `gradients` claim at network level: for every hidden-layer condition the f64
//! network's backprop gradient of every parameter (W, b, γ, β) agrees with finite
//! differences of the training-mode loss, relative error ≤ 1e-6 per parameter array.
//!
//! The check itself is [`GradientProblem`], shared with the `network-gradients` claim
//! (`ipbn claims`), which runs it on many more random networks.

use ipbn_math::seed::rng;
use ipbn_math::Activation;
use ipbn_train::claims::{self, worst_relative_error, GradientProblem, FD_STEP};
use ipbn_train::mlp::{LayerKind, Mlp, MlpSpec};
use ipbn_train::Init;

const TOL: f64 = 1e-6;

fn spec(kind: LayerKind, act: Activation) -> MlpSpec {
    MlpSpec {
        inputs: 5,
        hidden: vec![4, 3],
        classes: 3,
        activation: act,
        kind,
        init: Init::Gauss { std: 0.8 },
    }
}

/// Checks two seeded networks of `kind` (7 rows, 4 warm-up steps) and returns the worst error.
fn worst_error(kind: &LayerKind, act: Activation) -> f64 {
    let mut worst = 0.0f64;
    for seed in [1, 2] {
        let mut p = GradientProblem::new(&spec(kind.clone(), act), 7, 4, seed).unwrap();
        assert!(p.net.is_finite(), "{kind:?} {act}: warm-up diverged");
        let checks = p.check(FD_STEP).unwrap();
        assert_eq!(
            checks.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            p.net.param_names()
        );
        for c in &checks {
            assert!(
                c.analytic_norm > 1e-8,
                "{kind:?} {act}: {} gradient vanishes, the check would be empty",
                c.name
            );
        }
        worst = worst.max(worst_relative_error(&checks));
    }
    worst
}

fn assert_gradients(kind: LayerKind, act: Activation, expect_params: &[&str]) {
    let err = worst_error(&kind, act);
    assert!(err <= TOL, "{kind:?} {act}: relative error {err:e}");
    let one_layer = MlpSpec {
        inputs: 2,
        hidden: vec![2],
        classes: 2,
        activation: act,
        kind,
        init: Init::Glorot,
    };
    let net = Mlp::<f64>::new(&one_layer, &mut rng(0)).unwrap();
    assert_eq!(net.param_names(), expect_params);
}

#[test]
fn plain_network_gradient_matches_finite_differences() {
    for act in [Activation::Sigmoid, Activation::Tanh] {
        assert_gradients(
            LayerKind::Plain,
            act,
            &["hidden1.w", "hidden1.b", "output.w", "output.b"],
        );
    }
}

#[test]
fn bn_network_gradient_matches_finite_differences() {
    for act in [Activation::Sigmoid, Activation::Tanh] {
        assert_gradients(
            LayerKind::Bn,
            act,
            &[
                "hidden1.w",
                "hidden1.gamma",
                "hidden1.beta",
                "output.w",
                "output.b",
            ],
        );
    }
}

fn ip(spec: &str, affine: bool) -> LayerKind {
    let s = ipbn_neurons::parse_spec(spec).unwrap();
    LayerKind::Ip {
        rule: s.rule,
        step: s.step,
        eta: 0.05,
        affine,
    }
}

#[test]
fn ip_network_gradient_matches_finite_differences() {
    let names = ["hidden1.w", "hidden1.b", "output.w", "output.b"];
    assert_gradients(ip("triesch:mu=0.2", false), Activation::Sigmoid, &names);
    assert_gradients(ip("infomax-logistic", false), Activation::Sigmoid, &names);
    assert_gradients(ip("infomax-tanh:opt=adam", false), Activation::Tanh, &names);
}

#[test]
fn ip_affine_network_gradient_matches_finite_differences() {
    let names = [
        "hidden1.w",
        "hidden1.b",
        "hidden1.gamma",
        "hidden1.beta",
        "output.w",
        "output.b",
    ];
    assert_gradients(ip("infomax-logistic", true), Activation::Sigmoid, &names);
    assert_gradients(ip("triesch", true), Activation::Sigmoid, &names);
    assert_gradients(ip("schrauwen", true), Activation::Tanh, &names);
}

#[test]
fn every_registered_condition_gradient_matches_finite_differences() {
    let mut seen = Vec::new();
    // Every smooth hidden activation (finite differences do not resolve ReLU's kink).
    for act in [Activation::Sigmoid, Activation::Tanh, Activation::Softplus] {
        for cond in claims::conditions(act) {
            let err = worst_error(&cond.layer_kind(0.05), act);
            assert!(err <= TOL, "{cond} {act}: relative error {err:e}");
            seen.push(cond.to_string());
        }
    }
    // Every registered rule appears, alone and with the affine step.
    for def in ipbn_neurons::registry::active().defs() {
        for prefix in ["ip", "ip+affine"] {
            let want = format!("{prefix}:{}", def.id);
            assert!(
                seen.iter().any(|s| s.starts_with(&want)),
                "{want} missing from {seen:?}"
            );
        }
    }
    assert!(seen.iter().any(|s| s == "bn") && seen.iter().any(|s| s == "plain"));
}
