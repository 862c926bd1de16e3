//! `triesch`: Triesch's rule, a logistic unit driven towards an exponential output density.

use super::{
    kl_direction, targets::Exponential, value_or_default, Bound, ParamDef, RegisteredRule,
};
use crate::{Delta, IpRule, ParamInfo, Result, TargetDensity};
use ipbn_math::Activation;
use ndarray::ArrayView1;

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
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Triesch {
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
        let mu = Self::PARAMS[0].check(Self::ID, mu)?;
        let target = Exponential::new(mu).map_err(|_| crate::NeuronError::ParamOutOfRange {
            rule: Self::ID.to_string(),
            param: String::from("mu"),
            value: mu,
            range: String::from("(0, inf), large enough that 1/mu is finite (mu > 5.6e-309)"),
        })?;
        Ok(Triesch {
            target,
            inv_mu: 1.0 / mu,
        })
    }

    /// The target mean μ.
    pub fn mu(&self) -> f64 {
        self.target.mean()
    }

    /// The per-sample term h(y) = 1 − 2y − y(1 − y)/μ.
    #[inline(always)]
    pub fn h(&self, y: f64) -> f64 {
        1.0 - 2.0 * y - y * (1.0 - y) * self.inv_mu
    }
}

impl Default for Triesch {
    /// μ = 0.1, the value of Triesch's paper.
    fn default() -> Self {
        Triesch {
            target: Exponential::new(0.1).expect("0.1 is a valid mean"),
            inv_mu: 10.0,
        }
    }
}

impl RegisteredRule for Triesch {
    const ID: &'static str = "triesch";
    const PARAMS: &'static [ParamDef] = &[ParamDef {
        name: "mu",
        default: 0.1,
        lower: Bound::Open(0.0),
        upper: Bound::Unbounded,
        doc: "target mean output (mean of the exponential target density)",
        typical: (0.02, 5.0),
        log_scale: true,
    }];
    fn from_values(values: &[f64]) -> Result<Self> {
        Self::new(value_or_default(Self::PARAMS, values, 0))
    }
}

impl IpRule for Triesch {
    fn direction(
        &self,
        x: ArrayView1<'_, f64>,
        y: ArrayView1<'_, f64>,
        alpha: f64,
        _k: f64,
    ) -> Delta {
        kl_direction(x, y, alpha, |yi| self.h(yi))
    }
    fn id(&self) -> &'static str {
        Self::ID
    }
    fn activation(&self) -> Activation {
        Activation::Sigmoid
    }
    fn target(&self) -> Option<&dyn TargetDensity> {
        Some(&self.target)
    }
    fn params(&self) -> Vec<ParamInfo> {
        super::param_infos(Self::PARAMS, &[self.mu()])
    }
    fn source(&self) -> &'static str {
        "Triesch 2005, ICANN, LNCS 3696: 65-70, eq. 13"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{d2_over_d1_from_output, rule_common_tests};
    use ndarray::array;

    rule_common_tests!(Triesch);

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
        crate::rules::assert_pinned_direction(&Triesch::default(), PINNED);
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
        let r = Triesch::default();
        assert_eq!(r.target_description(), "exponential, mean 0.1");
        assert_eq!(r.params()[0].range, "(0, inf)");
        let x = array![1e4, -1e4, 0.0];
        let y = x.mapv(|v| Activation::Sigmoid.f(v));
        let d = r.direction(x.view(), y.view(), 1.0, 0.0);
        assert!(d.alpha.is_finite() && d.k.is_finite());
    }
}
