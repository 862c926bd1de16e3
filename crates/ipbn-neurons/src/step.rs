//! How an intrinsic update direction becomes a parameter change: plain SGD or Adam, per unit.
//! CONTRACT (signatures fixed; bodies to be written).

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

    /// Turns unit `i`'s direction into the change `(dα, dk)` to add, for learning rate `eta`.
    pub fn change(&mut self, i: usize, d: crate::Delta, eta: f64) -> (f64, f64) {
        let _ = (i, d, eta);
        unimplemented!("contract")
    }
}
