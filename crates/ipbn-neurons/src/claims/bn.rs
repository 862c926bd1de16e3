//! Claims about batch normalisation and the BN <-> IP mapping.
//!
//! Every claim draws a random batch: `m` samples (2 to 32; 2 to 16 for the finite-difference
//! claim) of `n` features (1 to 8; 1 to 3), `x = offset + scale · z` with `z ~ N(0, 1)`,
//! `scale = 10^s` for `s` in [−3, 3] and an offset that is 0, uniform in ±1e3, or ±10^e for
//! `e` in [−3, 3]. The batch itself comes from a ChaCha8 generator seeded by a `u64` drawn by
//! proptest, so a reported minimal case can be replayed exactly.
//!
//! # Measuring error honestly
//!
//! A batch with offset c and spread σ is only known to about `ε_mach · |c|/σ` after
//! centring, whatever the algorithm: `x − μ` loses the leading digits. Rather than exclude such
//! batches, the element-wise claims divide each difference by the size of the terms that are
//! added or subtracted to form the value (for the IP form `γ(α x + k) + β` that is
//! `|γ|(|α x| + |k|) + |β|`), so the tolerance bounds the error *relative to the unavoidable
//! rounding*. For a batch without offset this is an ordinary relative error. Each claim's
//! `statement` names its measure.

use super::{run_property, Claim, ClaimReport};
use crate::{BatchNorm, Delta, IpLayer, IpLayerConfig, Layer, Mode};
use ipbn_math::mapping::{bn_eval_affine, bn_to_ip, compose};
use ipbn_math::numeric::{self, Stencil};
use ipbn_math::Activation;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use ndarray_rand::rand::{Rng, SeedableRng};
use ndarray_rand::rand_distr::StandardNormal;
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// Smallest denominator used in relative errors (keeps 0/0 at 0).
const TINY: f64 = f64::MIN_POSITIVE;

