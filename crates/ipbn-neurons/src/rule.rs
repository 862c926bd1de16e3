//! The [`IpRule`] trait: the one extension point for intrinsic-plasticity update rules.

use crate::rules::{ParamDef, Params};
use crate::Result;
use ipbn_math::Activation;
use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

/// `direction` on each unit's column of `x` and `y` into `out` (one [`Delta`] per unit).
fn column_directions(
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    alpha: &[f64],
    k: &[f64],
    out: &mut Vec<Delta>,
    direction: impl Fn(ArrayView1<'_, f64>, ArrayView1<'_, f64>, f64, f64) -> Delta,
) {
    out.clear();
    for j in 0..x.ncols().min(alpha.len()).min(k.len()) {
        out.push(direction(x.column(j), y.column(j), alpha[j], k[j]));
    }
}

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
    /// The outputs where log p* is continuous but not differentiable (a Laplace density's
    /// peak, say); empty for a smooth density. `rule-is-gradient` does not take finite
    /// differences across these points, where the gradient does not exist.
    fn kinks(&self) -> &[f64] {
        &[]
    }
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

/// An intrinsic-plasticity update rule, as layers, the registry and the claims use it.
///
/// Given one unit's net inputs `x` and outputs `y = θ(α x + k)` over a batch (or one sample of
/// a stream) and the unit's current gain `alpha` and bias `k`, a rule returns the ascent
/// direction `(Δα, Δk)` averaged over the batch. The learning rate and the kind of step
/// (plain SGD or Adam) are applied outside the rule, by the layer that owns α and k, so any
/// rule can be stepped either way. Rules are immutable values: state (Adam moments) lives in
/// the layer, never in the rule, so a rule is `Send + Sync` and can be shared between runs.
///
/// Rule authors do not implement this trait: they implement [`Rule`], and every `Rule` is an
/// `IpRule`. The kind, target and description follow from [`IpRule::objective`], so a rule
/// cannot call itself a KL rule without a target density.
pub trait IpRule: Send + Sync + std::fmt::Debug {
    /// The ascent direction for one unit over a batch. `x` and `y` have the same length ≥ 1.
    fn direction(
        &self,
        x: ArrayView1<'_, f64>,
        y: ArrayView1<'_, f64>,
        alpha: f64,
        k: f64,
    ) -> Delta;
    /// The directions of every unit of a batch at once: `x` and `y` are `(rows, units)`,
    /// `alpha` and `k` hold one value per unit, and `out` is cleared and filled with one
    /// [`Delta`] per unit. Each unit's value is bit for bit [`IpRule::direction`] on its
    /// column (the same operations in the same order); the default gathers the columns. For
    /// a KL rule the blanket implementation sums `h(y)` and `x h(y)` row by row, across the
    /// units at once, which vectorises and has no per-unit call.
    fn directions(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView2<'_, f64>,
        alpha: &[f64],
        k: &[f64],
        out: &mut Vec<Delta>,
    ) {
        column_directions(x, y, alpha, k, out, |x, y, a, k| self.direction(x, y, a, k));
    }
    /// Registry id, e.g. `triesch`.
    fn id(&self) -> &'static str;
    /// The activation θ this rule is derived for.
    fn activation(&self) -> Activation;
    /// What the rule drives the unit towards.
    fn objective(&self) -> Objective<'_>;
    /// Parameters with their resolved values and valid ranges.
    fn params(&self) -> Vec<ParamInfo>;
    /// The value of parameter `name`, if the rule has it.
    fn param(&self, name: &str) -> Option<f64>;
    /// The publication the rule comes from.
    fn source(&self) -> &'static str;

