//! `schrauwen`: Schrauwen et al.'s rule, a tanh unit driven towards a Gaussian output density.

use super::{targets::Gaussian, Bound, ParamDef, Params};
use crate::{Objective, Result, Rule};
use ipbn_math::Activation;

/// Schrauwen et al.'s intrinsic-plasticity rule for tanh units: the output density is driven
/// towards the Gaussian N(μ, σ²) (maximum entropy for a fixed mean and variance).
///
/// # Equations
///
/// Per sample, with `y = tanh(α x + k)` (θ″/θ′ = −2y, θ′ = 1 − y², ψ = −(y − μ)/σ²):
///
/// ```text
/// h(y) = −[−μ/σ² + (y/σ²)(2σ² + 1 − y² + μy)]       (Schrauwen et al. 2008)
///      = −2y − (y − μ)(1 − y)(1 + y)/σ²              (the form evaluated)
/// Δk   = E[h(y)]
/// Δα   = 1/α + E[x h(y)]
/// ```
///
/// averaged over the batch, before the learning rate.
///
/// # Target
///
/// Gaussian with mean μ and standard deviation σ. σ is a standard deviation, not a variance
/// (one widely used implementation documents it as a variance but uses it as here). With
/// μ = 0 and σ → ∞ the rule tends to `infomax-tanh`, the difference in h being −y(1 − y²)/σ².
///
/// # Activation
///
/// tanh.
///
/// # Parameters
///
/// | key | meaning | valid | default |
/// |---|---|---|---|
/// | `mu` | target mean output μ | any finite real | 0 |
/// | `sigma` | target standard deviation σ | (0, ∞) | 0.2 |
///
/// # Reference
///
/// B. Schrauwen, M. Wardermann, D. Verstraeten, J. J. Steil and D. Stroobandt (2008),
/// Improving reservoirs using intrinsic plasticity, Neurocomputing 71: 1159–1171.
///
/// # Example
///
/// ```
/// use ipbn_neurons::{rules::Schrauwen, IpRule};
/// use ndarray::array;
///
/// let rule = Schrauwen::new(0.0, 0.2)?;
/// let x = array![0.0];
/// let y = array![0.0];
/// let d = rule.direction(x.view(), y.view(), 1.0, 0.0);
/// assert_eq!((d.alpha, d.k), (1.0, 0.0)); // y = μ: only the 1/α term remains
/// assert!(Schrauwen::new(0.0, 0.0).is_err());
/// # Ok::<(), ipbn_neurons::NeuronError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Schrauwen {
    params: Params,
    target: Gaussian,
    inv_var: f64,
}

impl Schrauwen {
    /// Schrauwen's rule with target mean `mu` (finite) and standard deviation `sigma` > 0.
    ///
    /// # Errors
    /// [`crate::NeuronError::ParamOutOfRange`] naming `mu` with `(-inf, inf)` when `mu` is
    /// not finite, or naming `sigma` with `(0, inf)` when `sigma` is not a finite positive
    /// number (or so small that σ² underflows).
    pub fn new(mu: f64, sigma: f64) -> Result<Self> {
        Self::from_values(&[mu, sigma])
    }

    /// The target mean μ.
    pub fn mu(&self) -> f64 {
        self.target.mean()
    }

    /// The target standard deviation σ.
    pub fn sigma(&self) -> f64 {
        self.target.sd()
    }
}

