//! The multilayer perceptron: hidden layers under one normalisation condition, a linear
//! softmax output, cross-entropy loss, backprop written out layer by layer, SGD with
//! momentum and the intrinsic (IP) updates.
//!
//! ## Layers
//!
//! Hidden layer `l` maps its input `X` (`rows × fan_in`) to `Y = θ(U)`:
//!
//! | kind | net input `Z` | activation input `U` |
//! |---|---|---|
//! | plain | `X W + b` | `Z` |
//! | bn | `X W` (no bias: BN's β replaces it) | `γ BN(Z) + β` |
//! | ip | `X W + b` | `α Z + k` (per unit) |
//! | ip+affine | `X W + b` | `γ (α Z + k) + β` |
//!
//! The output layer is `logits = Y_L W + b`, followed by a softmax and the mean
//! cross-entropy over the batch, computed with the log-sum-exp shift so that it stays
//! finite for any finite logits.
//!
//! ## Memory
//!
//! `W` is stored `fan_in × fan_out` so every product is a plain `general_mat_mul` without a
//! copy: forward `Z = X W`, weight gradient `dW = Xᵀ G` and input gradient `G_X = G Wᵀ`
//! (transposes are views, which the GEMM kernel reads through strides). Every activation and
//! gradient buffer lives in a [`Workspace`] allocated once per batch capacity; a training step
//! ([`Mlp::train_step`]) allocates nothing in this module (the BN and IP layers keep their own
//! caches).
//!
//! ## Speed
//!
//! The element-wise work between the products runs over plain slices, one sweep per row while
//! it is in cache (bias, activation and, for IP, the slope in one pass), through
//! [`ipbn_math::kernels`]: AVX2 code on CPUs that have it, with results bit-identical to
//! the scalar code (see that module for the one exponential involved).

use crate::error::{ConfigError, Result};
use crate::init::Init;
use ipbn_math::kernels;
use ipbn_math::{Activation, Real};
use ipbn_neurons::{BatchNorm, IpLayer, IpLayerConfig, IpRule, Mode, NeuronError, StepKind};
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, ArrayViewD, ArrayViewMutD, Zip};
use ndarray_rand::rand::Rng;
use std::sync::Arc;

/// The normalisation applied in every hidden layer, with everything needed to build it.
#[derive(Clone, Debug)]
pub enum LayerKind {
    /// `θ(W x + b)`.
    Plain,
    /// `θ(γ BN(W x) + β)` with PyTorch `BatchNorm1d` semantics (momentum 0.1, ε = 1e-5).
    Bn,
    /// `θ(α (W x + b) + k)`, or with `affine` `θ(γ(α(W x + b) + k) + β)`; α and k change only
    /// through the rule.
    Ip {
        /// The intrinsic rule.
        rule: Arc<dyn IpRule>,
        /// How the rule's direction is stepped (SGD or Adam).
        step: StepKind,
        /// Intrinsic learning rate η.
        eta: f64,
        /// Whether γ, β follow the IP unit (the talk's unified form).
        affine: bool,
    },
}

impl LayerKind {
    /// Whether the hidden layers have a bias `b` before the normalisation (all but BN).
    pub fn has_bias(&self) -> bool {
        !matches!(self, LayerKind::Bn)
    }
}

/// The shape and settings of a network.
#[derive(Clone, Debug)]
pub struct MlpSpec {
    /// Input features.
    pub inputs: usize,
    /// Width of each hidden layer, input side first (may be empty: softmax regression).
    pub hidden: Vec<usize>,
    /// Output classes (≥ 2).
    pub classes: usize,
    /// Hidden activation θ.
    pub activation: Activation,
    /// Normalisation of every hidden layer.
    pub kind: LayerKind,
    /// Weight initialisation (biases start at 0).
    pub init: Init,
}

/// A weight matrix with optional bias, their gradients and SGD velocities.
#[derive(Clone, Debug)]
struct Dense<T: Real> {
    w: Array2<T>,
    b: Option<Array1<T>>,
    dw: Array2<T>,
    db: Option<Array1<T>>,
    vw: Array2<T>,
    vb: Option<Array1<T>>,
}

impl<T: Real> Dense<T> {
    fn new(w: Array2<T>, bias: bool) -> Self {
        let (fan_in, fan_out) = w.dim();
        let zb = || bias.then(|| Array1::zeros(fan_out));
        Dense {
            dw: Array2::zeros((fan_in, fan_out)),
            vw: Array2::zeros((fan_in, fan_out)),
            w,
            b: zb(),
            db: zb(),
            vb: zb(),
        }
    }
}