    /// Whether the rule is a KL gradient rule (follows from [`IpRule::objective`]).
    fn kind(&self) -> RuleKind {
        match self.objective() {
            Objective::Kl(_) => RuleKind::Kl,
            _ => RuleKind::Other,
        }
    }
    /// The target density of a KL rule; `None` for other rules.
    fn target(&self) -> Option<&dyn TargetDensity> {
        match self.objective() {
            Objective::Kl(t) => Some(t),
            _ => None,
        }
    }
    /// A one-line statement of the target distribution or fixed point.
    fn target_description(&self) -> String {
        match self.objective() {
            Objective::Kl(t) => t.describe(),
            Objective::BatchMoments => {
                let p = |n: &str, d: f64| crate::rules::fmt_num(self.param(n).unwrap_or(d));
                format!(
                    "fixed point alpha = {}/sqrt(Var[x] + {}), k = {} - E[x]*alpha (BN's gain and bias, batch-averaged)",
                    p("scale", 1.0),
                    p("eps", 0.0),
                    p("offset", 0.0)
                )
            }
            Objective::Other => String::from("see the rule's documentation"),
        }
    }
}

/// What a rule drives a unit towards, which decides the claims that apply to it.
#[derive(Clone, Copy, Debug)]
pub enum Objective<'a> {
    /// Gradient ascent on `G(α, k) = log α + log θ′(u) + log p*(θ(u))`: the output density is
    /// driven towards `p*`. Checked by `rule-is-gradient`, `target-fixed-point` and
    /// `affine-covariance`.
    Kl(&'a dyn TargetDensity),
    /// Moment matching: the gain and bias move towards batch normalisation's values for the
    /// batch, read from the rule's parameters `rho`, `scale`, `offset` and `eps`. Checked by
    /// `moment-matching-is-bn` and `affine-covariance`.
    BatchMoments,
    /// Any other rule. Only the claims every rule must meet apply (finite directions, network
    /// gradients, determinism); its documentation states the fixed point.
    Other,
}

