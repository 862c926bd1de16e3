//! A layer of intrinsic-plasticity units.
//!
//! Each unit j has its own gain α_j and bias k_j and computes `u = α x + k` from its net input
//! x. Without `affine` the output is `y = θ(u)`; with `affine` a learned scale and shift follow,
//! `v = γ u + β`, `y = θ(v)` (models.md §1, "IP + error-driven"). α and k change only through
//! the IP rule ([`IpLayer::adapt`]); γ and β learn by backprop ([`Layer::backward_into`]
//! stores their gradients, [`IpLayer::affine_grads`] returns them, the caller's optimiser
//! applies them).
//!
//! # Keeping α positive
//!
//! A gain must stay positive (every KL rule has a `1/α` term and `log α` in its objective).
//! If a step would make α zero or negative, α is divided by 10 instead (never going below
//! [`MIN_ALPHA`]); if the rule's direction or the resulting change is not finite, that unit's
//! α and k are left unchanged for this step. So α and k never become NaN or infinite.

use crate::layer::{self, with_contiguous_mut, Layer, Names};
use crate::{IpRule, Mode, NeuronError, StepKind, StepState};
use ipbn_math::kernels;
use ipbn_math::{Activation, Real};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2};
use std::sync::Arc;

/// How the IP layer names itself in shape errors.
const NAMES: Names = Names {
    layer: "IP layer",
    unit: "unit",
    lead: "alpha",
};

/// The smallest gain [`IpLayer::adapt`] leaves after a step that would have made α ≤ 0.
pub const MIN_ALPHA: f64 = 1e-30;

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

impl Default for IpLayerConfig {
    /// η = 0.001, plain SGD, no affine step, α₀ = 1, k₀ = 0.
    fn default() -> Self {
        IpLayerConfig {
            eta: 1e-3,
            step: StepKind::Sgd,
            affine: false,
            alpha0: 1.0,
            k0: 0.0,
        }
    }
}

impl IpLayerConfig {
    /// Checks the settings: η finite and ≥ 0, α₀ finite and > 0, k₀ finite, valid Adam
    /// settings.
    pub fn check(&self) -> Result<(), NeuronError> {
        let bad = |param: &str, value: f64, range: &str| NeuronError::ParamOutOfRange {
            rule: String::from("ip-layer"),
            param: param.to_string(),
            value,
            range: range.to_string(),
        };
        if !(self.eta.is_finite() && self.eta >= 0.0) {
            return Err(bad("eta", self.eta, "[0, inf), e.g. 0.001"));
        }
        if !(self.alpha0.is_finite() && self.alpha0 > 0.0) {
            return Err(bad("alpha0", self.alpha0, "(0, inf), default 1"));
        }
        if !self.k0.is_finite() {
            return Err(bad("k0", self.k0, "any finite number, default 0"));
        }
        self.step.check()
    }
}

/// What the last training forward leaves for backward and adapt, plus reusable scratch.
#[derive(Clone, Debug)]
struct Cache<T: Real> {
    /// Rows of the last training forward (0: none).
    rows: usize,
    /// Units at the time of that forward.
    units: usize,
    /// Whether that forward had the affine step.
    affine: bool,
    /// Net input x, `rows × units`, row-major.
    x: Vec<T>,
    /// u = αx + k (kept only with affine, for ∂L/∂γ).
    u: Vec<T>,
    /// θ′(v) (θ′(u) without affine).
    dact: Vec<T>,
    /// θ(αx + k) (the output without affine), for `adapt`.
    y: Vec<T>,
    /// α per unit as used by the last forward (training or inference).
    pa: Vec<T>,
    /// k per unit as used by the last forward.
    pk: Vec<T>,
    /// γ per unit as used by the last forward (affine only).
    pg: Vec<T>,
    /// β per unit as used by the last forward (affine only).
    pb: Vec<T>,
    /// α and k per unit at the last training forward, to tell whether `y` is still θ(αx + k).
    ak: Vec<(T, T)>,
    /// γα per unit at the time of the forward (α without affine).
    scale: Vec<T>,
    /// ∂L/∂γ of the last backward (affine only).
    grad_gamma: Array1<T>,
    /// ∂L/∂β of the last backward (affine only).
    grad_beta: Array1<T>,
    /// Scratch sums per unit.
    s1: Vec<f64>,
    /// Scratch sums per unit.
    s2: Vec<f64>,
    /// x over the batch in f64, `rows × units`, for the rule.
    xf: Vec<f64>,
    /// θ(αx + k) over the batch in f64, `rows × units`, for the rule.
    yf: Vec<f64>,
    /// α per unit in f64, for the rule.
    af: Vec<f64>,
    /// k per unit in f64, for the rule.
    kf: Vec<f64>,
    /// Whether unit j's cached output is still θ(αx + k) at the current α, k.
    fresh: Vec<bool>,
    /// The rule's direction per unit.
    dirs: Vec<crate::Delta>,
}

