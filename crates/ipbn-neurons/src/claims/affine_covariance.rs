//! `affine-covariance`: an affine change of the input moves a rule's state (and fixed point)
//! covariantly.

use super::rule_common::{
    build, newton2, normal_batch, outputs, params_strategy, registered, worst_over, Family,
};
use super::{run_property, Claim, ClaimReport};
use crate::registry::RuleDef;
use crate::{IpRule, RuleKind};
use ndarray::Array1;
use proptest::prelude::*;
use std::sync::Arc;

/// The `affine-covariance` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "affine-covariance",
    statement: "With input x = s x′ + c (s > 0) the state (α, k) on x and \
        (s α, k + c α) on x′ give the same outputs, and the fixed point moves \
        accordingly. KL rules, for any α, k and batch: Δk′ = Δk and \
        Δα′ = (Δα − c Δk)/s (error: largest deviation relative to 1 + the terms' size). \
        Other rules (built with eps = 0 when they have it): the zero of the batch \
        direction (Newton) moves from (α*, k*) to (s α*, k* + c α*) (relative error). \
        Tolerance 1e-9.",
    run,
};

/// The root of the batch direction of `rule` on `x` (Newton from (1, 0)).
fn batch_root(rule: &dyn IpRule, x: &Array1<f64>) -> Option<(f64, f64)> {
    let act = rule.activation();
    newton2(
        |a, k| {
            let y = outputs(act, x.view(), a, k);
            let d = rule.direction(x.view(), y.view(), a, k);
            (d.alpha, d.k)
        },
        1.0,
        0.0,
    )
}

/// The `affine-covariance` error of one rule at one case.
fn affine_error(rule: &dyn IpRule, x: &Array1<f64>, alpha: f64, k: f64, s: f64, c: f64) -> f64 {
    let act = rule.activation();
    let x2 = x.mapv(|v| (v - c) / s);
    match rule.kind() {
        RuleKind::Kl => {
            let (a2, k2) = (s * alpha, k + c * alpha);
            let d = rule.direction(x.view(), outputs(act, x.view(), alpha, k).view(), alpha, k);
            let d2 = rule.direction(x2.view(), outputs(act, x2.view(), a2, k2).view(), a2, k2);
            let ek = (d2.k - d.k).abs() / (1.0 + d.k.abs());
            let ea = (s * d2.alpha + c * d.k - d.alpha).abs()
                / (1.0 + d.alpha.abs() + (c * d.k).abs() + 1.0 / alpha);
            ek.max(ea)
        }
        RuleKind::Other => {
            let (Some((a1, k1)), Some((a2, k2))) = (batch_root(rule, x), batch_root(rule, &x2))
            else {
                return f64::INFINITY;
            };
            let (ea_want, ek_want) = (s * a1, k1 + c * a1);
            let ea = (a2 - ea_want).abs() / ea_want.abs();
            let ek = (k2 - ek_want).abs() / (1.0 + k1.abs() + (c * a1).abs());
            ea.max(ek)
        }
    }
}

/// A rule of `def` for the affine claim: Other rules get `eps = 0` (the ε guard breaks exact
/// covariance by design, as it does for BN).
fn affine_rule(def: &RuleDef, t: &Option<Vec<f64>>) -> Option<Arc<dyn IpRule>> {
    let r = build(def, t)?;
    if r.kind() == RuleKind::Kl {
        return Some(r);
    }
    let mut values: Vec<f64> = r.params().iter().map(|p| p.value).collect();
    if let Some(i) = def.params.iter().position(|p| p.name == "eps") {
        values[i] = 0.0;
    }
    (def.build)(&values).ok()
}

type AffineCase = (Option<Vec<f64>>, usize, f64, f64, f64, f64, f64, f64, u64);

pub(super) fn affine_covariance_with(defs: &[RuleDef], cases: u32, seed: u64) -> ClaimReport {
    let strategy = (
        params_strategy(),
        2usize..=64,
        -2.0f64..2.0,
        0.2f64..3.0,
        0.1f64..3.0,
        -2.0f64..2.0,
        -2.3f64..2.3, // ln s: s in [0.1, 10]
        -5.0f64..5.0,
        any::<u64>(),
    );
    run_property(
        "affine-covariance",
        1e-9,
        cases,
        seed,
        strategy,
        |(t, n, m, sd, alpha, k, ln_s, c, data_seed): &AffineCase| {
            let x = normal_batch(*data_seed, *n, *m, *sd);
            worst_over(
                defs,
                |d| affine_rule(d, t),
                |r| affine_error(r, &x, *alpha, *k, ln_s.exp(), *c),
            )
        },
    )
}

fn run(cases: u32, seed: u64) -> ClaimReport {
    affine_covariance_with(&registered(Family::Covariant), cases, seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::test_rules::*;

    #[test]
    fn affine_covariance_fails_on_wrong_rules() {
        assert_fails(&affine_covariance_with(
            &[RuleDef::of::<Wrong<2>>()],
            CASES,
            SEED,
        ));
        assert_fails(&affine_covariance_with(
            &[RuleDef::of::<WrongMoment<1>>()],
            CASES,
            SEED,
        ));
    }
}
