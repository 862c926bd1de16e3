//! The [`IpRule`] trait: the one extension point for intrinsic-plasticity update rules.

use ipbn_math::Activation;
use ndarray::ArrayView1;
use serde::{Deserialize, Serialize};

/// An ascent direction for one unit's gain and bias, `(Δα, Δk)` before the learning rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// Direction for the gain α.
    pub alpha: f64,
    /// Direction for the bias k.
    pub k: f64,
}

/// Whether a rule is gradient ascent on the KL objective of models.md §2, which decides the
/// claims that apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// Per-sample gradient ascent on `G(α, k) = log α + log θ′(u) + log p*(θ(u))`.
    /// Such a rule must return `Some` from [`IpRule::target`].
    Kl,
    /// Any other rule (e.g. moment matching); it must state its fixed point in its metadata.
    Other,
}

/// The density p* a KL-type rule drives the unit's output towards.
pub trait TargetDensity: Send + Sync + std::fmt::Debug {
    /// log p*(y). May return −∞ outside the support.
    fn ln_pdf(&self, y: f64) -> f64;
    /// ψ(y) = d log p*(y)/dy.
    fn score(&self, y: f64) -> f64;
    /// A finite interval holding all but a negligible (< 1e-12) part of the mass, used for
    /// numerical quadrature over the target.
    fn quadrature_bounds(&self) -> (f64, f64);
    /// A one-line description, e.g. `exponential, mean 0.1`.
    fn describe(&self) -> String;
}

/// One rule parameter, resolved, with its valid range (for listings and validation messages).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamInfo {
    /// Key as written in a spec string (`mu`, `sigma`, ...).
    pub name: String,
    /// Value in force.
    pub value: f64,
    /// Default value.
    pub default: f64,
    /// Human-readable valid range, e.g. `(0, inf)`.
    pub range: String,
    /// What the parameter means.
    pub doc: String,
}

/// An intrinsic-plasticity update rule.
///
/// Given one unit's net inputs `x` and outputs `y = θ(α x + k)` over a batch (or one sample of
/// a stream) and the unit's current gain `alpha` and bias `k`, a rule returns the ascent
/// direction `(Δα, Δk)` averaged over the batch. The learning rate and the kind of step
/// (plain SGD or Adam) are applied outside the rule, by the layer that owns α and k, so any
/// rule can be stepped either way. Rules are immutable values: state (Adam moments) lives in
/// the layer, never in the rule, so a rule is `Send + Sync` and can be shared between runs.
pub trait IpRule: Send + Sync + std::fmt::Debug {
    /// The ascent direction for one unit over a batch. `x` and `y` have the same length ≥ 1.
    fn direction(
        &self,
        x: ArrayView1<'_, f64>,
        y: ArrayView1<'_, f64>,
        alpha: f64,
        k: f64,
    ) -> Delta;

    /// Registry id, e.g. `triesch`.
    fn id(&self) -> &'static str;
    /// The activation θ this rule is derived for.
    fn activation(&self) -> Activation;
    /// Whether the rule is a KL gradient rule.
    fn kind(&self) -> RuleKind {
        RuleKind::Kl
    }
    /// The target density for KL-type rules; `None` for other rules.
    fn target(&self) -> Option<&dyn TargetDensity>;
    /// A one-line statement of the target distribution or fixed point.
    fn target_description(&self) -> String {
        match self.target() {
            Some(t) => t.describe(),
            None => String::from("see the rule's documentation"),
        }
    }
    /// Parameters with their resolved values and valid ranges.
    fn params(&self) -> Vec<ParamInfo> {
        Vec::new()
    }
    /// The publication the rule comes from.
    fn source(&self) -> &'static str;
}