/// A layer of IP units `y = θ(α x + k)` (or `θ(γ(α x + k) + β)` with `affine`), one (α, k) per
/// unit, adapted only by the rule; γ, β (if any) learn by backprop.
///
/// The rule always sees the unit's net input x and the IP part's output θ(αx + k), just as BN's
/// α_B, k_B depend on x alone and not on γ, β.
///
/// See the [module documentation](self) for how α is kept positive.
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
    activation: Activation,
    rule: Arc<dyn IpRule>,
    config: IpLayerConfig,
    step: StepState,
    cache: Cache<T>,
}

ipbn_math::multiversion! {
    /// Inference rows: `out = θ(αx + k)`, or `θ(γ(αx + k) + β)` when `g` (γ) is not empty.
    fn eval_rows<T: Real>(
        act: Activation,
        xs: &[T],
        os: &mut [T],
        pa: &[T],
        pk: &[T],
        pg: &[T],
        pb: &[T]
    ) {
        let w = pa.len();
        if w == 0 {
            return;
        }
        for (row, orow) in xs.chunks_exact(w).zip(os.chunks_exact_mut(w)) {
            if pg.is_empty() {
                for (((o, &v), &a), &k) in orow.iter_mut().zip(row).zip(pa).zip(pk) {
                    *o = a * v + k;
                }
            } else {
                for (((((o, &v), &a), &k), &g), &b) in
                    orow.iter_mut().zip(row).zip(pa).zip(pk).zip(pg).zip(pb)
                {
                    *o = g * (a * v + k) + b;
                }
            }
            kernels::activate_in_place(act, orow);
        }
    }
}

ipbn_math::multiversion! {
    /// Training rows: `out = θ(v)` and `dact = θ′(v)` with `v = αx + k`, or with `g` (γ) not
    /// empty `u = αx + k` (kept in `u_cache`) and `v = γu + β`; `y_cache = θ(αx + k)` in both
    /// cases (what `adapt` hands the rule), each row finished while it is in cache.
    fn train_rows<T: Real>(
        act: Activation,
        xs: &[T],
        os: &mut [T],
        pa: &[T],
        pk: &[T],
        pg: &[T],
        pb: &[T],
        dact: &mut [T],
        u_cache: &mut [T],
        y_cache: &mut [T]
    ) {
        let w = pa.len();
        if w == 0 {
            return;
        }
        let rows = xs
            .chunks_exact(w)
            .zip(os.chunks_exact_mut(w))
            .zip(dact.chunks_exact_mut(w))
            .zip(y_cache.chunks_exact_mut(w));
        if pg.is_empty() {
            for (((row, orow), drow), yrow) in rows {
                for (((o, &v), &a), &k) in orow.iter_mut().zip(row).zip(pa).zip(pk) {
                    *o = a * v + k;
                }
                kernels::activate_with_slope_in_place(act, orow, drow);
                yrow.copy_from_slice(orow);
            }
        } else {
            for ((((row, orow), drow), yrow), urow) in rows.zip(u_cache.chunks_exact_mut(w)) {
                for ((((((o, uu), &v), &a), &k), &g), &b) in orow
                    .iter_mut()
                    .zip(urow.iter_mut())
                    .zip(row)
                    .zip(pa)
                    .zip(pk)
                    .zip(pg)
                    .zip(pb)
                {
                    let u = a * v + k;
                    *uu = u;
                    *o = g * u + b;
                }
                kernels::activate_with_slope_in_place(act, orow, drow);
                kernels::activate(act, urow, yrow);
            }
        }
    }
}

