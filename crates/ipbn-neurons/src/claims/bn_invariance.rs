//! `bn-invariance`: BN(a x + c) = BN(x) for a > 0 with ε = 0, and the closed-form gap with
//! ε > 0.

use super::bn_common::{max_abs, ratio, ref_stats, run_batches, Case};
use super::{Claim, ClaimReport};
use crate::{BatchNorm, Mode};
use ndarray_rand::rand::Rng;

/// The `bn-invariance` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "bn-invariance",
    statement: "For a > 0 and any c, with eps = 0: BN(a x + c) = BN(x). With eps > 0 \
        the gap is exactly BN(ax+c)_i - BN(x)_i = (x_i - mu)((s2 + eps/a^2)^(-1/2) - \
        (s2 + eps)^(-1/2)), hence |gap_i| <= sqrt(m-1) min(1, eps|1/a^2 - 1|/(2 s2)); \
        both are checked (a in 10^[-3,3], c in [-1e3, 1e3], default eps 1e-5). Error: \
        |difference from the closed form| (and any excess over the bound) divided by \
        1 + K, K = max|x|/s + max|ax+c|/(a s) the condition number of standardising \
        the two batches; tolerance 1e-12.",
    run,
};

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

fn run(cases: u32, seed: u64) -> ClaimReport {
    run_batches(CLAIM.id, 1e-12, (32, 8), cases, seed, bn_invariance_error)
}
