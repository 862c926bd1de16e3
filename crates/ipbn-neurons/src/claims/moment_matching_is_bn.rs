//! `moment-matching-is-bn`: the moment-matching rule reaches BN's gain and bias.

use super::rule_common::{
    build, normal_batch, outputs, params_strategy, registered, worst_over, Family,
};
use super::{run_property, Claim, ClaimReport};
use crate::registry::RuleDef;
use crate::IpRule;
use ndarray::Array1;
use proptest::prelude::*;

/// The `moment-matching-is-bn` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "moment-matching-is-bn",
    statement: "For every rule of kind Other (moment matching): (a) one step with η·ρ = 1 \
        sets α, k to BN's α_B = g*/√(v_B + ε), k_B = b* − m_B α_B for the batch (biased \
        variance; error relative to the larger of the old and new values); (b) on a \
        stationary stream, a fixed cycle of 1–6 batches with η·ρ in [0.1, 1], α and k \
        converge to a cycle whose average equals the average of BN's per-batch α_B, \
        k_B (relative error). Tolerance 1e-12.",
    run,
};

/// A parameter value of `rule` by key, or `default`.
fn param(rule: &dyn IpRule, key: &str, default: f64) -> f64 {
    rule.param(key).unwrap_or(default)
}

/// BN's gain and bias for `x` (two-pass mean and biased variance), scaled by g* and shifted
/// by b*: the reference the moment rule is held to.
fn bn_gain_bias(x: &[f64], eps: f64, scale: f64, offset: f64) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let a = 1.0 / (var + eps).sqrt();
    (scale * a, offset - scale * mean * a)
}

/// The `moment-matching-is-bn` error of one rule at one case.
fn moment_error(rule: &dyn IpRule, batches: &[Array1<f64>], a0: f64, k0: f64, lambda: f64) -> f64 {
    let (rho, scale, offset, eps) = (
        param(rule, "rho", 1.0),
        param(rule, "scale", 1.0),
        param(rule, "offset", 0.0),
        param(rule, "eps", 0.0),
    );
    let refs: Vec<(f64, f64)> = batches
        .iter()
        .map(|b| bn_gain_bias(b.as_slice().unwrap_or(&[]), eps, scale, offset))
        .collect();
    let act = rule.activation();
    let step = |a: f64, k: f64, x: &Array1<f64>, eta: f64| {
        let y = outputs(act, x.view(), a, k);
        let d = rule.direction(x.view(), y.view(), a, k);
        (a + eta * d.alpha, k + eta * d.k)
    };
    // (a) η ρ = 1: one step lands on BN's values.
    let (a1, k1) = step(a0, k0, &batches[0], 1.0 / rho);
    let (ab, kb) = refs[0];
    let err_a = (a1 - ab).abs() / ab.abs().max(a0.abs());
    let err_k = (k1 - kb).abs() / kb.abs().max(k0.abs()).max(ab.abs());
    // (b) a stationary stream: cycle the batches until the start is forgotten, i.e. until
    // (1 − λ)^steps times the initial gap is below 1e-16 of the values.
    let eta = lambda / rho;
    let p = batches.len();
    let gap = refs
        .iter()
        .map(|&(ra, rk)| ((a0 - ra).abs() / ra).max((k0 - rk).abs() / rk.abs().max(ra)))
        .fold(1.0, f64::max);
    let steps = if lambda >= 1.0 {
        p
    } else {
        let forget = (1e-16 / gap).ln() / (1.0 - lambda).ln();
        (forget.ceil() as usize).div_ceil(p) * p
    };
    let (mut a, mut k) = (a0, k0);
    for t in 0..steps {
        (a, k) = step(a, k, &batches[t % p], eta);
    }
    let (mut sa, mut sk) = (0.0, 0.0);
    for b in batches {
        sa += a;
        sk += k;
        (a, k) = step(a, k, b, eta);
    }
    let pf = p as f64;
    let (ma, mk) = (sa / pf, sk / pf);
    let ra = refs.iter().map(|r| r.0).sum::<f64>() / pf;
    let rk = refs.iter().map(|r| r.1).sum::<f64>() / pf;
    let scale_k = refs.iter().map(|r| r.1.abs().max(r.0)).fold(0.0, f64::max);
    let err_b = ((ma - ra).abs() / ra.abs()).max((mk - rk).abs() / scale_k);
    err_a.max(err_k).max(err_b)
}

type MomentCase = (Option<Vec<f64>>, usize, usize, f64, f64, f64, f64, f64, u64);

pub(super) fn moment_is_bn_with(defs: &[RuleDef], cases: u32, seed: u64) -> ClaimReport {
    let strategy = (
        params_strategy(),
        1usize..=6,
        2usize..=64,
        -3.0f64..3.0,
        0.1f64..10.0,
        0.05f64..20.0,
        -5.0f64..5.0,
        0.1f64..=1.0,
        any::<u64>(),
    );
    run_property(
        "moment-matching-is-bn",
        1e-12,
        cases,
        seed,
        strategy,
        |(t, p, n, m, sd, a0, k0, lambda, data_seed): &MomentCase| {
            let batches: Vec<Array1<f64>> = (0..*p)
                .map(|i| normal_batch(data_seed.wrapping_add(i as u64), *n, *m, *sd))
                .collect();
            worst_over(
                defs,
                |d| build(d, t),
                |r| moment_error(r, &batches, *a0, *k0, *lambda),
            )
        },
    )
}

fn run(cases: u32, seed: u64) -> ClaimReport {
    moment_is_bn_with(&registered(Family::Moments), cases, seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::test_rules::*;

    #[test]
    fn moment_claim_fails_on_unbiased_variance() {
        assert_fails(&moment_is_bn_with(
            &[RuleDef::of::<WrongMoment<0>>()],
            CASES,
            SEED,
        ));
    }
}