/// Gradients and velocities of a learned per-unit scale γ and shift β.
#[derive(Clone, Debug)]
struct AffineState<T: Real> {
    dg: Array1<T>,
    db: Array1<T>,
    vg: Array1<T>,
    vb: Array1<T>,
}

impl<T: Real> AffineState<T> {
    fn new(units: usize) -> Self {
        AffineState {
            dg: Array1::zeros(units),
            db: Array1::zeros(units),
            vg: Array1::zeros(units),
            vb: Array1::zeros(units),
        }
    }
}

#[derive(Clone, Debug)]
enum Norm<T: Real> {
    Plain,
    Bn {
        bn: Box<BatchNorm<T>>,
        st: AffineState<T>,
    },
    Ip {
        ip: Box<IpLayer<T>>,
        st: Option<AffineState<T>>,
    },
}

#[derive(Clone, Debug)]
struct Hidden<T: Real> {
    dense: Dense<T>,
    norm: Norm<T>,
}

/// A multilayer perceptron with softmax output, generic over `f32` (training) and `f64`
/// (gradient checks).
#[derive(Clone, Debug)]
pub struct Mlp<T: Real> {
    hidden: Vec<Hidden<T>>,
    out: Dense<T>,
    activation: Activation,
    inputs: usize,
    classes: usize,
}

/// Every buffer a forward (and backward) pass needs for up to `capacity` rows.
///
/// Build one with [`Mlp::workspace`] per batch size and reuse it for every step; a pass over
/// fewer rows uses the leading rows of each buffer.
#[derive(Clone, Debug)]
pub struct Workspace<T: Real> {
    capacity: usize,
    rows: usize,
    /// Net input per hidden layer (with the bias added, except under BN).
    z: Vec<Array2<T>>,
    /// Activation input for BN layers (forward) and IP layers (filled on request).
    u: Vec<Array2<T>>,
    /// Output θ(u) per hidden layer.
    y: Vec<Array2<T>>,
    logits: Array2<T>,
    glogits: Array2<T>,
    /// ∂L/∂y per hidden layer (empty without gradients).
    gy: Vec<Array2<T>>,
    /// ∂L/∂z per hidden layer (empty without gradients).
    gz: Vec<Array2<T>>,
}

impl<T: Real> Workspace<T> {
    /// The largest number of rows a pass may use.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Rows of the last forward pass.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Output `θ(u)` of hidden layer `l` from the last forward pass.
    pub fn hidden_output(&self, l: usize) -> ArrayView2<'_, T> {
        self.y[l].slice(s![..self.rows, ..])
    }
    /// Logits of the last forward pass.
    pub fn logits(&self) -> ArrayView2<'_, T> {
        self.logits.slice(s![..self.rows, ..])
    }
}

/// What one training step produced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutcome {
    /// Mean cross-entropy of the batch before the update (non-finite if the run diverged).
    pub loss: f64,
    /// Whether every parameter (weights, biases, γ, β, α, k) is finite after the update.
    /// When `loss` is not finite no update is made and this is `false`.
    pub finite: bool,
}

/// Values updated per block by [`sgd_update`] before their finiteness is checked.
const SGD_BLOCK: usize = 512;

ipbn_math::multiversion! {
    /// `p ← p − lr·v` with `v ← m·v + g` (PyTorch's SGD momentum, no dampening; with `m = 0` the
    /// velocity is not touched and `p ← p − lr·g`). Returns whether every updated `p` is finite,
    /// checked block by block right after the update while the block is in cache (eight
    /// independent accumulators of `p·0`, which is 0 for a finite `p` and NaN otherwise, so
    /// the check vectorises).
    fn sgd_update<T: Real>(p: &mut [T], g: &[T], v: &mut [T], lr: T, m: T) -> bool {
        debug_assert_eq!(p.len(), g.len());
        debug_assert!(m == T::zero() || p.len() == v.len());
        let zero = T::zero();
        let mut acc = [zero; 8];
        let mut check = |block: &[T]| {
            let mut c = block.chunks_exact(8);
            for ch in &mut c {
                for (a, &p) in acc.iter_mut().zip(ch) {
                    *a += p * zero;
                }
            }
            for &p in c.remainder() {
                acc[0] += p * zero;
            }
        };
        if m == zero {
            for (pb, gb) in p.chunks_mut(SGD_BLOCK).zip(g.chunks(SGD_BLOCK)) {
                for (p, &g) in pb.iter_mut().zip(gb) {
                    *p -= lr * g;
                }
                check(pb);
            }
        } else {
            for ((pb, gb), vb) in p
                .chunks_mut(SGD_BLOCK)
                .zip(g.chunks(SGD_BLOCK))
                .zip(v.chunks_mut(SGD_BLOCK))
            {
                for ((p, &g), v) in pb.iter_mut().zip(gb).zip(vb.iter_mut()) {
                    *v = m * *v + g;
                    *p -= lr * *v;
                }
                check(pb);
            }
        }
        acc.iter().all(|a| *a == zero)
    }
}

