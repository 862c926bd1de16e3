//! The fixed input distributions a single unit is driven with, and their quadrature.

use ipbn_math::numeric::{gauss_legendre, simpson};
use ndarray_rand::rand::Rng;
use ndarray_rand::rand_distr::{Exp1, StandardNormal};

use super::SingleUnitError;

/// A fixed input distribution for a single unit.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InputDist {
    /// N(mean, sd²).
    Gaussian {
        /// Mean.
        mean: f64,
        /// Standard deviation (> 0).
        sd: f64,
    },
    /// Uniform on [lo, hi].
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end (> lo).
        hi: f64,
    },
    /// Exponential on [0, ∞) with this mean.
    Exponential {
        /// Mean (> 0).
        mean: f64,
    },
}

impl InputDist {
    /// The three inputs of models.md §3: N(0, 1), U[0, 1], Exp(mean 0.1).
    pub fn standard() -> Vec<InputDist> {
        vec![
            InputDist::Gaussian { mean: 0.0, sd: 1.0 },
            InputDist::Uniform { lo: 0.0, hi: 1.0 },
            InputDist::Exponential { mean: 0.1 },
        ]
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`SingleUnitError::InvalidInput`] for a non-finite parameter, `sd ≤ 0`, `hi ≤ lo` or
    /// an exponential mean ≤ 0.
    pub fn validate(&self) -> Result<(), SingleUnitError> {
        let ok = match *self {
            InputDist::Gaussian { mean, sd } => mean.is_finite() && sd.is_finite() && sd > 0.0,
            InputDist::Uniform { lo, hi } => lo.is_finite() && hi.is_finite() && hi > lo,
            InputDist::Exponential { mean } => mean.is_finite() && mean > 0.0,
        };
        if ok {
            Ok(())
        } else {
            Err(SingleUnitError::InvalidInput(*self))
        }
    }

