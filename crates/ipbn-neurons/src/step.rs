//! How an intrinsic update direction becomes a parameter change: plain SGD or Adam, per unit.
//!
//! A rule returns an ascent direction `(Δα, Δk)` for each unit; [`StepState::change`] turns it
//! into the change to add. SGD scales it by η. Adam (Kingma & Ba 2015) keeps, per unit, a
//! first and a second moment for α and for k separately, corrects both for their zero start
//! with the layer's step counter `t` (advanced once per layer update by [`StepState::begin`]),
//! and returns `η m̂ / (√v̂ + eps)`. Because the rule's direction is an *ascent* direction,
//! the change is added, not subtracted.

use crate::NeuronError;
use serde::{Deserialize, Serialize};

/// The step applied to a rule's direction `(Δα, Δk)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "opt", rename_all = "lowercase")]
pub enum StepKind {
    /// `α ← α + η Δα`, `k ← k + η Δk`.
    Sgd,
    /// Adam ascent (Kingma & Ba 2015) on each unit's α and k separately, with bias correction.
    Adam {
        /// First-moment decay, default 0.9.
        beta1: f64,
        /// Second-moment decay, default 0.999.
        beta2: f64,
        /// Denominator guard, default 1e-8.
        eps: f64,
    },
}

impl StepKind {
    /// Adam with the usual defaults (0.9, 0.999, 1e-8).
    pub fn adam() -> Self {
        StepKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// Checks the Adam settings: `beta1` and `beta2` in [0, 1), `eps` finite and > 0.
    /// SGD has nothing to check.
    pub fn check(&self) -> Result<(), NeuronError> {
        if let StepKind::Adam { beta1, beta2, eps } = *self {
            let bad = |param: &str, value: f64, range: &str| NeuronError::ParamOutOfRange {
                rule: String::from("adam step"),
                param: param.to_string(),
                value,
                range: range.to_string(),
            };
            if !(0.0..1.0).contains(&beta1) {
                return Err(bad("beta1", beta1, "[0, 1), e.g. 0.9"));
            }
            if !(0.0..1.0).contains(&beta2) {
                return Err(bad("beta2", beta2, "[0, 1), e.g. 0.999"));
            }
            if !(eps.is_finite() && eps > 0.0) {
                return Err(bad("eps", eps, "(0, inf), e.g. 1e-8"));
            }
        }
        Ok(())
    }
}

/// Per-unit optimiser state for the intrinsic parameters of one layer.
#[derive(Clone, Debug)]
pub struct StepState {
    kind: StepKind,
    t: u64,
    m_alpha: Vec<f64>,
    v_alpha: Vec<f64>,
    m_k: Vec<f64>,
    v_k: Vec<f64>,
}

impl StepState {
    /// State for `units` units.
    pub fn new(kind: StepKind, units: usize) -> Self {
        let z = vec![
            0.0;
            if matches!(kind, StepKind::Adam { .. }) {
                units
            } else {
                0
            }
        ];
        StepState {
            kind,
            t: 0,
            m_alpha: z.clone(),
            v_alpha: z.clone(),
            m_k: z.clone(),
            v_k: z,
        }
    }

    /// The step kind.
    pub fn kind(&self) -> StepKind {
        self.kind
    }

    /// Starts a new step (advances Adam's time counter once per layer update).
    pub fn begin(&mut self) {
        self.t += 1;
    }

