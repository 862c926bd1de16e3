//! `bn-moments`: BN output has mean 0 and variance s²/(s² + ε) per feature.

use super::bn_common::{max_abs, ratio, ref_stats, run_batches, Case};
use super::{Claim, ClaimReport};
use crate::{BatchNorm, Mode};
use ipbn_math::mapping::bn_to_ip;

/// The `bn-moments` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "bn-moments",
    statement: "BN with gamma = 1, beta = 0 in training mode gives per feature mean 0 \
        and biased variance s2/(s2 + eps), s2 the biased batch variance (computed \
        independently). Error: max over features of |mean| / max(1, alpha_B max|x|) \
        (the size of the centred terms) and |variance - s2/(s2+eps)| / (s2/(s2+eps)); \
        tolerance 1e-12.",
    run,
};

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

fn run(cases: u32, seed: u64) -> ClaimReport {
    run_batches(CLAIM.id, 1e-12, (32, 8), cases, seed, bn_moments_error)
}