impl Rule for Schrauwen {
    const ID: &'static str = "schrauwen";
    const SOURCE: &'static str =
        "Schrauwen, Wardermann, Verstraeten, Steil & Stroobandt 2008, Neurocomputing 71: 1159-1171";
    const PARAMS: &'static [ParamDef] = &[
        ParamDef::new("mu", 0.0, "mean of the Gaussian target output density")
            .typical(-0.9, 0.9, false),
        ParamDef::new(
            "sigma",
            0.2,
            "standard deviation (not variance) of the Gaussian target",
        )
        .range(Bound::Open(0.0), Bound::Unbounded)
        .typical(0.05, 3.0, true),
    ];

    fn build(params: Params) -> Result<Self> {
        let (mu, sigma) = (params.get("mu"), params.get("sigma"));
        let target = Gaussian::new(mu, sigma).map_err(|_| crate::NeuronError::ParamOutOfRange {
            rule: Self::ID.to_string(),
            param: String::from("sigma"),
            value: sigma,
            range: String::from(
                "(0, inf), large enough that 1/sigma² is finite (sigma > 7.5e-155)",
            ),
        })?;
        Ok(Schrauwen {
            params,
            target,
            inv_var: 1.0 / (sigma * sigma),
        })
    }
    fn params(&self) -> &Params {
        &self.params
    }
    fn activation(&self) -> Activation {
        Activation::Tanh
    }
    fn objective(&self) -> Objective<'_> {
        Objective::Kl(&self.target)
    }
    /// h(y) = −2y − (y − μ)(1 − y²)/σ².
    #[inline(always)]
    fn h(&self, y: f64) -> f64 {
        -2.0 * y - (y - self.target.mean()) * ((1.0 - y) * (1.0 + y)) * self.inv_var
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::d2_over_d1_from_output;
    use crate::TargetDensity as _;
    use ndarray::array;

    #[test]
    fn validation_messages() {
        assert_eq!(
            Schrauwen::new(0.0, 0.0).unwrap_err().to_string(),
            "rule `schrauwen`: parameter `sigma` = 0 is out of range; accepted: (0, inf)"
        );
        assert_eq!(
            Schrauwen::new(f64::INFINITY, 0.2).unwrap_err().to_string(),
            "rule `schrauwen`: parameter `mu` = inf is out of range; accepted: (-inf, inf)"
        );
        assert!(Schrauwen::new(0.0, -1.0).is_err());
        match Schrauwen::new(0.0, 1e-170) {
            Err(crate::NeuronError::ParamOutOfRange { param, range, .. }) => {
                assert_eq!(param, "sigma");
                assert!(range.contains("sigma > 7.5e-155"), "{range}");
            }
            other => panic!("{other:?}"),
        }
        assert!(Schrauwen::new(f64::NAN, 1.0).is_err());
        let r = Schrauwen::new(-0.3, 0.5).unwrap();
        assert_eq!((r.mu(), r.sigma()), (-0.3, 0.5));
    }

    #[test]
    fn pinned_direction() {
        crate::rules::assert_pinned_direction(&Schrauwen::with_defaults().unwrap(), PINNED);
    }
    /// Computed independently (same formula evaluated in CPython); pins the numerics.
    const PINNED: (f64, f64) = (-4.8374718656177595, -1.5805067262963384);

    #[test]
    fn term_matches_paper_and_kl_form() {
        for (mu, sigma) in [(0.0, 0.2), (0.3, 0.5), (-0.6, 2.0)] {
            let r = Schrauwen::new(mu, sigma).unwrap();
            let s2 = sigma * sigma;
            for i in -10..=10 {
                let y = i as f64 * 0.1;
                let paper = -(-mu / s2 + (y / s2) * (2.0 * s2 + 1.0 - y * y + mu * y));
                let general = d2_over_d1_from_output(Activation::Tanh, y)
                    + r.target.score(y) * Activation::Tanh.df_from_output(y);
                assert!((r.h(y) - paper).abs() <= 1e-13 * (1.0 + paper.abs()));
                assert!((r.h(y) - general).abs() <= 1e-13 * (1.0 + general.abs()));
            }
        }
    }

    #[test]
    fn metadata_and_saturation() {
        let r = Schrauwen::with_defaults().unwrap();
        assert_eq!(crate::IpRule::target_description(&r), "gaussian, mean 0, sd 0.2");
        let x = array![1e4, -1e4, 0.0];
        let y = x.mapv(f64::tanh);
        let d = r.direction(x.view(), y.view(), 1.0, 0.0);
        assert!(d.alpha.is_finite() && d.k.is_finite());
    }
}