fn all_finite<T: Real>(a: &[T]) -> bool {
    a.iter().all(|v| v.is_finite())
}

fn sl<T>(a: &Array1<T>) -> &[T] {
    a.as_slice().expect("owned 1-D arrays are contiguous")
}
fn sl_mut<T>(a: &mut Array1<T>) -> &mut [T] {
    a.as_slice_mut().expect("owned 1-D arrays are contiguous")
}
fn sl2<T>(a: &Array2<T>) -> &[T] {
    a.as_slice()
        .expect("owned 2-D arrays are in standard layout")
}
fn sl2_mut<T>(a: &mut Array2<T>) -> &mut [T] {
    a.as_slice_mut()
        .expect("owned 2-D arrays are in standard layout")
}

/// The elements of a matrix view in standard layout (the leading rows of a workspace
/// buffer), row after row.
fn rows<'a, T>(a: &ArrayView2<'a, T>) -> &'a [T] {
    a.to_slice()
        .expect("workspace rows are contiguous (standard layout)")
}
fn rows_mut<'a, T>(a: &'a mut ndarray::ArrayViewMut2<'_, T>) -> &'a mut [T] {
    a.as_slice_mut()
        .expect("workspace rows are contiguous (standard layout)")
}

ipbn_math::multiversion! {
    /// Per row of the row-major `z` (`b.len()` columns): `z ← z + b`, then `y = θ(z)`, while
    /// the row is in cache.
    fn bias_activate<T: Real>(act: Activation, z: &mut [T], y: &mut [T], b: &[T]) {
        if b.is_empty() {
            return;
        }
        for (zr, yr) in z.chunks_exact_mut(b.len()).zip(y.chunks_exact_mut(b.len())) {
            for (z, &b) in zr.iter_mut().zip(b) {
                *z += b;
            }
            kernels::activate(act, zr, yr);
        }
    }
}

ipbn_math::multiversion! {
    /// Mean cross-entropy of the row-major `logits` (one row per label) against `labels`;
    /// writes ∂(mean loss)/∂logits into `grad` (same shape). Each row is shifted by its
    /// maximum before the exponentials (log-sum-exp), which are then summed in class order.
    fn softmax_xent<T: Real>(logits: &[T], labels: &[u8], grad: &mut [T]) -> f64 {
        let n = labels.len();
        if n == 0 || logits.len() < n {
            return f64::NAN;
        }
        let c = logits.len() / n;
        let inv_n = T::c(1.0 / n as f64);
        let mut total = 0.0f64;
        for ((lrow, grow), &label) in logits
            .chunks_exact(c)
            .zip(grad.chunks_exact_mut(c))
            .zip(labels)
        {
            let m = lrow.iter().fold(T::neg_infinity(), |a, &b| a.max(b));
            for (g, &l) in grow.iter_mut().zip(lrow) {
                *g = l - m;
            }
            kernels::exp_in_place(grow);
            let mut s = T::zero();
            for &e in grow.iter() {
                s += e;
            }
            let label = label as usize;
            // −log p_label = log Σ exp(l − m) − (l_label − m)
            total += (s.ln() - (lrow[label] - m)).to_f64_exact();
            let scale = inv_n / s;
            for g in grow.iter_mut() {
                *g *= scale;
            }
            grow[label] -= inv_n;
        }
        total / n as f64
    }
}

