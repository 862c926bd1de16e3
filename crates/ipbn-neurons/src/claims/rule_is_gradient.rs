//! `rule-is-gradient`: every KL rule's direction is the gradient of its objective G(α, k).

use super::rule_common::{
    build, normal_batch, outputs, params_strategy, registered, worst_over, Family,
};
use super::{run_property, Claim, ClaimReport};
use crate::registry::RuleDef;
use crate::{IpRule, TargetDensity};
use ipbn_math::numeric;
use ipbn_math::Activation;
use ndarray::Array1;
use proptest::prelude::*;

/// The `rule-is-gradient` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "rule-is-gradient",
    statement: "Every KL-type rule's (Δα, Δk) equals the gradient of the batch mean of \
        G(α, k) = log α + log θ′(αx + k) + log p*(θ(αx + k)), the gradient taken by a \
        five-point central difference (steps 1e-4·α and 1e-4); random batches \
        (1–64 samples of N(m, s²)), α, k and parameters. A case whose stencil moves an \
        output across a kink of log p* (TargetDensity::kinks, e.g. a Laplace peak), \
        where G has no derivative, counts as error 0. Error: max over both components \
        of |rule − FD| / (1 + max |FD|); tolerance 1e-6.",
    run,
};

/// Batch mean of G(α, k) = log α + log θ′(u) + log p*(θ(u)).
fn objective(act: Activation, target: &dyn TargetDensity, x: &[f64], alpha: f64, k: f64) -> f64 {
    let mut s = 0.0;
    for &xi in x {
        let u = alpha * xi + k;
        s += act.ln_df(u) + target.ln_pdf(act.f(u));
    }
    alpha.ln() + s / x.len() as f64
}

/// Five-point central difference of `f` at `v` with step `h` ([`numeric::Stencil::FivePoint`]).
fn five_point(f: impl Fn(f64) -> f64, v: f64, h: f64) -> f64 {
    numeric::derivative(f, v, h, numeric::Stencil::FivePoint)
}

/// Whether a five-point stencil of `gradient_error` (in α or in k) moves some sample's output
/// across a kink of log p*, where G has no derivative to compare with.
fn crosses_kink(
    act: Activation,
    target: &dyn TargetDensity,
    x: &[f64],
    alpha: f64,
    k: f64,
) -> bool {
    let kinks = target.kinks();
    !kinks.is_empty()
        && x.iter().any(|&xi| {
            let u = alpha * xi + k;
            let reach = 2.0 * 1e-4 * (1.0 + alpha * xi.abs());
            let (lo, hi) = (act.f(u - reach), act.f(u + reach));
            kinks.iter().any(|&c| lo <= c && c <= hi)
        })
}

/// The `rule-is-gradient` error of one rule at one case.
fn gradient_error(rule: &dyn IpRule, x: &Array1<f64>, alpha: f64, k: f64) -> f64 {
    let Some(target) = rule.target() else {
        return f64::INFINITY;
    };
    let act = rule.activation();
    let xs = x.as_slice().unwrap_or(&[]);
    if crosses_kink(act, target, xs, alpha, k) {
        return 0.0;
    }
    let y = outputs(act, x.view(), alpha, k);
    let d = rule.direction(x.view(), y.view(), alpha, k);
    let fd_a = five_point(|a| objective(act, target, xs, a, k), alpha, 1e-4 * alpha);
    let fd_k = five_point(|kk| objective(act, target, xs, alpha, kk), k, 1e-4);
    let scale = 1.0 + fd_a.abs().max(fd_k.abs());
    ((d.alpha - fd_a).abs().max((d.k - fd_k).abs())) / scale
}

type GradCase = (Option<Vec<f64>>, usize, f64, f64, f64, f64, u64);

pub(super) fn rule_is_gradient_with(defs: &[RuleDef], cases: u32, seed: u64) -> ClaimReport {
    let strategy = (
        params_strategy(),
        1usize..=64,
        -2.0f64..2.0,
        0.1f64..3.0,
        0.1f64..5.0,
        -3.0f64..3.0,
        any::<u64>(),
    );
    run_property(
        "rule-is-gradient",
        1e-6,
        cases,
        seed,
        strategy,
        |(t, n, m, s, alpha, k, data_seed): &GradCase| {
            let x = normal_batch(*data_seed, *n, *m, *s);
            worst_over(defs, |d| build(d, t), |r| gradient_error(r, &x, *alpha, *k))
        },
    )
}

fn run(cases: u32, seed: u64) -> ClaimReport {
    rule_is_gradient_with(&registered(Family::Kl), cases, seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::test_rules::*;

    #[test]
    fn rule_is_gradient_fails_on_a_wrong_sign() {
        let defs = [RuleDef::of::<Wrong<0>>()];
        assert_fails(&rule_is_gradient_with(&defs, CASES, SEED));
        let good = [RuleDef::of::<Wrong<3>>()];
        assert_holds(&rule_is_gradient_with(&good, CASES, SEED));
    }
}
