//! The `gradients` claim at network level: for every hidden-layer condition the f64
//! network's backprop gradient of every parameter (W, b, γ, β) agrees with central finite
//! differences of the training-mode loss, relative error ≤ 1e-6 per parameter array.

use ipbn_math::seed::rng;
use ipbn_math::Activation;
use ipbn_neurons::Mode;
use ipbn_train::mlp::{LayerKind, Mlp, MlpSpec};
use ipbn_train::Init;
use ndarray::Array2;
use ndarray_rand::rand_distr::{Distribution, StandardNormal};

const TOL: f64 = 1e-6;

fn loss_at(
    net: &mut Mlp<f64>,
    x: &Array2<f64>,
    labels: &[u8],
    ws: &mut ipbn_train::Workspace<f64>,
) -> f64 {
    net.forward(x.view(), Mode::Train, ws).unwrap();
    net.loss(labels, ws).unwrap()
}

/// Returns the worst per-array relative error ‖g − fd‖ / max(‖g‖, ‖fd‖).
fn worst_gradient_error(kind: LayerKind, act: Activation, seed: u64) -> (f64, String) {
    let spec = MlpSpec {
        inputs: 5,
        hidden: vec![4, 3],
        classes: 3,
        activation: act,
        kind,
        init: Init::Gauss { std: 0.8 },
    };
    let mut r = rng(seed);
    let mut net = Mlp::<f64>::new(&spec, &mut r).unwrap();
    let n = 7;
    let x = Array2::from_shape_fn((n, 5), |_| {
        let z: f64 = StandardNormal.sample(&mut r);
        z
    });
    let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
    let mut ws = net.workspace(n, true);
    // Move every parameter (including IP's α, k and BN's γ, β) away from its initial value.
    for _ in 0..4 {
        let out = net
            .train_step(x.view(), &labels, &mut ws, 0.3, 0.5)
            .unwrap();
        assert!(out.finite && out.loss.is_finite());
    }
    loss_at(&mut net, &x, &labels, &mut ws);
    net.backward(x.view(), &mut ws).unwrap();
    let grads: Vec<Vec<f64>> = net
        .grads()
        .iter()
        .map(|g| g.iter().copied().collect())
        .collect();
    let names = net.param_names();
    assert_eq!(names.len(), grads.len());
    let h = 1e-5;
    let mut worst = (0.0f64, String::new());
    for (i, g) in grads.iter().enumerate() {
        let mut fd = vec![0.0; g.len()];
        for (j, fdj) in fd.iter_mut().enumerate() {
            let orig = *net.params_mut()[i].iter_mut().nth(j).unwrap();
            *net.params_mut()[i].iter_mut().nth(j).unwrap() = orig + h;
            let lp = loss_at(&mut net, &x, &labels, &mut ws);
            *net.params_mut()[i].iter_mut().nth(j).unwrap() = orig - h;
            let lm = loss_at(&mut net, &x, &labels, &mut ws);
            *net.params_mut()[i].iter_mut().nth(j).unwrap() = orig;
            *fdj = (lp - lm) / (2.0 * h);
        }
        let diff = g
            .iter()
            .zip(&fd)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        let scale = g
            .iter()
            .map(|a| a * a)
            .sum::<f64>()
            .sqrt()
            .max(fd.iter().map(|a| a * a).sum::<f64>().sqrt());
        assert!(
            scale > 1e-8,
            "{}: gradient vanishes, the check would be empty",
            names[i]
        );
        let rel = diff / scale;
        if rel > worst.0 {
            worst = (rel, names[i].clone());
        }
    }
    worst
}

fn assert_gradients(kind: LayerKind, act: Activation, expect_params: &[&str]) {
    for seed in [1, 2] {
        let (err, name) = worst_gradient_error(kind.clone(), act, seed);
        assert!(err <= TOL, "{kind:?} {act}: {name} relative error {err:e}");
    }
    let spec = MlpSpec {
        inputs: 2,
        hidden: vec![2],
        classes: 2,
        activation: act,
        kind,
        init: Init::Glorot,
    };
    let net = Mlp::<f64>::new(&spec, &mut rng(0)).unwrap();
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
