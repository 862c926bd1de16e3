//! A layer of intrinsic-plasticity units.
//! CONTRACT (signatures fixed; bodies to be written).

use crate::{IpRule, Mode, NeuronError, StepKind};
use ipbn_math::{Activation, Real};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2};
use std::sync::Arc;

/// Settings of an [`IpLayer`].
#[derive(Clone, Debug)]
pub struct IpLayerConfig {
    /// Intrinsic learning rate η.
    pub eta: f64,
    /// SGD or Adam step for α and k.
    pub step: StepKind,
    /// Whether a learned affine step γ, β follows the IP unit: y = θ(γ(αx + k) + β).
    pub affine: bool,
    /// Initial gain (default 1).
    pub alpha0: f64,
    /// Initial bias (default 0).
    pub k0: f64,
}

/// A layer of IP units `y = θ(α x + k)` (or `θ(γ(α x + k) + β)` with `affine`), one (α, k) per
/// unit, adapted only by the rule; γ, β (if any) learn by backprop.
///
/// The rule always sees the unit's net input x and the IP part's output θ(αx + k), just as BN's
/// α_B, k_B depend on x alone and not on γ, β.
#[derive(Clone, Debug)]
pub struct IpLayer<T: Real> {
    /// Gain per unit.
    pub alpha: Array1<T>,
    /// Bias per unit.
    pub k: Array1<T>,
    /// Learned scale (only with `affine`).
    pub gamma: Option<Array1<T>>,
    /// Learned shift (only with `affine`).
    pub beta: Option<Array1<T>>,
    _p: std::marker::PhantomData<(Arc<dyn IpRule>, Activation)>,
}

impl<T: Real> IpLayer<T> {
    /// A layer of `units` units; errors if the rule's activation differs from `activation`.
    pub fn new(
        units: usize,
        activation: Activation,
        rule: Arc<dyn IpRule>,
        config: IpLayerConfig,
    ) -> Result<Self, NeuronError> {
        let _ = (units, activation, rule, config);
        unimplemented!("contract")
    }
    /// Number of units.
    pub fn units(&self) -> usize {
        self.alpha.len()
    }
    /// Computes y for the `(batch, units)` net inputs `x` into `out`. In `Mode::Train` caches
    /// x, u (and what backward and adapt need).
    pub fn forward_into(&mut self, x: ArrayView2<'_, T>, mode: Mode, out: ArrayViewMut2<'_, T>) {
        let _ = (x, mode, out);
        unimplemented!("contract")
    }
    /// Allocating form of [`IpLayer::forward_into`].
    pub fn forward(&mut self, x: ArrayView2<'_, T>, mode: Mode) -> Array2<T> {
        let mut out = Array2::zeros(x.raw_dim());
        self.forward_into(x, mode, out.view_mut());
        out
    }
    /// ∂L/∂x = ∂L/∂y · θ′ · (γ) · α for the last training forward, written into `grad_x`;
    /// stores ∂L/∂γ, ∂L/∂β when affine.
    pub fn backward_into(&mut self, grad_out: ArrayView2<'_, T>, grad_x: ArrayViewMut2<'_, T>) {
        let _ = (grad_out, grad_x);
        unimplemented!("contract")
    }
    /// Allocating form of [`IpLayer::backward_into`].
    pub fn backward(&mut self, grad_out: ArrayView2<'_, T>) -> Array2<T> {
        let mut g = Array2::zeros(grad_out.raw_dim());
        self.backward_into(grad_out, g.view_mut());
        g
    }
    /// ∂L/∂γ and ∂L/∂β from the last backward (None without affine).
    pub fn affine_grads(&self) -> Option<(ArrayView1<'_, T>, ArrayView1<'_, T>)> {
        unimplemented!("contract")
    }
    /// Applies one intrinsic update with the rule to every unit, from the last training
    /// forward's x and θ(αx + k).
    pub fn adapt(&mut self) {
        unimplemented!("contract")
    }
}
