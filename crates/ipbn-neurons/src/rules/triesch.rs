//! `triesch`: Triesch's rule, a logistic unit driven towards an exponential output density.

use super::{targets::Exponential, Bound, ParamDef, Params};
use crate::{Objective, Result, Rule};
use ipbn_math::Activation;

/// Triesch's intrinsic-plasticity rule: a logistic unit whose output density is driven towards
/// the exponential with mean μ (maximum entropy for a fixed mean rate, i.e. sparse firing).
///
/// # Equations
///
/// Per sample, with `y = σ(α x + k)` (θ″/θ′ = 1 − 2y, θ′ = y(1 − y), ψ = −1/μ):
///
/// ```text
/// h(y) = 1 − (2 + 1/μ) y + y²/μ          (Triesch 2005, eq. 13)
///      = 1 − 2y − y(1 − y)/μ              (the form evaluated: no 1/μ·y − y²/μ cancellation)
/// Δk   = E[h(y)]
/// Δα   = 1/α + E[x h(y)]
/// ```
///
/// averaged over the batch, before the learning rate.
///
/// # Target
///
/// Exponential with mean μ. With μ = 0.1 the averaged rule's fixed points are
/// N(0, 1) → (α, k) ≈ (1.2383, −2.7024), U[0, 1] → (4.2363, −4.8666) and
/// Exp(mean 0.1) → (12.2595, −3.7365) (models.md §3). As μ → ∞ the rule tends to
/// `infomax-logistic`, the difference in h being −y(1 − y)/μ.
///
/// # Activation
///
/// sigmoid (logistic).
///
/// # Parameters
///
/// | key | meaning | valid | default |
/// |---|---|---|---|
/// | `mu` | target mean output μ | (0, ∞) | 0.1 |
///
/// μ = 0 is undefined (the target degenerates) and is rejected.
///
/// # Reference
///
/// J. Triesch (2005), A gradient rule for the plasticity of a neuron's intrinsic
/// excitability, ICANN 2005, LNCS 3696: 65–70.
///
/// # Example
///
/// ```
/// use ipbn_neurons::{rules::Triesch, IpRule};
/// use ndarray::array;
///
/// let rule = Triesch::new(0.1)?;
/// let x = array![0.2, 1.0];
/// let y = x.mapv(|v: f64| 1.0 / (1.0 + (-v).exp())); // α = 1, k = 0
/// let d = rule.direction(x.view(), y.view(), 1.0, 0.0);
/// assert!(d.k < 0.0); // outputs near 0.5 are far above the target mean: lower the bias
/// assert!(Triesch::new(0.0).is_err());
/// # Ok::<(), ipbn_neurons::NeuronError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Triesch {
    params: Params,
    target: Exponential,
    inv_mu: f64,
}

impl Triesch {
    /// Triesch's rule with target mean `mu` > 0.
    ///
    /// # Errors
    /// [`crate::NeuronError::ParamOutOfRange`] naming `mu` and `(0, inf)` when `mu` is not a
    /// finite positive number (or so small that 1/μ overflows).
    pub fn new(mu: f64) -> Result<Self> {
        Self::from_values(&[mu])
    }

    /// The target mean μ.
    pub fn mu(&self) -> f64 {
        self.target.mean()
    }
}

impl Rule for Triesch {
    const ID: &'static str = "triesch";
    const SOURCE: &'static str = "Triesch 2005, ICANN, LNCS 3696: 65-70, eq. 13";
    const PARAMS: &'static [ParamDef] = &[ParamDef::new(
        "mu",
        0.1,
        "target mean output (mean of the exponential target density)",
    )
    .range(Bound::Open(0.0), Bound::Unbounded)
    .typical(0.02, 5.0, true)];

    fn build(params: Params) -> Result<Self> {
        let mu = params.get("mu");
        let target = Exponential::new(mu).map_err(|_| crate::NeuronError::ParamOutOfRange {
            rule: Self::ID.to_string(),
            param: String::from("mu"),
            value: mu,
            range: String::from("(0, inf), large enough that 1/mu is finite (mu > 5.6e-309)"),
        })?;
        Ok(Triesch {
            params,
            target,
            inv_mu: 1.0 / mu,
        })
    }
    fn params(&self) -> &Params {
        &self.params
    }
    fn activation(&self) -> Activation {
        Activation::Sigmoid
    }
    fn objective(&self) -> Objective<'_> {
        Objective::Kl(&self.target)
    }
    /// h(y) = 1 − 2y − y(1 − y)/μ.
    #[inline(always)]
    fn h(&self, y: f64) -> f64 {
        1.0 - 2.0 * y - y * (1.0 - y) * self.inv_mu
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
            Triesch::new(0.0).unwrap_err().to_string(),
            "rule `triesch`: parameter `mu` = 0 is out of range; accepted: (0, inf)"
        );
        assert_eq!(
            Triesch::new(-0.5).unwrap_err().to_string(),
            "rule `triesch`: parameter `mu` = -0.5 is out of range; accepted: (0, inf)"
        );
        assert!(Triesch::new(f64::NAN).is_err());
        assert!(Triesch::new(f64::INFINITY).is_err());
        match Triesch::new(1e-320) {
            Err(crate::NeuronError::ParamOutOfRange { param, range, .. }) => {
                assert_eq!(param, "mu");
                assert!(range.contains("mu > 5.6e-309"), "{range}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(Triesch::new(0.25).unwrap().mu(), 0.25);
    }

    #[test]
    fn pinned_direction() {
        crate::rules::assert_pinned_direction(&Triesch::with_defaults().unwrap(), PINNED);
    }
    /// Computed independently (same formula evaluated in CPython); pins the numerics.
    const PINNED: (f64, f64) = (-0.2371047991871117, -1.6208703463608574);

    #[test]
    fn term_matches_paper_and_kl_form() {
        for mu in [0.05, 0.1, 0.7, 3.0] {
            let r = Triesch::new(mu).unwrap();
            for i in 0..=10 {
                let y = i as f64 * 0.1;
                let paper = 1.0 - (2.0 + 1.0 / mu) * y + y * y / mu;
                let general = d2_over_d1_from_output(Activation::Sigmoid, y)
                    + r.target.score(y) * Activation::Sigmoid.df_from_output(y);
                assert!((r.h(y) - paper).abs() <= 1e-13 * (1.0 + paper.abs()));
                assert!((r.h(y) - general).abs() <= 1e-13 * (1.0 + general.abs()));
            }
        }
    }

    #[test]
    fn metadata_and_saturation() {
        let r = Triesch::with_defaults().unwrap();
        assert_eq!(crate::IpRule::target_description(&r), "exponential, mean 0.1");
        assert_eq!(r.params().infos()[0].range, "(0, inf)");
        let x = array![1e4, -1e4, 0.0];
        let y = x.mapv(|v| Activation::Sigmoid.f(v));
        let d = r.direction(x.view(), y.view(), 1.0, 0.0);
        assert!(d.alpha.is_finite() && d.k.is_finite());
    }
}