    /// One sample.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            InputDist::Gaussian { mean, sd } => {
                let z: f64 = rng.sample(StandardNormal);
                mean + sd * z
            }
            InputDist::Uniform { lo, hi } => lo + (hi - lo) * rng.random::<f64>(),
            InputDist::Exponential { mean } => {
                let e: f64 = rng.sample(Exp1);
                mean * e
            }
        }
    }

    /// Mean of the distribution.
    pub fn mean(&self) -> f64 {
        match *self {
            InputDist::Gaussian { mean, .. } | InputDist::Exponential { mean } => mean,
            InputDist::Uniform { lo, hi } => 0.5 * (lo + hi),
        }
    }

    /// Standard deviation of the distribution.
    pub fn sd(&self) -> f64 {
        match *self {
            InputDist::Gaussian { sd, .. } => sd,
            InputDist::Uniform { lo, hi } => (hi - lo) / 12f64.sqrt(),
            InputDist::Exponential { mean } => mean,
        }
    }

    /// The probability density at `x` (inside the support; the quadrature only asks there).
    pub fn pdf(&self, x: f64) -> f64 {
        match *self {
            InputDist::Gaussian { mean, sd } => {
                let z = (x - mean) / sd;
                (-0.5 * z * z).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
            }
            InputDist::Uniform { lo, hi } => 1.0 / (hi - lo),
            InputDist::Exponential { mean } => (-x / mean).exp() / mean,
        }
    }

    /// Composite Simpson nodes and weights ([`ipbn_math::numeric::simpson`], `n` intervals
    /// rounded up to even) for expectations over this distribution: `E[f(x)] ≈ Σ wᵢ f(xᵢ)`.
    /// The Gaussian is integrated over mean ± 12 sd and the exponential over [0, 60 means],
    /// where the neglected mass is below 1e-26.
    pub fn quadrature(&self, n: usize) -> (Vec<f64>, Vec<f64>) {
        let (a, b) = self.support();
        let mut xs = Vec::with_capacity(n + 2);
        let mut ws = Vec::with_capacity(n + 2);
        simpson(a, b, n, |x, w| {
            xs.push(x);
            ws.push(w * self.pdf(x));
        });
        (xs, ws)
    }

    /// Composite Gauss–Legendre nodes and weights over the same interval as
    /// [`InputDist::quadrature`], split at every point of `cuts` inside it, for integrands that
    /// are smooth except at the cuts: the nodes are interior to each piece, so a kink or a jump
    /// at a cut costs no accuracy. About `n` nodes (16 per panel) are shared out in proportion
    /// to the pieces' lengths, at least one panel each.
    pub fn quadrature_split(&self, n: usize, cuts: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (a, b) = self.support();
        let mut ends: Vec<f64> = cuts.iter().copied().filter(|&c| a < c && c < b).collect();
        ends.sort_by(f64::total_cmp);
        ends.insert(0, a);
        ends.push(b);
        let panels = (n / 16).max(1) as f64;
        let mut xs = Vec::with_capacity(n + 16 * ends.len());
        let mut ws = Vec::with_capacity(n + 16 * ends.len());
        for piece in ends.windows(2) {
            let share = ((panels * (piece[1] - piece[0]) / (b - a)).round() as usize).max(1);
            gauss_legendre(piece[0], piece[1], share, |x, w| {
                xs.push(x);
                ws.push(w * self.pdf(x));
            });
        }
        (xs, ws)
    }

    /// The interval the quadratures integrate over.
    fn support(&self) -> (f64, f64) {
        match *self {
            InputDist::Gaussian { mean, sd } => (mean - 12.0 * sd, mean + 12.0 * sd),
            InputDist::Uniform { lo, hi } => (lo, hi),
            InputDist::Exponential { mean } => (0.0, 60.0 * mean),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_quadrature_integrates_a_kink_exactly_where_the_plain_one_does_not() {
        // E|x − 0.33| on U[0, 1] = (0.33² + 0.67²)/2 = 0.2789 exactly; Gauss–Legendre is exact for
        // the two linear pieces once split at the kink.
        let u = InputDist::Uniform { lo: 0.0, hi: 1.0 };
        let e = |q: (Vec<f64>, Vec<f64>)| -> f64 {
            q.0.iter()
                .zip(&q.1)
                .map(|(x, w)| w * (x - 0.33f64).abs())
                .sum()
        };
        assert!((e(u.quadrature_split(160, &[0.33, 7.0])) - 0.2789).abs() < 1e-14);
        assert!((e(u.quadrature_split(160, &[])) - 0.2789).abs() > 1e-7);
        // A jump at the cut: E[sign(x − 0.33)] = 0.34 exactly.
        let q = u.quadrature_split(160, &[0.33]);
        let s: f64 =
            q.0.iter()
                .zip(&q.1)
                .map(|(x, w)| w * (x - 0.33f64).signum())
                .sum();
        assert!((s - 0.34).abs() < 1e-14, "{s}");
    }

    #[test]
    fn quadrature_integrates_each_density_to_one() {
        for d in InputDist::standard() {
            let (x, w) = d.quadrature(4000);
            let mass: f64 = w.iter().sum();
            let mean: f64 = x.iter().zip(&w).map(|(x, w)| x * w).sum();
            let var: f64 = x
                .iter()
                .zip(&w)
                .map(|(x, w)| (x - d.mean()).powi(2) * w)
                .sum();
            assert!((mass - 1.0).abs() < 1e-8, "{d:?}: mass {mass}");
            assert!((mean - d.mean()).abs() < 1e-8, "{d:?}: mean {mean}");
            assert!(
                (var.sqrt() - d.sd()).abs() < 1e-7,
                "{d:?}: sd {}",
                var.sqrt()
            );
        }
    }

    #[test]
    fn validation_rejects_bad_parameters_with_a_message() {
        assert!(InputDist::Gaussian { mean: 0.0, sd: 0.0 }
            .validate()
            .is_err());
        assert!(InputDist::Uniform { lo: 1.0, hi: 1.0 }.validate().is_err());
        let e = InputDist::Exponential { mean: f64::NAN }
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("is invalid"), "{e}");
        assert!(InputDist::standard().iter().all(|d| d.validate().is_ok()));
    }

    #[test]
    fn samples_follow_the_distribution() {
        let mut rng = ipbn_math::seed::rng(3);
        for d in InputDist::standard() {
            let xs: Vec<f64> = (0..20_000).map(|_| d.sample(&mut rng)).collect();
            let m = xs.iter().sum::<f64>() / xs.len() as f64;
            assert!((m - d.mean()).abs() < 0.03 * d.sd().max(0.1), "{d:?}: {m}");
        }
    }
}
