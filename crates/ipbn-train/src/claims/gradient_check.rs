//! The whole-network gradient check the `network-gradients` claim and
//! `tests/train_gradients.rs` share: a small f64 network with a batch, moved away from its
//! initial state, whose backprop gradient is compared with five-point central differences
//! array by array.

use crate::error::{ConfigError, Result};
use crate::mlp::{Mlp, MlpSpec, Workspace};
use ipbn_math::numeric::{try_derivative, Stencil};
use ipbn_math::seed::rng;
use ipbn_neurons::Mode;
use ndarray::Array2;
use ndarray_rand::rand_distr::{Distribution, StandardNormal};

/// Step `h` of the five-point central differences the `network-gradients` claim uses.
///
/// The five-point stencil's truncation error is O(h⁴) and its rounding error about
/// 1.5·ε·|L|/h: at h = 1e-4 both are near 1e-12 for the claim's networks (an O(1) loss),
/// where the two-point stencil at its best step (1e-5) leaves about 1e-11, which arrays of
/// saturated units turn into relative errors at the tolerance.
pub const FD_STEP: f64 = 1e-4;

/// Learning rate of the warm-up steps of [`GradientProblem::new`].
const WARMUP_LR: f64 = 0.3;
/// Momentum of the warm-up steps of [`GradientProblem::new`].
const WARMUP_MOMENTUM: f64 = 0.5;

/// Fraction of the whole gradient's norm below which a parameter array's gradient is judged
/// against that fraction instead of its own norm (see [`GradientCheck::relative_error`]).
pub const RELATIVE_FLOOR: f64 = 1e-2;

/// How one parameter array's backprop gradient compares with its finite-difference estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientCheck {
    /// The parameter array, as named by [`Mlp::param_names`] (e.g. `hidden1.gamma`).
    pub name: String,
    /// Euclidean norm of the array's backprop gradient.
    pub analytic_norm: f64,
    /// Euclidean norm of the array's finite-difference gradient.
    pub numeric_norm: f64,
    /// Euclidean norm of their difference.
    pub diff_norm: f64,
    /// Euclidean norm of the whole network's backprop gradient (every array).
    pub total_norm: f64,
}

impl GradientCheck {
    /// `‖backprop − FD‖ / max(‖backprop‖, ‖FD‖, RELATIVE_FLOOR · ‖whole gradient‖)`.
    ///
    /// A difference of the loss resolves a derivative only to an absolute accuracy (rounding
    /// and truncation of an O(1) loss), so an array whose gradient is tiny next to the rest
    /// of the network (units deep in saturation) is judged against [`RELATIVE_FLOOR`] times
    /// the whole gradient rather than its own vanishing norm. The error is 0 when everything
    /// vanishes exactly, and infinite when only the difference is non-zero or any norm is NaN
    /// (so a NaN never passes a tolerance).
    pub fn relative_error(&self) -> f64 {
        let norms = [
            self.analytic_norm,
            self.numeric_norm,
            self.diff_norm,
            self.total_norm,
        ];
        if norms.iter().any(|v| v.is_nan()) {
            return f64::INFINITY;
        }
        let scale = self
            .analytic_norm
            .max(self.numeric_norm)
            .max(RELATIVE_FLOOR * self.total_norm);
        if scale > 0.0 {
            self.diff_norm / scale
        } else if self.diff_norm == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    }
}

/// The largest [`GradientCheck::relative_error`] of a check (0 for none).
pub fn worst_relative_error(checks: &[GradientCheck]) -> f64 {
    checks
        .iter()
        .map(GradientCheck::relative_error)
        .fold(0.0, f64::max)
}

/// A small f64 network with a batch and its labels, ready for a whole-network gradient check.
#[derive(Clone, Debug)]
pub struct GradientProblem {
    /// The network (after the warm-up steps).
    pub net: Mlp<f64>,
    /// The batch, `rows × inputs`.
    pub x: Array2<f64>,
    /// One label per row.
    pub labels: Vec<u8>,
    ws: Workspace<f64>,
}