/// The rule-author's trait: everything a rule declares, once.
///
/// The id, the reference and the parameter table are constants; the parameter values in force
/// are kept by the rule as a validated [`Params`]. From these follow the spec-string parser,
/// the JSON form, validation, listings ([`IpRule`] is implemented for every `Rule`) and the
/// claims that apply to the rule's [`Objective`]. A KL rule writes only [`Rule::h`] (or not
/// even that: the default derives `h` from the activation and the target density); any other
/// rule writes [`Rule::direction`].
///
/// # Example
///
/// A complete KL rule (a logistic unit driven towards an exponential density of mean μ, i.e.
/// Triesch's rule) in a caller's crate:
///
/// ```
/// use ipbn_math::Activation;
/// use ipbn_neurons::rules::{targets::Exponential, Bound, ParamDef, Params};
/// use ipbn_neurons::{Objective, Result, Rule};
///
/// #[derive(Clone, Debug)]
/// struct Sparse { params: Params, target: Exponential }
///
/// impl Rule for Sparse {
///     const ID: &'static str = "sparse";
///     const SOURCE: &'static str = "Triesch 2005, ICANN, LNCS 3696: 65-70";
///     const PARAMS: &'static [ParamDef] = &[ParamDef::new("mu", 0.1, "target mean output")
///         .range(Bound::Open(0.0), Bound::Unbounded)
///         .typical(0.02, 5.0, true)];
///     fn build(params: Params) -> Result<Self> {
///         let target = Exponential::new(params.get("mu"))
///             .map_err(|_| Self::PARAMS[0].out_of_range(Self::ID, params.get("mu")))?;
///         Ok(Sparse { params, target })
///     }
///     fn params(&self) -> &Params { &self.params }
///     fn activation(&self) -> Activation { Activation::Sigmoid }
///     fn objective(&self) -> Objective<'_> { Objective::Kl(&self.target) }
/// }
///
/// let rule = Sparse::from_values(&[0.2])?;
/// assert_eq!(ipbn_neurons::IpRule::target_description(&rule), "exponential, mean 0.2");
/// assert!(Sparse::from_values(&[0.0]).is_err());
/// # Ok::<(), ipbn_neurons::NeuronError>(())
/// ```
pub trait Rule: Send + Sync + std::fmt::Debug + Clone + 'static {
    /// Registry id, e.g. `triesch`: lower case letters, digits and `-`.
    const ID: &'static str;
    /// The publication the rule comes from (one line).
    const SOURCE: &'static str;
    /// The parameters, declared once (empty for a rule without parameters). Keys must not be
    /// `rule`, `opt`, `beta1`, `beta2` or `adam_eps`, which every spec reserves.
    const PARAMS: &'static [ParamDef];

    /// Builds the rule from validated values (each within its declared range). Return an
    /// error for a combination the ranges cannot express.
    fn build(params: Params) -> Result<Self>;
    /// The parameter values in force.
    fn params(&self) -> &Params;
    /// The activation θ the rule is derived for. A rule whose objective is not
    /// [`Objective::Kl`] and that depends on the net input alone reports
    /// [`Activation::Identity`], which means "any activation".
    fn activation(&self) -> Activation;
    /// What the rule drives the unit towards.
    fn objective(&self) -> Objective<'_>;

    /// The per-sample term of a KL rule, `h(y) = θ″/θ′(u) + ψ(y) θ′(u)` written through
    /// `y = θ(u)` (models.md §2). The default evaluates that formula from the activation and
    /// the target's score ψ; override it with a closed form when one is cheaper or more
    /// accurate. Not used by rules whose [`Rule::direction`] is their own.
    fn h(&self, y: f64) -> f64 {
        match self.objective() {
            Objective::Kl(target) => {
                let act = self.activation();
                crate::rules::d2_over_d1_from_output(act, y)
                    + target.score(y) * act.df_from_output(y)
            }
            _ => f64::NAN,
        }
    }

    /// The batch-averaged ascent direction (see [`IpRule::direction`]). The default is the KL
    /// direction `Δk = E[h(y)]`, `Δα = 1/α + E[x h(y)]`; rules that are not KL gradients
    /// override it. A KL rule does not: networks evaluate a KL rule's direction for all
    /// units at once from [`Rule::h`] ([`IpRule::directions`]), and the registry's tests fail
    /// for a registered KL rule whose `direction` disagrees with that.
    fn direction(
        &self,
        x: ArrayView1<'_, f64>,
        y: ArrayView1<'_, f64>,
        alpha: f64,
        _k: f64,
    ) -> Delta {
        crate::rules::kl_direction(x, y, alpha, |v| self.h(v))
    }

    /// Builds the rule from one value per parameter in declaration order (missing trailing
    /// values take their defaults), validating each against its range.
    fn from_values(values: &[f64]) -> Result<Self> {
        Self::build(Params::new(Self::ID, Self::PARAMS, values)?)
    }

    /// The rule with every parameter at its default.
    ///
    /// # Errors
    /// Only if [`Rule::build`] rejects the declared defaults, which the registry's tests
    /// catch for every registered rule.
    fn with_defaults() -> Result<Self> {
        Self::from_values(&[])
    }
}

impl<R: Rule> IpRule for R {
    #[inline]
    fn direction(
        &self,
        x: ArrayView1<'_, f64>,
        y: ArrayView1<'_, f64>,
        alpha: f64,
        k: f64,
    ) -> Delta {
        Rule::direction(self, x, y, alpha, k)
    }
    fn directions(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView2<'_, f64>,
        alpha: &[f64],
        k: &[f64],
        out: &mut Vec<Delta>,
    ) {
        match Rule::objective(self) {
            // A KL rule's direction is `kl_direction` with its `h` (KL rules do not override
            // `direction`; the registry's tests check the two agree bit for bit).
            Objective::Kl(_) => crate::rules::kl_directions(x, y, alpha, |v| self.h(v), out),
            _ => column_directions(x, y, alpha, k, out, |x, y, a, k| {
                Rule::direction(self, x, y, a, k)
            }),
        }
    }
    fn id(&self) -> &'static str {
        R::ID
    }
    fn activation(&self) -> Activation {
        Rule::activation(self)
    }
    fn objective(&self) -> Objective<'_> {
        Rule::objective(self)
    }
    fn params(&self) -> Vec<ParamInfo> {
        Rule::params(self).infos()
    }
    fn param(&self, name: &str) -> Option<f64> {
        Rule::params(self).try_get(name)
    }
    fn source(&self) -> &'static str {
        R::SOURCE
    }
}
