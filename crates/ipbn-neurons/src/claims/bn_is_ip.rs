//! `bn-is-ip`: training-mode BN is the IP form θ(γ(α_B x + k_B) + β) with the gain and bias
//! of the BN ↔ IP mapping.

use super::bn_common::{
    check_forward, frozen_layer, max_abs, random_affine, ratio, ref_stats, run_batches, Case,
};
use super::{Claim, ClaimReport};
use crate::{BatchNorm, Mode};
use ipbn_math::mapping::bn_to_ip;
use ipbn_math::Activation;
use ndarray::Array1;

/// The `bn-is-ip` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "bn-is-ip",
    statement: "BN in training mode (any gamma, beta; m >= 2) equals the IP form \
        theta(gamma(alpha_B x + k_B) + beta) with (alpha_B, k_B) = bn_to_ip(batch mean, \
        biased batch variance, eps), computed by an IP layer, for theta = identity and \
        sigmoid; the layer's own batch_gain_bias agrees with the mapping. Error: \
        elementwise |BN - IP| / (|gamma|(|alpha_B x| + |k_B|) + |beta|) (relative to the \
        terms the IP form adds); tolerance 1e-12.",
    run,
};

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

fn run(cases: u32, seed: u64) -> ClaimReport {
    run_batches(CLAIM.id, 1e-12, (32, 8), cases, seed, bn_is_ip_error)
}