impl<T: Real> Mlp<T> {
    /// Builds a network, drawing every weight matrix (input side first, output last) from
    /// `rng` with the spec's initialisation; biases, β and k start at 0, γ and α at 1.
    pub fn new<R: Rng + ?Sized>(spec: &MlpSpec, rng: &mut R) -> Result<Self> {
        if spec.inputs == 0 {
            return Err(ConfigError::new("inputs", "the network needs at least one input").into());
        }
        if spec.classes < 2 {
            return Err(ConfigError::new("classes", "the output needs at least 2 classes").into());
        }
        if let Some(i) = spec.hidden.iter().position(|&h| h == 0) {
            return Err(ConfigError::new(
                "hidden",
                format!("layer {} has width 0; every width must be ≥ 1", i + 1),
            )
            .into());
        }
        let mut hidden = Vec::with_capacity(spec.hidden.len());
        let mut fan_in = spec.inputs;
        for &width in &spec.hidden {
            let w = spec.init.draw::<T, R>(fan_in, width, rng);
            let dense = Dense::new(w, spec.kind.has_bias());
            let norm = match &spec.kind {
                LayerKind::Plain => Norm::Plain,
                LayerKind::Bn => Norm::Bn {
                    bn: Box::new(BatchNorm::new(width)),
                    st: AffineState::new(width),
                },
                LayerKind::Ip {
                    rule,
                    step,
                    eta,
                    affine,
                } => Norm::Ip {
                    ip: Box::new(IpLayer::new(
                        width,
                        spec.activation,
                        rule.clone(),
                        IpLayerConfig {
                            eta: *eta,
                            step: *step,
                            affine: *affine,
                            alpha0: 1.0,
                            k0: 0.0,
                        },
                    )?),
                    st: affine.then(|| AffineState::new(width)),
                },
            };
            hidden.push(Hidden { dense, norm });
            fan_in = width;
        }
        let out = Dense::new(spec.init.draw::<T, R>(fan_in, spec.classes, rng), true);
        Ok(Mlp {
            hidden,
            out,
            activation: spec.activation,
            inputs: spec.inputs,
            classes: spec.classes,
        })
    }

    /// Input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }
    /// Output classes.
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// Number of hidden layers.
    pub fn depth(&self) -> usize {
        self.hidden.len()
    }
    /// Width of hidden layer `l`.
    pub fn width(&self, l: usize) -> usize {
        self.hidden[l].dense.w.ncols()
    }
    /// The hidden activation θ.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Buffers for passes of up to `capacity` rows; `with_grads` adds the backward buffers
    /// (needed by [`Mlp::train_step`] and [`Mlp::backward`]).
    pub fn workspace(&self, capacity: usize, with_grads: bool) -> Workspace<T> {
        let cap = capacity.max(1);
        let widths: Vec<usize> = (0..self.depth()).map(|l| self.width(l)).collect();
        let full = |w: usize| Array2::zeros((cap, w));
        let u = self
            .hidden
            .iter()
            .zip(&widths)
            .map(|(h, &w)| match h.norm {
                Norm::Plain => Array2::zeros((0, 0)),
                _ => full(w),
            })
            .collect();
        Workspace {
            capacity: cap,
            rows: 0,
            z: widths.iter().map(|&w| full(w)).collect(),
            u,
            y: widths.iter().map(|&w| full(w)).collect(),
            logits: full(self.classes),
            glogits: full(self.classes),
            gy: if with_grads {
                widths.iter().map(|&w| full(w)).collect()
            } else {
                Vec::new()
            },
            gz: if with_grads {
                widths.iter().map(|&w| full(w)).collect()
            } else {
                Vec::new()
            },
        }
    }

    fn check_input(&self, x: &ArrayView2<'_, T>, ws: &Workspace<T>) -> Result<()> {
        if x.ncols() != self.inputs {
            return Err(NeuronError::Shape(format!(
                "network input has {} features, the network expects {}",
                x.ncols(),
                self.inputs
            ))
            .into());
        }
        if x.nrows() == 0 || x.nrows() > ws.capacity {
            return Err(NeuronError::Shape(format!(
                "batch of {} rows for a workspace of capacity {}",
                x.nrows(),
                ws.capacity
            ))
            .into());
        }
        Ok(())
    }

