//! The one interface of the normalising layers: [`Layer`], implemented by
//! [`BatchNorm`](crate::BatchNorm) and [`IpLayer`](crate::IpLayer).
//!
//! Both layers map a `(batch, units)` matrix to one of the same shape, cache what their
//! backward pass needs in training mode, and report bad input (a wrong shape, a backward
//! before any training forward, a batch BN cannot normalise) as a [`NeuronError`] rather than
//! a panic. The `*_into` methods write into buffers the caller owns and allocate nothing once
//! the layer's caches have grown to the batch size, so a training step calls them every
//! step; the layers' inherent `forward`/`backward` are the allocating conveniences.
//!
//! ```
//! use ipbn_neurons::{BatchNorm, Layer, Mode};
//! use ndarray::{array, Array2};
//!
//! let mut bn = BatchNorm::<f64>::new(1);
//! let x = array![[1.0], [3.0]];
//! let mut y = Array2::zeros((2, 1));
//! bn.forward_into(x.view(), Mode::Train, y.view_mut())?;
//! assert!((y[[0, 0]] + 1.0).abs() < 1e-5 && (y[[1, 0]] - 1.0).abs() < 1e-5);
//! let mut dx = Array2::zeros((2, 1));
//! bn.backward_into(array![[1.0], [1.0]].view(), dx.view_mut())?;
//! assert!(dx.iter().all(|v| v.abs() < 1e-12)); // a constant gradient is normalised away
//! # Ok::<(), ipbn_neurons::NeuronError>(())
//! ```

use crate::{Mode, NeuronError};
use ipbn_math::Real;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// A layer of units applied row by row to a `(batch, units)` matrix, with a backward pass.
///
/// Every method returns a [`NeuronError`] on bad input and changes nothing when it does.
pub trait Layer<T: Real> {
    /// Computes the output for the rows of `x` into `out` (the same shape as `x`). In
    /// [`Mode::Train`] the layer also caches what [`Layer::backward_into`] needs.
    ///
    /// # Errors
    /// [`NeuronError::Shape`] if `x` does not have one column per unit or `out` differs from
    /// `x` in shape, plus each layer's own conditions (see the implementations).
    fn forward_into(
        &mut self,
        x: ArrayView2<'_, T>,
        mode: Mode,
        out: ArrayViewMut2<'_, T>,
    ) -> Result<(), NeuronError>;

    /// Back-propagates `grad_out = ∂L/∂out` of the last training forward: writes ∂L/∂x into
    /// `grad_x` and keeps the gradients of the layer's learned parameters for the caller to
    /// read.
    ///
    /// # Errors
    /// [`NeuronError::Shape`] if no training forward has run or `grad_out` or `grad_x` does
    /// not have the shape of that forward's input.
    fn backward_into(
        &mut self,
        grad_out: ArrayView2<'_, T>,
        grad_x: ArrayViewMut2<'_, T>,
    ) -> Result<(), NeuronError>;
}

/// Allocating [`Layer::forward_into`]: the output in a new matrix.
pub(crate) fn forward_new<T: Real, L: Layer<T>>(
    layer: &mut L,
    x: ArrayView2<'_, T>,
    mode: Mode,
) -> Result<Array2<T>, NeuronError> {
    let mut out = Array2::zeros(x.raw_dim());
    layer.forward_into(x, mode, out.view_mut())?;
    Ok(out)
}

/// Allocating [`Layer::backward_into`]: ∂L/∂x in a new matrix.
pub(crate) fn backward_new<T: Real, L: Layer<T>>(
    layer: &mut L,
    grad_out: ArrayView2<'_, T>,
) -> Result<Array2<T>, NeuronError> {
    let mut g = Array2::zeros(grad_out.raw_dim());
    layer.backward_into(grad_out, g.view_mut())?;
    Ok(g)
}

/// How a layer names itself and its units in shape errors.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Names {
    /// The layer, e.g. `batch norm`.
    pub layer: &'static str,
    /// One unit, e.g. `feature`.
    pub unit: &'static str,
    /// The parameter vector whose length defines the number of units, e.g. `gamma`.
    pub lead: &'static str,
}

impl Names {
    /// Checks that every `(name, len)` parameter vector has one entry per unit.
    pub fn check_params(&self, n: usize, params: &[(&str, usize)]) -> Result<(), NeuronError> {
        let Names { layer, unit, lead } = *self;
        for &(name, len) in params {
            if len != n {
                return Err(NeuronError::Shape(format!(
                    "{layer} has {n} {unit}s ({lead}) but `{name}` has {len} entries; give \
                     every parameter vector one entry per {unit}"
                )));
            }
        }
        Ok(())
    }

