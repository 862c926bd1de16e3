//! Batch normalisation against hand-computed values, PyTorch's running-statistics convention
//! and edge cases.
// The expected values were evaluated with 50-digit decimal arithmetic and are written with 18
// significant digits; the extra digits are harmless.
#![allow(clippy::excessive_precision)]

use ipbn_neurons::{BatchNorm, Layer, Mode, NeuronError};
use ndarray::{array, Array2};

/// The 4 × 2 batch of the hand computation.
///
/// Feature 0: x = 1, 2, 3, 4: mean 2.5, deviations ±1.5, ±0.5, biased variance 5/4 = 1.25,
/// unbiased variance 5/3.
/// Feature 1: x = −1, 0.5, 2, 6.5: mean 2, deviations −3, −1.5, 0, 4.5, sum of squares 31.5,
/// biased variance 7.875, unbiased variance 10.5.
/// γ = (2, −0.5), β = (0.5, 1), ε = 1e-5, so 1/√(σ² + ε) = 1/√1.25001 and 1/√7.87501.
fn batch() -> Array2<f64> {
    array![[1.0, -1.0], [2.0, 0.5], [3.0, 2.0], [4.0, 6.5]]
}

fn layer() -> BatchNorm<f64> {
    let mut bn = BatchNorm::<f64>::new(2);
    bn.gamma = array![2.0, -0.5];
    bn.beta = array![0.5, 1.0];
    bn
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn forward_and_backward_match_hand_values() {
    let mut bn = layer();
    let y = bn.forward(batch().view(), Mode::Train).unwrap();
    // y = γ (x − μ)/√(σ² + ε) + β, e.g. y[0,0] = 2·(−1.5)/√1.25001 + 0.5, evaluated to 17
    // digits.
    let expect_y = array![
        [-2.18327083993785397, 1.53452214444581718],
        [-0.394423613312617988, 1.26726107222290859],
        [1.39442361331261799, 1.0],
        [3.18327083993785397, 0.198216783331274233],
    ];
    for (a, b) in y.iter().zip(expect_y.iter()) {
        assert!(close(*a, *b, 1e-12), "{a} vs {b}");
    }
    let (alpha, k) = bn.batch_gain_bias();
    assert!(close(alpha[0], 0.894423613312617988, 1e-12));
    assert!(close(alpha[1], 0.356348096297211452, 1e-12));
    assert!(close(k[0], -2.5 * 0.894423613312617988, 1e-12));
    assert!(close(k[1], -2.0 * 0.356348096297211452, 1e-12));

    let g = array![[0.1, -0.2], [0.4, 0.3], [-0.3, 0.5], [0.2, -0.1]];
    let dx = bn.backward(g.view()).unwrap();
    // Σg = (0.4, 0.5); Σ g x̂ = (−0.4·0.2236…, −0.5·0.4276…); ∂L/∂x_i = γ/(m√(σ²+ε))
    // (m g_i − Σg − x̂_i Σ g x̂).
    let expect_dx = array![
        [-0.107329974957714497, 0.0629972462739006746],
        [0.500877509668332627, -0.0286351181132040952],
        [-0.679762232330856225, -0.0668152680557271473],
        [0.286214697620238095, 0.0324531398950305679],
    ];
    for (a, b) in dx.iter().zip(expect_dx.iter()) {
        assert!(close(*a, *b, 1e-12), "{a} vs {b}");
    }
    let (dg, db) = (bn.grad_gamma(), bn.grad_beta());
    assert!(close(dg[0], -0.178884722662523598, 1e-12), "{}", dg[0]);
    assert!(close(dg[1], -0.106904428889163436, 1e-12), "{}", dg[1]);
    assert!(close(db[0], 0.4, 1e-12) && close(db[1], 0.5, 1e-12));
}

#[test]
fn running_variance_is_the_unbiased_estimate() {
    let mut bn = layer();
    bn.forward(batch().view(), Mode::Train).unwrap();
    // momentum 0.1: mean 0.9·0 + 0.1·μ, variance 0.9·1 + 0.1·(unbiased variance).
    assert!(close(bn.running_mean[0], 0.25, 1e-15));
    assert!(close(bn.running_mean[1], 0.2, 1e-15));
    assert!(close(bn.running_var[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-15));
    assert!(close(bn.running_var[1], 0.9 + 0.1 * 10.5, 1e-15));
    // The biased estimate would give 0.9 + 0.125 = 1.025: make sure it is not that.
    assert!((bn.running_var[0] - 1.025).abs() > 0.04);
}

#[test]
fn eval_uses_running_statistics() {
    let mut bn = layer();
    bn.forward(batch().view(), Mode::Train).unwrap();
    let x = array![[1.0, -1.0], [10.0, 3.0]];
    let y = bn.forward(x.view(), Mode::Eval).unwrap();
    let (rm, rv) = ([0.25, 0.2], [0.9 + 0.1 * 5.0 / 3.0, 1.95]);
    let (g, b) = ([2.0, -0.5], [0.5, 1.0]);
    for i in 0..2 {
        for j in 0..2 {
            let e = g[j] * (x[[i, j]] - rm[j]) / (rv[j] + 1e-5f64).sqrt() + b[j];
            assert!(close(y[[i, j]], e, 1e-14), "{} vs {e}", y[[i, j]]);
        }
    }
    // Inference does not touch the running estimates and accepts a single sample.
    let one = bn.forward(array![[2.5, 2.0]].view(), Mode::Eval).unwrap();
    assert!(close(
        one[[0, 0]],
        2.0 * 2.25 / (rv[0] + 1e-5f64).sqrt() + 0.5,
        1e-14
    ));
    assert!(close(bn.running_var[1], 1.95, 1e-15));
}

#[test]
fn one_sample_in_training_is_an_error() {
    let mut bn = BatchNorm::<f64>::new(3);
    let before = bn.clone();
    let err = bn
        .forward(array![[1.0, 2.0, 3.0]].view(), Mode::Train)
        .unwrap_err();
    assert_eq!(err, NeuronError::BatchTooSmall(1));
    let msg = err.to_string();
    assert!(
        msg.contains("at least 2 samples") && msg.contains("got 1"),
        "{msg}"
    );
    assert_eq!(bn.running_mean, before.running_mean);
    assert_eq!(bn.running_var, before.running_var);
    let empty = Array2::<f64>::zeros((0, 3));
    assert_eq!(
        bn.forward(empty.view(), Mode::Train).unwrap_err(),
        NeuronError::BatchTooSmall(0)
    );
}

#[test]
fn shape_and_option_errors() {
    let mut bn = BatchNorm::<f32>::new(3);
    let err = bn
        .forward(Array2::zeros((4, 2)).view(), Mode::Train)
        .unwrap_err();
    assert!(matches!(err, NeuronError::Shape(_)), "{err}");
    assert!(err.to_string().contains("3 features"), "{err}");
    let x = Array2::<f32>::zeros((4, 3));
    let mut out = Array2::<f32>::zeros((3, 3));
    assert!(matches!(
        bn.forward_into(x.view(), Mode::Eval, out.view_mut()),
        Err(NeuronError::Shape(_))
    ));
    let mut grad = Array2::<f32>::zeros((4, 3));
    let err = bn.backward_into(x.view(), grad.view_mut()).unwrap_err();
    assert!(
        err.to_string().contains("before any training forward"),
        "{err}"
    );
    bn.forward(x.view(), Mode::Train).unwrap();
    let mut small = Array2::<f32>::zeros((2, 3));
    assert!(bn
        .backward_into(Array2::zeros((2, 3)).view(), small.view_mut())
        .is_err());
    assert!(bn.backward_into(x.view(), grad.view_mut()).is_ok());

    let e = BatchNorm::<f64>::with_options(2, 1.5, 1e-5).unwrap_err();
    assert!(e.to_string().contains("momentum"), "{e}");
    assert!(BatchNorm::<f64>::with_options(2, 0.1, -1.0).is_err());
    assert!(BatchNorm::<f64>::with_options(2, 0.1, f64::NAN).is_err());
    let ok = BatchNorm::<f64>::with_options(2, 0.5, 0.0).unwrap();
    assert_eq!((ok.momentum, ok.eps, ok.features()), (0.5, 0.0, 2));
    let mut bad = BatchNorm::<f64>::new(2);
    bad.running_var[0] = -1.0;
    assert!(matches!(
        bad.forward(Array2::zeros((2, 2)).view(), Mode::Eval),
        Err(NeuronError::ParamOutOfRange { .. })
    ));
}

#[test]
fn extreme_inputs_stay_finite() {
    // Large values, a huge offset with a small spread, and a constant column.
    let x = array![
        [1e4, 1e4 + 0.5, -3.0, -1e4],
        [-1e4, 1e4 - 0.5, -3.0, 1e4],
        [9999.0, 1e4 + 0.25, -3.0, -1e4],
        [-9999.5, 1e4, -3.0, 1e4],
    ];
    let g = Array2::from_shape_fn((4, 4), |(i, j)| (i as f64 - 1.5) * (j as f64 + 1.0));
    let mut bn = BatchNorm::<f64>::new(4);
    let y = bn.forward(x.view(), Mode::Train).unwrap();
    let dx = bn.backward(g.view()).unwrap();
    assert!(y.iter().chain(dx.iter()).all(|v| v.is_finite()));
    // The constant column maps to β = 0; its gain is 1/√ε, so its input gradient is
    // (g_i − mean g)/√ε with g = 3(i − 1.5), whose mean is 0.
    assert!(y.column(2).iter().all(|&v| v == 0.0));
    for i in 0..4 {
        let e = 3.0 * (i as f64 - 1.5) / 1e-5f64.sqrt();
        assert!(close(dx[[i, 2]], e, 1e-12), "{} vs {e}", dx[[i, 2]]);
    }
    // Two-pass statistics keep the small spread (±0.5 around 1e4) of column 1: compare with
    // the direct formula.
    let col = x.column(1);
    let mean = col.sum() / 4.0;
    let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
    for i in 0..4 {
        let e = (x[[i, 1]] - mean) / (var + 1e-5).sqrt();
        assert!((y[[i, 1]] - e).abs() < 1e-12, "{} vs {e}", y[[i, 1]]);
    }

    // The same batch in f32: statistics are accumulated in f64, the output stays close.
    let xf = x.mapv(|v| v as f32);
    let mut bnf = BatchNorm::<f32>::new(4);
    let yf = bnf.forward(xf.view(), Mode::Train).unwrap();
    let dxf = bnf.backward(g.mapv(|v| v as f32).view()).unwrap();
    assert!(yf.iter().chain(dxf.iter()).all(|v| v.is_finite()));
    for (a, b) in yf.iter().zip(y.iter()) {
        assert!((f64::from(*a) - b).abs() < 1e-5, "{a} vs {b}");
    }
    // Inference with a running variance of 0 and eps 0 maps to 0, never NaN.
    let mut z = BatchNorm::<f64>::with_options(1, 0.1, 0.0).unwrap();
    z.running_var[0] = 0.0;
    let yz = z.forward(array![[3.0], [3.0]].view(), Mode::Eval).unwrap();
    assert!(yz.iter().all(|&v| v == 0.0));
    let yc = z.forward(array![[3.0], [3.0]].view(), Mode::Train).unwrap();
    assert!(yc.iter().all(|&v| v == 0.0));
}

#[test]
fn f32_layer_agrees_with_f64() {
    let x = batch();
    let mut b64 = layer();
    let mut b32 = BatchNorm::<f32>::new(2);
    b32.gamma = array![2.0, -0.5];
    b32.beta = array![0.5, 1.0];
    let y64 = b64.forward(x.view(), Mode::Train).unwrap();
    let y32 = b32
        .forward(x.mapv(|v| v as f32).view(), Mode::Train)
        .unwrap();
    for (a, b) in y32.iter().zip(y64.iter()) {
        assert!((f64::from(*a) - b).abs() < 1e-6);
    }
    assert!((f64::from(b32.running_var[1]) - 1.95).abs() < 1e-6);
}

#[test]
fn repeated_training_steps_track_the_batch_statistics() {
    // After many steps on the same batch, the running estimates converge to its mean and
    // unbiased variance: 1 − 0.9ⁿ of the way there.
    let mut bn = layer();
    for _ in 0..200 {
        bn.forward(batch().view(), Mode::Train).unwrap();
    }
    assert!(close(bn.running_mean[0], 2.5, 1e-9));
    assert!(close(bn.running_var[0], 5.0 / 3.0, 1e-9));
    assert!(close(bn.running_var[1], 10.5, 1e-9));
}

#[test]
fn any_memory_layout_gives_the_same_result() {
    let x = batch();
    let g = array![[0.1, -0.2], [0.4, 0.3], [-0.3, 0.5], [0.2, -0.1]];
    let mut a = layer();
    let y = a.forward(x.view(), Mode::Train).unwrap();
    let dx = a.backward(g.view()).unwrap();
    let mut b = layer();
    let (xt, gt) = (x.t().to_owned(), g.t().to_owned());
    let mut yt = Array2::zeros((2, 4));
    let mut dxt = Array2::zeros((2, 4));
    b.forward_into(xt.t(), Mode::Train, yt.view_mut().reversed_axes())
        .unwrap();
    b.backward_into(gt.t(), dxt.view_mut().reversed_axes())
        .unwrap();
    assert_eq!(yt.t(), y);
    assert_eq!(dxt.t(), dx);
    assert_eq!(a.grad_gamma(), b.grad_gamma());
    let mut ye = Array2::zeros((2, 4));
    b.forward_into(xt.t(), Mode::Eval, ye.view_mut().reversed_axes())
        .unwrap();
    assert_eq!(ye.t(), a.forward(x.view(), Mode::Eval).unwrap());
}
