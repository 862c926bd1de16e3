//! `bn-grad-orthogonal`: BN's input gradient sums to 0 and is orthogonal to x̂ (up to the ε
//! term) per feature.

use super::bn_common::{max_abs, normal, random_affine, ratio, ref_stats, run_batches, Case};
use super::{Claim, ClaimReport};
use crate::{BatchNorm, Layer, Mode};
use ipbn_math::mapping::bn_to_ip;
use ndarray::Array2;
use ndarray_rand::rand::Rng;

/// The `bn-grad-orthogonal` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "bn-grad-orthogonal",
    statement: "Per feature, BN's input gradient sums to 0, and sum_i dL/dx_i xhat_i \
        equals gamma alpha_B^3 eps sum_i g_i xhat_i: exactly 0 (orthogonal to xhat) \
        when eps = 0, and a factor eps/(s2 + eps) of the gamma-gradient term when eps > \
        0 (eps is 0 or 1e-5 at random). Error: |sum| / (S (1 + alpha_B max|x|) \
        max(1, max|xhat|)) with S = |gamma| alpha_B sum_i (|g_i| + |sum g|/m + \
        |xhat_i| |sum g xhat|/m) the size of the terms forming the gradient; \
        tolerance 1e-12.",
    run,
};

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

fn run(cases: u32, seed: u64) -> ClaimReport {
    run_batches(
        CLAIM.id,
        1e-12,
        (32, 8),
        cases,
        seed,
        bn_grad_orthogonal_error,
    )
}
