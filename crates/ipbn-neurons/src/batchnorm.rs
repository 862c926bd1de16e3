//! Batch normalisation with PyTorch `BatchNorm1d` semantics.
//!
//! # Which variance goes where
//!
//! * **Training** normalises each feature with the batch mean μ_B and the **biased** batch
//!   variance σ²_B = Σ(x − μ_B)²/m: `x̂ = (x − μ_B)/√(σ²_B + ε)`, output `γ x̂ + β`.
//! * The **running variance** is updated with the **unbiased** batch variance
//!   Σ(x − μ_B)²/(m − 1): `running_var ← (1 − momentum) running_var + momentum · var_unbiased`,
//!   and `running_mean ← (1 − momentum) running_mean + momentum · μ_B` (PyTorch's convention,
//!   momentum 0.1 by default).
//! * **Inference** uses the running estimates: `γ (x − running_mean)/√(running_var + ε) + β`
//!   (Ioffe & Szegedy 2015, Algorithm 2), an affine map of x.
//!
//! A training batch of one sample per feature is rejected with
//! [`NeuronError::BatchTooSmall`], as PyTorch does.
//!
//! # Numerics
//!
//! Batch statistics are accumulated in `f64` (also for `f32` layers) in a fixed order, row by
//! row so that the `(batch, features)` row-major input is read contiguously, and in two passes
//! (mean first, then the sum of squared deviations), so inputs with a large common offset keep
//! their variance. Every element is normalised in `f64` and rounded to `T` once. The buffers
//! the layer caches for the backward pass are allocated on the first training call and reused
//! afterwards (they are reallocated only when the batch size grows). Arrays in standard
//! (row-major, contiguous) layout are read and written in place; any other layout is copied
//! once per call.
//!
//! In the IP view (models.md §1) training-mode BN is `γ(α_B x + k_B) + β` with
//! `α_B = 1/√(σ²_B + ε)` and `k_B = −μ_B α_B`; [`BatchNorm::batch_gain_bias`] returns them.

use crate::layer::{self, with_contiguous_mut, Layer, Names};
use crate::{Mode, NeuronError};
use ipbn_math::Real;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2};

/// How batch normalisation names itself in shape errors.
const NAMES: Names = Names {
    layer: "batch norm",
    unit: "feature",
    lead: "gamma",
};

/// Batch normalisation over the rows (samples) of a `(batch, features)` matrix, with a learned
/// scale γ and shift β per feature. No activation: the network applies θ afterwards.
///
/// See the [module documentation](self) for which variance is used where.
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
    cache: Cache<T>,
}

/// What the last training forward leaves for the backward pass, plus reusable scratch.
#[derive(Clone, Debug)]
struct Cache<T: Real> {
    /// Rows of the last training forward (0: none yet).
    rows: usize,
    /// Normalised input x̂, `rows × features`, row-major.
    xhat: Vec<T>,
    /// 1/√(σ²_B + ε) per feature, in f64.
    inv_std: Vec<f64>,
    /// γ · 1/√(σ²_B + ε) per feature at the time of the forward pass.
    coef: Vec<f64>,
    /// Scratch sums per feature.
    s1: Vec<f64>,
    /// Scratch sums per feature.
    s2: Vec<f64>,
    /// γ per feature in f64, at the time of the forward pass.
    g64: Vec<f64>,
    /// β per feature in f64, at the time of the forward pass.
    b64: Vec<f64>,
    /// α_B as `T`.
    alpha_b: Array1<T>,
    /// k_B as `T`.
    k_b: Array1<T>,
    /// ∂L/∂γ of the last backward.
    grad_gamma: Array1<T>,
    /// ∂L/∂β of the last backward.
    grad_beta: Array1<T>,
}

impl<T: Real> Cache<T> {
    fn new(features: usize) -> Self {
        Cache {
            rows: 0,
            xhat: Vec::new(),
            inv_std: vec![0.0; features],
            coef: vec![0.0; features],
            s1: vec![0.0; features],
            s2: vec![0.0; features],
            g64: vec![0.0; features],
            b64: vec![0.0; features],
            alpha_b: Array1::zeros(features),
            k_b: Array1::zeros(features),
            grad_gamma: Array1::zeros(features),
            grad_beta: Array1::zeros(features),
        }
    }