impl GradientProblem {
    /// Builds the network of `spec` with its weights drawn from a ChaCha generator seeded
    /// with `seed`, then a batch of `batch` rows of independent N(0, 1) inputs from the same
    /// generator, labelled `0, 1, …, classes − 1, 0, …`. Then takes `warmup` training steps
    /// on that batch (SGD with learning rate 0.3 and momentum 0.5, and the intrinsic
    /// updates), so that every parameter (and an IP layer's α and k) leaves its initial
    /// value; the warm-up stops early at a step whose loss or parameters are not finite,
    /// which [`Mlp::is_finite`] on `net` then shows.
    ///
    /// # Errors
    /// A [`ConfigError`] for an invalid spec or `batch` = 0, and the network's own errors
    /// (e.g. batch normalisation with one row).
    pub fn new(spec: &MlpSpec, batch: usize, warmup: usize, seed: u64) -> Result<Self> {
        if batch == 0 {
            return Err(
                ConfigError::new("batch", "the gradient check needs at least one row").into(),
            );
        }
        let mut r = rng(seed);
        let mut net = Mlp::<f64>::new(spec, &mut r)?;
        let x = Array2::from_shape_fn((batch, spec.inputs), |_| StandardNormal.sample(&mut r));
        let labels: Vec<u8> = (0..batch)
            .map(|i| u8::try_from(i % spec.classes).unwrap_or(0))
            .collect();
        let mut ws = net.workspace(batch, true);
        for _ in 0..warmup {
            let out = net.train_step(x.view(), &labels, &mut ws, WARMUP_LR, WARMUP_MOMENTUM)?;
            if !out.finite {
                break;
            }
        }
        Ok(GradientProblem { net, x, labels, ws })
    }

    /// The mean cross-entropy of a training-mode pass over the batch.
    pub fn loss(&mut self) -> Result<f64> {
        self.net.forward(self.x.view(), Mode::Train, &mut self.ws)?;
        self.net.loss(&self.labels, &mut self.ws)
    }

    /// Compares the backprop gradient of [`GradientProblem::loss`] with five-point central
    /// differences ([`Stencil::FivePoint`] of [`ipbn_math::numeric`]) of step `h` = `step`:
    /// `(8 (L(p + h) − L(p − h)) − (L(p + 2h) − L(p − 2h))) / 12h`, for every entry `p` of
    /// every parameter learned by backprop (W, b, γ, β), and returns one comparison per
    /// parameter array in the order of [`Mlp::param_names`]. The parameters are restored
    /// exactly afterwards. [`FD_STEP`] suits O(1) parameters and losses.
    ///
    /// # Errors
    /// A [`ConfigError`] if `step` is not finite and > 0, and the network's own errors.
    pub fn check(&mut self, step: f64) -> Result<Vec<GradientCheck>> {
        self.check_with(step, |_| {})
    }

