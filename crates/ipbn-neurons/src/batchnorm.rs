//! Batch normalisation with PyTorch `BatchNorm1d` semantics.
//! CONTRACT (signatures fixed; bodies to be written).

use crate::{Mode, NeuronError};
use ipbn_math::Real;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2};

/// Batch normalisation over the rows (samples) of a `(batch, features)` matrix, with a learned
/// scale γ and shift β per feature. No activation: the network applies θ afterwards.
#[derive(Clone, Debug)]
pub struct BatchNorm<T: Real> {
    /// Scale γ per feature (initially 1).
    pub gamma: Array1<T>,
    /// Shift β per feature (initially 0).
    pub beta: Array1<T>,
    /// Running mean (initially 0).
    pub running_mean: Array1<T>,
    /// Running unbiased variance (initially 1).
    pub running_var: Array1<T>,
    /// Momentum of the running estimates (default 0.1).
    pub momentum: f64,
    /// ε added to the variance (default 1e-5).
    pub eps: f64,
}

impl<T: Real> BatchNorm<T> {
    /// A layer for `features` features with momentum 0.1 and eps 1e-5.
    pub fn new(features: usize) -> Self {
        let _ = features;
        unimplemented!("contract")
    }
    /// Number of features.
    pub fn features(&self) -> usize {
        self.gamma.len()
    }
    /// Normalises `x` into `out` (same shape). In `Mode::Train` uses batch statistics, caches
    /// what `backward_into` needs and updates the running estimates; errors if batch < 2.
    pub fn forward_into(
        &mut self,
        x: ArrayView2<'_, T>,
        mode: Mode,
        out: ArrayViewMut2<'_, T>,
    ) -> Result<(), NeuronError> {
        let _ = (x, mode, out);
        unimplemented!("contract")
    }
    /// Allocating form of [`BatchNorm::forward_into`].
    pub fn forward(&mut self, x: ArrayView2<'_, T>, mode: Mode) -> Result<Array2<T>, NeuronError> {
        let mut out = Array2::zeros(x.raw_dim());
        self.forward_into(x, mode, out.view_mut())?;
        Ok(out)
    }
    /// Back-propagates `grad_out = ∂L/∂out` of the last training forward: writes ∂L/∂x into
    /// `grad_x` and stores ∂L/∂γ, ∂L/∂β (read them with `grad_gamma`/`grad_beta`).
    pub fn backward_into(&mut self, grad_out: ArrayView2<'_, T>, grad_x: ArrayViewMut2<'_, T>) {
        let _ = (grad_out, grad_x);
        unimplemented!("contract")
    }
    /// Allocating form of [`BatchNorm::backward_into`].
    pub fn backward(&mut self, grad_out: ArrayView2<'_, T>) -> Array2<T> {
        let mut g = Array2::zeros(grad_out.raw_dim());
        self.backward_into(grad_out, g.view_mut());
        g
    }
    /// ∂L/∂γ from the last backward.
    pub fn grad_gamma(&self) -> ArrayView1<'_, T> {
        unimplemented!("contract")
    }
    /// ∂L/∂β from the last backward.
    pub fn grad_beta(&self) -> ArrayView1<'_, T> {
        unimplemented!("contract")
    }
    /// The batch gain α_B = 1/√(σ²_B+ε) and bias k_B = −μ_B α_B of the last training forward.
    pub fn batch_gain_bias(&self) -> (ArrayView1<'_, T>, ArrayView1<'_, T>) {
        unimplemented!("contract")
    }
}
