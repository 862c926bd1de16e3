//! `moment`: moment matching ("online batch normalisation"), a rule that is not a KL gradient.

use super::{Bound, ParamDef, Params};
use crate::{Delta, Objective, Result, Rule};
use ipbn_math::Activation;
use ndarray::ArrayView1;

/// Moment matching: moves the gain and bias towards the values batch normalisation would use
/// for the current batch, so that a unit's net input is standardised (then scaled by g* and
/// shifted by b*). This is the "WD" idea of Shaw's 2019 thesis in a stateless form.
///
/// # Equations
///
/// From the batch mean `m_B` and **biased** variance `v_B` (÷n) of the net input x:
///
/// ```text
/// α_B = g*/√(v_B + ε),   k_B = b* − m_B α_B         (BN's gain and bias, scaled and shifted)
/// Δα  = ρ (α_B − α)
/// Δk  = ρ (k_B − k)
/// ```
///
/// A step `α ← α + η Δα` is then an exponential moving average of BN's per-batch gain with
/// weight ηρ, and ηρ = 1 sets α, k to BN's values for that batch exactly (with g* = 1,
/// b* = 0). Note the rule averages the **gain** α_B over batches, not the variance: on a
/// stationary stream it converges to the batch average of g*/√(v_B + ε), which exceeds
/// g*/√(Var(x) + ε) by O(1/n) for batches of n samples (Jensen's inequality), whereas
/// averaging v_B and then inverting would fall short of it by the (n − 1)/n factor of the
/// biased variance. The output y is not used.
///
/// A batch of fewer than two samples, or one with zero variance when ε = 0, carries no scale
/// information: the direction is then zero (no update). The mean and variance are
/// accumulated in one pass (Welford's method), without allocation.
///
/// # Target
///
/// Not a density: the fixed point is α = g*/√(Var(x) + ε), k = b* − E(x) α, averaged over
/// batches as above, i.e. θ applied to BN's normalisation with γ = g*, β = b*.
///
/// # Activation
///
/// Any: the rule depends on the net input x alone. It reports [`Activation::Identity`] with
/// kind [`crate::RuleKind::Other`], which [`super::accepts_activation`] reads as "every activation".
///
/// # Parameters
///
/// | key | meaning | valid | default |
/// |---|---|---|---|
/// | `rho` | averaging weight per unit learning rate | (0, 1] | 1 |
/// | `scale` | target gain g* on the standardised input | (0, ∞) | 1 |
/// | `offset` | target bias b* | any finite real | 0 |
/// | `eps` | ε added to the variance, as in BN | [0, ∞) | 1e-5 |
///
/// # Reference
///
/// S. Ioffe and C. Szegedy (2015), Batch normalization, ICML (arXiv 1502.03167), for α_B and
/// k_B; A. Shaw (2019), MMath thesis, University of Waterloo, for moment matching as an IP
/// rule (models.md §2 describes the form used here).
///
/// # Example
///
/// ```
/// use ipbn_neurons::{rules::MomentMatching, IpRule};
/// use ndarray::array;
///
/// let rule = MomentMatching::new(1.0, 1.0, 0.0, 0.0)?;
/// let x = array![1.0, 3.0]; // mean 2, biased variance 1
/// let d = rule.direction(x.view(), x.view(), 0.5, 0.0);
/// assert_eq!((0.5 + d.alpha, 0.0 + d.k), (1.0, -2.0)); // η = 1: BN's α_B, k_B
/// # Ok::<(), ipbn_neurons::NeuronError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MomentMatching {
    params: Params,
    rho: f64,
    scale: f64,
    offset: f64,
    eps: f64,
}

impl MomentMatching {
    /// Moment matching with averaging weight `rho` in (0, 1], target gain `scale` > 0, target
    /// bias `offset` (finite) and variance guard `eps` ≥ 0.
    ///
    /// # Errors
    /// [`crate::NeuronError::ParamOutOfRange`] naming the first invalid parameter and its
    /// accepted range.
    pub fn new(rho: f64, scale: f64, offset: f64, eps: f64) -> Result<Self> {
        Self::from_values(&[rho, scale, offset, eps])
    }

    /// The averaging weight ρ.
    pub fn rho(&self) -> f64 {
        self.rho
    }
    /// The target gain g*.
    pub fn scale(&self) -> f64 {
        self.scale
    }
    /// The target bias b*.
    pub fn offset(&self) -> f64 {
        self.offset
    }
    /// The variance guard ε.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// BN's gain and bias for the batch `x`, scaled and shifted: `(α_B, k_B)`, or `None` when
    /// the batch has fewer than two samples or `v_B + ε` is zero.
    pub fn batch_gain_bias(&self, x: ArrayView1<'_, f64>) -> Option<(f64, f64)> {
        let mut n = 0.0;
        let mut mean = 0.0;
        let mut m2 = 0.0;
        for &xi in x.iter() {
            n += 1.0;
            let d = xi - mean;
            mean += d / n;
            m2 += d * (xi - mean);
        }
        if n < 2.0 {
            return None;
        }
        let denom = m2 / n + self.eps;
        if denom.is_nan() || denom <= 0.0 {
            return None;
        }
        let alpha_b = self.scale / denom.sqrt();
        Some((alpha_b, self.offset - mean * alpha_b))
    }
}

