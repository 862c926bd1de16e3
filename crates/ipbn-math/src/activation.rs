//! Activation functions θ with their first derivative θ′ and the ratio θ″/θ′.
//!
//! Every function is written so that it stays finite for any finite input (tested for
//! |u| up to 1e4 and beyond): no `exp` of a large positive argument is ever formed.

use crate::float::Real;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A unit's nonlinearity θ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Logistic sigmoid θ(u) = 1/(1 + e^(−u)), range (0, 1).
    #[serde(alias = "logistic")]
    Sigmoid,
    /// Hyperbolic tangent, range (−1, 1).
    Tanh,
    /// Rectified linear unit max(0, u); θ′(0) is taken as 0.
    Relu,
    /// Softplus log(1 + e^u), range (0, ∞).
    Softplus,
    /// The identity θ(u) = u.
    Identity,
}

/// Every activation, in a fixed order (for listings and exhaustive tests).
pub const ALL_ACTIVATIONS: [Activation; 5] = [
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::Softplus,
    Activation::Identity,
];

#[inline(always)]
fn sigmoid<T: Real>(u: T) -> T {
    // Evaluate with exp of a non-positive argument only.
    if u >= T::zero() {
        T::one() / (T::one() + (-u).exp())
    } else {
        let e = u.exp();
        e / (T::one() + e)
    }
}

#[inline(always)]
fn softplus<T: Real>(u: T) -> T {
    // log(1 + e^u) = max(u, 0) + log1p(e^(−|u|))
    u.max(T::zero()) + (-u.abs()).exp().ln_1p()
}