ipbn_math::multiversion! {
    /// Backward rows: `dx = (g θ′) s` with `s` = γα (α without affine); with `affine` also
    /// `s1 = Σ g θ′` and `s2 = Σ g θ′ u` per unit, in `f64` and in row order.
    fn backward_rows<T: Real>(
        gs: &[T],
        dxs: &mut [T],
        dact: &[T],
        scale: &[T],
        affine: bool,
        u: &[T],
        s1: &mut [f64],
        s2: &mut [f64]
    ) {
        let w = scale.len();
        if w == 0 {
            return;
        }
        let rows = gs
            .chunks_exact(w)
            .zip(dxs.chunks_exact_mut(w))
            .zip(dact.chunks_exact(w));
        if affine {
            s1.fill(0.0);
            s2.fill(0.0);
            for (((grow, dxrow), drow), urow) in rows.zip(u.chunks_exact(w)) {
                for (((((dx, &g), &d), &s), &u), (sg, sgu)) in dxrow
                    .iter_mut()
                    .zip(grow)
                    .zip(drow)
                    .zip(scale)
                    .zip(urow)
                    .zip(s1.iter_mut().zip(s2.iter_mut()))
                {
                    let gd = g * d;
                    *dx = gd * s;
                    let gd = gd.to_f64_exact();
                    *sg += gd;
                    *sgu += gd * u.to_f64_exact();
                }
            }
        } else {
            for ((grow, dxrow), drow) in rows {
                for (((dx, &g), &d), &s) in dxrow.iter_mut().zip(grow).zip(drow).zip(scale) {
                    *dx = g * d * s;
                }
            }
        }
    }
}

/// θ(v) and θ′(v) together (see [`Activation::f_df`]).
#[cfg(test)]
#[inline(always)]
fn f_df<T: Real>(act: Activation, v: T) -> (T, T) {
    act.f_df(v)
}

impl<T: Real> IpLayer<T> {
    /// A layer of `units` units; errors if the rule's activation differs from `activation`.
    ///
    /// A KL-type rule ([`RuleKind::Kl`]) must be derived for `activation`; a rule of kind
    /// [`RuleKind::Other`] that reports [`Activation::Identity`] (it depends on x alone, e.g.
    /// moment matching) is accepted with any activation. Errors:
    /// [`NeuronError::WrongActivation`], or [`NeuronError::ParamOutOfRange`] for an invalid
    /// config (see [`IpLayerConfig::check`]). γ starts at 1 and β at 0 when `affine`.
    pub fn new(
        units: usize,
        activation: Activation,
        rule: Arc<dyn IpRule>,
        config: IpLayerConfig,
    ) -> Result<Self, NeuronError> {
        crate::rules::check_activation(rule.as_ref(), activation)?;
        config.check()?;
        let (gamma, beta) = if config.affine {
            (Some(Array1::ones(units)), Some(Array1::zeros(units)))
        } else {
            (None, None)
        };
        Ok(IpLayer {
            alpha: Array1::from_elem(units, T::c(config.alpha0)),
            k: Array1::from_elem(units, T::c(config.k0)),
            gamma,
            beta,
            activation,
            step: StepState::new(config.step, units),
            rule,
            config,
            cache: Cache {
                rows: 0,
                units,
                affine: false,
                x: Vec::new(),
                u: Vec::new(),
                dact: Vec::new(),
                y: Vec::new(),
                pa: Vec::new(),
                pk: Vec::new(),
                pg: Vec::new(),
                pb: Vec::new(),
                ak: Vec::new(),
                scale: vec![T::zero(); units],
                grad_gamma: Array1::zeros(units),
                grad_beta: Array1::zeros(units),
                s1: vec![0.0; units],
                s2: vec![0.0; units],
                xf: Vec::new(),
                yf: Vec::new(),
                af: Vec::new(),
                kf: Vec::new(),
                fresh: Vec::new(),
                dirs: Vec::new(),
            },
        })
    }