    /// Runs the network on `x` (`rows × inputs`, rows ≤ the workspace capacity), leaving every
    /// layer's values and the logits in `ws`. In `Mode::Train` BN uses batch statistics (and
    /// updates its running estimates) and IP layers cache what `adapt` needs.
    pub fn forward(
        &mut self,
        x: ArrayView2<'_, T>,
        mode: Mode,
        ws: &mut Workspace<T>,
    ) -> Result<()> {
        self.check_input(&x, ws)?;
        let n = x.nrows();
        ws.rows = n;
        let act = self.activation;
        for l in 0..self.hidden.len() {
            let (done, rest) = ws.y.split_at_mut(l);
            let input = if l == 0 {
                x.view()
            } else {
                done[l - 1].slice(s![..n, ..])
            };
            let layer = &mut self.hidden[l];
            let mut z = ws.z[l].slice_mut(s![..n, ..]);
            let mut y = rest[0].slice_mut(s![..n, ..]);
            ipbn_math::gemm(T::one(), &input, &layer.dense.w, T::zero(), &mut z);
            let zs = rows_mut(&mut z);
            match &mut layer.norm {
                Norm::Plain => {
                    let b = layer.dense.b.as_ref().expect("plain layers have a bias");
                    bias_activate(act, zs, rows_mut(&mut y), sl(b));
                }
                Norm::Bn { bn, .. } => {
                    let mut u = ws.u[l].slice_mut(s![..n, ..]);
                    bn.forward_into(z.view(), mode, u.view_mut())?;
                    kernels::activate(act, rows(&u.view()), rows_mut(&mut y));
                }
                Norm::Ip { ip, .. } => {
                    let b = layer.dense.b.as_ref().expect("IP layers have a bias");
                    kernels::add_rows(zs, sl(b));
                    ip.forward_into(z.view(), mode, y.view_mut());
                }
            }
        }
        let input = match ws.y.last() {
            Some(y) => y.slice(s![..n, ..]),
            None => x.view(),
        };
        let mut logits = ws.logits.slice_mut(s![..n, ..]);
        ipbn_math::gemm(T::one(), &input, &self.out.w, T::zero(), &mut logits);
        let b = self.out.b.as_ref().expect("the output layer has a bias");
        kernels::add_rows(rows_mut(&mut logits), sl(b));
        Ok(())
    }

    /// Mean cross-entropy of the last forward pass against `labels` (one per row, each
    /// < classes); also writes ∂loss/∂logits into the workspace for [`Mlp::backward`].
    pub fn loss(&self, labels: &[u8], ws: &mut Workspace<T>) -> Result<f64> {
        let n = ws.rows;
        if labels.len() != n {
            return Err(NeuronError::Shape(format!("{} labels for {n} rows", labels.len())).into());
        }
        if let Some(&bad) = labels.iter().find(|&&c| c as usize >= self.classes) {
            return Err(NeuronError::Shape(format!(
                "label {bad} out of range for {} classes",
                self.classes
            ))
            .into());
        }
        Ok(softmax_xent(
            rows(&ws.logits.slice(s![..n, ..])),
            labels,
            rows_mut(&mut ws.glogits.slice_mut(s![..n, ..])),
        ))
    }

