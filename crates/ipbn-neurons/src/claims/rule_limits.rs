//! `rule-limits`: triesch → infomax-logistic and schrauwen → infomax-tanh, at the stated
//! rates.

use super::rule_common::{normal_batch, outputs, spec_rule};
use super::{run_property, Claim, ClaimReport};
use crate::IpRule;
use ndarray::Array1;
use proptest::prelude::*;
use std::sync::Arc;

/// The `rule-limits` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "rule-limits",
    statement: "triesch(μ) → infomax-logistic as μ → ∞ and schrauwen(0, σ) → \
        infomax-tanh as σ → ∞, at rate 1/μ and 1/σ²: for μ in {1e2, 1e4, 1e6} and σ in \
        {1e1, 1e3, 1e5} on random batches, μ·|Δ_triesch − Δ_logistic|∞ ≤ (1 + max|x|)/4 \
        and σ²·|Δ_schrauwen − Δ_tanh|∞ ≤ 0.3849 (1 + max|x|) (the bounds of \
        |y(1 − y)| and |y(1 − y²)|). Error: the ratio to the bound; tolerance 1.",
    run,
};

/// The rules a limit compares: a family member at a parameter value, and the limit rule.
#[derive(Clone, Copy)]
struct Limit {
    family: fn(f64) -> Option<Arc<dyn IpRule>>,
    limit: fn() -> Option<Arc<dyn IpRule>>,
    /// Parameter values approaching the limit.
    params: [f64; 3],
    /// The rate: the difference is bounded by `bound (1 + max|x|) / rate(p)`.
    rate: fn(f64) -> f64,
    bound: f64,
}

fn registry_limits() -> [Limit; 2] {
    [
        Limit {
            family: |mu| spec_rule(&format!("triesch:mu={mu}")),
            limit: || spec_rule("infomax-logistic"),
            params: [1e2, 1e4, 1e6],
            rate: |mu| mu,
            bound: 0.25,
        },
        Limit {
            family: |sigma| spec_rule(&format!("schrauwen:mu=0,sigma={sigma}")),
            limit: || spec_rule("infomax-tanh"),
            params: [1e1, 1e3, 1e5],
            rate: |sigma| sigma * sigma,
            bound: 0.384_900_179_459_750_5, // max |y(1 − y²)| on [−1, 1] = 2/(3√3)
        },
    ]
}

fn limit_error(l: &Limit, x: &Array1<f64>, alpha: f64, k: f64) -> f64 {
    let Some(lim) = (l.limit)() else {
        return f64::INFINITY;
    };
    let y = outputs(lim.activation(), x.view(), alpha, k);
    let d0 = lim.direction(x.view(), y.view(), alpha, k);
    let xmax = x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    l.params
        .iter()
        .map(|&p| match (l.family)(p) {
            Some(r) if r.activation() == lim.activation() => {
                let d = r.direction(x.view(), y.view(), alpha, k);
                let diff = (d.alpha - d0.alpha).abs().max((d.k - d0.k).abs());
                diff * (l.rate)(p) / (l.bound * (1.0 + xmax))
            }
            _ => f64::INFINITY,
        })
        .fold(0.0, f64::max)
}

type LimitCase = (usize, f64, f64, f64, f64, u64);

fn rule_limits_with(limits: &[Limit], cases: u32, seed: u64) -> ClaimReport {
    let strategy = (
        1usize..=64,
        -2.0f64..2.0,
        0.1f64..3.0,
        0.1f64..5.0,
        -3.0f64..3.0,
        any::<u64>(),
    );
    run_property(
        "rule-limits",
        1.0,
        cases,
        seed,
        strategy,
        |&(n, m, sd, alpha, k, data_seed): &LimitCase| {
            let x = normal_batch(data_seed, n, m, sd);
            limits
                .iter()
                .map(|l| limit_error(l, &x, alpha, k))
                .fold(0.0, f64::max)
        },
    )
}

fn run(cases: u32, seed: u64) -> ClaimReport {
    rule_limits_with(&registry_limits(), cases, seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::test_rules::*;

    #[test]
    fn rule_limits_fail_on_a_slow_limit() {
        let mut limits = registry_limits();
        // Triesch at √μ only approaches the limit like 1/√μ.
        limits[0].family = |mu| spec_rule(&format!("triesch:mu={}", mu.sqrt()));
        assert_fails(&rule_limits_with(&limits, CASES, SEED));
    }
}