/// The BN claims, in claims.md order.
pub(super) fn claims() -> Vec<Claim> {
    vec![
        Claim {
            id: "bn-is-ip",
            statement: "BN in training mode (any gamma, beta; m >= 2) equals the IP form \
                theta(gamma(alpha_B x + k_B) + beta) with (alpha_B, k_B) = bn_to_ip(batch mean, \
                biased batch variance, eps), computed by an IP layer, for theta = identity and \
                sigmoid; the layer's own batch_gain_bias agrees with the mapping. Error: \
                elementwise |BN - IP| / (|gamma|(|alpha_B x| + |k_B|) + |beta|) (relative to the \
                terms the IP form adds); tolerance 1e-12.",
            run: run_bn_is_ip,
        },
        Claim {
            id: "bn-eval-is-affine",
            statement: "BN in inference equals an IP unit with frozen gain a and bias b, \
                (a, b) = bn_eval_affine(gamma, beta, running_mean, running_var, eps), i.e. \
                a = gamma/sqrt(v_run + eps), b = beta - a m_run. Error: elementwise \
                |BN - (a x + b)| / (|a|(|x| + |m_run|) + |beta|); tolerance 1e-12.",
            run: run_bn_eval_is_affine,
        },
        Claim {
            id: "composition",
            statement: "An IP layer with an affine step, theta(gamma(alpha x + k) + beta), equals \
                a plain IP layer with (alpha', k') = compose(gamma, beta, alpha, k) = \
                (gamma alpha, gamma k + beta), for theta = identity, sigmoid and tanh. Error: \
                elementwise difference / (|gamma|(|alpha x| + |k|) + |beta|); tolerance 1e-12.",
            run: run_composition,
        },
        Claim {
            id: "bn-moments",
            statement: "BN with gamma = 1, beta = 0 in training mode gives per feature mean 0 \
                and biased variance s2/(s2 + eps), s2 the biased batch variance (computed \
                independently). Error: max over features of |mean| / max(1, alpha_B max|x|) \
                (the size of the centred terms) and |variance - s2/(s2+eps)| / (s2/(s2+eps)); \
                tolerance 1e-12.",
            run: run_bn_moments,
        },
        Claim {
            id: "bn-invariance",
            statement: "For a > 0 and any c, with eps = 0: BN(a x + c) = BN(x). With eps > 0 \
                the gap is exactly BN(ax+c)_i - BN(x)_i = (x_i - mu)((s2 + eps/a^2)^(-1/2) - \
                (s2 + eps)^(-1/2)), hence |gap_i| <= sqrt(m-1) min(1, eps|1/a^2 - 1|/(2 s2)); \
                both are checked (a in 10^[-3,3], c in [-1e3, 1e3], default eps 1e-5). Error: \
                |difference from the closed form| (and any excess over the bound) divided by \
                1 + K, K = max|x|/s + max|ax+c|/(a s) the condition number of standardising \
                the two batches; tolerance 1e-12.",
            run: run_bn_invariance,
        },
        Claim {
            id: "bn-grad-orthogonal",
            statement: "Per feature, BN's input gradient sums to 0, and sum_i dL/dx_i xhat_i \
                equals gamma alpha_B^3 eps sum_i g_i xhat_i: exactly 0 (orthogonal to xhat) \
                when eps = 0, and a factor eps/(s2 + eps) of the gamma-gradient term when eps > \
                0 (eps is 0 or 1e-5 at random). Error: |sum| / (S (1 + alpha_B max|x|) \
                max(1, max|xhat|)) with S = |gamma| alpha_B sum_i (|g_i| + |sum g|/m + \
                |xhat_i| |sum g xhat|/m) the size of the terms forming the gradient; \
                tolerance 1e-12.",
            run: run_bn_grad_orthogonal,
        },
        Claim {
            id: "gradients",
            statement: "Layer level: BatchNorm (dL/dx, dL/dgamma, dL/dbeta, training mode, eps \
                1e-5) and the IP layer (dL/dx, and dL/dgamma, dL/dbeta with affine; theta = \
                sigmoid and tanh; alpha, k set so that u = O(1)) agree with Richardson-\
                extrapolated central finite differences (steps 1e-2 and 5e-3 in the layer's \
                natural units) of a random linear loss L = sum R o out, in f64. Error: |FD - \
                analytic| divided by the size of the terms that form the analytic value: for \
                BN's dL/dx_i the largest |gamma| alpha_B (|g_i| + |sum g|/m + |xhat_i| |sum g \
                xhat|/m) in the feature and sum_i |term_i| for dL/dgamma_j, dL/dbeta_j; for \
                the IP layer the same quantities with theta' replaced by its maximum theta'(0) \
                (so saturated units, whose gradients are below what a difference of an O(1) \
                loss resolves, are judged against an unsaturated unit's gradient): \
                |gamma alpha| theta'(0) max_i |R_ij| for dL/dx, theta'(0) sum_i |R_ij u_ij| and \
                theta'(0) sum_i |R_ij| for dL/dgamma_j, dL/dbeta_j; tolerance 1e-6.",
            run: run_gradients,
        },
    ]
}

/// One random batch: its size, scale and offset, and the seed of everything else.
#[derive(Clone, Debug)]
struct Case {
    /// Samples.
    m: usize,
    /// Features.
    n: usize,
    /// log10 of the spread of x.
    log10_scale: f64,
    /// Common offset of x.
    offset: f64,
    /// Seed of the ChaCha8 generator that draws x and the layer parameters.
    seed: u64,
}

impl Case {
    fn scale(&self) -> f64 {
        10f64.powf(self.log10_scale)
    }

    fn rng(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.seed)
    }

    /// `x = offset + scale · z`, `z ~ N(0, 1)`, shape `(m, n)`.
    fn data(&self, rng: &mut ChaCha8Rng) -> Array2<f64> {
        let s = self.scale();
        Array2::from_shape_fn((self.m, self.n), |_| {
            self.offset + s * rng.sample::<f64, _>(StandardNormal)
        })
    }
}

