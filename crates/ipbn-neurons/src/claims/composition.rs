//! `composition`: an IP layer with an affine step is a plain IP layer with composed gain and
//! bias.

use super::bn_common::{
    check_forward, fitted_gain_bias, frozen_layer, random_affine, ratio, run_batches, Case,
};
use super::{Claim, ClaimReport};
use ipbn_math::mapping::compose;
use ipbn_math::Activation;

/// The `composition` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "composition",
    statement: "An IP layer with an affine step, theta(gamma(alpha x + k) + beta), equals \
        a plain IP layer with (alpha', k') = compose(gamma, beta, alpha, k) = \
        (gamma alpha, gamma k + beta), for theta = identity, sigmoid and tanh. Error: \
        elementwise difference / (|gamma|(|alpha x| + |k|) + |beta|); tolerance 1e-12.",
    run,
};

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

fn run(cases: u32, seed: u64) -> ClaimReport {
    run_batches(CLAIM.id, 1e-12, (32, 8), cases, seed, composition_error)
}