impl Activation {
    /// The short lowercase name used in specs, configs and JSON (`sigmoid`, `tanh`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Softplus => "softplus",
            Activation::Identity => "identity",
        }
    }

    /// θ(u).
    #[inline(always)]
    pub fn f<T: Real>(self, u: T) -> T {
        match self {
            Activation::Sigmoid => sigmoid(u),
            Activation::Tanh => u.tanh(),
            Activation::Relu => u.max(T::zero()),
            Activation::Softplus => softplus(u),
            Activation::Identity => u,
        }
    }

    /// θ′(u), the slope at the input u.
    #[inline(always)]
    pub fn df<T: Real>(self, u: T) -> T {
        match self {
            Activation::Sigmoid => self.f_df(u).1,
            Activation::Tanh => {
                // 1 − tanh² loses everything for large |u|; use sech² = 4e^(−2|u|)/(1+e^(−2|u|))²
                let e = (T::c(-2.0) * u.abs()).exp();
                let d = T::one() + e;
                T::c(4.0) * e / (d * d)
            }
            Activation::Relu => {
                if u > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::Softplus => sigmoid(u),
            Activation::Identity => T::one(),
        }
    }

    /// θ(u) and θ′(u) together, sharing one exponential where possible.
    ///
    /// For the sigmoid both come from e = exp(−|u|): θ exactly as [`Activation::f`] forms it and
    /// θ′ = e/(1 + e)², which keeps full relative accuracy in both tails (σ(1 − σ) loses it for
    /// large positive u). Other activations use [`Activation::f`] and [`Activation::df`].
    #[inline(always)]
    pub fn f_df<T: Real>(self, u: T) -> (T, T) {
        match self {
            Activation::Sigmoid => {
                let e = (-u.abs()).exp();
                let d = T::one() + e;
                let y = if u >= T::zero() { T::one() / d } else { e / d };
                (y, e / (d * d))
            }
            Activation::Tanh => {
                let e = (T::c(-2.0) * u.abs()).exp();
                let d = T::one() + e;
                (u.tanh(), T::c(4.0) * e / (d * d))
            }
            _ => (self.f(u), self.df(u)),
        }
    }

    /// θ′ expressed through the output y = θ(u), as used in backprop when only y is kept:
    /// y(1 − y) for the sigmoid, 1 − y² for tanh, the step for ReLU, 1 − e^(−y) for softplus.
    #[inline(always)]
    pub fn df_from_output<T: Real>(self, y: T) -> T {
        match self {
            Activation::Sigmoid => y * (T::one() - y),
            Activation::Tanh => T::one() - y * y,
            Activation::Relu => {
                if y > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::Softplus => -(-y).exp_m1(),
            Activation::Identity => T::one(),
        }
    }

    /// θ″(u)/θ′(u), the term of every KL-type IP rule that does not depend on the target.
    ///
    /// Sigmoid: 1 − 2θ(u). Tanh: −2 tanh(u). Softplus: 1 − θ′(u) = σ(−u). ReLU and identity: 0.
    #[inline(always)]
    pub fn d2_over_d1<T: Real>(self, u: T) -> T {
        match self {
            Activation::Sigmoid => T::one() - T::c(2.0) * sigmoid(u),
            Activation::Tanh => T::c(-2.0) * u.tanh(),
            Activation::Softplus => sigmoid(-u),
            Activation::Relu | Activation::Identity => T::zero(),
        }
    }

    /// log θ′(u), evaluated without underflow for large |u| (used by the KL objective G).
    ///
    /// Returns −∞ where θ′ is exactly zero (ReLU for u ≤ 0).
    #[inline(always)]
    pub fn ln_df<T: Real>(self, u: T) -> T {
        match self {
            // log σ(u) + log σ(−u) = −|u| − 2 log1p(e^(−|u|))
            Activation::Sigmoid => -u.abs() - T::c(2.0) * (-u.abs()).exp().ln_1p(),
            // log sech² u = log 4 − 2|u| − 2 log1p(e^(−2|u|))
            Activation::Tanh => {
                T::c(4.0f64.ln())
                    - T::c(2.0) * u.abs()
                    - T::c(2.0) * (T::c(-2.0) * u.abs()).exp().ln_1p()
            }
            // log σ(u) = −softplus(−u)
            Activation::Softplus => -softplus(-u),
            Activation::Relu => {
                if u > T::zero() {
                    T::zero()
                } else {
                    T::neg_infinity()
                }
            }
            Activation::Identity => T::zero(),
        }
    }

    /// θ⁻¹(y), the net input giving output `y` (for `y` inside [`Activation::range`]; ReLU is
    /// inverted on its positive part). Softplus: `y + ln(1 − e^(−y))`, accurate for small `y`.
    pub fn inverse(self, y: f64) -> f64 {
        match self {
            Activation::Sigmoid => (y / (1.0 - y)).ln(),
            Activation::Tanh => y.atanh(),
            Activation::Softplus => y + (-(-y).exp_m1()).ln(),
            Activation::Relu | Activation::Identity => y,
        }
    }

    /// The open interval of outputs θ can produce, as `(low, high)`.
    pub fn range(self) -> (f64, f64) {
        match self {
            Activation::Sigmoid => (0.0, 1.0),
            Activation::Tanh => (-1.0, 1.0),
            Activation::Relu | Activation::Softplus => (0.0, f64::INFINITY),
            Activation::Identity => (f64::NEG_INFINITY, f64::INFINITY),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an activation name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown activation `{0}`; expected one of sigmoid, tanh, relu, softplus, identity")]
pub struct UnknownActivation(pub String);

impl FromStr for Activation {
    type Err = UnknownActivation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sigmoid" | "logistic" => Ok(Activation::Sigmoid),
            "tanh" => Ok(Activation::Tanh),
            "relu" => Ok(Activation::Relu),
            "softplus" => Ok(Activation::Softplus),
            "identity" | "linear" => Ok(Activation::Identity),
            _ => Err(UnknownActivation(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_for_extreme_inputs() {
        for a in ALL_ACTIVATIONS {
            for &u in &[-1e4f64, -750.0, -40.0, 0.0, 40.0, 750.0, 1e4, -1e30, 1e30] {
                assert!(a.f(u).is_finite(), "{a} f({u})");
                assert!(a.df(u).is_finite(), "{a} df({u})");
                assert!(a.d2_over_d1(u).is_finite(), "{a} d2/d1({u})");
                let uf = u as f32;
                assert!(
                    a.f(uf).is_finite() && a.df(uf).is_finite() && a.d2_over_d1(uf).is_finite()
                );
            }
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let h = 1e-5;
        for a in [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Softplus,
            Activation::Identity,
        ] {
            for i in -40..=40 {
                let u = i as f64 * 0.2 + 0.013;
                let fd = (a.f(u + h) - a.f(u - h)) / (2.0 * h);
                assert!(
                    (fd - a.df(u)).abs() <= 1e-8 * (1.0 + fd.abs()),
                    "{a} df at {u}"
                );
                let fd2 = (a.df(u + h) - a.df(u - h)) / (2.0 * h);
                let ratio = fd2 / a.df(u);
                assert!(
                    (ratio - a.d2_over_d1(u)).abs() <= 1e-6 * (1.0 + ratio.abs()),
                    "{a} d2/d1 at {u}"
                );
                assert!((a.df(u).ln() - a.ln_df(u)).abs() <= 1e-12 * (1.0 + a.ln_df(u).abs()));
                assert!((a.df_from_output(a.f(u)) - a.df(u)).abs() <= 1e-12);
            }
        }
    }

    #[test]
    fn sigmoid_slope_keeps_relative_accuracy_in_the_tails() {
        // σ′(u) = e^(−u)/(1 + e^(−u))² ≈ e^(−u) for large u.
        for &u in &[30.0f64, 60.0, 300.0, -30.0, -300.0] {
            let exact = (-u.abs()).exp() / (1.0 + (-u.abs()).exp()).powi(2);
            let got = Activation::Sigmoid.df(u);
            assert!(
                (got - exact).abs() <= 1e-15 * exact,
                "u = {u}: {got} vs {exact}"
            );
        }
        for a in ALL_ACTIVATIONS {
            for i in -50..=50 {
                let u = i as f64 * 0.37;
                let (y, d) = a.f_df(u);
                assert_eq!(y, a.f(u));
                assert!((d - a.df(u)).abs() <= 1e-15 * (1.0 + d.abs()));
            }
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(Activation::Sigmoid.f(0.0f64), 0.5);
        assert_eq!(Activation::Sigmoid.df(0.0f64), 0.25);
        assert_eq!(Activation::Tanh.df(0.0f64), 1.0);
        assert!((Activation::Softplus.f(0.0f64) - 2f64.ln()).abs() < 1e-15);
        assert!((Activation::Tanh.ln_df(1e4f64) - (4f64.ln() - 2e4)).abs() < 1e-9);
        assert_eq!(
            "logistic".parse::<Activation>().unwrap(),
            Activation::Sigmoid
        );
        assert!("swish".parse::<Activation>().is_err());
    }
}