fn cases(max_m: usize, max_n: usize) -> impl Strategy<Value = Case> {
    let offset = prop_oneof![
        Just(0.0),
        -1e3..1e3f64,
        (-3.0..3.0f64, any::<bool>()).prop_map(|(e, neg)| {
            let v = 10f64.powf(e);
            if neg {
                -v
            } else {
                v
            }
        }),
    ];
    (2..=max_m, 1..=max_n, -3.0..=3.0f64, offset, any::<u64>()).prop_map(
        |(m, n, log10_scale, offset, seed)| Case {
            m,
            n,
            log10_scale,
            offset,
            seed,
        },
    )
}

/// ±10^U(lo, hi).
fn signed_log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    let v = 10f64.powf(rng.random_range(lo..hi));
    if rng.random::<bool>() {
        v
    } else {
        -v
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// Random γ (±10^[−2, 2]) and β (N(0, 1)·10^[−2, 2]) for `n` features.
fn random_affine(rng: &mut ChaCha8Rng, n: usize) -> (Array1<f64>, Array1<f64>) {
    let g = Array1::from_shape_fn(n, |_| signed_log_uniform(rng, -2.0, 2.0));
    let b = Array1::from_shape_fn(n, |_| normal(rng) * 10f64.powf(rng.random_range(-2.0..2.0)));
    (g, b)
}

/// Mean and biased variance of one column, computed differently from the layer: two passes
/// over the deviations from the column's first value.
fn ref_stats(col: ArrayView1<'_, f64>) -> (f64, f64) {
    let m = col.len() as f64;
    let x0 = col[0];
    let md = col.iter().map(|&v| v - x0).sum::<f64>() / m;
    let var = col.iter().map(|&v| (v - x0 - md).powi(2)).sum::<f64>() / m;
    (x0 + md, var)
}

fn max_abs(col: ArrayView1<'_, f64>) -> f64 {
    col.iter().fold(0.0, |a, &v| a.max(v.abs()))
}

/// A rule that never moves α or k: the claims set them by hand.
#[derive(Clone, Debug)]
struct Frozen;

impl crate::Rule for Frozen {
    const ID: &'static str = "frozen";
    const SOURCE: &'static str = "the claims suite (a fixed IP unit)";
    const PARAMS: &'static [crate::rules::ParamDef] = &[];
    fn build(_: crate::rules::Params) -> crate::Result<Self> {
        Ok(Frozen)
    }
    fn params(&self) -> &crate::rules::Params {
        crate::rules::Params::none()
    }
    fn activation(&self) -> Activation {
        Activation::Identity
    }
    fn objective(&self) -> crate::Objective<'_> {
        crate::Objective::Other
    }
    /// α and k stay where they are set.
    fn direction(
        &self,
        _x: ArrayView1<'_, f64>,
        _y: ArrayView1<'_, f64>,
        _alpha: f64,
        _k: f64,
    ) -> Delta {
        Delta { alpha: 0.0, k: 0.0 }
    }
}

/// An IP layer with frozen α, k, or `None` if it cannot be built (never for valid input).
fn frozen_layer(n: usize, act: Activation, affine: bool) -> Option<IpLayer<f64>> {
    let config = IpLayerConfig {
        eta: 0.0,
        affine,
        ..IpLayerConfig::default()
    };
    IpLayer::new(n, act, Arc::new(Frozen), config).ok()
}

fn ratio(num: f64, den: f64) -> f64 {
    num.abs() / den.max(TINY)
}

// ---------------------------------------------------------------------------------------------
// bn-is-ip