    /// Adam's step counter: how many times [`StepState::begin`] has been called.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// Turns unit `i`'s direction into the change `(dα, dk)` to add, for learning rate `eta`.
    ///
    /// SGD: `(η Δα, η Δk)`. Adam: updates unit `i`'s moments with the direction and returns
    /// `η m̂/(√v̂ + eps)` for α and for k, with `m̂ = m/(1 − β₁ᵗ)`, `v̂ = v/(1 − β₂ᵗ)` and `t` the
    /// number of [`StepState::begin`] calls (taken as 1 if `begin` was never called). A unit
    /// index beyond the size given to [`StepState::new`] grows the state with zero moments.
    pub fn change(&mut self, i: usize, d: crate::Delta, eta: f64) -> (f64, f64) {
        match self.kind {
            StepKind::Sgd => (eta * d.alpha, eta * d.k),
            StepKind::Adam { beta1, beta2, eps } => {
                if i >= self.m_alpha.len() {
                    let n = i + 1;
                    self.m_alpha.resize(n, 0.0);
                    self.v_alpha.resize(n, 0.0);
                    self.m_k.resize(n, 0.0);
                    self.v_k.resize(n, 0.0);
                }
                let t = i32::try_from(self.t.max(1)).unwrap_or(i32::MAX);
                let c1 = 1.0 - beta1.powi(t);
                let c2 = 1.0 - beta2.powi(t);
                let da = adam_moment(
                    &mut self.m_alpha[i],
                    &mut self.v_alpha[i],
                    d.alpha,
                    (beta1, beta2, eps),
                    (c1, c2),
                );
                let dk = adam_moment(
                    &mut self.m_k[i],
                    &mut self.v_k[i],
                    d.k,
                    (beta1, beta2, eps),
                    (c1, c2),
                );
                (eta * da, eta * dk)
            }
        }
    }
}

/// One Adam moment update for a scalar direction `g`; returns `m̂/(√v̂ + eps)`.
#[inline]
fn adam_moment(
    m: &mut f64,
    v: &mut f64,
    g: f64,
    (beta1, beta2, eps): (f64, f64, f64),
    (c1, c2): (f64, f64),
) -> f64 {
    *m = beta1 * *m + (1.0 - beta1) * g;
    *v = beta2 * *v + (1.0 - beta2) * g * g;
    (*m / c1) / ((*v / c2).sqrt() + eps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Delta;

    #[test]
    fn sgd_scales_by_eta() {
        let mut s = StepState::new(StepKind::Sgd, 3);
        s.begin();
        let (a, k) = s.change(
            1,
            Delta {
                alpha: 2.0,
                k: -0.5,
            },
            0.1,
        );
        assert_eq!((a, k), (0.2, -0.05));
    }

    #[test]
    fn adam_first_steps_match_hand_values() {
        // beta1 = 0.9, beta2 = 0.999, eps = 1e-8, eta = 0.01.
        let mut s = StepState::new(StepKind::adam(), 2);
        // t = 1, g = (2, -0.5): m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², step = η g/(|g| + eps).
        s.begin();
        let (a, k) = s.change(
            0,
            Delta {
                alpha: 2.0,
                k: -0.5,
            },
            0.01,
        );
        assert!((a - 0.01 * 2.0 / (2.0 + 1e-8)).abs() < 1e-16);
        assert!((k - (-0.01 * 0.5 / (0.5 + 1e-8))).abs() < 1e-16);
        // t = 2, g_alpha = 1: m = 0.9·0.2 + 0.1·1 = 0.28, v = 0.999·0.004 + 0.001·1 = 0.004996,
        // m̂ = 0.28/0.19, v̂ = 0.004996/0.001999.
        s.begin();
        let (a, k) = s.change(0, Delta { alpha: 1.0, k: 0.0 }, 0.01);
        let expect_a = 0.01 * (0.28 / 0.19) / ((0.004996f64 / 0.001999).sqrt() + 1e-8);
        assert!((a - expect_a).abs() < 1e-15, "{a} vs {expect_a}");
        // k: m = 0.9·(−0.05) = −0.045, v = 0.999·0.00025 = 0.00024975.
        let expect_k = 0.01 * (-0.045 / 0.19) / ((0.00024975f64 / 0.001999).sqrt() + 1e-8);
        assert!((k - expect_k).abs() < 1e-15, "{k} vs {expect_k}");
        // Unit 1 has its own moments: its first change is the t = 2 bias-corrected step of
        // a single direction, m̂ = 0.1 g/0.19, v̂ = 0.001 g²/0.001999.
        let (a1, _) = s.change(1, Delta { alpha: 3.0, k: 0.0 }, 1.0);
        let expect_a1 = (0.3 / 0.19) / ((0.009f64 / 0.001999).sqrt() + 1e-8);
        assert!((a1 - expect_a1).abs() < 1e-14, "{a1} vs {expect_a1}");
        assert_eq!(s.steps(), 2);
    }

    #[test]
    fn adam_grows_for_unknown_unit_and_checks_settings() {
        let mut s = StepState::new(StepKind::adam(), 1);
        s.begin();
        let (a, _) = s.change(4, Delta { alpha: 1.0, k: 1.0 }, 1.0);
        assert!((a - 1.0).abs() < 1e-7);
        assert!(StepKind::adam().check().is_ok());
        let bad = StepKind::Adam {
            beta1: 1.0,
            beta2: 0.999,
            eps: 1e-8,
        };
        let e = bad.check().unwrap_err().to_string();
        assert!(e.contains("beta1") && e.contains("[0, 1)"), "{e}");
        let bad = StepKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 0.0,
        };
        assert!(bad.check().is_err());
    }
}