    /// Resizes the per-feature buffers (no allocation when the size is unchanged).
    fn fit(&mut self, features: usize) {
        if self.inv_std.len() != features {
            // The layer was resized: the cached forward no longer matches it.
            self.rows = 0;
        }
        for v in [
            &mut self.inv_std,
            &mut self.coef,
            &mut self.s1,
            &mut self.s2,
            &mut self.g64,
            &mut self.b64,
        ] {
            v.resize(features, 0.0);
        }
        for a in [
            &mut self.alpha_b,
            &mut self.k_b,
            &mut self.grad_gamma,
            &mut self.grad_beta,
        ] {
            if a.len() != features {
                *a = Array1::zeros(features);
            }
        }
    }
}

fn out_of_range(param: &str, value: f64, range: &str) -> NeuronError {
    NeuronError::ParamOutOfRange {
        rule: String::from("batchnorm"),
        param: param.to_string(),
        value,
        range: range.to_string(),
    }
}

fn check_momentum(momentum: f64) -> Result<(), NeuronError> {
    if (0.0..=1.0).contains(&momentum) {
        Ok(())
    } else {
        Err(out_of_range("momentum", momentum, "[0, 1], default 0.1"))
    }
}

fn check_eps(eps: f64) -> Result<(), NeuronError> {
    if eps.is_finite() && eps >= 0.0 {
        Ok(())
    } else {
        Err(out_of_range("eps", eps, "[0, inf), default 1e-5"))
    }
}

/// `1/√(var + eps)`, or 0 when `var + eps` is 0 (a constant feature with `eps = 0`, whose
/// centred values are all 0: the normalised output is then 0 instead of 0/0).
#[inline]
fn inv_sqrt(var_eps: f64) -> f64 {
    if var_eps > 0.0 {
        1.0 / var_eps.sqrt()
    } else {
        0.0
    }
}

ipbn_math::multiversion! {
    /// Per column `j` of the row-major `xs` (`mean.len()` columns): the mean into `mean[j]`,
    /// then Σ (x − mean)² into `ss[j]`, each summed in `f64` in row order.
    fn batch_moments<T: Real>(xs: &[T], mean: &mut [f64], ss: &mut [f64]) {
        let w = mean.len();
        mean.fill(0.0);
        ss.fill(0.0);
        if w == 0 {
            return;
        }
        for row in xs.chunks_exact(w) {
            for (s, &v) in mean.iter_mut().zip(row) {
                *s += v.to_f64_exact();
            }
        }
        let m = (xs.len() / w) as f64;
        for s in mean.iter_mut() {
            *s /= m;
        }
        for row in xs.chunks_exact(w) {
            for ((s, &mu), &v) in ss.iter_mut().zip(mean.iter()).zip(row) {
                let d = v.to_f64_exact() - mu;
                *s += d * d;
            }
        }
    }
}

ipbn_math::multiversion! {
    /// Training normalisation: `x̂ = (x − mean)·inv` (rounded once, into `xhat`) and
    /// `out = γ x̂ + β`, computed in `f64` and rounded once.
    fn normalise_rows<T: Real>(
        xs: &[T],
        os: &mut [T],
        xhat: &mut [T],
        mean: &[f64],
        inv: &[f64],
        g64: &[f64],
        b64: &[f64]
    ) {
        let w = mean.len();
        if w == 0 {
            return;
        }
        for ((row, orow), hrow) in xs
            .chunks_exact(w)
            .zip(os.chunks_exact_mut(w))
            .zip(xhat.chunks_exact_mut(w))
        {
            for ((((((o, h), &v), &mu), &inv), &g), &b) in orow
                .iter_mut()
                .zip(hrow.iter_mut())
                .zip(row)
                .zip(mean)
                .zip(inv)
                .zip(g64)
                .zip(b64)
            {
                let z = (v.to_f64_exact() - mu) * inv;
                *h = T::c(z);
                *o = T::c(g * z + b);
            }
        }
    }
}

ipbn_math::multiversion! {
    /// Inference: `out = γ ((x − mean)·inv) + β`, in `f64`, rounded once.
    fn affine_rows<T: Real>(
        xs: &[T],
        os: &mut [T],
        mean: &[f64],
        inv: &[f64],
        g64: &[f64],
        b64: &[f64]
    ) {
        let w = mean.len();
        if w == 0 {
            return;
        }
        for (row, orow) in xs.chunks_exact(w).zip(os.chunks_exact_mut(w)) {
            for (((((o, &v), &mu), &inv), &g), &b) in orow
                .iter_mut()
                .zip(row)
                .zip(mean)
                .zip(inv)
                .zip(g64)
                .zip(b64)
            {
                *o = T::c(g * ((v.to_f64_exact() - mu) * inv) + b);
            }
        }
    }
}

