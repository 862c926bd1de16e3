//! Target output densities p* of the KL-type rules: uniform, exponential and Gaussian.
//!
//! Each implements [`TargetDensity`]: `ln_pdf` (for the objective G and for quadrature),
//! `score` ψ = d log p*/dy (the rule's target term), `quadrature_bounds` and `describe`.
//! Constructors validate their arguments, so an invalid density cannot exist.

use crate::{NeuronError, Result, TargetDensity};

/// ln √(2π).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// Exponential tail cut for quadrature: e^(−30) ≈ 9.4e-14 of the mass lies beyond 30 means.
const EXP_TAIL_MEANS: f64 = 30.0;
/// Gaussian tail cut for quadrature: beyond ±8 standard deviations lies 1.2e-15 of the mass.
const GAUSS_TAIL_SDS: f64 = 8.0;

fn invalid(what: &str, param: &str, value: f64, range: &str) -> NeuronError {
    NeuronError::ParamOutOfRange {
        rule: what.to_string(),
        param: param.to_string(),
        value,
        range: range.to_string(),
    }
}

/// The uniform density on `(low, high)`: the infomax target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Uniform {
    low: f64,
    high: f64,
}

impl Uniform {
    /// Uniform on (−1, 1), the infomax target for tanh units.
    pub const SYMMETRIC_UNIT: Uniform = Uniform {
        low: -1.0,
        high: 1.0,
    };
    /// Uniform on (0, 1), the infomax target for logistic units.
    pub const UNIT: Uniform = Uniform {
        low: 0.0,
        high: 1.0,
    };

    /// Uniform on `(low, high)`; both finite with `low < high`.
    pub fn new(low: f64, high: f64) -> Result<Self> {
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(invalid(
                "uniform target",
                "high",
                high,
                "finite, and greater than the finite lower end",
            ));
        }
        Ok(Uniform { low, high })
    }

    /// Lower end.
    pub fn low(&self) -> f64 {
        self.low
    }

    /// Upper end.
    pub fn high(&self) -> f64 {
        self.high
    }
}

impl TargetDensity for Uniform {
    fn ln_pdf(&self, y: f64) -> f64 {
        // The closed interval: a saturated unit's output rounds to an end exactly, and the
        // ends carry no mass, so counting them in keeps log p* finite there.
        if y >= self.low && y <= self.high {
            -(self.high - self.low).ln()
        } else {
            f64::NEG_INFINITY
        }
    }
    fn score(&self, _y: f64) -> f64 {
        0.0
    }
    fn quadrature_bounds(&self) -> (f64, f64) {
        (self.low, self.high)
    }
    fn describe(&self) -> String {
        format!(
            "uniform on ({}, {})",
            super::fmt_num(self.low),
            super::fmt_num(self.high)
        )
    }
}

/// The exponential density with mean μ on `[0, ∞)`: p*(y) = e^(−y/μ)/μ, ψ(y) = −1/μ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exponential {
    mean: f64,
}

impl Exponential {
    /// Exponential with mean `mean` > 0 (finite).
    pub fn new(mean: f64) -> Result<Self> {
        if !(mean.is_finite() && mean > 0.0 && (1.0 / mean).is_finite()) {
            return Err(invalid("exponential target", "mean", mean, "(0, inf)"));
        }
        Ok(Exponential { mean })
    }

    /// The mean μ.
    pub fn mean(&self) -> f64 {
        self.mean
    }
}

impl TargetDensity for Exponential {
    fn ln_pdf(&self, y: f64) -> f64 {
        if y >= 0.0 {
            -self.mean.ln() - y / self.mean
        } else {
            f64::NEG_INFINITY
        }
    }
    fn score(&self, _y: f64) -> f64 {
        -1.0 / self.mean
    }
    fn quadrature_bounds(&self) -> (f64, f64) {
        (0.0, EXP_TAIL_MEANS * self.mean)
    }
    fn describe(&self) -> String {
        format!("exponential, mean {}", super::fmt_num(self.mean))
    }
}

