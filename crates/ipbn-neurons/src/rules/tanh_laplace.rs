//! `tanh-laplace`: a tanh unit driven towards a Laplace output density on (−1, 1).

use super::{Bound, ParamDef, Params};
use crate::{Objective, Result, Rule, TargetDensity};
use ipbn_math::Activation;

/// A tanh unit whose output density is driven towards the Laplace density with scale b,
/// centred on 0 and restricted to (−1, 1): sparse, symmetric outputs (the sparse-coding prior),
/// where Schrauwen et al.'s rule uses a Gaussian.
///
/// # Equations
///
/// With `y = tanh(α x + k)` (θ″/θ′ = −2y, θ′ = 1 − y²) and the Laplace score
/// ψ(y) = −sign(y)/b:
///
/// ```text
/// h(y) = −2y − sign(y)(1 − y²)/b
/// Δk   = E[h(y)]
/// Δα   = 1/α + E[x h(y)]
/// ```
///
/// averaged over the batch, before the learning rate; sign(0) = 0.
///
/// # Target
///
/// `p*(y) = e^(−|y|/b) / Z` on (−1, 1), `Z = 2b(1 − e^(−1/b))`. Since
/// `p* h = d/dy [p*(y)(1 − y²)]` away from 0 and `1 − y²` vanishes at ±1, the averaged bias
/// update is zero at the target (`target-fixed-point`). log p* has a kink at 0
/// ([`TargetDensity::kinks`]), where the rule is not a gradient; `rule-is-gradient` checks it
/// everywhere else.
///
/// # Activation
///
/// tanh.
///
/// # Parameters
///
/// | key | meaning | valid | default |
/// |---|---|---|---|
/// | `b` | scale of the Laplace target (mean \|y\| ≈ b for small b) | (0, ∞) | 0.25 |
///
/// # Reference
///
/// The KL rule of B. Schrauwen, M. Wardermann, D. Verstraeten, J. J. Steil and D. Stroobandt
/// (2008), Improving reservoirs using intrinsic plasticity, Neurocomputing 71: 1159–1171, with
/// a Laplace target (the prior of sparse coding: B. A. Olshausen and D. J. Field (1996),
/// Nature 381: 607–609) in place of the Gaussian.
#[derive(Clone, Debug, PartialEq)]
pub struct TanhLaplace {
    params: Params,
    target: Laplace,
}

/// The Laplace density with scale `b` centred on 0, restricted to (−1, 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Laplace {
    b: f64,
    ln_z: f64,
}

impl Laplace {
    /// The scale b.
    pub fn scale(&self) -> f64 {
        self.b
    }
}

impl TargetDensity for Laplace {
    fn ln_pdf(&self, y: f64) -> f64 {
        if y.abs() < 1.0 {
            -y.abs() / self.b - self.ln_z
        } else {
            f64::NEG_INFINITY
        }
    }
    fn score(&self, y: f64) -> f64 {
        -y.signum() * f64::from(u8::from(y != 0.0)) / self.b
    }
    fn quadrature_bounds(&self) -> (f64, f64) {
        (-1.0, 1.0)
    }
    fn describe(&self) -> String {
        format!("laplace, scale {}, on (-1, 1)", super::fmt_num(self.b))
    }
    fn kinks(&self) -> &[f64] {
        &[0.0]
    }
}

impl Rule for TanhLaplace {
    const ID: &'static str = "tanh-laplace";
    const SOURCE: &'static str =
        "Schrauwen et al. 2008 (Neurocomputing 71) with a Laplace target (Olshausen & Field 1996)";
    const PARAMS: &'static [ParamDef] = &[ParamDef::new(
        "b",
        0.25,
        "scale of the Laplace target density on (-1, 1)",
    )
    .range(Bound::Open(0.0), Bound::Unbounded)
    .typical(0.05, 3.0, true)];

    fn build(params: Params) -> Result<Self> {
        let b = params.get("b");
        // Z = 2b(1 − e^(−1/b)) = −2b·expm1(−1/b); finite and positive for every valid b.
        let z = -2.0 * b * (-1.0 / b).exp_m1();
        if !(z.is_finite() && z > 0.0 && (1.0 / b).is_finite()) {
            return Err(Self::PARAMS[0].out_of_range(Self::ID, b));
        }
        Ok(TanhLaplace {
            params,
            target: Laplace { b, ln_z: z.ln() },
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
    /// h(y) = −2y − sign(y)(1 − y²)/b.
    #[inline(always)]
    fn h(&self, y: f64) -> f64 {
        -2.0 * y + self.target.score(y) * ((1.0 - y) * (1.0 + y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::d2_over_d1_from_output;

    #[test]
    fn pinned_direction() {
        let r = TanhLaplace::with_defaults().unwrap();
        crate::rules::assert_pinned_direction(&r, PINNED);
    }
    /// Computed independently in CPython (math.tanh) from the formula above.
    const PINNED: (f64, f64) = (-2.1460424682866246, -0.8523775774418771);

    #[test]
    fn term_is_the_kl_form_and_density_is_normalised() {
        for b in [0.05, 0.25, 2.0] {
            let r = TanhLaplace::from_values(&[b]).unwrap();
            for i in -9..=9 {
                let y = i as f64 * 0.1 + 0.013;
                let general = d2_over_d1_from_output(Activation::Tanh, y)
                    + r.target.score(y) * Activation::Tanh.df_from_output(y);
                assert!((r.h(y) - general).abs() <= 1e-13 * (1.0 + general.abs()));
            }
            assert_eq!(r.h(0.0), 0.0);
            // Midpoint rule on (−1, 1): the density integrates to 1.
            let n = 200_000;
            let mass: f64 = (0..n)
                .map(|i| {
                    let y = -1.0 + (i as f64 + 0.5) * 2.0 / n as f64;
                    r.target.ln_pdf(y).exp() * 2.0 / n as f64
                })
                .sum();
            assert!((mass - 1.0).abs() < 1e-6, "b = {b}: {mass}");
        }
    }

    #[test]
    fn validation_and_metadata() {
        assert_eq!(
            TanhLaplace::from_values(&[-1.0]).unwrap_err().to_string(),
            "rule `tanh-laplace`: parameter `b` = -1 is out of range; accepted: (0, inf)"
        );
        let r = TanhLaplace::with_defaults().unwrap();
        assert_eq!(
            crate::IpRule::target_description(&r),
            "laplace, scale 0.25, on (-1, 1)"
        );
        assert_eq!(r.target.kinks(), [0.0]);
    }
}