    /// Back-propagates the gradient left by [`Mlp::loss`] through the network after a
    /// training-mode forward pass on `x`, storing every parameter gradient in the network.
    pub fn backward(&mut self, x: ArrayView2<'_, T>, ws: &mut Workspace<T>) -> Result<()> {
        let n = ws.rows;
        let depth = self.hidden.len();
        if ws.gy.len() != depth || ws.gz.len() != depth {
            return Err(NeuronError::Shape(
                "backward needs a workspace built with gradients (Mlp::workspace(cap, true))"
                    .into(),
            )
            .into());
        }
        if x.nrows() != n || x.ncols() != self.inputs {
            return Err(NeuronError::Shape(format!(
                "backward input is {}×{}, the forward pass had {n}×{}",
                x.nrows(),
                x.ncols(),
                self.inputs
            ))
            .into());
        }
        let act = self.activation;
        // Output layer.
        {
            let g = ws.glogits.slice(s![..n, ..]);
            let input = match ws.y.last() {
                Some(y) => y.slice(s![..n, ..]),
                None => x.view(),
            };
            ipbn_math::gemm(T::one(), &input.t(), &g, T::zero(), &mut self.out.dw);
            kernels::column_sums(rows(&g), sl_mut(self.out.db.as_mut().expect("output bias")));
            if depth > 0 {
                let mut gy = ws.gy[depth - 1].slice_mut(s![..n, ..]);
                ipbn_math::gemm(T::one(), &g, &self.out.w.t(), T::zero(), &mut gy);
            }
        }
        for l in (0..depth).rev() {
            let layer = &mut self.hidden[l];
            let y = ws.y[l].slice(s![..n, ..]);
            let mut gy = ws.gy[l].slice_mut(s![..n, ..]);
            let mut gz = ws.gz[l].slice_mut(s![..n, ..]);
            match &mut layer.norm {
                Norm::Plain => {
                    kernels::slope_times(act, rows(&y), rows(&gy.view()), rows_mut(&mut gz));
                }
                Norm::Bn { bn, st } => {
                    kernels::scale_by_slope(act, rows(&y), rows_mut(&mut gy));
                    bn.backward_into(gy.view(), gz.view_mut());
                    st.dg.assign(&bn.grad_gamma());
                    st.db.assign(&bn.grad_beta());
                }
                Norm::Ip { ip, st } => {
                    ip.backward_into(gy.view(), gz.view_mut());
                    if let Some(st) = st {
                        let (dg, db) = ip
                            .affine_grads()
                            .expect("an affine IP layer has affine gradients");
                        st.dg.assign(&dg);
                        st.db.assign(&db);
                    }
                }
            }
            let input = if l == 0 {
                x.view()
            } else {
                ws.y[l - 1].slice(s![..n, ..])
            };
            ipbn_math::gemm(T::one(), &input.t(), &gz, T::zero(), &mut layer.dense.dw);
            if let Some(db) = layer.dense.db.as_mut() {
                kernels::column_sums(rows(&gz.view()), sl_mut(db));
            }
            if l > 0 {
                let mut gprev = ws.gy[l - 1].slice_mut(s![..n, ..]);
                ipbn_math::gemm(T::one(), &gz, &layer.dense.w.t(), T::zero(), &mut gprev);
            }
        }
        Ok(())
    }

    /// One SGD step (learning rate `lr`, momentum `momentum` in [0, 1)) on every parameter
    /// learned by backprop, from the gradients of the last [`Mlp::backward`]. Returns whether
    /// all of them are finite afterwards.
    pub fn sgd_step(&mut self, lr: T, momentum: T) -> bool {
        let mut ok = true;
        let dense_step = |d: &mut Dense<T>| -> bool {
            let mut ok = sgd_update(
                sl2_mut(&mut d.w),
                sl2(&d.dw),
                sl2_mut(&mut d.vw),
                lr,
                momentum,
            );
            if let (Some(b), Some(db), Some(vb)) = (d.b.as_mut(), d.db.as_ref(), d.vb.as_mut()) {
                ok &= sgd_update(sl_mut(b), sl(db), sl_mut(vb), lr, momentum);
            }
            ok
        };
        for h in &mut self.hidden {
            ok &= dense_step(&mut h.dense);
            match &mut h.norm {
                Norm::Plain => {}
                Norm::Bn { bn, st } => {
                    ok &= sgd_update(
                        sl_mut(&mut bn.gamma),
                        sl(&st.dg),
                        sl_mut(&mut st.vg),
                        lr,
                        momentum,
                    );
                    ok &= sgd_update(
                        sl_mut(&mut bn.beta),
                        sl(&st.db),
                        sl_mut(&mut st.vb),
                        lr,
                        momentum,
                    );
                }
                Norm::Ip { ip, st } => {
                    if let (Some(st), Some(g), Some(b)) = (st, ip.gamma.as_mut(), ip.beta.as_mut())
                    {
                        ok &= sgd_update(sl_mut(g), sl(&st.dg), sl_mut(&mut st.vg), lr, momentum);
                        ok &= sgd_update(sl_mut(b), sl(&st.db), sl_mut(&mut st.vb), lr, momentum);
                    }
                }
            }
        }
        ok &= dense_step(&mut self.out);
        ok
    }

    /// Applies every IP layer's intrinsic update (from its last training forward pass).
    /// Returns whether every α and k is finite afterwards.
    pub fn adapt(&mut self) -> bool {
        let mut ok = true;
        for h in &mut self.hidden {
            if let Norm::Ip { ip, .. } = &mut h.norm {
                ip.adapt();
                ok &= all_finite(sl(&ip.alpha)) && all_finite(sl(&ip.k));
            }
        }
        ok
    }

    /// Whether every BN running estimate is finite. The training forward pass updates them,
    /// so the step checks them too: a run then diverges at the same step whatever the
    /// recording interval.
    pub fn running_estimates_finite(&self) -> bool {
        self.hidden.iter().all(|h| match &h.norm {
            Norm::Bn { bn, .. } => {
                all_finite(sl(&bn.running_mean)) && all_finite(sl(&bn.running_var))
            }
            _ => true,
        })
    }