    /// Number of units.
    pub fn units(&self) -> usize {
        self.alpha.len()
    }

    /// The activation θ.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The IP rule that adapts α and k.
    pub fn rule(&self) -> &Arc<dyn IpRule> {
        &self.rule
    }

    /// The settings the layer was built with.
    pub fn config(&self) -> &IpLayerConfig {
        &self.config
    }

    /// The optimiser state of α and k (Adam moments and step counter).
    pub fn step_state(&self) -> &StepState {
        &self.step
    }

    /// Checks parameter vector lengths and the shapes of `x` and `out`.
    fn check_shapes(&self, x: (usize, usize), out: (usize, usize)) -> Result<(), NeuronError> {
        let n = self.units();
        let (g_len, b_len) = match (&self.gamma, &self.beta) {
            (Some(g), Some(b)) => (g.len(), b.len()),
            (None, None) => (n, n),
            _ => {
                return Err(NeuronError::Shape(String::from(
                    "IP layer has only one of gamma and beta; set both (affine) or neither",
                )))
            }
        };
        NAMES.check_params(n, &[("k", self.k.len()), ("gamma", g_len), ("beta", b_len)])?;
        NAMES.check_io(n, x, out)
    }

    /// Allocating form of [`Layer::forward_into`]: the output in a new matrix.
    pub fn forward(&mut self, x: ArrayView2<'_, T>, mode: Mode) -> Result<Array2<T>, NeuronError> {
        layer::forward_new(self, x, mode)
    }

    /// Allocating form of [`Layer::backward_into`]: ∂L/∂x in a new matrix.
    pub fn backward(&mut self, grad_out: ArrayView2<'_, T>) -> Result<Array2<T>, NeuronError> {
        layer::backward_new(self, grad_out)
    }

    /// ∂L/∂γ and ∂L/∂β from the last backward (None without affine; zeros before the first
    /// backward).
    pub fn affine_grads(&self) -> Option<(ArrayView1<'_, T>, ArrayView1<'_, T>)> {
        if self.gamma.is_some() {
            Some((self.cache.grad_gamma.view(), self.cache.grad_beta.view()))
        } else {
            None
        }
    }

