//! `target-fixed-point`: the target density is a fixed point of every KL rule's Δk.

use super::rule_common::{build, direction1, params_strategy, registered, worst_over, Family};
use super::{run_property, Claim, ClaimReport};
use crate::registry::RuleDef;
use crate::IpRule;
use ipbn_math::numeric;

/// The `target-fixed-point` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "target-fixed-point",
    statement: "For every KL-type rule and valid parameters, ∫ p*(y) Δk(y) dy = 0 over \
        the part of the target's support that θ can reach (composite 16-point \
        Gauss–Legendre, 64 panels). Error: |∫ p* Δk| / ∫ p* |Δk|; tolerance 1e-9.",
    run,
};

/// |∫ p* Δk| / ∫ p* |Δk| over the reachable part of the target's support.
fn target_error(rule: &dyn IpRule) -> f64 {
    let Some(target) = rule.target() else {
        return f64::INFINITY;
    };
    let act = rule.activation();
    let (ra, rb) = act.range();
    let (qa, qb) = target.quadrature_bounds();
    let (a, b) = (ra.max(qa), rb.min(qb));
    if !(a < b && a.is_finite() && b.is_finite()) {
        return f64::INFINITY;
    }
    let (mut num, mut den) = (0.0, 0.0);
    numeric::gauss_legendre(a, b, 64, |y, w| {
        // Feed the rule a consistent sample: x = θ⁻¹(y) with α = 1, k = 0.
        let dk = direction1(rule, act.inverse(y), y, 1.0, 0.0).k;
        let p = target.ln_pdf(y).exp();
        num += w * p * dk;
        den += w * p * dk.abs();
    });
    if den > 0.0 {
        num.abs() / den
    } else {
        num.abs()
    }
}

pub(super) fn target_fixed_point_with(defs: &[RuleDef], cases: u32, seed: u64) -> ClaimReport {
    run_property(
        "target-fixed-point",
        1e-9,
        cases,
        seed,
        params_strategy(),
        |t: &Option<Vec<f64>>| worst_over(defs, |d| build(d, t), target_error),
    )
}

fn run(cases: u32, seed: u64) -> ClaimReport {
    target_fixed_point_with(&registered(Family::Kl), cases, seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::test_rules::*;

    #[test]
    fn target_fixed_point_fails_on_a_biased_rule() {
        assert_fails(&target_fixed_point_with(
            &[RuleDef::of::<Wrong<1>>()],
            CASES,
            SEED,
        ));
    }
}
