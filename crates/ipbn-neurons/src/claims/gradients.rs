//! `gradients`: the layer-level backward passes of `BatchNorm` and the IP layer against
//! Richardson-extrapolated central finite differences.

use super::bn_common::{
    check_forward, fitted_gain_bias, frozen_layer, max_abs, normal, random_affine, ratio,
    ref_stats, run_batches, signed_log_uniform, Case,
};
use super::{Claim, ClaimReport};
use crate::{BatchNorm, IpLayer, Layer, Mode};
use ipbn_math::mapping::bn_to_ip;
use ipbn_math::numeric::{self, Stencil};
use ipbn_math::Activation;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand_chacha::ChaCha8Rng;

/// The `gradients` claim.
pub(super) const CLAIM: Claim = Claim {
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
    run,
};

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

fn run(cases: u32, seed: u64) -> ClaimReport {
    run_batches(CLAIM.id, 1e-6, (16, 3), cases, seed, gradients_error)
}
