//! The IP layer: forward and backward against hand formulas, adaptation through a rule, the
//! Adam step, the positivity guard on α and construction errors.

use ipbn_math::Activation;
use ipbn_neurons::rules::Uniform;
use ipbn_neurons::{
    Delta, IpLayer, IpLayerConfig, IpRule, Layer, Mode, NeuronError, Objective, ParamInfo,
    RuleKind, StepKind, StepState,
};
use ndarray::{array, Array2, ArrayView1};
use std::sync::{Arc, Mutex};

/// One call of a rule: x, y, α, k.
type Call = (Vec<f64>, Vec<f64>, f64, f64);

/// A test rule: returns a fixed direction, or Bell & Sejnowski's infomax-tanh direction
/// (Δk = mean(−2y), Δα = 1/α + mean(x·(−2y))), and records what it was given.
#[derive(Debug)]
struct TestRule {
    fixed: Option<Delta>,
    activation: Activation,
    kind: RuleKind,
    seen: Mutex<Vec<Call>>,
}

impl TestRule {
    fn infomax_tanh() -> Self {
        TestRule {
            fixed: None,
            activation: Activation::Tanh,
            kind: RuleKind::Kl,
            seen: Mutex::new(Vec::new()),
        }
    }
    fn fixed(d: Delta, activation: Activation, kind: RuleKind) -> Self {
        TestRule {
            fixed: Some(d),
            activation,
            kind,
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl IpRule for TestRule {
    fn direction(
        &self,
        x: ArrayView1<'_, f64>,
        y: ArrayView1<'_, f64>,
        alpha: f64,
        k: f64,
    ) -> Delta {
        self.seen
            .lock()
            .unwrap()
            .push((x.to_vec(), y.to_vec(), alpha, k));
        if let Some(d) = self.fixed {
            return d;
        }
        let m = x.len() as f64;
        let dk = y.iter().map(|&v| -2.0 * v).sum::<f64>() / m;
        let dxy = x
            .iter()
            .zip(y.iter())
            .map(|(&a, &b)| -2.0 * a * b)
            .sum::<f64>()
            / m;
        Delta {
            alpha: 1.0 / alpha + dxy,
            k: dk,
        }
    }
    fn id(&self) -> &'static str {
        "test-rule"
    }
    fn activation(&self) -> Activation {
        self.activation
    }
    fn objective(&self) -> Objective<'_> {
        match self.kind {
            RuleKind::Kl => Objective::Kl(&Uniform::SYMMETRIC_UNIT),
            RuleKind::Other => Objective::Other,
        }
    }
    fn params(&self) -> Vec<ParamInfo> {
        Vec::new()
    }
    fn param(&self, _name: &str) -> Option<f64> {
        None
    }
    fn source(&self) -> &'static str {
        "test"
    }
}