    /// Applies one intrinsic update with the rule to every unit, from the last training
    /// forward's x and θ(αx + k).
    ///
    /// The rule receives the batch's net inputs and `θ(α x + k)` at the current α, k (equal
    /// to the layer output without affine) as `f64` matrices and returns every unit's
    /// direction at once ([`IpRule::directions`]); each direction is turned into a change by the layer's [`StepState`] (one Adam time step
    /// per call). Does nothing if no training forward has run. See the module documentation
    /// for the handling of steps that would make α non-positive or non-finite.
    pub fn adapt(&mut self) {
        let c = &mut self.cache;
        let (m, n) = (c.rows, c.units);
        if m == 0 || n != self.alpha.len() || n != self.k.len() {
            return;
        }
        self.step.begin();
        let act = self.activation;
        let eta = self.config.eta;
        // Without affine the forward pass kept θ(αx + k); reuse it for the units whose α, k
        // are still those of that pass, otherwise recompute at the current α, k.
        let have_y = c.y.len() == c.x.len();
        c.fresh.clear();
        c.fresh
            .extend((0..n).map(|j| have_y && c.ak.get(j) == Some(&(self.alpha[j], self.k[j]))));
        c.af.clear();
        c.af.extend(self.alpha.iter().map(|a| a.to_f64_exact()));
        c.kf.clear();
        c.kf.extend(self.k.iter().map(|k| k.to_f64_exact()));
        c.xf.clear();
        c.xf.extend(c.x[..m * n].iter().map(|v| v.to_f64_exact()));
        c.yf.clear();
        if c.fresh.iter().all(|&f| f) {
            c.yf.extend(c.y[..m * n].iter().map(|v| v.to_f64_exact()));
        } else {
            let (alpha, k) = (
                self.alpha.as_slice().unwrap_or(&[]),
                self.k.as_slice().unwrap_or(&[]),
            );
            if alpha.len() != n || k.len() != n {
                return;
            }
            for (r, xr) in c.x[..m * n].chunks_exact(n).enumerate() {
                for (j, &v) in xr.iter().enumerate() {
                    let y = if c.fresh[j] {
                        c.y[r * n + j]
                    } else {
                        act.f(alpha[j] * v + k[j])
                    };
                    c.yf.push(y.to_f64_exact());
                }
            }
        }
        // Every unit's direction at once (each bit for bit the rule's direction on its
        // column).
        let xv = ndarray::ArrayView2::from_shape((m, n), &c.xf[..]);
        let yv = ndarray::ArrayView2::from_shape((m, n), &c.yf[..]);
        let (Ok(xv), Ok(yv)) = (xv, yv) else {
            return;
        };
        self.rule.directions(xv, yv, &c.af, &c.kf, &mut c.dirs);
        for j in 0..n.min(c.dirs.len()) {
            let d = c.dirs[j];
            let (af, kf) = (c.af[j], c.kf[j]);
            if !(d.alpha.is_finite() && d.k.is_finite()) {
                continue;
            }
            let (da, dk) = self.step.change(j, d, eta);
            let new_a = T::c(af + da);
            let new_k = T::c(kf + dk);
            if !(new_a.is_finite() && new_k.is_finite()) {
                continue;
            }
            self.alpha[j] = if new_a > T::zero() {
                new_a
            } else {
                T::c((af / 10.0).max(MIN_ALPHA))
            };
            self.k[j] = new_k;
        }
    }
}

impl<T: Real> Layer<T> for IpLayer<T> {
    /// Computes y for the `(batch, units)` net inputs `x` into `out`. In `Mode::Train`
    /// caches x, θ′, u (with affine) and θ(αx + k), what backward and adapt need.
    ///
    /// Errors with [`NeuronError::Shape`] if `x` does not have one column per unit, `out`
    /// differs from `x` in shape, or a parameter vector has the wrong length. Nothing is
    /// changed when an error is returned.
    fn forward_into(
        &mut self,
        x: ArrayView2<'_, T>,
        mode: Mode,
        out: ArrayViewMut2<'_, T>,
    ) -> Result<(), NeuronError> {
        self.check_shapes(x.dim(), out.dim())?;
        let (m, n) = x.dim();
        let act = self.activation;
        let xc = x.as_standard_layout();
        let xs = xc.as_slice().expect("standard layout is contiguous");
        let c = &mut self.cache;
        // Parameters as contiguous slices (n values, copied into reused buffers).
        c.pa.clear();
        c.pa.extend(self.alpha.iter().copied());
        c.pk.clear();
        c.pk.extend(self.k.iter().copied());
        let affine = match (&self.gamma, &self.beta) {
            (Some(g), Some(b)) => {
                c.pg.clear();
                c.pg.extend(g.iter().copied());
                c.pb.clear();
                c.pb.extend(b.iter().copied());
                true
            }
            _ => false,
        };
        let (pa, pk, pg, pb) = (&c.pa, &c.pk, &c.pg, &c.pb);
        if mode == Mode::Eval {
            with_contiguous_mut(out, |os| eval_rows(act, xs, os, pa, pk, pg, pb));
            return Ok(());
        }
        // Training: cache x, θ′(v), u (affine), θ(αx + k) (for adapt), and γα.
        c.rows = m;
        c.units = n;
        c.affine = affine;
        c.x.clear();
        c.x.extend_from_slice(xs);
        c.dact.resize(m * n, T::zero());
        c.y.resize(m * n, T::zero());
        c.ak.clear();
        c.ak.extend(pa.iter().copied().zip(pk.iter().copied()));
        c.scale.clear();
        if affine {
            c.scale.extend(pg.iter().zip(pa).map(|(&g, &a)| g * a));
            c.u.resize(m * n, T::zero());
        } else {
            c.scale.extend_from_slice(pa);
            c.u.clear();
        }
        let (dact, u_cache, y_cache) = (&mut c.dact, &mut c.u, &mut c.y);
        with_contiguous_mut(out, |os| {
            train_rows(act, xs, os, pa, pk, pg, pb, dact, u_cache, y_cache)
        });
        Ok(())
    }

