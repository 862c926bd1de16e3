//! `bn-eval-is-affine`: inference-mode BN is an IP unit with a frozen gain and bias.

use super::bn_common::{
    check_forward, frozen_layer, normal, random_affine, ratio, run_batches, Case,
};
use super::{Claim, ClaimReport};
use crate::{BatchNorm, Mode};
use ipbn_math::mapping::bn_eval_affine;
use ipbn_math::Activation;
use ndarray_rand::rand::Rng;

/// The `bn-eval-is-affine` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "bn-eval-is-affine",
    statement: "BN in inference equals an IP unit with frozen gain a and bias b, \
        (a, b) = bn_eval_affine(gamma, beta, running_mean, running_var, eps), i.e. \
        a = gamma/sqrt(v_run + eps), b = beta - a m_run. Error: elementwise \
        |BN - (a x + b)| / (|a|(|x| + |m_run|) + |beta|); tolerance 1e-12.",
    run,
};

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

fn run(cases: u32, seed: u64) -> ClaimReport {
    run_batches(CLAIM.id, 1e-12, (32, 8), cases, seed, bn_eval_error)
}