fn config(eta: f64, affine: bool) -> IpLayerConfig {
    IpLayerConfig {
        eta,
        affine,
        ..IpLayerConfig::default()
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn forward_and_backward_without_affine() {
    let rule = Arc::new(TestRule::infomax_tanh());
    let mut ip = IpLayer::<f64>::new(2, Activation::Tanh, rule, config(0.1, false)).unwrap();
    ip.alpha = array![2.0, 0.5];
    ip.k = array![0.5, -1.0];
    let x = array![[0.25, 2.0], [-1.0, 4.0], [0.0, -2.0]];
    let y = ip.forward(x.view(), Mode::Train).unwrap();
    for i in 0..3 {
        for j in 0..2 {
            let u = ip.alpha[j] * x[[i, j]] + ip.k[j];
            assert_eq!(y[[i, j]], u.tanh());
        }
    }
    assert_eq!(y[[0, 0]], 1f64.tanh());
    let g = array![[1.0, -2.0], [0.5, 0.25], [-1.0, 3.0]];
    let dx = ip.backward(g.view()).unwrap();
    for i in 0..3 {
        for j in 0..2 {
            let u = ip.alpha[j] * x[[i, j]] + ip.k[j];
            let e = g[[i, j]] * (1.0 - u.tanh().powi(2)) * ip.alpha[j];
            assert!(close(dx[[i, j]], e, 1e-14), "{} vs {e}", dx[[i, j]]);
        }
    }
    assert!(ip.affine_grads().is_none());
    assert!(ip.gamma.is_none() && ip.beta.is_none());
}

#[test]
fn forward_and_backward_with_affine() {
    let rule = Arc::new(TestRule::fixed(
        Delta { alpha: 0.0, k: 0.0 },
        Activation::Sigmoid,
        RuleKind::Kl,
    ));
    let mut ip = IpLayer::<f64>::new(2, Activation::Sigmoid, rule, config(0.1, true)).unwrap();
    assert_eq!(ip.gamma.as_ref().unwrap(), &array![1.0, 1.0]);
    assert_eq!(ip.beta.as_ref().unwrap(), &array![0.0, 0.0]);
    ip.alpha = array![2.0, 0.5];
    ip.k = array![0.5, -1.0];
    ip.gamma = Some(array![-1.5, 3.0]);
    ip.beta = Some(array![0.25, -0.5]);
    let x = array![[0.25, 2.0], [-1.0, 4.0]];
    let y = ip.forward(x.view(), Mode::Train).unwrap();
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let (a, k, gm, bt) = ([2.0, 0.5], [0.5, -1.0], [-1.5, 3.0], [0.25, -0.5]);
    let g = array![[1.0, -2.0], [0.5, 0.25]];
    let dx = ip.backward(g.view()).unwrap();
    let (dg, db) = ip.affine_grads().unwrap();
    for j in 0..2 {
        let (mut sg, mut sb) = (0.0, 0.0);
        for i in 0..2 {
            let u = a[j] * x[[i, j]] + k[j];
            let v = gm[j] * u + bt[j];
            assert!(close(y[[i, j]], sig(v), 1e-15));
            let d = sig(v) * (1.0 - sig(v));
            assert!(close(dx[[i, j]], g[[i, j]] * d * gm[j] * a[j], 1e-14));
            sg += g[[i, j]] * d * u;
            sb += g[[i, j]] * d;
        }
        assert!(close(dg[j], sg, 1e-14) && close(db[j], sb, 1e-14));
    }
    // Hand value: unit 0, sample 0: u = 1, v = −1.25.
    assert!(close(y[[0, 0]], 1.0 / (1.0 + 1.25f64.exp()), 1e-15));
    // Inference gives the same output without touching the cache.
    let ye = ip.forward(x.view(), Mode::Eval).unwrap();
    assert_eq!(ye, y);
}

#[test]
fn adapt_feeds_the_rule_x_and_theta_of_the_ip_part() {
    let rule = Arc::new(TestRule::infomax_tanh());
    let mut ip = IpLayer::<f64>::new(2, Activation::Tanh, rule.clone(), config(0.1, true)).unwrap();
    ip.alpha = array![2.0, 0.5];
    ip.k = array![0.5, -1.0];
    ip.gamma = Some(array![3.0, -1.0]);
    ip.beta = Some(array![1.0, 2.0]);
    let x = array![[0.25, 2.0], [-1.0, 4.0], [0.0, -2.0]];
    ip.forward(x.view(), Mode::Train).unwrap();
    ip.adapt();
    let seen = rule.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (a0, k0) = ([2.0, 0.5], [0.5, -1.0]);
    for (j, (xs, ys, a, k)) in seen.iter().enumerate() {
        assert_eq!(xs, &x.column(j).to_vec());
        let expect: Vec<f64> = xs.iter().map(|&v| (a0[j] * v + k0[j]).tanh()).collect();
        assert_eq!(ys, &expect, "y must be θ(αx + k), not the affine output");
        assert_eq!((*a, *k), (a0[j], k0[j]));
        // SGD with η = 0.1 on the infomax-tanh direction.
        let m = 3.0;
        let dk = ys.iter().map(|&v| -2.0 * v).sum::<f64>() / m;
        let da = 1.0 / a0[j] + xs.iter().zip(ys).map(|(&p, &q)| -2.0 * p * q).sum::<f64>() / m;
        assert!(close(ip.alpha[j], a0[j] + 0.1 * da, 1e-15));
        assert!(close(ip.k[j], k0[j] + 0.1 * dk, 1e-15));
    }
    // γ and β are not touched by the rule.
    assert_eq!(ip.gamma.as_ref().unwrap(), &array![3.0, -1.0]);
}

#[test]
fn adam_step_matches_step_state() {
    let d = Delta {
        alpha: 0.3,
        k: -0.7,
    };
    let rule = Arc::new(TestRule::fixed(d, Activation::Sigmoid, RuleKind::Kl));
    let cfg = IpLayerConfig {
        eta: 0.05,
        step: StepKind::adam(),
        ..IpLayerConfig::default()
    };
    let mut ip = IpLayer::<f64>::new(3, Activation::Sigmoid, rule, cfg).unwrap();
    let mut reference = StepState::new(StepKind::adam(), 3);
    let x = Array2::from_shape_fn((4, 3), |(i, j)| i as f64 - j as f64);
    let (mut a, mut k) = (1.0, 0.0);
    for _ in 0..3 {
        ip.forward(x.view(), Mode::Train).unwrap();
        ip.adapt();
        reference.begin();
        let (da, dk) = reference.change(0, d, 0.05);
        a += da;
        k += dk;
    }
    for j in 0..3 {
        assert!(close(ip.alpha[j], a, 1e-15), "{} vs {a}", ip.alpha[j]);
        assert!(close(ip.k[j], k, 1e-15));
    }
    assert_eq!(ip.step_state().steps(), 3);
    // With a constant direction the bias-corrected moments are m̂ = d, v̂ = d², so every Adam
    // step is η·sign(d) up to eps: three steps of 0.05.
    assert!(close(a, 1.15, 1e-6) && close(k, -0.15, 1e-6), "{a} {k}");
}

#[test]
fn alpha_stays_positive_and_finite() {
    let down = Arc::new(TestRule::fixed(
        Delta {
            alpha: -1e6,
            k: 1.0,
        },
        Activation::Tanh,
        RuleKind::Kl,
    ));
    let mut ip = IpLayer::<f32>::new(2, Activation::Tanh, down, config(1.0, false)).unwrap();
    let x = Array2::<f32>::from_elem((2, 2), 1.0);
    for step in 1..=50 {
        ip.forward(x.view(), Mode::Train).unwrap();
        ip.adapt();
        let expect = 10f64.powi(-step).max(ipbn_neurons::ip_layer::MIN_ALPHA);
        assert!(ip.alpha.iter().all(|&a| a > 0.0 && a.is_finite()));
        assert!(
            close(f64::from(ip.alpha[0]), expect, 1e-6),
            "{} vs {expect}",
            ip.alpha[0]
        );
        assert_eq!(ip.k[0], step as f32);
    }
    assert_eq!(f64::from(ip.alpha[0]), f64::from(1e-30f32));

    let nan = Arc::new(TestRule::fixed(
        Delta {
            alpha: f64::NAN,
            k: 1.0,
        },
        Activation::Tanh,
        RuleKind::Kl,
    ));
    let mut ip = IpLayer::<f64>::new(1, Activation::Tanh, nan, config(1.0, false)).unwrap();
    ip.forward(array![[1.0]].view(), Mode::Train).unwrap();
    ip.adapt();
    assert_eq!((ip.alpha[0], ip.k[0]), (1.0, 0.0));
    let huge = Arc::new(TestRule::fixed(
        Delta {
            alpha: 1e300,
            k: 0.0,
        },
        Activation::Tanh,
        RuleKind::Kl,
    ));
    let mut ip = IpLayer::<f32>::new(1, Activation::Tanh, huge, config(1.0, false)).unwrap();
    ip.forward(array![[1.0f32]].view(), Mode::Train).unwrap();
    ip.adapt();
    assert_eq!(ip.alpha[0], 1.0, "a change that overflows f32 is skipped");
}

#[test]
fn activation_checks() {
    let kl_tanh = Arc::new(TestRule::infomax_tanh());
    let err = IpLayer::<f64>::new(3, Activation::Sigmoid, kl_tanh, config(0.1, false)).unwrap_err();
    assert_eq!(
        err,
        NeuronError::WrongActivation {
            rule: "test-rule".into(),
            needs: "tanh".into(),
            got: "sigmoid".into()
        }
    );
    assert!(err.to_string().contains("needs activation `tanh`"));
    // A rule that depends on x alone (kind Other, identity) fits any activation.
    let agnostic = Arc::new(TestRule::fixed(
        Delta { alpha: 0.0, k: 0.0 },
        Activation::Identity,
        RuleKind::Other,
    ));
    for act in ipbn_math::ALL_ACTIVATIONS {
        let ip = IpLayer::<f64>::new(3, act, agnostic.clone(), config(0.1, false)).unwrap();
        assert_eq!(ip.activation(), act);
        assert_eq!(ip.rule().id(), "test-rule");
    }
}

#[test]
fn config_errors() {
    let rule: Arc<dyn IpRule> = Arc::new(TestRule::infomax_tanh());
    let make = |c: IpLayerConfig| IpLayer::<f64>::new(1, Activation::Tanh, rule.clone(), c);
    let e = make(IpLayerConfig {
        alpha0: 0.0,
        ..IpLayerConfig::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("alpha0"), "{e}");
    assert!(make(IpLayerConfig {
        eta: -1.0,
        ..IpLayerConfig::default()
    })
    .is_err());
    assert!(make(IpLayerConfig {
        k0: f64::INFINITY,
        ..IpLayerConfig::default()
    })
    .is_err());
    assert!(make(IpLayerConfig {
        step: StepKind::Adam {
            beta1: 0.9,
            beta2: 1.5,
            eps: 1e-8
        },
        ..IpLayerConfig::default()
    })
    .is_err());
    let ok = make(IpLayerConfig {
        alpha0: 2.0,
        k0: -0.5,
        ..IpLayerConfig::default()
    })
    .unwrap();
    assert_eq!((ok.alpha[0], ok.k[0]), (2.0, -0.5));
    assert_eq!(ok.config().eta, 1e-3);
}

#[test]
fn shapes_and_order_of_calls() {
    let rule = Arc::new(TestRule::infomax_tanh());
    let mut ip =
        IpLayer::<f64>::new(2, Activation::Tanh, rule.clone(), config(0.1, false)).unwrap();
    let mut out = Array2::zeros((3, 3));
    let err = ip
        .forward_into(Array2::zeros((3, 3)).view(), Mode::Train, out.view_mut())
        .unwrap_err();
    assert!(err.to_string().contains("2 units"), "{err}");
    let mut g = Array2::zeros((3, 2));
    let err = ip
        .backward_into(Array2::zeros((3, 2)).view(), g.view_mut())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch: IP layer backward called before any training forward; run forward \
         in Mode::Train first"
    );
    // adapt without a training forward does nothing; inference does not cache.
    ip.forward(Array2::from_elem((3, 2), 0.5).view(), Mode::Eval)
        .unwrap();
    ip.adapt();
    assert_eq!(ip.alpha, array![1.0, 1.0]);
    assert!(rule.seen.lock().unwrap().is_empty());
    // One sample is a valid batch for IP (unlike BN).
    ip.forward(array![[0.5, -0.5]].view(), Mode::Train).unwrap();
    ip.adapt();
    assert_eq!(rule.seen.lock().unwrap().len(), 2);
    assert!(ip.alpha[0] != 1.0);
}

#[test]
fn backward_uses_the_parameters_of_the_forward() {
    let rule = Arc::new(TestRule::infomax_tanh());
    let mut ip = IpLayer::<f64>::new(1, Activation::Tanh, rule, config(0.5, false)).unwrap();
    let x = array![[0.5], [-0.25]];
    let g = array![[1.0], [1.0]];
    ip.forward(x.view(), Mode::Train).unwrap();
    let before = ip.clone().backward(g.view()).unwrap();
    ip.adapt();
    assert!(ip.alpha[0] != 1.0);
    assert_eq!(ip.backward(g.view()).unwrap(), before);
}

#[test]
fn a_second_adapt_sees_the_updated_parameters() {
    let rule = Arc::new(TestRule::infomax_tanh());
    let mut ip =
        IpLayer::<f64>::new(1, Activation::Tanh, rule.clone(), config(0.2, false)).unwrap();
    let x = array![[0.5], [-1.5], [2.0]];
    ip.forward(x.view(), Mode::Train).unwrap();
    ip.adapt();
    let (a1, k1) = (ip.alpha[0], ip.k[0]);
    ip.adapt();
    let seen = rule.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (_, y2, a, k) = &seen[1];
    assert_eq!((*a, *k), (a1, k1));
    for (yv, xv) in y2.iter().zip(x.column(0)) {
        assert_eq!(*yv, (a1 * xv + k1).tanh());
    }
}

#[test]
fn any_memory_layout_gives_the_same_result() {
    let rule = Arc::new(TestRule::fixed(
        Delta { alpha: 0.0, k: 0.0 },
        Activation::Sigmoid,
        RuleKind::Kl,
    ));
    let mut ip = IpLayer::<f64>::new(3, Activation::Sigmoid, rule, config(0.1, true)).unwrap();
    ip.alpha = array![0.5, 1.5, 2.0];
    ip.gamma = Some(array![1.0, -2.0, 0.5]);
    let x = Array2::from_shape_fn((4, 3), |(i, j)| i as f64 * 0.7 - j as f64);
    let g = Array2::from_shape_fn((4, 3), |(i, j)| (i + 2 * j) as f64 * 0.1 - 0.3);
    let y = ip.forward(x.view(), Mode::Train).unwrap();
    let dx = ip.backward(g.view()).unwrap();
    // Column-major copies of the same matrices, and column-major output buffers.
    let xt = x.t().to_owned();
    let gt = g.t().to_owned();
    let mut yt = Array2::zeros((3, 4));
    let mut dxt = Array2::zeros((3, 4));
    ip.forward_into(xt.t(), Mode::Train, yt.view_mut().reversed_axes())
        .unwrap();
    ip.backward_into(gt.t(), dxt.view_mut().reversed_axes())
        .unwrap();
    assert_eq!(yt.t(), y);
    assert_eq!(dxt.t(), dx);
}
