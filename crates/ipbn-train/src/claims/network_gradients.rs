//! `network-gradients`: backprop through a whole f64 network agrees with central finite
//! differences for every hidden-layer condition the rule registry allows.

use super::gradient_check::{worst_relative_error, GradientProblem, FD_STEP};
use super::scope::{params_strategy, Scope, Shape};
use super::{Claim, ClaimReport};
use crate::condition::Condition;
use crate::init::Init;
use crate::mlp::MlpSpec;
use ipbn_math::Activation;
use ipbn_neurons::claims::run_property;
use proptest::prelude::*;
use std::fmt;

/// The `network-gradients` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "network-gradients",
    statement: "Whole network, f64: for every hidden-layer condition the rule registry \
        allows (plain, bn, and ip:RULE and ip+affine:RULE for every registered rule \
        whose activation matches, KL rules and moment matching, with random valid \
        parameters and SGD or Adam steps), under sigmoid and tanh, the backprop \
        gradient of the training-mode mean cross-entropy with respect to every W, b, \
        gamma and beta agrees with five-point central differences (step 1e-4). Random \
        networks: 2-4 inputs, two hidden layers of 3-5 units, 2-3 classes, N(0, s^2) \
        weights with s in [0.3, 1.2], a batch of 4-6 N(0, 1) inputs, then 0-4 \
        training steps on it (lr 0.3, momentum 0.5, intrinsic rate in [0.01, 0.1]) so \
        that alpha, k, gamma and beta leave their initial values. Error: the largest \
        over parameter arrays of |backprop - FD|_2 / max(|backprop|_2, |FD|_2, \
        0.01 |whole gradient|_2) (an array of saturated units, whose gradient is below \
        1 % of the whole, is judged against that 1 %: differences of an O(1) loss \
        resolve a derivative only to about 1e-12); tolerance 1e-6.",
    run,
};

/// One random case of `network-gradients`.
#[derive(Clone)]
struct NetCase {
    /// `None` if the rule rejected its typical parameters (a registry bug: the case fails).
    condition: Option<Condition>,
    activation: Activation,
    inputs: usize,
    hidden: Vec<usize>,
    classes: usize,
    batch: usize,
    init_std: f64,
    eta: f64,
    warmup: usize,
    seed: u64,
}

impl fmt::Debug for NetCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let condition = self.condition.as_ref().map_or_else(
            || "<rule rejected its parameters>".into(),
            |c| c.to_string(),
        );
        f.debug_struct("NetCase")
            .field("condition", &condition)
            .field("activation", &self.activation.name())
            .field("inputs", &self.inputs)
            .field("hidden", &self.hidden)
            .field("classes", &self.classes)
            .field("batch", &self.batch)
            .field("init_std", &self.init_std)
            .field("eta", &self.eta)
            .field("warmup", &self.warmup)
            .field("seed", &self.seed)
            .finish()
    }
}

fn net_cases(scope: &Scope) -> impl Strategy<Value = NetCase> {
    let all: Vec<(Shape, Activation)> = scope
        .activations()
        .into_iter()
        .flat_map(|a| scope.shapes(a).into_iter().map(move |s| (s, a)))
        .collect();
    (
        (0..all.len(), params_strategy(), any::<bool>()),
        2usize..=4,
        proptest::collection::vec(3usize..=5, 2),
        2usize..=3,
        4usize..=6,
        0.3f64..1.2,
        0.01f64..0.1,
        0usize..=4,
        any::<u64>(),
    )
        .prop_map(
            move |((i, t, adam), inputs, hidden, classes, batch, init_std, eta, warmup, seed)| {
                let (shape, activation) = all[i];
                NetCase {
                    condition: shape.condition(t.as_deref(), adam),
                    activation,
                    inputs,
                    hidden,
                    classes,
                    batch,
                    init_std,
                    eta,
                    warmup,
                    seed,
                }
            },
        )
}

/// The `network-gradients` error of one case (infinite if the case cannot be built or its
/// warm-up leaves non-finite values).
fn net_case_error(c: &NetCase, tamper: fn(&mut [Vec<f64>])) -> f64 {
    let Some(condition) = &c.condition else {
        return f64::INFINITY;
    };
    let spec = MlpSpec {
        inputs: c.inputs,
        hidden: c.hidden.clone(),
        classes: c.classes,
        activation: c.activation,
        kind: condition.layer_kind(c.eta),
        init: Init::Gauss { std: c.init_std },
    };
    let Ok(mut p) = GradientProblem::new(&spec, c.batch, c.warmup, c.seed) else {
        return f64::INFINITY;
    };
    if !p.net.is_finite() {
        return f64::INFINITY;
    }
    p.check_with(FD_STEP, tamper)
        .map_or(f64::INFINITY, |checks| worst_relative_error(&checks))
}

pub(super) fn network_gradients_with(
    scope: &Scope,
    cases: u32,
    seed: u64,
    tamper: fn(&mut [Vec<f64>]),
) -> ClaimReport {
    run_property(
        "network-gradients",
        1e-6,
        cases,
        seed,
        net_cases(scope),
        |c: &NetCase| net_case_error(c, tamper),
    )
}

fn run(cases: u32, seed: u64) -> ClaimReport {
    network_gradients_with(&Scope::registry(), cases, seed, |_| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_gradients_holds() {
        let r = run(24, 5);
        assert!(r.holds, "{r:?}");
        assert_eq!(r.cases, 24);
        assert!(r.worst_error > 0.0 && r.worst_error <= 1e-6, "{r:?}");
    }

    #[test]
    fn network_gradients_fails_on_a_slightly_wrong_gradient() {
        // A 1e-4 relative error in the last array (the output bias) must be caught.
        let r = network_gradients_with(&Scope::registry(), 8, 5, |g| {
            if let Some(last) = g.last_mut() {
                last.iter_mut().for_each(|v| *v *= 1.0 + 1e-4);
            }
        });
        assert!(!r.holds, "{r:?}");
        assert!(r.worst_error > 5e-5 && r.worst_error < 2e-4, "{r:?}");
        assert!(r.detail.contains("minimal case"), "{}", r.detail);
    }
}