ipbn_math::multiversion! {
    /// Per column: `sg = Σ g` and `sgx = Σ g x̂`, in `f64` and row order.
    fn grad_sums<T: Real>(gs: &[T], xhat: &[T], sg: &mut [f64], sgx: &mut [f64]) {
        let w = sg.len();
        sg.fill(0.0);
        sgx.fill(0.0);
        if w == 0 {
            return;
        }
        for (grow, hrow) in gs.chunks_exact(w).zip(xhat.chunks_exact(w)) {
            for (((sg, sgx), &g), &h) in sg.iter_mut().zip(sgx.iter_mut()).zip(grow).zip(hrow) {
                let g = g.to_f64_exact();
                *sg += g;
                *sgx += g * h.to_f64_exact();
            }
        }
    }
}

ipbn_math::multiversion! {
    /// `dx = coef · (g − mean(g) − x̂ · mean(g x̂))`, in `f64`, rounded once.
    fn grad_input_rows<T: Real>(
        gs: &[T],
        xhat: &[T],
        dxs: &mut [T],
        mg: &[f64],
        mgx: &[f64],
        coef: &[f64]
    ) {
        let w = mg.len();
        if w == 0 {
            return;
        }
        for ((grow, dxrow), hrow) in gs
            .chunks_exact(w)
            .zip(dxs.chunks_exact_mut(w))
            .zip(xhat.chunks_exact(w))
        {
            for (((((dx, &g), &h), &mg), &mgx), &coef) in dxrow
                .iter_mut()
                .zip(grow)
                .zip(hrow)
                .zip(mg)
                .zip(mgx)
                .zip(coef)
            {
                *dx = T::c(coef * (g.to_f64_exact() - mg - h.to_f64_exact() * mgx));
            }
        }
    }
}

impl<T: Real> BatchNorm<T> {
    /// A layer for `features` features with momentum 0.1 and eps 1e-5.
    pub fn new(features: usize) -> Self {
        BatchNorm {
            gamma: Array1::ones(features),
            beta: Array1::zeros(features),
            running_mean: Array1::zeros(features),
            running_var: Array1::ones(features),
            momentum: 0.1,
            eps: 1e-5,
            cache: Cache::new(features),
        }
    }

    /// A layer with a chosen `momentum` (in [0, 1]) and `eps` (finite, ≥ 0).
    ///
    /// `eps = 0` gives the exactly scale-invariant normalisation used by the `bn-invariance`
    /// claim; a feature that is constant over a batch is then mapped to 0.
    pub fn with_options(features: usize, momentum: f64, eps: f64) -> Result<Self, NeuronError> {
        check_momentum(momentum)?;
        check_eps(eps)?;
        let mut bn = Self::new(features);
        bn.momentum = momentum;
        bn.eps = eps;
        Ok(bn)
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.gamma.len()
    }

    /// Checks that the parameter vectors, `x` and `out` agree in size.
    fn check_shapes(&self, x: (usize, usize), out: (usize, usize)) -> Result<(), NeuronError> {
        let n = self.features();
        NAMES.check_params(
            n,
            &[
                ("beta", self.beta.len()),
                ("running_mean", self.running_mean.len()),
                ("running_var", self.running_var.len()),
            ],
        )?;
        NAMES.check_io(n, x, out)
    }

    fn forward_train(
        &mut self,
        x: ArrayView2<'_, T>,
        out: ArrayViewMut2<'_, T>,
    ) -> Result<(), NeuronError> {
        let (m, n) = x.dim();
        if m < 2 {
            return Err(NeuronError::BatchTooSmall(m));
        }
        let xc = x.as_standard_layout();
        let xs = xc.as_slice().expect("standard layout is contiguous");
        let c = &mut self.cache;
        c.fit(n);
        // Column means, then sums of squared deviations, row by row (contiguous reads).
        batch_moments(xs, &mut c.s1, &mut c.s2);
        let mf = m as f64;
        let (eps, mom) = (self.eps, self.momentum);
        for j in 0..n {
            let mean = c.s1[j];
            let ss = c.s2[j];
            let inv = inv_sqrt(ss / mf + eps);
            let g = self.gamma[j].to_f64_exact();
            c.inv_std[j] = inv;
            c.coef[j] = g * inv;
            c.g64[j] = g;
            c.b64[j] = self.beta[j].to_f64_exact();
            c.alpha_b[j] = T::c(inv);
            c.k_b[j] = T::c(-mean * inv);
            let rm = self.running_mean[j].to_f64_exact();
            let rv = self.running_var[j].to_f64_exact();
            self.running_mean[j] = T::c((1.0 - mom) * rm + mom * mean);
            self.running_var[j] = T::c((1.0 - mom) * rv + mom * ss / (mf - 1.0));
        }
        // Normalise, cache x̂ and write γ x̂ + β.
        c.xhat.resize(m * n, T::zero());
        c.rows = m;
        let (mean, inv, g64, b64) = (&c.s1, &c.inv_std, &c.g64, &c.b64);
        let xhat = &mut c.xhat;
        with_contiguous_mut(out, |os| normalise_rows(xs, os, xhat, mean, inv, g64, b64));
        Ok(())
    }

