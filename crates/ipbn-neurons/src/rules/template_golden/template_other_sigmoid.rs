//! `template-other-sigmoid`: firing-rate homeostasis of a sigmoid unit's bias (edit this line).

use super::{Bound, ParamDef, Params};
use crate::{Delta, Objective, Result, Rule};
use ipbn_math::Activation;
use ndarray::ArrayView1;

/// Firing-rate homeostasis of the bias, written by `ipbn rules new`: the bias moves until the
/// mean output equals m*, and the gain stays where it is. Edit `direction`, the parameters
/// and these sections to describe your rule.
///
/// # Equations
///
/// ```text
/// Δk = m* − E[y]
/// Δα = 0
/// ```
///
/// averaged over the batch, before the learning rate.
///
/// # Target
///
/// Not a density: the fixed point is any (α, k) with E[θ(α x + k)] = m*.
///
/// # Activation
///
/// sigmoid.
///
/// # Parameters
///
/// | key | meaning | valid | default |
/// |---|---|---|---|
/// | `mean` | target mean output m* | (0, 1) | 0.2 |
///
/// # Reference
///
/// Not yet given: name the publication here and in `SOURCE`.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateOtherSigmoid {
    params: Params,
}

impl Rule for TemplateOtherSigmoid {
    const ID: &'static str = "template-other-sigmoid";
    const SOURCE: &'static str = "not yet given (ipbn rules new template)";
    const PARAMS: &'static [ParamDef] = &[ParamDef::new("mean", 0.2, "target mean output")
        .range(Bound::Open(0.0), Bound::Open(1.0))
        .typical(0.05, 0.9, false)];

    fn build(params: Params) -> Result<Self> {
        Ok(TemplateOtherSigmoid { params })
    }
    fn params(&self) -> &Params {
        &self.params
    }
    fn activation(&self) -> Activation {
        Activation::Sigmoid
    }
    fn objective(&self) -> Objective<'_> {
        Objective::Other
    }
    fn direction(
        &self,
        _x: ArrayView1<'_, f64>,
        y: ArrayView1<'_, f64>,
        _alpha: f64,
        _k: f64,
    ) -> Delta {
        let n = y.len();
        if n == 0 {
            return Delta { alpha: 0.0, k: 0.0 };
        }
        let mean = y.iter().sum::<f64>() / n as f64;
        Delta {
            alpha: 0.0,
            k: self.params.get("mean") - mean,
        }
    }
}