    /// One training step on a batch: forward in training mode, loss, backward, SGD update and
    /// the intrinsic updates. Nothing is updated when the loss is not finite.
    pub fn train_step(
        &mut self,
        x: ArrayView2<'_, T>,
        labels: &[u8],
        ws: &mut Workspace<T>,
        lr: T,
        momentum: T,
    ) -> Result<StepOutcome> {
        self.forward(x.view(), Mode::Train, ws)?;
        let loss = self.loss(labels, ws)?;
        if !loss.is_finite() {
            return Ok(StepOutcome {
                loss,
                finite: false,
            });
        }
        self.backward(x, ws)?;
        let mut finite = self.sgd_step(lr, momentum);
        finite &= self.adapt();
        finite &= self.running_estimates_finite();
        Ok(StepOutcome { loss, finite })
    }

    /// Number of rows of `x` whose largest logit (the first one on ties) is the label,
    /// computed in inference mode in chunks of the workspace's capacity.
    pub fn count_correct(
        &mut self,
        x: ArrayView2<'_, T>,
        labels: &[u8],
        ws: &mut Workspace<T>,
    ) -> Result<usize> {
        let mut correct = 0;
        let cap = ws.capacity;
        let mut start = 0;
        while start < x.nrows() {
            let end = (start + cap).min(x.nrows());
            self.forward(x.slice(s![start..end, ..]), Mode::Eval, ws)?;
            for (row, &label) in ws
                .logits
                .slice(s![..end - start, ..])
                .rows()
                .into_iter()
                .zip(&labels[start..end])
            {
                let mut best = 0;
                for (j, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = j;
                    }
                }
                correct += usize::from(best == label as usize);
            }
            start = end;
        }
        Ok(correct)
    }

    /// Fills the activation inputs `u` of the IP layers in `ws` from the last forward pass
    /// (plain and BN layers already hold theirs), so [`Mlp::activation_input`] can read them.
    pub fn fill_activation_inputs(&self, ws: &mut Workspace<T>) {
        let n = ws.rows;
        for (l, h) in self.hidden.iter().enumerate() {
            if let Norm::Ip { ip, .. } = &h.norm {
                let z = ws.z[l].slice(s![..n, ..]);
                let mut u = ws.u[l].slice_mut(s![..n, ..]);
                let one = Array1::ones(ip.alpha.len());
                let zero = Array1::zeros(ip.alpha.len());
                let g = ip.gamma.as_ref().unwrap_or(&one);
                let b = ip.beta.as_ref().unwrap_or(&zero);
                Zip::from(u.rows_mut())
                    .and(z.rows())
                    .for_each(|mut ur, zr| {
                        Zip::from(&mut ur)
                            .and(&zr)
                            .and(&ip.alpha)
                            .and(&ip.k)
                            .and(g)
                            .and(b)
                            .for_each(|u, &z, &a, &k, &g, &b| *u = g * (a * z + k) + b);
                    });
            }
        }
    }

    /// The activation input `u` (what θ is applied to) of hidden layer `l` from the last
    /// forward pass; for IP layers call [`Mlp::fill_activation_inputs`] first.
    pub fn activation_input<'a>(&self, l: usize, ws: &'a Workspace<T>) -> ArrayView2<'a, T> {
        let n = ws.rows;
        match self.hidden[l].norm {
            Norm::Plain => ws.z[l].slice(s![..n, ..]),
            _ => ws.u[l].slice(s![..n, ..]),
        }
    }

    /// Frobenius norm of each layer's weight gradient from the last backward, hidden layers
    /// first, output last.
    pub fn weight_grad_norms(&self) -> Vec<f64> {
        let norm = |a: &Array2<T>| {
            a.iter()
                .map(|v| v.to_f64_exact().powi(2))
                .sum::<f64>()
                .sqrt()
        };
        self.hidden
            .iter()
            .map(|h| norm(&h.dense.dw))
            .chain(std::iter::once(norm(&self.out.dw)))
            .collect()
    }

    /// The gain α and bias k of hidden layer `l` if it is an IP layer.
    pub fn ip_gain_bias(&self, l: usize) -> Option<(ArrayView1<'_, T>, ArrayView1<'_, T>)> {
        match &self.hidden[l].norm {
            Norm::Ip { ip, .. } => Some((ip.alpha.view(), ip.k.view())),
            _ => None,
        }
    }

    /// Whether every parameter, every IP gain and bias and every BN running estimate is finite.
    pub fn is_finite(&self) -> bool {
        let dense_ok =
            |d: &Dense<T>| all_finite(sl2(&d.w)) && d.b.iter().all(|b| all_finite(sl(b)));
        dense_ok(&self.out)
            && self.hidden.iter().all(|h| {
                dense_ok(&h.dense)
                    && match &h.norm {
                        Norm::Plain => true,
                        Norm::Bn { bn, .. } => {
                            all_finite(sl(&bn.gamma))
                                && all_finite(sl(&bn.beta))
                                && all_finite(sl(&bn.running_mean))
                                && all_finite(sl(&bn.running_var))
                        }
                        Norm::Ip { ip, .. } => {
                            all_finite(sl(&ip.alpha))
                                && all_finite(sl(&ip.k))
                                && ip.gamma.iter().all(|g| all_finite(sl(g)))
                                && ip.beta.iter().all(|b| all_finite(sl(b)))
                        }
                    }
            })
    }

    /// Names of the parameters learned by backprop, in the order of [`Mlp::params_mut`] and
    /// [`Mlp::grads`]: `hidden1.w`, `hidden1.b`, `hidden1.gamma`, `hidden1.beta`, ...,
    /// `output.w`, `output.b`.
    pub fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (l, h) in self.hidden.iter().enumerate() {
            let p = format!("hidden{}", l + 1);
            names.push(format!("{p}.w"));
            if h.dense.b.is_some() {
                names.push(format!("{p}.b"));
            }
            let affine = match &h.norm {
                Norm::Plain => false,
                Norm::Bn { .. } => true,
                Norm::Ip { st, .. } => st.is_some(),
            };
            if affine {
                names.push(format!("{p}.gamma"));
                names.push(format!("{p}.beta"));
            }
        }
        names.push("output.w".into());
        names.push("output.b".into());
        names
    }

    /// Mutable views of every parameter learned by backprop (see [`Mlp::param_names`]).
    pub fn params_mut(&mut self) -> Vec<ArrayViewMutD<'_, T>> {
        let mut v = Vec::new();
        for h in &mut self.hidden {
            v.push(h.dense.w.view_mut().into_dyn());
            if let Some(b) = h.dense.b.as_mut() {
                v.push(b.view_mut().into_dyn());
            }
            match &mut h.norm {
                Norm::Plain => {}
                Norm::Bn { bn, .. } => {
                    v.push(bn.gamma.view_mut().into_dyn());
                    v.push(bn.beta.view_mut().into_dyn());
                }
                Norm::Ip { ip, .. } => {
                    if let (Some(g), Some(b)) = (ip.gamma.as_mut(), ip.beta.as_mut()) {
                        v.push(g.view_mut().into_dyn());
                        v.push(b.view_mut().into_dyn());
                    }
                }
            }
        }
        v.push(self.out.w.view_mut().into_dyn());
        v.push(
            self.out
                .b
                .as_mut()
                .expect("output bias")
                .view_mut()
                .into_dyn(),
        );
        v
    }

    /// The gradients of the last backward, in the order of [`Mlp::param_names`].
    pub fn grads(&self) -> Vec<ArrayViewD<'_, T>> {
        let mut v = Vec::new();
        for h in &self.hidden {
            v.push(h.dense.dw.view().into_dyn());
            if let Some(db) = h.dense.db.as_ref() {
                v.push(db.view().into_dyn());
            }
            match &h.norm {
                Norm::Plain => {}
                Norm::Bn { st, .. } => {
                    v.push(st.dg.view().into_dyn());
                    v.push(st.db.view().into_dyn());
                }
                Norm::Ip { st, .. } => {
                    if let Some(st) = st {
                        v.push(st.dg.view().into_dyn());
                        v.push(st.db.view().into_dyn());
                    }
                }
            }
        }
        v.push(self.out.dw.view().into_dyn());
        v.push(self.out.db.as_ref().expect("output bias").view().into_dyn());
        v
    }
}

/// Converts an `f32` matrix into the network's scalar type (for f64 gradient checks on data
/// stored as `f32`).
pub fn convert<T: Real>(x: ArrayView2<'_, f32>) -> Array2<T> {
    x.mapv(|v| T::c(v as f64))
}
