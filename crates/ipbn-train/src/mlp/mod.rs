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
//! `W` is stored `fan_in × fan_out` so every product is a plain [`ipbn_math::gemm`] (the
//! widest vector unit's kernel, or AVX2+FMA in portable mode) without a copy: forward `Z = X W`, weight gradient `dW = Xᵀ G` and input gradient `G_X = G Wᵀ`
//! (transposes are views, which the GEMM kernel reads through strides). Every activation and
//! gradient buffer lives in a [`Workspace`] allocated once per batch capacity; a training step
//! ([`Mlp::train_step`]) allocates nothing in this module (the BN and IP layers keep their own
//! caches).
//!
//! ## Speed
//!
//! The element-wise work between the products runs over plain slices, one sweep per row while
//! it is in cache (bias, activation and, for IP, the slope in one pass), through
//! [`ipbn_math::kernels`]: AVX-512, AVX2+FMA or baseline code chosen at run time, with
//! results bit-identical across the three (see that module for the one exponential involved).
//!
//! ## Files
//!
//! * this file: the types (spec, network, workspace) and building a network;
//! * `model`: the forward pass, the loss, backprop and inference accuracy;
//! * `optimiser`: SGD with momentum, the intrinsic updates and the training step;
//! * `probes`: what the recorder reads from a pass (activation inputs, gradient norms, α, k);
//! * `params`: the parameters learned by backprop and their gradients in one order, for the
//!   gradient checks.

mod model;
mod optimiser;
mod params;
mod probes;

use crate::error::{ConfigError, Result};
use crate::init::Init;
use ipbn_math::{Activation, Real};
use ipbn_neurons::{BatchNorm, IpLayer, IpLayerConfig, IpRule, StepKind};
use ndarray::{s, Array1, Array2, ArrayView2};
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
}

/// Converts an `f32` matrix into the network's scalar type (for f64 gradient checks on data
/// stored as `f32`).
pub fn convert<T: Real>(x: ArrayView2<'_, f32>) -> Array2<T> {
    x.mapv(|v| T::c(v as f64))
}
