//! The claims of `shared/spec/claims.md` as named, runnable properties.
//!
//! Each [`Claim`] runs a proptest property with a fixed seed and a chosen number of cases and
//! reports the worst error it saw against its tolerance. `cargo test` runs every claim with a
//! small case count; `ipbn claims --cases N` runs them with many more. Claims about rules
//! iterate over the registry, so a newly registered rule is covered without new test code.
//!
//! One file per claim, named after its id (`bn_is_ip.rs` holds `bn-is-ip`), each with its
//! statement, its error measure and its runner; `bn_common` holds what the batch-normalisation
//! claims share (the random batch, reference statistics, a frozen IP layer) and
//! `rule_common` what the rule claims share (claim families, building rules, random batches,
//! the Newton solver).

mod affine_covariance;
mod bn_common;
mod bn_eval_is_affine;
mod bn_grad_orthogonal;
mod bn_invariance;
mod bn_is_ip;
mod bn_moments;
mod composition;
mod equilibria;
mod gradients;
mod moment_matching_is_bn;
mod rule_common;
mod rule_is_gradient;
mod rule_limits;
mod target_fixed_point;
#[cfg(test)]
mod test_rules;

use crate::registry::RuleDef;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner};
use serde::Serialize;
use std::cell::Cell;

/// The outcome of running one claim.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClaimReport {
    /// Claim id from claims.md, e.g. `bn-is-ip`.
    pub id: String,
    /// Random cases tried.
    pub cases: u64,
    /// Largest error seen (in the claim's own measure, see `statement`).
    pub worst_error: f64,
    /// The tolerance the error is held to.
    pub tolerance: f64,
    /// Whether every case was within tolerance.
    pub holds: bool,
    /// The minimal failing case when the claim fails, otherwise empty.
    pub detail: String,
}

/// A named claim that can be run with any number of cases and a seed.
#[derive(Clone, Copy)]
pub struct Claim {
    /// Claim id from claims.md.
    pub id: &'static str,
    /// What is claimed and how the error is measured.
    pub statement: &'static str,
    /// Runs the claim with `cases` random cases from `seed`.
    pub run: fn(cases: u32, seed: u64) -> ClaimReport,
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim").field("id", &self.id).finish()
    }
}

/// Every claim this crate can check, in claims.md order: the batch-normalisation claims, then
/// the rule claims.
pub fn all() -> Vec<Claim> {
    vec![
        bn_is_ip::CLAIM,
        bn_eval_is_affine::CLAIM,
        composition::CLAIM,
        bn_moments::CLAIM,
        bn_invariance::CLAIM,
        bn_grad_orthogonal::CLAIM,
        gradients::CLAIM,
        rule_is_gradient::CLAIM,
        target_fixed_point::CLAIM,
        equilibria::CLAIM,
        affine_covariance::CLAIM,
        moment_matching_is_bn::CLAIM,
        rule_limits::CLAIM,
    ]
}

/// Runs every claim that applies to one rule, on that rule alone, and returns the rows
/// `ipbn claims` prints: for a KL rule ([`Objective::Kl`](crate::Objective::Kl))
/// `rule-is-gradient`, `target-fixed-point` and `affine-covariance`; for a moment-matching rule
/// `moment-matching-is-bn` and `affine-covariance`; for any other rule none (the network-level
/// claims of `ipbn_train::claims::check_rule` apply to every rule). Parameters are drawn from
/// each parameter's typical range, as for the registered rules.
///
/// ```
/// use ipbn_neurons::{claims, registry::RuleDef, rules::Triesch};
///
/// let rows = claims::check_rule(&RuleDef::of::<Triesch>(), 32, 1)?;
/// assert_eq!(rows.len(), 3);
/// assert!(rows.iter().all(|r| r.holds));
/// # Ok::<(), ipbn_neurons::NeuronError>(())
/// ```
///
/// # Errors
/// [`NeuronError::BadRule`](crate::NeuronError::BadRule) when the rule fails the checks of
/// [`RuleDef::validate`] (malformed id or parameter table, or it does not build).
pub fn check_rule(def: &RuleDef, cases: u32, seed: u64) -> crate::Result<Vec<ClaimReport>> {
    use rule_common::{defs_in, Family};
    def.validate()?;
    let one = [*def];
    let mut rows = Vec::new();
    let kl = defs_in(&one, Family::Kl);
    if !kl.is_empty() {
        rows.push(rule_is_gradient::rule_is_gradient_with(&kl, cases, seed));
        rows.push(target_fixed_point::target_fixed_point_with(
            &kl, cases, seed,
        ));
    }
    let covariant = defs_in(&one, Family::Covariant);
    if !covariant.is_empty() {
        rows.push(affine_covariance::affine_covariance_with(
            &covariant, cases, seed,
        ));
    }
    let moments = defs_in(&one, Family::Moments);
    if !moments.is_empty() {
        rows.push(moment_matching_is_bn::moment_is_bn_with(
            &moments, cases, seed,
        ));
    }
    Ok(rows)
}

/// Looks a claim up by id.
pub fn find(id: &str) -> Option<Claim> {
    all().into_iter().find(|c| c.id == id)
}

/// Runs `error` on `cases` values drawn from `strategy` with a proptest runner seeded by `seed`,
/// and reports the worst error against `tolerance`. A case whose error exceeds the tolerance
/// (or is NaN) fails the claim; proptest then shrinks it to a minimal counterexample, which is
/// reported in `detail`.
pub fn run_property<S, F>(
    id: &str,
    tolerance: f64,
    cases: u32,
    seed: u64,
    strategy: S,
    error: F,
) -> ClaimReport
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(&S::Value) -> f64,
{
    let config = Config {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 256,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let worst = Cell::new(0.0f64);
    let tried = Cell::new(0u64);
    let result = runner.run(&strategy, |v| {
        let e = error(&v);
        tried.set(tried.get() + 1);
        if e.is_nan() || e > worst.get() {
            worst.set(if e.is_nan() { f64::INFINITY } else { e });
        }
        if e.is_nan() || e > tolerance {
            return Err(TestCaseError::fail(format!(
                "error {e:e} exceeds {tolerance:e}"
            )));
        }
        Ok(())
    });
    let (holds, detail) = match result {
        Ok(()) => (true, String::new()),
        Err(TestError::Fail(reason, value)) => {
            (false, format!("{reason}; minimal case: {value:?}"))
        }
        Err(TestError::Abort(reason)) => (false, format!("aborted: {reason}")),
    };
    ClaimReport {
        id: id.to_string(),
        cases: u64::from(cases).min(tried.get()),
        worst_error: worst.get(),
        tolerance,
        holds,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_rules::{assert_holds, CASES, SEED};

    #[test]
    fn every_claim_in_order_and_every_rule_claim_holds() {
        let ids: Vec<&str> = all().iter().map(|c| c.id).collect();
        assert_eq!(
            ids.join(" "),
            "bn-is-ip bn-eval-is-affine composition bn-moments bn-invariance \
             bn-grad-orthogonal gradients rule-is-gradient target-fixed-point equilibria \
             affine-covariance moment-matching-is-bn rule-limits"
        );
        // The rule claims; the BN claims run in tests/bn_claims.rs.
        for c in &all()[7..] {
            assert_holds(&(c.run)(CASES, SEED));
        }
    }
}