    /// [`GradientProblem::check`] with `tamper` applied to the backprop gradients before the
    /// comparison (the tests use it to show that a wrong gradient is caught).
    pub(super) fn check_with(
        &mut self,
        step: f64,
        tamper: fn(&mut [Vec<f64>]),
    ) -> Result<Vec<GradientCheck>> {
        if !(step.is_finite() && step > 0.0) {
            return Err(ConfigError::new(
                "step",
                format!("the finite-difference step must be finite and > 0, got {step}"),
            )
            .into());
        }
        self.loss()?;
        self.net.backward(self.x.view(), &mut self.ws)?;
        let mut grads: Vec<Vec<f64>> = self
            .net
            .grads()
            .iter()
            .map(|g| g.iter().copied().collect())
            .collect();
        tamper(&mut grads);
        let names = self.net.param_names();
        let total_norm = grads.iter().flatten().map(|a| a * a).sum::<f64>().sqrt();
        let mut out = Vec::with_capacity(grads.len());
        for (i, (g, name)) in grads.iter().zip(names).enumerate() {
            let mut fd = Vec::with_capacity(g.len());
            for j in 0..g.len() {
                let orig = self.set_param(i, j, None);
                let estimate = try_derivative(
                    |v| {
                        self.set_param(i, j, Some(v));
                        self.loss()
                    },
                    orig,
                    step,
                    Stencil::FivePoint,
                );
                // Restored before any error is passed on.
                self.set_param(i, j, Some(orig));
                fd.push(estimate?);
            }
            let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|a| a * a).sum::<f64>().sqrt();
            out.push(GradientCheck {
                name,
                analytic_norm: norm(&mut g.iter().copied()),
                numeric_norm: norm(&mut fd.iter().copied()),
                diff_norm: norm(&mut g.iter().zip(&fd).map(|(a, b)| a - b)),
                total_norm,
            });
        }
        Ok(out)
    }

    /// Entry `j` (logical order) of parameter array `i`: sets it to `value` if given and
    /// returns its previous value.
    fn set_param(&mut self, i: usize, j: usize, value: Option<f64>) -> f64 {
        let mut params = self.net.params_mut();
        let p = params[i]
            .iter_mut()
            .nth(j)
            .expect("parameter index from the gradient of the same array");
        let old = *p;
        if let Some(v) = value {
            *p = v;
        }
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::Init;
    use ipbn_math::Activation;

    #[test]
    fn gradient_check_rejects_bad_steps_and_restores_parameters() {
        let spec = MlpSpec {
            inputs: 3,
            hidden: vec![4],
            classes: 2,
            activation: Activation::Tanh,
            kind: crate::mlp::LayerKind::Bn,
            init: Init::Gauss { std: 0.7 },
        };
        let mut p = GradientProblem::new(&spec, 5, 2, 3).unwrap();
        let before = p.loss().unwrap();
        for bad in [0.0, -1e-5, f64::NAN, f64::INFINITY] {
            let e = p.check(bad).unwrap_err().to_string();
            assert!(e.contains("step") && e.contains("> 0"), "{e}");
        }
        let checks = p.check(FD_STEP).unwrap();
        assert_eq!(
            checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            p.net.param_names()
        );
        assert!(worst_relative_error(&checks) <= 1e-6);
        assert_eq!(p.loss().unwrap(), before, "parameters restored exactly");
        assert!(GradientProblem::new(&spec, 0, 0, 3).is_err());
        // BN cannot normalise a batch of one row: an error, not a panic.
        assert!(GradientProblem::new(&spec, 1, 1, 3).is_err());
    }

    #[test]
    fn relative_error_uses_the_floor_and_treats_zero_and_nan() {
        let c = |a, n, d, t| GradientCheck {
            name: "p".into(),
            analytic_norm: a,
            numeric_norm: n,
            diff_norm: d,
            total_norm: t,
        };
        assert_eq!(c(0.0, 0.0, 0.0, 0.0).relative_error(), 0.0);
        assert_eq!(c(0.0, 0.0, 1e-20, 0.0).relative_error(), f64::INFINITY);
        assert_eq!(c(2.0, 4.0, 1.0, 4.0).relative_error(), 0.25);
        // An array at 1e-4 of the whole gradient is judged against 1 % of it.
        assert_eq!(
            c(1e-4, 1e-4, 1e-12, 1.0).relative_error(),
            1e-12 / RELATIVE_FLOOR
        );
        assert_eq!(c(f64::NAN, 1.0, 1.0, 1.0).relative_error(), f64::INFINITY);
        assert_eq!(c(1.0, 1.0, f64::NAN, 1.0).relative_error(), f64::INFINITY);
        assert_eq!(c(1.0, 1.0, 0.0, f64::NAN).relative_error(), f64::INFINITY);
        assert_eq!(worst_relative_error(&[]), 0.0);
        assert_eq!(
            worst_relative_error(&[c(1.0, 1.0, 1e-9, 1.0), c(1.0, 1.0, 1e-7, 1.0)]),
            1e-7
        );
    }
}