    fn forward_eval(
        &mut self,
        x: ArrayView2<'_, T>,
        out: ArrayViewMut2<'_, T>,
    ) -> Result<(), NeuronError> {
        let n = x.ncols();
        let c = &mut self.cache;
        c.fit(n);
        for j in 0..n {
            let rv = self.running_var[j].to_f64_exact() + self.eps;
            if rv.is_nan() || rv < 0.0 {
                return Err(out_of_range(
                    "running_var",
                    self.running_var[j].to_f64_exact(),
                    "running_var + eps >= 0 (a variance)",
                ));
            }
            c.s2[j] = inv_sqrt(rv);
            c.s1[j] = self.running_mean[j].to_f64_exact();
            c.g64[j] = self.gamma[j].to_f64_exact();
            c.b64[j] = self.beta[j].to_f64_exact();
        }
        let xc = x.as_standard_layout();
        let xs = xc.as_slice().expect("standard layout is contiguous");
        let (mean, inv, g64, b64) = (&c.s1, &c.s2, &c.g64, &c.b64);
        with_contiguous_mut(out, |os| affine_rows(xs, os, mean, inv, g64, b64));
        Ok(())
    }

    /// Allocating form of [`Layer::forward_into`]: the output in a new matrix.
    pub fn forward(&mut self, x: ArrayView2<'_, T>, mode: Mode) -> Result<Array2<T>, NeuronError> {
        layer::forward_new(self, x, mode)
    }

    /// Allocating form of [`Layer::backward_into`]: ∂L/∂x in a new matrix.
    pub fn backward(&mut self, grad_out: ArrayView2<'_, T>) -> Result<Array2<T>, NeuronError> {
        layer::backward_new(self, grad_out)
    }

    /// ∂L/∂γ from the last backward (zeros before the first backward).
    pub fn grad_gamma(&self) -> ArrayView1<'_, T> {
        self.cache.grad_gamma.view()
    }

    /// ∂L/∂β from the last backward (zeros before the first backward).
    pub fn grad_beta(&self) -> ArrayView1<'_, T> {
        self.cache.grad_beta.view()
    }

    /// The batch gain α_B = 1/√(σ²_B+ε) and bias k_B = −μ_B α_B of the last training forward
    /// (zeros before the first training forward).
    pub fn batch_gain_bias(&self) -> (ArrayView1<'_, T>, ArrayView1<'_, T>) {
        (self.cache.alpha_b.view(), self.cache.k_b.view())
    }

    /// The normalised input x̂ of the last training forward, `(batch, features)`; empty before
    /// the first training forward.
    pub fn normalized(&self) -> ArrayView2<'_, T> {
        let c = &self.cache;
        let n = c.inv_std.len();
        ArrayView2::from_shape((c.rows, n), &c.xhat[..c.rows * n])
            .expect("cache holds rows × features values")
    }
}

impl<T: Real> Layer<T> for BatchNorm<T> {
    /// Normalises `x` into `out` (same shape). In `Mode::Train` uses batch statistics, caches
    /// what `backward_into` needs and updates the running estimates; errors if batch < 2.
    ///
    /// Errors: [`NeuronError::BatchTooSmall`] for fewer than 2 rows in training mode,
    /// [`NeuronError::Shape`] if `x` does not have one column per feature or `out` differs
    /// from `x` in shape, [`NeuronError::ParamOutOfRange`] for a momentum outside [0, 1], a
    /// negative or non-finite eps, or (inference) a running variance with
    /// `running_var + eps < 0`. Nothing is changed when an error is returned.
    fn forward_into(
        &mut self,
        x: ArrayView2<'_, T>,
        mode: Mode,
        out: ArrayViewMut2<'_, T>,
    ) -> Result<(), NeuronError> {
        self.check_shapes(x.dim(), out.dim())?;
        check_eps(self.eps)?;
        match mode {
            Mode::Train => {
                check_momentum(self.momentum)?;
                self.forward_train(x, out)
            }
            Mode::Eval => self.forward_eval(x, out),
        }
    }

