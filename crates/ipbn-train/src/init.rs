//! Weight initialisations: a Gaussian of given standard deviation, Glorot, He.
//!
//! Biases always start at 0. Each is written as a short spec string in configs and on the
//! command line: `gauss:0.1`, `glorot`, `he`.

use crate::error::ConfigError;
use ipbn_math::Real;
use ndarray::Array2;
use ndarray_rand::rand::Rng;
use ndarray_rand::rand_distr::{Distribution, StandardNormal};
use std::fmt;
use std::str::FromStr;

/// How a layer's weight matrix `W` (`fan_in × fan_out`) is drawn.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Init {
    /// Independent `N(0, std²)` entries: Ioffe & Szegedy's "small random Gaussian values"
    /// (their paper gives no value; `gauss:0.1` is this workspace's default, which gives a
    /// first-layer net input of standard deviation about 0.9 on MNIST pixels in [0, 1]).
    Gauss {
        /// Standard deviation, finite and > 0.
        std: f64,
    },
    /// Glorot & Bengio (2010) "normalised" uniform: `U(−a, a)` with
    /// `a = √(6 / (fan_in + fan_out))`.
    Glorot,
    /// He et al. (2015) for ReLU: `N(0, 2 / fan_in)`.
    He,
}

impl Default for Init {
    fn default() -> Self {
        Init::Gauss { std: 0.1 }
    }
}

impl Init {
    /// Draws a `fan_in × fan_out` weight matrix from `rng`, row by row.
    pub fn draw<T: Real, R: Rng + ?Sized>(
        self,
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) -> Array2<T> {
        let mut w = Array2::<T>::zeros((fan_in, fan_out));
        match self {
            Init::Gauss { std } => gaussian_fill(&mut w, std, rng),
            Init::He => gaussian_fill(&mut w, (2.0 / fan_in as f64).sqrt(), rng),
            Init::Glorot => {
                let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
                for v in w.iter_mut() {
                    let u: f64 = rng.random();
                    *v = T::c((2.0 * u - 1.0) * a);
                }
            }
        }
        w
    }

    /// Checks the parameters (the Gaussian's standard deviation must be finite and > 0).
    pub fn validate(self) -> Result<(), ConfigError> {
        match self {
            Init::Gauss { std } if !(std.is_finite() && std > 0.0) => Err(ConfigError::new(
                "init",
                format!("gauss standard deviation must be finite and > 0, got {std}"),
            )),
            _ => Ok(()),
        }
    }
}

fn gaussian_fill<T: Real, R: Rng + ?Sized>(w: &mut Array2<T>, std: f64, rng: &mut R) {
    for v in w.iter_mut() {
        let z: f64 = StandardNormal.sample(rng);
        *v = T::c(z * std);
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Gauss { std } => write!(f, "gauss:{std}"),
            Init::Glorot => f.write_str("glorot"),
            Init::He => f.write_str("he"),
        }
    }
}

impl FromStr for Init {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || {
            ConfigError::new(
                "init",
                format!("unknown initialisation `{s}`; expected `gauss:STD` (e.g. gauss:0.1), `glorot` or `he`"),
            )
        };
        let init = match t.to_ascii_lowercase().as_str() {
            "glorot" | "xavier" => Init::Glorot,
            "he" | "kaiming" => Init::He,
            other => {
                let rest = other
                    .strip_prefix("gauss:")
                    .or_else(|| other.strip_prefix("gaussian:"))
                    .ok_or_else(bad)?;
                let std: f64 = rest.trim().parse().map_err(|_| bad())?;
                Init::Gauss { std }
            }
        };
        init.validate()?;
        Ok(init)
    }
}

impl TryFrom<String> for Init {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Init> for String {
    fn from(i: Init) -> String {
        i.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipbn_math::seed::rng;

    #[test]
    fn parse_and_display_round_trip() {
        for s in ["gauss:0.1", "glorot", "he", "gauss:1"] {
            let i: Init = s.parse().unwrap();
            assert_eq!(i.to_string().parse::<Init>().unwrap(), i);
        }
        assert_eq!(
            "gauss:0.1".parse::<Init>().unwrap(),
            Init::Gauss { std: 0.1 }
        );
        let e = "gauss:-1".parse::<Init>().unwrap_err();
        assert_eq!(e.key, "init");
        assert!(e.to_string().contains("> 0"), "{e}");
        assert!("uniform".parse::<Init>().is_err());
    }

    #[test]
    fn scales_match_their_definitions() {
        let mut r = rng(3);
        let w: Array2<f64> = Init::Gauss { std: 0.1 }.draw(200, 100, &mut r);
        let sd = (w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64).sqrt();
        assert!((sd - 0.1).abs() < 0.003, "{sd}");
        let w: Array2<f64> = Init::He.draw(200, 100, &mut r);
        let sd = (w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64).sqrt();
        assert!((sd - 0.1).abs() < 0.003, "{sd}");
        let w: Array2<f64> = Init::Glorot.draw(200, 100, &mut r);
        let a = (6.0f64 / 300.0).sqrt();
        assert!(w.iter().all(|v| v.abs() <= a));
        let sd = (w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64).sqrt();
        assert!((sd - a / 3f64.sqrt()).abs() < 0.003, "{sd}");
    }
}
