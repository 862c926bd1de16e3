//! `softplus-exponential`: a softplus unit driven towards an exponential output density.

use super::{targets::Exponential, Bound, ParamDef, Params};
use crate::{Objective, Result, Rule};
use ipbn_math::Activation;

/// A softplus unit whose output density is driven towards the exponential with mean μ: sparse,
/// non-negative outputs, i.e. Triesch's idea carried over to the smooth ReLU. None of the
/// sources offers an IP rule for ReLU-like units; this one follows from the KL objective of
/// models.md §2 like every KL rule here.
///
/// # Equations
///
/// With `y = θ(u) = ln(1 + eᵘ)`, `u = α x + k`:
///
/// ```text
/// θ′(u)     = σ(u) = 1 − e^(−y)
/// θ″(u)     = σ(u)(1 − σ(u))            so  θ″/θ′ = 1 − σ(u) = e^(−y)
/// ψ(y)      = −1/μ                      (score of the exponential with mean μ)
/// h(y)      = θ″/θ′ + ψ θ′ = e^(−y) − (1 − e^(−y))/μ
/// Δk        = E[h(y)]
/// Δα        = 1/α + E[x h(y)]
/// ```
///
/// averaged over the batch, before the learning rate. `1 − e^(−y)` is evaluated as
/// `−expm1(−y)`, accurate for small outputs.
///
/// # Target
///
/// Exponential with mean μ on y > 0, which softplus covers. `h` is positive below
/// `y* = ln(1 + μ)` and negative above it, so outputs below y* raise the bias and outputs
/// above lower it. At the target the averaged bias update vanishes:
/// `∫ p*(y) h(y) dy = (1/μ)/(1 + 1/μ) − (1/μ)(1 − (1/μ)/(1 + 1/μ)) = 0`
/// (checked numerically by `target-fixed-point`).
///
/// # Activation
///
/// softplus.
///
/// # Parameters
///
/// | key | meaning | valid | default |
/// |---|---|---|---|
/// | `mu` | target mean output μ | (0, ∞) | 0.5 |
///
/// # Reference
///
/// Derived here from the KL objective of J. Triesch (2005), A gradient rule for the plasticity
/// of a neuron's intrinsic excitability, ICANN 2005, LNCS 3696: 65–70, with softplus in place
/// of the logistic function.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftplusExponential {
    params: Params,
    target: Exponential,
    inv_mu: f64,
}

impl Rule for SoftplusExponential {
    const ID: &'static str = "softplus-exponential";
    const SOURCE: &'static str =
        "derived in ipbn from Triesch 2005 (ICANN, LNCS 3696) for softplus units";
    const PARAMS: &'static [ParamDef] = &[ParamDef::new(
        "mu",
        0.5,
        "target mean output (mean of the exponential target density)",
    )
    .range(Bound::Open(0.0), Bound::Unbounded)
    .typical(0.05, 5.0, true)];

    fn build(params: Params) -> Result<Self> {
        let mu = params.get("mu");
        let target = Exponential::new(mu)?;
        Ok(SoftplusExponential {
            params,
            target,
            inv_mu: 1.0 / mu,
        })
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
    /// h(y) = e^(−y) − (1 − e^(−y))/μ.
    #[inline(always)]
    fn h(&self, y: f64) -> f64 {
        (-y).exp() + (-y).exp_m1() * self.inv_mu
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::d2_over_d1_from_output;
    use crate::TargetDensity as _;

    #[test]
    fn pinned_direction() {
        let r = SoftplusExponential::with_defaults().unwrap();
        crate::rules::assert_pinned_direction(&r, PINNED);
    }
    /// Computed independently in CPython (math.log1p, math.exp) from the formula above.
    const PINNED: (f64, f64) = (-0.901394459793795, -0.8961144721835401);

    #[test]
    fn term_is_the_kl_form_and_changes_sign_at_ln_1_plus_mu() {
        for mu in [0.05, 0.5, 3.0] {
            let r = SoftplusExponential::from_values(&[mu]).unwrap();
            for i in 0..=40 {
                let y = i as f64 * 0.1 + 1e-3;
                let general = d2_over_d1_from_output(Activation::Softplus, y)
                    + r.target.score(y) * Activation::Softplus.df_from_output(y);
                assert!((r.h(y) - general).abs() <= 1e-13 * (1.0 + general.abs()));
            }
            let y_star = mu.ln_1p();
            assert!(r.h(y_star).abs() < 1e-15 * (1.0 + 1.0 / mu));
            assert!(r.h(0.5 * y_star) > 0.0 && r.h(2.0 * y_star) < 0.0);
        }
    }

    #[test]
    fn validation_and_metadata() {
        assert_eq!(
            SoftplusExponential::from_values(&[0.0])
                .unwrap_err()
                .to_string(),
            "rule `softplus-exponential`: parameter `mu` = 0 is out of range; accepted: (0, inf)"
        );
        let r = SoftplusExponential::with_defaults().unwrap();
        assert_eq!(
            crate::IpRule::target_description(&r),
            "exponential, mean 0.5"
        );
    }
}
