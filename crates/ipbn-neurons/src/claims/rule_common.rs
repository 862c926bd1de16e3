//! What the rule claims share: the claim families a rule belongs to, building a rule at
//! default or typical parameters, random batches, outputs and single-sample directions.
//!
//! KL-type claims run on every registered rule of kind [`RuleKind::Kl`](crate::RuleKind::Kl),
//! the moment-matching claim on every rule of kind [`RuleKind::Other`](crate::RuleKind::Other),
//! with default parameters or parameters drawn from each
//! [`ParamDef::typical`](crate::rules::ParamDef) range, so a newly registered rule is covered
//! without new code. Each claim's core takes the rules as an argument, which lets the tests
//! show that it fails on deliberately wrong rules.

use crate::registry::{self, RuleDef};
use crate::{Delta, IpRule, Objective};
use ipbn_math::numeric;
use ipbn_math::Activation;
use ndarray::{Array1, ArrayView1};
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand_distr::{Distribution, StandardNormal};
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The claim families, by the objective a rule declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    /// KL rules ([`Objective::Kl`]).
    Kl,
    /// Moment matching ([`Objective::BatchMoments`]).
    Moments,
    /// KL and moment-matching rules: the ones with a stated fixed point to move.
    Covariant,
}

/// The rows of `defs` whose rule (at its defaults) belongs to `family`.
pub(super) fn defs_in(defs: &[RuleDef], family: Family) -> Vec<RuleDef> {
    defs.iter()
        .filter(|d| {
            d.build_default().is_ok_and(|r| {
                matches!(
                    (family, r.objective()),
                    (Family::Kl | Family::Covariant, Objective::Kl(_))
                        | (Family::Moments | Family::Covariant, Objective::BatchMoments)
                )
            })
        })
        .copied()
        .collect()
}

/// The active registry's rows in `family`.
pub(super) fn registered(family: Family) -> Vec<RuleDef> {
    defs_in(registry::active().defs(), family)
}

/// The rule of `def` with default parameters (`None`) or parameters at typical positions.
pub(super) fn build(def: &RuleDef, t: &Option<Vec<f64>>) -> Option<Arc<dyn IpRule>> {
    match t {
        None => def.build_default().ok(),
        Some(t) => def.build_typical(t).ok(),
    }
}

/// The largest `error` over the rules of `defs`, each built by `make` (infinite for a rule that
/// does not build).
pub(super) fn worst_over(
    defs: &[RuleDef],
    make: impl Fn(&RuleDef) -> Option<Arc<dyn IpRule>>,
    error: impl Fn(&dyn IpRule) -> f64,
) -> f64 {
    defs.iter()
        .map(|d| make(d).map_or(f64::INFINITY, |r| error(r.as_ref())))
        .fold(0.0, f64::max)
}

/// `n` samples of N(m, s²) from a ChaCha generator seeded with `seed`.
pub(super) fn normal_batch(seed: u64, n: usize, m: f64, s: f64) -> Array1<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array1::from_shape_fn(n, |_| {
        let z: f64 = StandardNormal.sample(&mut rng);
        m + s * z
    })
}

/// The outputs θ(α x + k).
pub(super) fn outputs(act: Activation, x: ArrayView1<'_, f64>, alpha: f64, k: f64) -> Array1<f64> {
    x.mapv(|v| act.f(alpha * v + k))
}

/// The direction for a single sample, allocation-free.
pub(super) fn direction1(rule: &dyn IpRule, x: f64, y: f64, alpha: f64, k: f64) -> Delta {
    rule.direction(
        ArrayView1::from(std::slice::from_ref(&x)),
        ArrayView1::from(std::slice::from_ref(&y)),
        alpha,
        k,
    )
}

/// Random valid parameter positions, or `None` for the defaults.
pub(super) fn params_strategy() -> impl Strategy<Value = Option<Vec<f64>>> {
    proptest::option::of(proptest::collection::vec(0.0f64..=1.0, 4))
}

/// The damped Newton solver the rule claims use ([`numeric::Newton2`]): max norm, forward
/// differences with step 1e-7·max(|α|, 1e-3) and 1e-7·max(|k|, 1), 60 iterations of up to 30
/// halvings keeping α > 0, accepted when the residual is below 1e-9·(1 + 1/α).
const CLAIM_NEWTON: numeric::Newton2 = numeric::Newton2 {
    max_iter: 60,
    max_halvings: 30,
    norm: numeric::NewtonNorm::Max,
    fd_rel: 1e-7,
    fd_floor: [1e-3, 1.0],
    min_det: 0.0,
    stop_residual: 0.0,
    step_tol: 1e-13,
    step_floor: [0.0, 1.0],
    tol: 1e-9,
    tol_inv_x0: 1.0,
    positive_first: true,
};

/// A root of the 2-D field `f(α, k)` near `(a0, k0)` with [`CLAIM_NEWTON`], or `None`.
pub(super) fn newton2(f: impl Fn(f64, f64) -> (f64, f64), a0: f64, k0: f64) -> Option<(f64, f64)> {
    CLAIM_NEWTON
        .solve(
            |x| {
                let (fa, fk) = f(x[0], x[1]);
                [fa, fk]
            },
            [a0, k0],
        )
        .ok()
        .map(|r| (r.x[0], r.x[1]))
}

/// The rule of a spec string in the active registry, or `None`.
pub(super) fn spec_rule(s: &str) -> Option<Arc<dyn IpRule>> {
    registry::parse_spec(s).ok().map(|r| r.rule)
}