impl Rule for MomentMatching {
    const ID: &'static str = "moment";
    const SOURCE: &'static str =
        "Ioffe & Szegedy 2015 (arXiv 1502.03167); Shaw 2019, MMath thesis, University of Waterloo";
    const PARAMS: &'static [ParamDef] = &[
        ParamDef::new(
            "rho",
            1.0,
            "averaging weight per unit learning rate (eta*rho = 1 copies BN's values)",
        )
        .range(Bound::Open(0.0), Bound::Closed(1.0))
        .typical(0.05, 1.0, false),
        ParamDef::new("scale", 1.0, "target gain g* applied to the standardised input")
            .range(Bound::Open(0.0), Bound::Unbounded)
            .typical(0.2, 5.0, true),
        ParamDef::new("offset", 0.0, "target bias b* added after standardising")
            .typical(-2.0, 2.0, false),
        ParamDef::new(
            "eps",
            1e-5,
            "added to the batch variance before the square root, as in BN",
        )
        .range(Bound::Closed(0.0), Bound::Unbounded)
        .typical(0.0, 1e-3, false),
    ];

    fn build(params: Params) -> Result<Self> {
        Ok(MomentMatching {
            rho: params.get("rho"),
            scale: params.get("scale"),
            offset: params.get("offset"),
            eps: params.get("eps"),
            params,
        })
    }
    fn params(&self) -> &Params {
        &self.params
    }
    /// Identity: the rule reads the net input only, so it drives units of any activation.
    fn activation(&self) -> Activation {
        Activation::Identity
    }
    fn objective(&self) -> Objective<'_> {
        Objective::BatchMoments
    }
    fn direction(
        &self,
        x: ArrayView1<'_, f64>,
        _y: ArrayView1<'_, f64>,
        alpha: f64,
        k: f64,
    ) -> Delta {
        match self.batch_gain_bias(x) {
            Some((alpha_b, k_b)) => Delta {
                alpha: self.rho * (alpha_b - alpha),
                k: self.rho * (k_b - k),
            },
            None => Delta { alpha: 0.0, k: 0.0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn validation_messages() {
        assert_eq!(
            MomentMatching::new(0.0, 1.0, 0.0, 1e-5)
                .unwrap_err()
                .to_string(),
            "rule `moment`: parameter `rho` = 0 is out of range; accepted: (0, 1]"
        );
        assert_eq!(
            MomentMatching::new(1.5, 1.0, 0.0, 1e-5)
                .unwrap_err()
                .to_string(),
            "rule `moment`: parameter `rho` = 1.5 is out of range; accepted: (0, 1]"
        );
        assert_eq!(
            MomentMatching::new(1.0, -1.0, 0.0, 1e-5)
                .unwrap_err()
                .to_string(),
            "rule `moment`: parameter `scale` = -1 is out of range; accepted: (0, inf)"
        );
        assert_eq!(
            MomentMatching::new(1.0, 1.0, f64::NAN, 1e-5)
                .unwrap_err()
                .to_string(),
            "rule `moment`: parameter `offset` = NaN is out of range; accepted: (-inf, inf)"
        );
        assert_eq!(
            MomentMatching::new(1.0, 1.0, 0.0, -1e-5)
                .unwrap_err()
                .to_string(),
            "rule `moment`: parameter `eps` = -0.00001 is out of range; accepted: [0, inf)"
        );
    }

    #[test]
    fn pinned_direction() {
        crate::rules::assert_pinned_direction(
            &MomentMatching::new(0.5, 2.0, 0.25, 1e-5).unwrap(),
            PINNED,
        );
    }
    /// Computed independently (same formula evaluated in CPython); pins the numerics.
    const PINNED: (f64, f64) = (0.06649385928606444, -0.3832469296430322);

    #[test]
    fn degenerate_batches_give_no_update() {
        let r = MomentMatching::new(1.0, 1.0, 0.0, 0.0).unwrap();
        let one = array![3.0];
        let flat = array![2.0, 2.0, 2.0];
        for x in [one.view(), flat.view()] {
            let d = r.direction(x, x, 1.0, 0.0);
            assert_eq!((d.alpha, d.k), (0.0, 0.0));
        }
        // With ε > 0 a constant batch is standardised to 0 with gain 1/√ε.
        let d = MomentMatching::with_defaults().unwrap().direction(flat.view(), flat.view(), 0.0, 0.0);
        assert!((d.alpha - 1.0 / 1e-5f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn metadata() {
        let r = MomentMatching::with_defaults().unwrap();
        assert_eq!(crate::IpRule::kind(&r), crate::RuleKind::Other);
        assert!(crate::IpRule::target(&r).is_none());
        assert_eq!(
            crate::IpRule::target_description(&r),
            "fixed point alpha = 1/sqrt(Var[x] + 1e-5), k = 0 - E[x]*alpha (BN's gain and bias, batch-averaged)"
        );
        let x = array![1e4, -1e4, 0.0];
        let d = r.direction(x.view(), x.view(), 1.0, 0.0);
        assert!(d.alpha.is_finite() && d.k.is_finite());
    }
}
