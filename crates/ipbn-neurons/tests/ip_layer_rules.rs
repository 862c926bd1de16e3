//! The IP layer driven by the registered rules: every rule runs in a layer without producing
//! non-finite or non-positive gains, and infomax-tanh reaches its known equilibrium.

use ipbn_math::Activation;
use ipbn_neurons::registry::default_rules;
use ipbn_neurons::{IpLayer, IpLayerConfig, Mode, RuleKind, StepKind};
use ndarray::Array2;
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand_distr::Normal;
use ndarray_rand::RandomExt;
use rand_chacha::ChaCha8Rng;

#[test]
fn every_registered_rule_runs_in_a_layer() {
    let rules = default_rules();
    assert!(!rules.is_empty());
    for rule in rules {
        let act = if rule.kind() == RuleKind::Other && rule.activation() == Activation::Identity {
            Activation::Sigmoid
        } else {
            rule.activation()
        };
        for step in [StepKind::Sgd, StepKind::adam()] {
            let cfg = IpLayerConfig {
                eta: 0.05,
                step,
                ..IpLayerConfig::default()
            };
            let mut ip = IpLayer::<f32>::new(4, act, rule.clone(), cfg).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            for _ in 0..200 {
                let x = Array2::random_using((16, 4), Normal::new(3.0f32, 2.0).unwrap(), &mut rng);
                let y = ip.forward(x.view(), Mode::Train).unwrap();
                assert!(y.iter().all(|v| v.is_finite()), "{}", rule.id());
                ip.adapt();
            }
            assert!(
                ip.alpha.iter().all(|&a| a > 0.0 && a.is_finite())
                    && ip.k.iter().all(|k| k.is_finite()),
                "{}: alpha {:?} k {:?}",
                rule.id(),
                ip.alpha,
                ip.k
            );
            // The rule moved the parameters away from their start.
            assert!(ip.alpha.iter().any(|&a| a != 1.0), "{}", rule.id());
        }
    }
}

#[test]
fn infomax_tanh_reaches_its_equilibrium_through_the_layer() {
    // models.md §3: on N(m, s²) input, α* s = 0.87440 and k* = −α* m.
    let rule = default_rules()
        .into_iter()
        .find(|r| r.id() == "infomax-tanh")
        .expect("infomax-tanh is registered");
    let (m, s) = (2.0, 0.5);
    let cfg = IpLayerConfig {
        eta: 0.01,
        ..IpLayerConfig::default()
    };
    let mut ip = IpLayer::<f64>::new(1, Activation::Tanh, rule, cfg).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let dist = Normal::new(m, s).unwrap();
    let (mut sum_a, mut sum_k, mut count) = (0.0, 0.0, 0.0);
    for step in 0..6000 {
        let x = Array2::random_using((100, 1), dist, &mut rng);
        ip.forward(x.view(), Mode::Train).unwrap();
        ip.adapt();
        if step >= 4000 {
            sum_a += ip.alpha[0];
            sum_k += ip.k[0];
            count += 1.0;
        }
    }
    let (a, k) = (sum_a / count, sum_k / count);
    assert!((a * s - 0.8744).abs() < 0.01, "alpha s = {}", a * s);
    assert!((k + a * m).abs() < 0.01, "k = {k}, -alpha m = {}", -a * m);
}
