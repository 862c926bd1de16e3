//! `template-kl-softplus`: a softplus unit whose output density is driven towards a Gaussian (edit this line).

use super::{targets::Gaussian, Bound, ParamDef, Params};
use crate::{Objective, Result, Rule};
use ipbn_math::Activation;

/// A softplus unit whose output density is driven towards the Gaussian N(μ, σ²), written by
/// `ipbn rules new`: edit the target, the parameters and these sections to describe your rule.
///
/// # Equations
///
/// Per sample, with `y = θ(α x + k)` and the target's score ψ(y) = −(y − μ)/σ²:
///
/// ```text
/// h(y) = θ″/θ′(u) + ψ(y) θ′(u)      (models.md §2; `Rule::h`'s default evaluates it)
/// Δk   = E[h(y)]
/// Δα   = 1/α + E[x h(y)]
/// ```
///
/// averaged over the batch, before the learning rate.
///
/// # Target
///
/// Gaussian N(μ, σ²), restricted to the outputs θ can reach.
///
/// # Activation
///
/// softplus.
///
/// # Parameters
///
/// | key | meaning | valid | default |
/// |---|---|---|---|
/// | `mu` | target mean output μ | (-inf, inf) | 1.0 |
/// | `sigma` | target standard deviation σ | (0, inf) | 0.5 |
///
/// # Reference
///
/// Not yet given: name the publication here and in `SOURCE`.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateKlSoftplus {
    params: Params,
    target: Gaussian,
}

impl Rule for TemplateKlSoftplus {
    const ID: &'static str = "template-kl-softplus";
    const SOURCE: &'static str = "not yet given (ipbn rules new template)";
    const PARAMS: &'static [ParamDef] = &[
        ParamDef::new("mu", 1.0, "target mean output").typical(0.2, 3.0, false),
        ParamDef::new("sigma", 0.5, "target standard deviation")
            .range(Bound::Open(0.0), Bound::Unbounded)
            .typical(0.1, 1.0, true),
    ];

    fn build(params: Params) -> Result<Self> {
        let target = Gaussian::new(params.get("mu"), params.get("sigma"))?;
        Ok(TemplateKlSoftplus { params, target })
    }
    fn params(&self) -> &Params {
        &self.params
    }
    fn activation(&self) -> Activation {
        Activation::Softplus
    }
    fn objective(&self) -> Objective<'_> {
        Objective::Kl(&self.target)
    }
}
