//! `infomax-tanh`: Bell & Sejnowski's information-maximisation rule for a tanh unit.

use super::{targets::Uniform, ParamDef, Params};
use crate::{Objective, Result, Rule};
use ipbn_math::Activation;

/// Infomax for a tanh unit: drives the output towards the uniform density on (−1, 1), which
/// maximises the output entropy (the talk's rule).
///
/// # Equations
///
/// Per sample, with `y = tanh(α x + k)` (θ″/θ′ = −2y, ψ = 0):
///
/// ```text
/// h(y) = −2y
/// Δk   = E[−2y]
/// Δα   = 1/α + E[x · (−2y)]
/// ```
///
/// averaged over the batch, before the learning rate.
///
/// # Target
///
/// Uniform on (−1, 1). On Gaussian input N(m, s²) the averaged rule settles at
/// `α* = 0.87440/s`, `k* = −α* m` (models.md §3).
///
/// # Activation
///
/// tanh.
///
/// # Parameters
///
/// None. Stepped with Adam (spec `infomax-tanh:opt=adam`) it is the "Adamised" IP of Shaw,
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
/// use ipbn_neurons::{rules::InfomaxTanh, IpRule};
/// use ndarray::array;
///
/// let rule = InfomaxTanh;
/// let x = array![0.5, -1.0];
/// let y = x.mapv(|v: f64| (2.0 * v).tanh()); // α = 2, k = 0
/// let d = rule.direction(x.view(), y.view(), 2.0, 0.0);
/// assert!((d.k - (-(y[0] + y[1]))).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InfomaxTanh;

impl Rule for InfomaxTanh {
    const ID: &'static str = "infomax-tanh";
    const SOURCE: &'static str = "Bell & Sejnowski 1995, Neural Computation 7(6)";
    const PARAMS: &'static [ParamDef] = &[];

    fn build(_params: Params) -> Result<Self> {
        Ok(InfomaxTanh)
    }
    fn params(&self) -> &Params {
        Params::none()
    }
    fn activation(&self) -> Activation {
        Activation::Tanh
    }
    fn objective(&self) -> Objective<'_> {
        Objective::Kl(&Uniform::SYMMETRIC_UNIT)
    }
    /// h(y) = −2y.
    #[inline(always)]
    fn h(&self, y: f64) -> f64 {
        -2.0 * y
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
        crate::rules::assert_pinned_direction(&InfomaxTanh, PINNED);
    }
    /// Computed independently (same formula evaluated in CPython); pins the numerics.
    const PINNED: (f64, f64) = (-1.4833196537530742, -0.583161526533566);

    #[test]
    fn term_is_the_kl_form() {
        let t = Uniform::SYMMETRIC_UNIT;
        for i in -9..=9 {
            let y = i as f64 * 0.1;
            let general = d2_over_d1_from_output(Activation::Tanh, y)
                + t.score(y) * Activation::Tanh.df_from_output(y);
            assert_eq!(InfomaxTanh.h(y), general);
        }
    }

    #[test]
    fn metadata() {
        let r = InfomaxTanh;
        assert_eq!(crate::IpRule::target_description(&r), "uniform on (-1, 1)");
        assert_eq!(crate::IpRule::kind(&r), crate::RuleKind::Kl);
        assert!(r.params().values().is_empty());
    }

    #[test]
    fn finite_when_saturated() {
        let x = array![1e4, -1e4, 0.0];
        let y = x.mapv(f64::tanh);
        let d = InfomaxTanh.direction(x.view(), y.view(), 1.0, 0.0);
        assert!(d.alpha.is_finite() && d.k.is_finite());
    }
}
