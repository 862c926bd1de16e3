//! `infomax-logistic`: Bell & Sejnowski's information-maximisation rule for a logistic unit.

use super::{targets::Uniform, ParamDef, Params};
use crate::{Objective, Result, Rule};
use ipbn_math::Activation;

/// Infomax for a logistic (sigmoid) unit: drives the output towards the uniform density on
/// (0, 1), which maximises the output entropy.
///
/// # Equations
///
/// Per sample, with `y = σ(α x + k)` (θ″/θ′ = 1 − 2y, ψ = 0):
///
/// ```text
/// h(y) = 1 − 2y
/// Δk   = E[1 − 2y]
/// Δα   = 1/α + E[x · (1 − 2y)]
/// ```
///
/// averaged over the batch, before the learning rate.
///
/// # Target
///
/// Uniform on (0, 1). On Gaussian input N(m, s²) the averaged rule settles at
/// `α* = 1.74880/s`, `k* = −α* m` (twice the tanh gain, since σ(u) = (1 + tanh(u/2))/2).
///
/// # Activation
///
/// sigmoid (logistic).
///
/// # Parameters
///
/// None. Stepped with Adam (spec `infomax-logistic:opt=adam`) it is the "Adamised" IP of Shaw,
/// Jackson & Orchard 2020, following that paper's published description rather than a
/// verified transcription of its equations.
///
/// # Reference
///
/// A. J. Bell and T. J. Sejnowski (1995), An information-maximization approach to blind
/// separation and blind deconvolution, Neural Computation 7(6): 1129–1159.
///
/// # Example
///
/// ```
/// use ipbn_neurons::{rules::InfomaxLogistic, IpRule};
/// use ndarray::array;
///
/// let x = array![0.0, 0.0];
/// let y = array![0.5, 0.5]; // σ(0)
/// let d = InfomaxLogistic.direction(x.view(), y.view(), 0.5, 0.0);
/// assert_eq!((d.alpha, d.k), (2.0, 0.0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InfomaxLogistic;

impl Rule for InfomaxLogistic {
    const ID: &'static str = "infomax-logistic";
    const SOURCE: &'static str = "Bell & Sejnowski 1995, Neural Computation 7(6)";
    const PARAMS: &'static [ParamDef] = &[];

    fn build(_params: Params) -> Result<Self> {
        Ok(InfomaxLogistic)
    }
    fn params(&self) -> &Params {
        Params::none()
    }
    fn activation(&self) -> Activation {
        Activation::Sigmoid
    }
    fn objective(&self) -> Objective<'_> {
        Objective::Kl(&Uniform::UNIT)
    }
    /// h(y) = 1 − 2y.
    #[inline(always)]
    fn h(&self, y: f64) -> f64 {
        1.0 - 2.0 * y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::d2_over_d1_from_output;
    use crate::TargetDensity as _;
    use ndarray::array;

    #[test]
    fn pinned_direction() {
        crate::rules::assert_pinned_direction(&InfomaxLogistic, PINNED);
    }
    /// Computed independently (same formula evaluated in CPython); pins the numerics.
    const PINNED: (f64, f64) = (-0.21204075097364095, -0.2640763147890267);

    #[test]
    fn term_is_the_kl_form() {
        let t = Uniform::UNIT;
        for i in 1..=9 {
            let y = i as f64 * 0.1;
            let general = d2_over_d1_from_output(Activation::Sigmoid, y)
                + t.score(y) * Activation::Sigmoid.df_from_output(y);
            assert_eq!(InfomaxLogistic.h(y), general);
        }
    }

    #[test]
    fn metadata() {
        let r = InfomaxLogistic;
        assert_eq!(crate::IpRule::target_description(&r), "uniform on (0, 1)");
        assert_eq!(r.activation(), Activation::Sigmoid);
        assert!(r.params().values().is_empty());
    }

    #[test]
    fn finite_when_saturated() {
        let x = array![1e4, -1e4, 0.0];
        let y = x.mapv(|v| Activation::Sigmoid.f(v));
        let d = InfomaxLogistic.direction(x.view(), y.view(), 1.0, 0.0);
        assert!(d.alpha.is_finite() && d.k.is_finite());
    }
}
