//! Which hidden-layer conditions the network-level claims cover: every condition the rule
//! registry allows (or one rule's), under sigmoid, tanh and any activation a rule in scope is
//! derived for.

use crate::condition::Condition;
use ipbn_math::Activation;
use ipbn_neurons::registry::{self, RuleDef, RuleSpec};
use ipbn_neurons::StepKind;
use proptest::prelude::*;

/// A hidden-layer condition before its rule's parameters are chosen.
#[derive(Clone, Copy)]
pub(super) enum Shape {
    Plain,
    Bn,
    Ip(RuleDef),
    IpAffine(RuleDef),
}

impl Shape {
    /// The condition with the rule's default parameters (`None`) or parameters at typical
    /// positions `t`, stepped by Adam or SGD; `None` if the rule rejects the parameters.
    pub(super) fn condition(self, t: Option<&[f64]>, adam: bool) -> Option<Condition> {
        let spec = |def: &RuleDef| {
            let rule = match t {
                None => def.build_default(),
                Some(t) => def.build_typical(t),
            }
            .ok()?;
            let step = if adam {
                StepKind::adam()
            } else {
                StepKind::Sgd
            };
            Some(RuleSpec::new(rule, step))
        };
        Some(match self {
            Shape::Plain => Condition::Plain,
            Shape::Bn => Condition::Bn,
            Shape::Ip(def) => Condition::Ip(spec(&def)?),
            Shape::IpAffine(def) => Condition::IpAffine(spec(&def)?),
        })
    }
}

/// Which rules the network-level claims cover, and whether the plain and BN baselines are
/// among the conditions.
#[derive(Clone, Debug)]
pub(super) struct Scope {
    defs: Vec<RuleDef>,
    baselines: bool,
}

impl Scope {
    /// Every rule of the active registry, with the baselines.
    pub(super) fn registry() -> Scope {
        Scope {
            defs: registry::active().defs().to_vec(),
            baselines: true,
        }
    }

    /// One rule alone.
    pub(super) fn rule(def: RuleDef) -> Scope {
        Scope {
            defs: vec![def],
            baselines: false,
        }
    }

    /// Sigmoid and tanh, then any other activation a rule in scope is derived for, with at
    /// least one condition each.
    pub(super) fn activations(&self) -> Vec<Activation> {
        let mut v = ACTIVATIONS.to_vec();
        for d in &self.defs {
            if let Ok(r) = d.build_default() {
                let a = r.activation();
                if a != Activation::Identity && !v.contains(&a) {
                    v.push(a);
                }
            }
        }
        v.retain(|&a| !self.shapes(a).is_empty());
        v
    }

    /// Plain and BN (with the baselines), then IP and IP+affine for every rule in scope that
    /// accepts `activation` (with its default parameters), in registry order.
    pub(super) fn shapes(&self, activation: Activation) -> Vec<Shape> {
        let mut v = if self.baselines {
            vec![Shape::Plain, Shape::Bn]
        } else {
            Vec::new()
        };
        let rules: Vec<RuleDef> = self
            .defs
            .iter()
            .filter(|d| {
                d.build_default()
                    .is_ok_and(|r| ipbn_neurons::rules::accepts_activation(r.as_ref(), activation))
            })
            .copied()
            .collect();
        v.extend(rules.iter().map(|&d| Shape::Ip(d)));
        v.extend(rules.iter().map(|&d| Shape::IpAffine(d)));
        v
    }
}

/// Every hidden-layer condition the registry allows under `activation`, each rule with its
/// default parameters and SGD steps: `plain`, `bn`, then `ip:RULE` and `ip+affine:RULE` for
/// every registered rule that accepts the activation.
pub fn conditions(activation: Activation) -> Vec<Condition> {
    Scope::registry()
        .shapes(activation)
        .into_iter()
        .filter_map(|s| s.condition(None, false))
        .collect()
}

/// Random positions in [0, 1] within the rules' typical parameter ranges (for up to four
/// parameters; further ones keep their defaults), or `None` for the defaults.
pub(super) fn params_strategy() -> impl Strategy<Value = Option<Vec<f64>>> {
    proptest::option::of(proptest::collection::vec(0.0f64..=1.0, 4))
}

/// The activations the network claims cover.
pub(super) const ACTIVATIONS: [Activation; 2] = [Activation::Sigmoid, Activation::Tanh];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_cover_every_registered_rule_for_its_activation() {
        for act in ACTIVATIONS {
            let names: Vec<String> = conditions(act).iter().map(|c| c.to_string()).collect();
            assert_eq!(&names[..2], ["plain", "bn"]);
            for def in registry::active().defs() {
                let rule = def.build_default().unwrap();
                let accepts = ipbn_neurons::rules::accepts_activation(rule.as_ref(), act);
                let has = |prefix: &str| {
                    names
                        .iter()
                        .any(|n| n.starts_with(&format!("{prefix}:{}", def.id)))
                };
                assert_eq!(has("ip"), accepts, "{act} {}", def.id);
                assert_eq!(has("ip+affine"), accepts, "{act} {}", def.id);
            }
        }
        // Every rule accepts one of the two activations, so every rule is covered.
        let covered: usize = ACTIVATIONS.iter().map(|&a| conditions(a).len() - 2).sum();
        assert!(covered >= 2 * registry::active().defs().len(), "{covered}");
    }
}