    /// Checks that the input `x` has one column per unit and `out` has the shape of `x`.
    pub fn check_io(
        &self,
        n: usize,
        x: (usize, usize),
        out: (usize, usize),
    ) -> Result<(), NeuronError> {
        let Names { layer, unit, .. } = *self;
        if x.1 != n {
            return Err(NeuronError::Shape(format!(
                "{layer} has {n} {unit}s but the input has {} columns; pass a (batch, {n}) matrix",
                x.1
            )));
        }
        if out != x {
            return Err(NeuronError::Shape(format!(
                "output buffer is {out:?} but the input is {x:?}; give both the same shape"
            )));
        }
        Ok(())
    }

    /// Checks a backward call against the last training forward, whose input was `want`
    /// (`rows` = 0: no training forward yet).
    pub fn check_backward(
        &self,
        want: (usize, usize),
        grad_out: (usize, usize),
        grad_x: (usize, usize),
    ) -> Result<(), NeuronError> {
        let layer = self.layer;
        if want.0 == 0 {
            return Err(NeuronError::Shape(format!(
                "{layer} backward called before any training forward; run forward in \
                 Mode::Train first"
            )));
        }
        if grad_out != want || grad_x != want {
            return Err(NeuronError::Shape(format!(
                "{layer} backward got grad_out {grad_out:?} and grad_x {grad_x:?}, but the last \
                 training forward had input {want:?}; pass gradients of that forward's output"
            )));
        }
        Ok(())
    }
}

/// Runs `f` on `out` as one row-major slice: in place when `out` is in standard layout (the
/// usual case, no copy), otherwise through a temporary that is copied back.
pub(crate) fn with_contiguous_mut<T: Real>(
    mut out: ArrayViewMut2<'_, T>,
    f: impl FnOnce(&mut [T]),
) {
    if let Some(s) = out.as_slice_mut() {
        f(s);
        return;
    }
    let mut tmp = Array2::zeros(out.raw_dim());
    f(tmp.as_slice_mut().expect("a new array is contiguous"));
    out.assign(&tmp);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchNorm, IpLayer, IpLayerConfig};
    use ipbn_math::Activation;
    use ndarray::array;
    use std::sync::Arc;

    /// A forward and backward through any layer, as generic code sees it.
    fn round_trip(layer: &mut dyn Layer<f64>, x: &Array2<f64>) -> Result<Array2<f64>, NeuronError> {
        let mut y = Array2::zeros(x.raw_dim());
        layer.forward_into(x.view(), Mode::Train, y.view_mut())?;
        let mut dx = Array2::zeros(x.raw_dim());
        layer.backward_into(y.view(), dx.view_mut())?;
        Ok(dx)
    }

    fn layers() -> Vec<Box<dyn Layer<f64>>> {
        let rule = Arc::new(crate::rules::InfomaxTanh);
        let ip = IpLayer::new(2, Activation::Tanh, rule, IpLayerConfig::default()).unwrap();
        vec![Box::new(BatchNorm::new(2)), Box::new(ip)]
    }

    #[test]
    fn both_layers_run_behind_the_trait() {
        let x = array![[1.0, -2.0], [3.0, 0.5], [-1.0, 2.0]];
        for mut l in layers() {
            let dx = round_trip(l.as_mut(), &x).unwrap();
            assert_eq!(dx.dim(), (3, 2));
            assert!(dx.iter().all(|v| v.is_finite()));
        }
        // BN with L = ½‖y‖² and γ = 1: ∂L/∂x = α_B (y − mean(y) − x̂ mean(y x̂)) = α_B (x̂ − x̂ ·
        // (1 − ε α_B²)) = ε α_B³ x̂, tiny but of x̂'s sign.
        let mut bn = BatchNorm::<f64>::new(2);
        let dx = round_trip(&mut bn, &x).unwrap();
        let xhat = bn.normalized().to_owned();
        let (alpha, _) = bn.batch_gain_bias();
        for ((i, j), &d) in dx.indexed_iter() {
            let want = bn.eps * alpha[j].powi(3) * xhat[[i, j]];
            assert!(
                (d - want).abs() <= 1e-12 * (1.0 + want.abs()),
                "{d} vs {want}"
            );
        }
    }

    #[test]
    fn bad_shapes_are_typed_errors_and_change_nothing() {
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        for mut l in layers() {
            let mut dx = Array2::zeros((2, 2));
            let before = l.backward_into(x.view(), dx.view_mut()).unwrap_err();
            assert!(
                before.to_string().contains("before any training forward"),
                "{before}"
            );
            let mut wide = Array2::zeros((2, 3));
            let e = l
                .forward_into(Array2::zeros((2, 3)).view(), Mode::Train, wide.view_mut())
                .unwrap_err();
            assert!(e.to_string().contains("pass a (batch, 2) matrix"), "{e}");
            let mut short = Array2::zeros((1, 2));
            let e = l
                .forward_into(x.view(), Mode::Eval, short.view_mut())
                .unwrap_err();
            assert!(matches!(e, NeuronError::Shape(_)), "{e}");
            // Still no training forward: the failed calls cached nothing.
            assert_eq!(l.backward_into(x.view(), dx.view_mut()), Err(before));
            assert!(dx.iter().all(|&v| v == 0.0));
        }
    }
}
