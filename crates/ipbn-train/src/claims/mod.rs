//! The network-level claims of `shared/spec/claims.md` as runnable claims, and the gradient
//! check they share with the tests.
//!
//! [`all`] lists every claim of the workspace: the layer and rule claims of
//! [`ipbn_neurons::claims`] followed by the two of this crate, which need whole networks
//! and sweeps:
//!
//! * `network-gradients`: backprop through a whole f64 network agrees with central finite
//!   differences for every hidden-layer condition the rule registry allows;
//! * `determinism`: a sweep run in a rayon pool of one thread and in one of two threads
//!   writes byte-identical files.
//!
//! Both draw their conditions from [`ipbn_neurons::registry::TABLE`], so a newly registered
//! rule is covered without new code. Each claim's core takes the part under test (the
//! gradient comparison, the sweep execution) as an argument, which lets each file's tests show
//! that the claim fails on a deliberately wrong gradient or a thread-dependent sweep.
//!
//! [`GradientProblem`] is the whole-network gradient check itself: a small f64 network with
//! a batch, moved away from its initial state, whose backprop gradient is compared with
//! finite differences array by array. The claim and `tests/train_gradients.rs` both use it.
//!
//! One file per claim (`network_gradients.rs`, `determinism.rs`); `scope` holds the
//! conditions they draw from the registry and `gradient_check` the gradient check.

mod determinism;
mod gradient_check;
mod network_gradients;
mod scope;

pub use determinism::DETERMINISM_MAX_CASES;
pub use gradient_check::{
    worst_relative_error, GradientCheck, GradientProblem, FD_STEP, RELATIVE_FLOOR,
};
pub use ipbn_neurons::claims::{Claim, ClaimReport};
use ipbn_neurons::registry::RuleDef;
pub use scope::conditions;
use scope::Scope;

/// The claims of this crate, in claims.md order.
pub fn claims() -> Vec<Claim> {
    vec![network_gradients::CLAIM, determinism::CLAIM]
}

/// Every claim of the workspace: [`ipbn_neurons::claims::all`] followed by [`claims`].
pub fn all() -> Vec<Claim> {
    let mut v = ipbn_neurons::claims::all();
    v.extend(claims());
    v
}

/// Runs every claim that applies to one rule, on that rule alone: the rule claims of
/// [`ipbn_neurons::claims::check_rule`], then `network-gradients` and `determinism` with the
/// conditions `ip:RULE` and `ip+affine:RULE` (random valid parameters, SGD or Adam) under every
/// activation the rule accepts among sigmoid, tanh and its own. These are the rows
/// `ipbn claims --only RULE` prints.
///
/// # Errors
/// [`ipbn_neurons::NeuronError::BadRule`] when the rule cannot be registered.
pub fn check_rule(
    def: &RuleDef,
    cases: u32,
    seed: u64,
) -> std::result::Result<Vec<ClaimReport>, ipbn_neurons::NeuronError> {
    let mut rows = ipbn_neurons::claims::check_rule(def, cases, seed)?;
    let scope = Scope::rule(*def);
    if !scope.activations().is_empty() {
        rows.push(network_gradients::network_gradients_with(
            &scope,
            cases,
            seed,
            |_| {},
        ));
        rows.push(determinism::determinism_with(
            &scope,
            cases,
            seed,
            determinism::execute_sweep,
        ));
    }
    Ok(rows)
}

/// Looks a claim of [`all`] up by id.
pub fn find(id: &str) -> Option<Claim> {
    all().into_iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_the_neuron_claims_then_these_with_unique_ids() {
        let ids: Vec<&str> = all().iter().map(|c| c.id).collect();
        let neuron: Vec<&str> = ipbn_neurons::claims::all().iter().map(|c| c.id).collect();
        assert_eq!(&ids[..neuron.len()], &neuron[..]);
        assert_eq!(&ids[neuron.len()..], ["network-gradients", "determinism"]);
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert_eq!(find("determinism").map(|c| c.id), Some("determinism"));
        assert!(find("no-such-claim").is_none());
    }
}