fn bn_is_ip_error(c: &Case) -> f64 {
    let mut rng = c.rng();
    let x = c.data(&mut rng);
    let mut bn = BatchNorm::<f64>::new(c.n);
    let (g, b) = random_affine(&mut rng, c.n);
    bn.gamma.assign(&g);
    bn.beta.assign(&b);
    let Ok(y) = bn.forward(x.view(), Mode::Train) else {
        return f64::INFINITY;
    };
    let mut alpha = Array1::zeros(c.n);
    let mut k = Array1::zeros(c.n);
    let mut worst = 0.0f64;
    {
        let (ab, kb) = bn.batch_gain_bias();
        for j in 0..c.n {
            let (mean, var) = ref_stats(x.column(j));
            let (a, kk) = bn_to_ip(mean, var, bn.eps);
            alpha[j] = a;
            k[j] = kk;
            worst = worst
                .max(ratio(ab[j] - a, a))
                .max(ratio(kb[j] - kk, a * max_abs(x.column(j))));
        }
    }
    for act in [Activation::Identity, Activation::Sigmoid] {
        let Some(mut ip) = frozen_layer(c.n, act, true) else {
            return f64::INFINITY;
        };
        ip.alpha.assign(&alpha);
        ip.k.assign(&k);
        ip.gamma = Some(g.clone());
        ip.beta = Some(b.clone());
        let Ok(yip) = check_forward(&mut ip, x.view()) else {
            return f64::INFINITY;
        };
        for ((i, j), &v) in yip.indexed_iter() {
            let yb = act.f(y[[i, j]]);
            let d = g[j].abs() * ((alpha[j] * x[[i, j]]).abs() + k[j].abs()) + b[j].abs();
            worst = worst.max(ratio(yb - v, d.max(yb.abs()).max(v.abs())));
        }
    }
    worst
}