    /// Back-propagates `grad_out = ∂L/∂out` of the last training forward: writes ∂L/∂x into
    /// `grad_x` and stores ∂L/∂γ, ∂L/∂β (read them with `grad_gamma`/`grad_beta`).
    ///
    /// Uses Ioffe & Szegedy's formulas with the γ of the forward pass:
    /// `∂L/∂γ = Σ g x̂`, `∂L/∂β = Σ g`,
    /// `∂L/∂x_i = γ/(m √(σ²_B + ε)) (m g_i − Σ g − x̂_i Σ g x̂)`.
    ///
    /// Errors with [`NeuronError::Shape`] if no training forward has run yet or if `grad_out`
    /// or `grad_x` does not have the shape of that forward's input. Nothing is changed when an
    /// error is returned.
    fn backward_into(
        &mut self,
        grad_out: ArrayView2<'_, T>,
        grad_x: ArrayViewMut2<'_, T>,
    ) -> Result<(), NeuronError> {
        let c = &mut self.cache;
        let n = c.inv_std.len();
        NAMES.check_backward((c.rows, n), grad_out.dim(), grad_x.dim())?;
        let m = c.rows as f64;
        let gc = grad_out.as_standard_layout();
        let gs = gc.as_slice().expect("standard layout is contiguous");
        // Σ g and Σ g x̂ per feature, row by row.
        grad_sums(gs, &c.xhat, &mut c.s1, &mut c.s2);
        for j in 0..n {
            c.grad_beta[j] = T::c(c.s1[j]);
            c.grad_gamma[j] = T::c(c.s2[j]);
            c.s1[j] /= m;
            c.s2[j] /= m;
        }
        // ∂L/∂x_i = γ/√(σ²+ε) · (g_i − mean(g) − x̂_i mean(g x̂)).
        let (mg, mgx, coef, xhat) = (&c.s1, &c.s2, &c.coef, &c.xhat);
        with_contiguous_mut(grad_x, |dxs| grad_input_rows(gs, xhat, dxs, mg, mgx, coef));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn cache_buffers_are_reused() {
        let mut bn = BatchNorm::<f32>::new(5);
        let x = Array2::from_shape_fn((8, 5), |(i, j)| (i * 5 + j) as f32 * 0.1);
        let mut out = Array2::zeros((8, 5));
        let mut gx = Array2::zeros((8, 5));
        bn.forward_into(x.view(), Mode::Train, out.view_mut())
            .unwrap();
        bn.backward_into(out.view(), gx.view_mut()).unwrap();
        let ptrs = (
            bn.cache.xhat.as_ptr(),
            bn.cache.s1.as_ptr(),
            bn.cache.inv_std.as_ptr(),
            bn.cache.grad_gamma.as_ptr(),
        );
        for _ in 0..3 {
            bn.forward_into(x.view(), Mode::Train, out.view_mut())
                .unwrap();
            bn.backward_into(out.view(), gx.view_mut()).unwrap();
            bn.forward_into(x.view(), Mode::Eval, out.view_mut())
                .unwrap();
        }
        // A smaller batch fits in the same buffers too.
        bn.forward(x.slice(ndarray::s![..3, ..]), Mode::Train)
            .unwrap();
        assert_eq!(bn.normalized().dim(), (3, 5));
        let after = (
            bn.cache.xhat.as_ptr(),
            bn.cache.s1.as_ptr(),
            bn.cache.inv_std.as_ptr(),
            bn.cache.grad_gamma.as_ptr(),
        );
        assert_eq!(ptrs, after);
    }

    #[test]
    fn resizing_the_layer_drops_the_cache() {
        let mut bn = BatchNorm::<f64>::new(2);
        bn.forward(Array2::from_elem((3, 2), 1.0).view(), Mode::Train)
            .unwrap();
        bn.gamma = Array1::ones(3);
        bn.beta = Array1::zeros(3);
        bn.running_mean = Array1::zeros(3);
        bn.running_var = Array1::ones(3);
        bn.forward(Array2::zeros((1, 3)).view(), Mode::Eval)
            .unwrap();
        let mut g = Array2::zeros((3, 3));
        assert!(bn
            .backward_into(Array2::zeros((3, 3)).view(), g.view_mut())
            .is_err());
        assert_eq!(bn.normalized().dim(), (0, 3));
    }
}