    /// ∂L/∂x = ∂L/∂y · θ′ · (γ) · α for the last training forward, written into `grad_x`;
    /// stores ∂L/∂γ, ∂L/∂β when affine.
    ///
    /// Uses θ′, γ and α as they were in that forward, so an `adapt` in between does not change
    /// the result. ∂L/∂γ = Σ ∂L/∂y θ′(v) u and ∂L/∂β = Σ ∂L/∂y θ′(v), summed in f64.
    ///
    ///
    /// Errors with [`NeuronError::Shape`] if no training forward has run or the gradients do
    /// not have that forward's shape. Nothing is changed when an error is returned.
    fn backward_into(
        &mut self,
        grad_out: ArrayView2<'_, T>,
        mut grad_x: ArrayViewMut2<'_, T>,
    ) -> Result<(), NeuronError> {
        let c = &mut self.cache;
        NAMES.check_backward((c.rows, c.units), grad_out.dim(), grad_x.dim())?;
        let n = c.units;
        let affine = c.affine;
        if affine {
            c.s1.resize(n, 0.0);
            c.s2.resize(n, 0.0);
        }
        let gc = grad_out.as_standard_layout();
        let gs = gc.as_slice().expect("standard layout is contiguous");
        let (dact, scale, u, s1, s2) = (&c.dact, &c.scale, &c.u, &mut c.s1, &mut c.s2);
        with_contiguous_mut(grad_x.view_mut(), |dxs| {
            backward_rows(gs, dxs, dact, scale, affine, u, s1, s2)
        });
        if affine {
            if c.grad_beta.len() != n {
                c.grad_beta = Array1::zeros(n);
                c.grad_gamma = Array1::zeros(n);
            }
            for j in 0..n {
                c.grad_beta[j] = T::c(c.s1[j]);
                c.grad_gamma[j] = T::c(c.s2[j]);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_sigmoid_matches_the_activation() {
        for i in -400..=400 {
            let v = i as f64 * 0.1 + 0.003;
            let (y, d) = f_df(Activation::Sigmoid, v);
            assert_eq!(y, Activation::Sigmoid.f(v), "θ({v})");
            // θ′ = θ(1 − θ) written through θ(−v) = 1 − θ(v), evaluated without cancellation.
            let exact = Activation::Sigmoid.f(v) * Activation::Sigmoid.f(-v);
            assert!(
                (d - exact).abs() <= 4e-16 * exact,
                "θ′({v}): {d} vs {exact}"
            );
            let vf = v as f32;
            let (yf, df) = f_df(Activation::Sigmoid, vf);
            assert_eq!(yf, Activation::Sigmoid.f(vf));
            let exact =
                Activation::Sigmoid.f(f64::from(vf)) * Activation::Sigmoid.f(-f64::from(vf));
            assert!((f64::from(df) - exact).abs() <= 1e-6 * exact, "θ′({vf})");
        }
        for act in ipbn_math::ALL_ACTIVATIONS {
            if act != Activation::Sigmoid {
                assert_eq!(f_df(act, 0.7f64), (act.f(0.7), act.df(0.7)));
            }
        }
    }
}