/// Inference-mode forward of an IP layer, as a `Result`.
fn check_forward(ip: &mut IpLayer<f64>, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ()> {
    ip.forward(x, Mode::Eval).map_err(|_| ())
}

fn run_bn_is_ip(cases_n: u32, seed: u64) -> ClaimReport {
    run_property(
        "bn-is-ip",
        1e-12,
        cases_n,
        seed,
        cases(32, 8),
        bn_is_ip_error,
    )
}

// ---------------------------------------------------------------------------------------------
// bn-eval-is-affine

fn bn_eval_error(c: &Case) -> f64 {
    let mut rng = c.rng();
    let x = c.data(&mut rng);
    let s = c.scale();
    let mut bn = BatchNorm::<f64>::new(c.n);
    let (g, b) = random_affine(&mut rng, c.n);
    bn.gamma.assign(&g);
    bn.beta.assign(&b);
    for j in 0..c.n {
        bn.running_mean[j] = c.offset + s * normal(&mut rng);
        bn.running_var[j] = s * s * 10f64.powf(rng.random_range(-1.0..1.0));
    }
    let Ok(y) = bn.forward(x.view(), Mode::Eval) else {
        return f64::INFINITY;
    };
    let Some(mut ip) = frozen_layer(c.n, Activation::Identity, false) else {
        return f64::INFINITY;
    };
    for j in 0..c.n {
        let (a, bb) = bn_eval_affine(g[j], b[j], bn.running_mean[j], bn.running_var[j], bn.eps);
        ip.alpha[j] = a;
        ip.k[j] = bb;
    }
    let Ok(yip) = check_forward(&mut ip, x.view()) else {
        return f64::INFINITY;
    };
    let mut worst = 0.0f64;
    for ((i, j), &v) in yip.indexed_iter() {
        let a = ip.alpha[j];
        let d = a.abs() * (x[[i, j]].abs() + bn.running_mean[j].abs()) + b[j].abs();
        worst = worst.max(ratio(y[[i, j]] - v, d));
    }
    worst
}

fn run_bn_eval_is_affine(cases_n: u32, seed: u64) -> ClaimReport {
    run_property(
        "bn-eval-is-affine",
        1e-12,
        cases_n,
        seed,
        cases(32, 8),
        bn_eval_error,
    )
}

// ---------------------------------------------------------------------------------------------
// composition

/// Gains and biases that bring a batch with this case's offset and scale to u = O(1).
fn fitted_gain_bias(c: &Case, rng: &mut ChaCha8Rng) -> (Array1<f64>, Array1<f64>) {
    let s = c.scale();
    let a = Array1::from_shape_fn(c.n, |_| 10f64.powf(rng.random_range(-0.5..0.5)) / s);
    let k = Array1::from_shape_fn(c.n, |j| -a[j] * c.offset + normal(rng));
    (a, k)
}

fn composition_error(c: &Case) -> f64 {
    let mut rng = c.rng();
    let x = c.data(&mut rng);
    let (alpha, k) = fitted_gain_bias(c, &mut rng);
    let (g, b) = random_affine(&mut rng, c.n);
    let mut worst = 0.0f64;
    for act in [Activation::Identity, Activation::Sigmoid, Activation::Tanh] {
        let (Some(mut with), Some(mut plain)) =
            (frozen_layer(c.n, act, true), frozen_layer(c.n, act, false))
        else {
            return f64::INFINITY;
        };
        with.alpha.assign(&alpha);
        with.k.assign(&k);
        with.gamma = Some(g.clone());
        with.beta = Some(b.clone());
        for j in 0..c.n {
            let (a2, k2) = compose(g[j], b[j], alpha[j], k[j]);
            plain.alpha[j] = a2;
            plain.k[j] = k2;
        }
        let (Ok(y1), Ok(y2)) = (
            check_forward(&mut with, x.view()),
            check_forward(&mut plain, x.view()),
        ) else {
            return f64::INFINITY;
        };
        for ((i, j), &v) in y1.indexed_iter() {
            let w = y2[[i, j]];
            let d = g[j].abs() * ((alpha[j] * x[[i, j]]).abs() + k[j].abs()) + b[j].abs();
            worst = worst.max(ratio(v - w, d.max(v.abs()).max(w.abs())));
        }
    }
    worst
}

fn run_composition(cases_n: u32, seed: u64) -> ClaimReport {
    run_property(
        "composition",
        1e-12,
        cases_n,
        seed,
        cases(32, 8),
        composition_error,
    )
}

// ---------------------------------------------------------------------------------------------
// bn-moments

fn bn_moments_error(c: &Case) -> f64 {
    let mut rng = c.rng();
    let x = c.data(&mut rng);
    let mut bn = BatchNorm::<f64>::new(c.n);
    let Ok(y) = bn.forward(x.view(), Mode::Train) else {
        return f64::INFINITY;
    };
    let m = c.m as f64;
    let mut worst = 0.0f64;
    for j in 0..c.n {
        let (_, s2) = ref_stats(x.column(j));
        let (alpha, _) = bn_to_ip(0.0, s2, bn.eps);
        let col = y.column(j);
        let mean = col.sum() / m;
        let var = col.iter().map(|&v| (v - mean).powi(2)).sum::<f64>() / m;
        let target = s2 / (s2 + bn.eps);
        worst = worst
            .max(ratio(mean, (alpha * max_abs(x.column(j))).max(1.0)))
            .max(ratio(var - target, target));
    }
    worst
}

fn run_bn_moments(cases_n: u32, seed: u64) -> ClaimReport {
    run_property(
        "bn-moments",
        1e-12,
        cases_n,
        seed,
        cases(32, 8),
        bn_moments_error,
    )
}

// ---------------------------------------------------------------------------------------------
// bn-invariance

fn bn_invariance_error(c: &Case) -> f64 {
    let mut rng = c.rng();
    let x = c.data(&mut rng);
    let a = 10f64.powf(rng.random_range(-3.0..3.0));
    let shift = rng.random_range(-1e3..1e3);
    let xt = x.mapv(|v| a * v + shift);
    let mut worst = 0.0f64;
    for eps in [0.0, 1e-5] {
        let Ok(mut bn) = BatchNorm::<f64>::with_options(c.n, 0.1, eps) else {
            return f64::INFINITY;
        };
        let (Ok(y), Ok(yt)) = (
            bn.forward(x.view(), Mode::Train),
            bn.forward(xt.view(), Mode::Train),
        ) else {
            return f64::INFINITY;
        };
        let mf = c.m as f64;
        for j in 0..c.n {
            let (mu, s2) = ref_stats(x.column(j));
            let s = s2.sqrt();
            let cond = 1.0 + max_abs(x.column(j)) / s + max_abs(xt.column(j)) / (a * s);
            let factor = 1.0 / (s2 + eps / (a * a)).sqrt() - 1.0 / (s2 + eps).sqrt();
            let bound =
                (mf - 1.0).sqrt() * (eps * (1.0 / (a * a) - 1.0).abs() / (2.0 * s2)).min(1.0);
            for i in 0..c.m {
                let gap = yt[[i, j]] - y[[i, j]];
                let predicted = (x[[i, j]] - mu) * factor;
                worst = worst
                    .max(ratio(gap - predicted, cond))
                    .max(ratio((gap.abs() - bound).max(0.0), cond));
            }
        }
    }
    worst
}

fn run_bn_invariance(cases_n: u32, seed: u64) -> ClaimReport {
    run_property(
        "bn-invariance",
        1e-12,
        cases_n,
        seed,
        cases(32, 8),
        bn_invariance_error,
    )
}

// ---------------------------------------------------------------------------------------------
// bn-grad-orthogonal

fn bn_grad_orthogonal_error(c: &Case) -> f64 {
    let mut rng = c.rng();
    let x = c.data(&mut rng);
    let eps = if rng.random::<bool>() { 0.0 } else { 1e-5 };
    let Ok(mut bn) = BatchNorm::<f64>::with_options(c.n, 0.1, eps) else {
        return f64::INFINITY;
    };
    let (g, b) = random_affine(&mut rng, c.n);
    bn.gamma.assign(&g);
    bn.beta.assign(&b);
    let gscale = 10f64.powf(rng.random_range(-2.0..2.0));
    let grad_out = Array2::from_shape_fn((c.m, c.n), |_| gscale * normal(&mut rng));
    if bn.forward(x.view(), Mode::Train).is_err() {
        return f64::INFINITY;
    }
    let mut dx = Array2::zeros((c.m, c.n));
    if bn.backward_into(grad_out.view(), dx.view_mut()).is_err() {
        return f64::INFINITY;
    }
    let xhat = bn.normalized();
    let mf = c.m as f64;
    let mut worst = 0.0f64;
    for j in 0..c.n {
        let (_, s2) = ref_stats(x.column(j));
        let (alpha, _) = bn_to_ip(0.0, s2, eps);
        let (gcol, hcol, dcol) = (grad_out.column(j), xhat.column(j), dx.column(j));
        let sg: f64 = gcol.sum();
        let sgh: f64 = gcol.iter().zip(hcol.iter()).map(|(a, b)| a * b).sum();
        let terms: f64 = gcol
            .iter()
            .zip(hcol.iter())
            .map(|(gi, hi)| gi.abs() + sg.abs() / mf + hi.abs() * sgh.abs() / mf)
            .sum();
        let scale = g[j].abs()
            * alpha
            * terms
            * (1.0 + alpha * max_abs(x.column(j)))
            * max_abs(hcol).max(1.0);
        let sum_dx: f64 = dcol.sum();
        let dot: f64 = dcol.iter().zip(hcol.iter()).map(|(a, b)| a * b).sum();
        let predicted = g[j] * alpha.powi(3) * eps * sgh;
        worst = worst
            .max(ratio(sum_dx, scale))
            .max(ratio(dot - predicted, scale));
    }
    worst
}

fn run_bn_grad_orthogonal(cases_n: u32, seed: u64) -> ClaimReport {
    run_property(
        "bn-grad-orthogonal",
        1e-12,
        cases_n,
        seed,
        cases(32, 8),
        bn_grad_orthogonal_error,
    )
}

// ---------------------------------------------------------------------------------------------
// gradients

/// Richardson-extrapolated central differences of `loss` with respect to every entry of `p`,
/// with step `h[i]` for entry `i` ([`Stencil::Richardson`]).
fn fd_gradient(p: &mut [f64], h: &[f64], loss: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    numeric::gradient(p, h, Stencil::Richardson, loss)
}

fn dot(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

/// Finite-difference step in the layer's natural units (Richardson uses this and half of it).
const FD_STEP: f64 = 1e-2;

fn bn_gradient_error(c: &Case, x: &Array2<f64>, r: &Array2<f64>, rng: &mut ChaCha8Rng) -> f64 {
    let n = c.n;
    let mut bn = BatchNorm::<f64>::new(n);
    let (g, b) = random_affine(rng, n);
    bn.gamma.assign(&g);
    bn.beta.assign(&b);
    if bn.forward(x.view(), Mode::Train).is_err() {
        return f64::INFINITY;
    }
    let mut dx = Array2::zeros((c.m, n));
    if bn.backward_into(r.view(), dx.view_mut()).is_err() {
        return f64::INFINITY;
    }
    let (dg, db) = (bn.grad_gamma().to_owned(), bn.grad_beta().to_owned());
    let xhat = bn.normalized().to_owned();
    let eps = bn.eps;
    let loss_at = |bn: &mut BatchNorm<f64>, x: ArrayView2<'_, f64>| match bn.forward(x, Mode::Train)
    {
        Ok(y) => dot(y.view(), r.view()),
        Err(_) => f64::NAN,
    };
    // dL/dx: steps of FD_STEP standard deviations (with eps) of each feature.
    let steps_x: Vec<f64> = (0..c.m * n)
        .map(|idx| {
            let (_, s2) = ref_stats(x.column(idx % n));
            FD_STEP * (s2 + eps).sqrt()
        })
        .collect();
    let mut px: Vec<f64> = x.iter().copied().collect();
    let fd_x = fd_gradient(&mut px, &steps_x, |p| {
        let v = ArrayView2::from_shape((c.m, n), p).expect("m × n values");
        loss_at(&mut bn, v)
    });
    // BN's input gradient is a difference of terms that nearly cancel for tiny batches (m = 2
    // with σ² ≫ ε gives an output almost independent of x): judge it against the size of its
    // terms, |γ| α_B (|g_i| + |Σ g|/m + |x̂_i| |Σ g x̂|/m), largest in the feature.
    let mf = c.m as f64;
    let mut worst = 0.0f64;
    for j in 0..n {
        let (_, s2) = ref_stats(x.column(j));
        let (alpha, _) = bn_to_ip(0.0, s2, eps);
        let (rcol, hcol) = (r.column(j), xhat.column(j));
        let sg: f64 = rcol.sum();
        let sgh: f64 = rcol.iter().zip(hcol.iter()).map(|(a, b)| a * b).sum();
        let scale = rcol
            .iter()
            .zip(hcol.iter())
            .map(|(gi, hi)| gi.abs() + sg.abs() / mf + hi.abs() * sgh.abs() / mf)
            .fold(0.0, f64::max)
            * g[j].abs()
            * alpha;
        for i in 0..c.m {
            worst = worst.max(ratio(fd_x[i * n + j] - dx[[i, j]], scale));
        }
    }
    // dL/dγ and dL/dβ: L is linear in both, any step works; use 1e-2 (|γ| + 1).
    let mut pg = g.to_vec();
    let steps_g: Vec<f64> = g.iter().map(|v| FD_STEP * (v.abs() + 1.0)).collect();
    let fd_g = fd_gradient(&mut pg, &steps_g, |p| {
        bn.gamma.assign(&ArrayView1::from(p));
        loss_at(&mut bn, x.view())
    });
    bn.gamma.assign(&g);
    let mut pb = b.to_vec();
    let steps_b: Vec<f64> = b.iter().map(|v| FD_STEP * (v.abs() + 1.0)).collect();
    let fd_b = fd_gradient(&mut pb, &steps_b, |p| {
        bn.beta.assign(&ArrayView1::from(p));
        loss_at(&mut bn, x.view())
    });
    for j in 0..n {
        let terms_g: f64 = r
            .column(j)
            .iter()
            .zip(xhat.column(j).iter())
            .map(|(a, b)| (a * b).abs())
            .sum();
        let terms_b: f64 = r.column(j).iter().map(|a| a.abs()).sum();
        worst = worst
            .max(ratio(fd_g[j] - dg[j], terms_g))
            .max(ratio(fd_b[j] - db[j], terms_b));
    }
    worst
}

fn ip_gradient_error(
    c: &Case,
    x: &Array2<f64>,
    r: &Array2<f64>,
    act: Activation,
    affine: bool,
    rng: &mut ChaCha8Rng,
) -> f64 {
    let n = c.n;
    let Some(mut ip) = frozen_layer(n, act, affine) else {
        return f64::INFINITY;
    };
    let (alpha, k) = fitted_gain_bias(c, rng);
    ip.alpha.assign(&alpha);
    ip.k.assign(&k);
    let (g, b) = if affine {
        let g = Array1::from_shape_fn(n, |_| signed_log_uniform(rng, -0.5, 0.5));
        let b = Array1::from_shape_fn(n, |_| 0.5 * normal(rng));
        ip.gamma = Some(g.clone());
        ip.beta = Some(b.clone());
        (g, b)
    } else {
        (Array1::ones(n), Array1::zeros(n))
    };
    let mut y = Array2::zeros((c.m, n));
    if ip
        .forward_into(x.view(), Mode::Train, y.view_mut())
        .is_err()
    {
        return f64::INFINITY;
    }
    let mut dx = Array2::zeros((c.m, n));
    if ip.backward_into(r.view(), dx.view_mut()).is_err() {
        return f64::INFINITY;
    }
    let grads = ip
        .affine_grads()
        .map(|(dg, db)| (dg.to_owned(), db.to_owned()));
    let loss_at = |ip: &mut IpLayer<f64>, x: ArrayView2<'_, f64>| match check_forward(ip, x) {
        Ok(y) => dot(y.view(), r.view()),
        Err(()) => f64::NAN,
    };
    // dL/dx: steps that move v = γ(αx + k) + β by FD_STEP.
    let steps_x: Vec<f64> = (0..c.m * n)
        .map(|idx| FD_STEP / (g[idx % n] * alpha[idx % n]).abs())
        .collect();
    let mut px: Vec<f64> = x.iter().copied().collect();
    let fd_x = fd_gradient(&mut px, &steps_x, |p| {
        let v = ArrayView2::from_shape((c.m, n), p).expect("m × n values");
        loss_at(&mut ip, v)
    });
    // Saturated units have gradients far below what a finite difference of an O(1) loss can
    // resolve, so every IP gradient is judged against the size it would have at θ's steepest
    // point, θ′_max = θ′(0): |γα| θ′_max max_i |R_ij| for dL/dx in feature j.
    let dmax = act.df(0.0);
    let mut worst = 0.0f64;
    for j in 0..n {
        let scale = (g[j] * alpha[j]).abs() * dmax * max_abs(r.column(j));
        for i in 0..c.m {
            worst = worst.max(ratio(fd_x[i * n + j] - dx[[i, j]], scale));
        }
    }
    if let Some((dg, db)) = grads {
        let u = Array2::from_shape_fn((c.m, n), |(i, j)| alpha[j] * x[[i, j]] + k[j]);
        let mut pg = g.to_vec();
        let steps_g: Vec<f64> = (0..n)
            .map(|j| FD_STEP / max_abs(u.column(j)).max(FD_STEP))
            .collect();
        let fd_g = fd_gradient(&mut pg, &steps_g, |p| {
            ip.gamma = Some(Array1::from(p.to_vec()));
            loss_at(&mut ip, x.view())
        });
        ip.gamma = Some(g.clone());
        let mut pb = b.to_vec();
        let fd_b = fd_gradient(&mut pb, &vec![FD_STEP; n], |p| {
            ip.beta = Some(Array1::from(p.to_vec()));
            loss_at(&mut ip, x.view())
        });
        for j in 0..n {
            let mut terms_g = 0.0;
            let mut terms_b = 0.0;
            for i in 0..c.m {
                let t = (r[[i, j]] * dmax).abs();
                terms_b += t;
                terms_g += t * u[[i, j]].abs();
            }
            worst = worst
                .max(ratio(fd_g[j] - dg[j], terms_g))
                .max(ratio(fd_b[j] - db[j], terms_b));
        }
    }
    worst
}

fn gradients_error(c: &Case) -> f64 {
    let mut rng = c.rng();
    let x = c.data(&mut rng);
    let r = Array2::from_shape_fn((c.m, c.n), |_| normal(&mut rng));
    let mut worst = bn_gradient_error(c, &x, &r, &mut rng);
    for act in [Activation::Sigmoid, Activation::Tanh] {
        for affine in [false, true] {
            worst = worst.max(ip_gradient_error(c, &x, &r, act, affine, &mut rng));
        }
    }
    worst
}

fn run_gradients(cases_n: u32, seed: u64) -> ClaimReport {
    run_property(
        "gradients",
        1e-6,
        cases_n,
        seed,
        cases(16, 3),
        gradients_error,
    )
}