/// The Gaussian density N(μ, σ²), σ a standard deviation: ψ(y) = −(y − μ)/σ².
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gaussian {
    mean: f64,
    sd: f64,
}

impl Gaussian {
    /// N(`mean`, `sd`²) with finite `mean` and `sd` > 0 (σ² must not underflow).
    pub fn new(mean: f64, sd: f64) -> Result<Self> {
        if !mean.is_finite() {
            return Err(invalid("gaussian target", "mean", mean, "(-inf, inf)"));
        }
        if !(sd.is_finite() && sd > 0.0 && (1.0 / (sd * sd)).is_finite()) {
            return Err(invalid("gaussian target", "sd", sd, "(0, inf)"));
        }
        Ok(Gaussian { mean, sd })
    }

    /// The mean μ.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The standard deviation σ.
    pub fn sd(&self) -> f64 {
        self.sd
    }
}

impl TargetDensity for Gaussian {
    fn ln_pdf(&self, y: f64) -> f64 {
        let z = (y - self.mean) / self.sd;
        -0.5 * z * z - self.sd.ln() - LN_SQRT_2PI
    }
    fn score(&self, y: f64) -> f64 {
        -(y - self.mean) / (self.sd * self.sd)
    }
    fn quadrature_bounds(&self) -> (f64, f64) {
        (
            self.mean - GAUSS_TAIL_SDS * self.sd,
            self.mean + GAUSS_TAIL_SDS * self.sd,
        )
    }
    fn describe(&self) -> String {
        format!(
            "gaussian, mean {}, sd {}",
            super::fmt_num(self.mean),
            super::fmt_num(self.sd)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipbn_math::numeric::integrate;

    fn mass(t: &dyn TargetDensity) -> f64 {
        let (a, b) = t.quadrature_bounds();
        integrate(a, b, 32, |y| t.ln_pdf(y).exp())
    }

    #[test]
    fn densities_integrate_to_one() {
        let ts: [&dyn TargetDensity; 4] = [
            &Uniform::new(-1.0, 1.0).unwrap(),
            &Exponential::new(0.1).unwrap(),
            &Gaussian::new(0.3, 0.2).unwrap(),
            &Gaussian::new(-2.0, 5.0).unwrap(),
        ];
        for t in ts {
            assert!((mass(t) - 1.0).abs() < 1e-12, "{}", t.describe());
        }
    }

    #[test]
    fn score_is_derivative_of_ln_pdf() {
        let ts: [&dyn TargetDensity; 3] = [
            &Uniform::new(0.0, 1.0).unwrap(),
            &Exponential::new(0.25).unwrap(),
            &Gaussian::new(0.1, 0.4).unwrap(),
        ];
        for t in ts {
            for i in 1..10 {
                let y = i as f64 * 0.1;
                let h = 1e-6;
                let fd = (t.ln_pdf(y + h) - t.ln_pdf(y - h)) / (2.0 * h);
                assert!((fd - t.score(y)).abs() < 1e-6, "{} at {y}", t.describe());
            }
        }
    }

    #[test]
    fn descriptions_and_validation() {
        assert_eq!(
            Uniform::new(-1.0, 1.0).unwrap().describe(),
            "uniform on (-1, 1)"
        );
        assert_eq!(
            Exponential::new(0.1).unwrap().describe(),
            "exponential, mean 0.1"
        );
        assert_eq!(
            Gaussian::new(0.0, 0.2).unwrap().describe(),
            "gaussian, mean 0, sd 0.2"
        );
        assert!(Uniform::new(1.0, 1.0).is_err());
        assert!(Exponential::new(0.0).is_err());
        assert!(Exponential::new(f64::NAN).is_err());
        assert!(Gaussian::new(0.0, 0.0).is_err());
        assert!(Gaussian::new(f64::INFINITY, 1.0).is_err());
        assert_eq!(
            Exponential::new(-1.0).unwrap_err().to_string(),
            "rule `exponential target`: parameter `mean` = -1 is out of range; accepted: (0, inf)"
        );
    }
}
