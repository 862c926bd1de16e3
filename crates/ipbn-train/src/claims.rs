//! The network-level claims of `shared/spec/claims.md` as runnable claims, and the gradient
//! check they share with the tests.
//!
//! [`all`] lists every claim of the workspace: the layer and rule claims of
//! [`ipbn_neurons::claims`] followed by the two of this crate, which need whole networks
//! and sweeps:
//!
//! * `network-gradients`: backprop through a whole f64 network agrees with central finite
//!   differences for every hidden-layer condition the rule registry allows;
//! * `determinism`: a sweep run in a rayon pool of one thread and in one of two threads
//!   writes byte-identical files.
//!
//! Both draw their conditions from [`ipbn_neurons::registry::TABLE`], so a newly registered
//! rule is covered without new code. Each claim's core takes the part under test (the
//! gradient comparison, the sweep execution) as an argument, which lets the tests below show
//! that the claim fails on a deliberately wrong gradient or a thread-dependent sweep.
//!
//! [`GradientProblem`] is the whole-network gradient check itself: a small f64 network with
//! a batch, moved away from its initial state, whose backprop gradient is compared with
//! finite differences array by array. The claim and `tests/train_gradients.rs` both use it.

use crate::condition::Condition;
use crate::config::{DataSource, SyntheticData, TrainConfig};
use crate::data::Split;
use crate::error::{ConfigError, Result};
use crate::init::Init;
use crate::mlp::{Mlp, MlpSpec, Workspace};
use crate::sweep::{self, Grid, SweepConfig, SweepOptions};
use ipbn_math::numeric::{try_derivative, Stencil};
use ipbn_math::seed::rng;
use ipbn_math::Activation;
use ipbn_neurons::claims::run_property;
pub use ipbn_neurons::claims::{Claim, ClaimReport};
use ipbn_neurons::registry::{self, RuleDef, RuleSpec};
use ipbn_neurons::{Mode, StepKind};
use ndarray::Array2;
use ndarray_rand::rand_distr::{Distribution, StandardNormal};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The claims of this crate, in claims.md order.
pub fn claims() -> Vec<Claim> {
    vec![
        Claim {
            id: "network-gradients",
            statement: "Whole network, f64: for every hidden-layer condition the rule registry \
                allows (plain, bn, and ip:RULE and ip+affine:RULE for every registered rule \
                whose activation matches, KL rules and moment matching, with random valid \
                parameters and SGD or Adam steps), under sigmoid and tanh, the backprop \
                gradient of the training-mode mean cross-entropy with respect to every W, b, \
                gamma and beta agrees with five-point central differences (step 1e-4). Random \
                networks: 2-4 inputs, two hidden layers of 3-5 units, 2-3 classes, N(0, s^2) \
                weights with s in [0.3, 1.2], a batch of 4-6 N(0, 1) inputs, then 0-4 \
                training steps on it (lr 0.3, momentum 0.5, intrinsic rate in [0.01, 0.1]) so \
                that alpha, k, gamma and beta leave their initial values. Error: the largest \
                over parameter arrays of |backprop - FD|_2 / max(|backprop|_2, |FD|_2, \
                0.01 |whole gradient|_2) (an array of saturated units, whose gradient is below \
                1 % of the whole, is judged against that 1 %: differences of an O(1) loss \
                resolve a derivative only to about 1e-12); tolerance 1e-6.",
            run: run_network_gradients,
        },
        Claim {
            id: "determinism",
            statement: "The same seed gives bit-identical results whatever the thread count: a \
                random small sweep on synthetic Gaussian clusters (two conditions drawn from \
                plain, bn, and ip/ip+affine with every registered rule matching the \
                activation, sigmoid or tanh, 1-2 hidden layers of 3-6 units, replicates 0 and \
                1, batch 2-6, 4-12 steps) run by run_sweep_with_data in a rayon pool of 1 \
                thread and in one of 2 threads, each into a fresh folder under the system's \
                temporary folder, writes the same files, byte for byte. Error: 0 \
                if identical, 1 if a file differs or is missing or either sweep fails; \
                tolerance 0. Each case trains and writes two sweeps, so at most 64 cases are \
                run whatever the number asked for; the cases column reports the number run.",
            run: run_determinism,
        },
    ]
}

/// Every claim of the workspace: [`ipbn_neurons::claims::all`] followed by [`claims`].
pub fn all() -> Vec<Claim> {
    let mut v = ipbn_neurons::claims::all();
    v.extend(claims());
    v
}

/// Runs every claim that applies to one rule, on that rule alone: the rule claims of
/// [`ipbn_neurons::claims::check_rule`], then `network-gradients` and `determinism` with the
/// conditions `ip:RULE` and `ip+affine:RULE` (random valid parameters, SGD or Adam) under every
/// activation the rule accepts among sigmoid, tanh and its own. These are the rows
/// `ipbn claims --only RULE` prints.
///
/// # Errors
/// [`ipbn_neurons::NeuronError::BadRule`] when the rule cannot be registered.
pub fn check_rule(
    def: &RuleDef,
    cases: u32,
    seed: u64,
) -> std::result::Result<Vec<ClaimReport>, ipbn_neurons::NeuronError> {
    let mut rows = ipbn_neurons::claims::check_rule(def, cases, seed)?;
    let scope = Scope::rule(*def);
    if !scope.activations().is_empty() {
        rows.push(network_gradients_with(&scope, cases, seed, |_| {}));
        rows.push(determinism_with(&scope, cases, seed, execute_sweep));
    }
    Ok(rows)
}

/// Looks a claim of [`all`] up by id.
pub fn find(id: &str) -> Option<Claim> {
    all().into_iter().find(|c| c.id == id)
}

// ---------------------------------------------------------------------------------------------
// Conditions from the registry

/// A hidden-layer condition before its rule's parameters are chosen.
#[derive(Clone, Copy)]
enum Shape {
    Plain,
    Bn,
    Ip(RuleDef),
    IpAffine(RuleDef),
}

impl Shape {
    /// The condition with the rule's default parameters (`None`) or parameters at typical
    /// positions `t`, stepped by Adam or SGD; `None` if the rule rejects the parameters.
    fn condition(self, t: Option<&[f64]>, adam: bool) -> Option<Condition> {
        let spec = |def: &RuleDef| {
            let rule = match t {
                None => def.build_default(),
                Some(t) => def.build_typical(t),
            }
            .ok()?;
            let step = if adam {
                StepKind::adam()
            } else {
                StepKind::Sgd
            };
            Some(RuleSpec::new(rule, step))
        };
        Some(match self {
            Shape::Plain => Condition::Plain,
            Shape::Bn => Condition::Bn,
            Shape::Ip(def) => Condition::Ip(spec(&def)?),
            Shape::IpAffine(def) => Condition::IpAffine(spec(&def)?),
        })
    }
}

/// Which rules the network-level claims cover, and whether the plain and BN baselines are
/// among the conditions.
#[derive(Clone, Debug)]
struct Scope {
    defs: Vec<RuleDef>,
    baselines: bool,
}

impl Scope {
    /// Every rule of the active registry, with the baselines.
    fn registry() -> Scope {
        Scope {
            defs: registry::active().defs().to_vec(),
            baselines: true,
        }
    }

    /// One rule alone.
    fn rule(def: RuleDef) -> Scope {
        Scope {
            defs: vec![def],
            baselines: false,
        }
    }

    /// Sigmoid and tanh, then any other activation a rule in scope is derived for, with at
    /// least one condition each.
    fn activations(&self) -> Vec<Activation> {
        let mut v = ACTIVATIONS.to_vec();
        for d in &self.defs {
            if let Ok(r) = d.build_default() {
                let a = r.activation();
                if a != Activation::Identity && !v.contains(&a) {
                    v.push(a);
                }
            }
        }
        v.retain(|&a| !self.shapes(a).is_empty());
        v
    }

    /// Plain and BN (with the baselines), then IP and IP+affine for every rule in scope that
    /// accepts `activation` (with its default parameters), in registry order.
    fn shapes(&self, activation: Activation) -> Vec<Shape> {
        let mut v = if self.baselines {
            vec![Shape::Plain, Shape::Bn]
        } else {
            Vec::new()
        };
        let rules: Vec<RuleDef> = self
            .defs
            .iter()
            .filter(|d| {
                d.build_default()
                    .is_ok_and(|r| ipbn_neurons::rules::accepts_activation(r.as_ref(), activation))
            })
            .copied()
            .collect();
        v.extend(rules.iter().map(|&d| Shape::Ip(d)));
        v.extend(rules.iter().map(|&d| Shape::IpAffine(d)));
        v
    }
}

/// Every hidden-layer condition the registry allows under `activation`, each rule with its
/// default parameters and SGD steps: `plain`, `bn`, then `ip:RULE` and `ip+affine:RULE` for
/// every registered rule that accepts the activation.
pub fn conditions(activation: Activation) -> Vec<Condition> {
    Scope::registry()
        .shapes(activation)
        .into_iter()
        .filter_map(|s| s.condition(None, false))
        .collect()
}

/// Random positions in [0, 1] within the rules' typical parameter ranges (for up to four
/// parameters; further ones keep their defaults), or `None` for the defaults.
fn params_strategy() -> impl Strategy<Value = Option<Vec<f64>>> {
    proptest::option::of(proptest::collection::vec(0.0f64..=1.0, 4))
}

/// The activations the network claims cover.
const ACTIVATIONS: [Activation; 2] = [Activation::Sigmoid, Activation::Tanh];

// ---------------------------------------------------------------------------------------------
// The whole-network gradient check

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
    fn check_with(&mut self, step: f64, tamper: fn(&mut [Vec<f64>])) -> Result<Vec<GradientCheck>> {
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

/// One random case of `network-gradients`.
#[derive(Clone)]
struct NetCase {
    /// `None` if the rule rejected its typical parameters (a registry bug: the case fails).
    condition: Option<Condition>,
    activation: Activation,
    inputs: usize,
    hidden: Vec<usize>,
    classes: usize,
    batch: usize,
    init_std: f64,
    eta: f64,
    warmup: usize,
    seed: u64,
}

impl fmt::Debug for NetCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let condition = self.condition.as_ref().map_or_else(
            || "<rule rejected its parameters>".into(),
            |c| c.to_string(),
        );
        f.debug_struct("NetCase")
            .field("condition", &condition)
            .field("activation", &self.activation.name())
            .field("inputs", &self.inputs)
            .field("hidden", &self.hidden)
            .field("classes", &self.classes)
            .field("batch", &self.batch)
            .field("init_std", &self.init_std)
            .field("eta", &self.eta)
            .field("warmup", &self.warmup)
            .field("seed", &self.seed)
            .finish()
    }
}

fn net_cases(scope: &Scope) -> impl Strategy<Value = NetCase> {
    let all: Vec<(Shape, Activation)> = scope
        .activations()
        .into_iter()
        .flat_map(|a| scope.shapes(a).into_iter().map(move |s| (s, a)))
        .collect();
    (
        (0..all.len(), params_strategy(), any::<bool>()),
        2usize..=4,
        proptest::collection::vec(3usize..=5, 2),
        2usize..=3,
        4usize..=6,
        0.3f64..1.2,
        0.01f64..0.1,
        0usize..=4,
        any::<u64>(),
    )
        .prop_map(
            move |((i, t, adam), inputs, hidden, classes, batch, init_std, eta, warmup, seed)| {
                let (shape, activation) = all[i];
                NetCase {
                    condition: shape.condition(t.as_deref(), adam),
                    activation,
                    inputs,
                    hidden,
                    classes,
                    batch,
                    init_std,
                    eta,
                    warmup,
                    seed,
                }
            },
        )
}

/// The `network-gradients` error of one case (infinite if the case cannot be built or its
/// warm-up leaves non-finite values).
fn net_case_error(c: &NetCase, tamper: fn(&mut [Vec<f64>])) -> f64 {
    let Some(condition) = &c.condition else {
        return f64::INFINITY;
    };
    let spec = MlpSpec {
        inputs: c.inputs,
        hidden: c.hidden.clone(),
        classes: c.classes,
        activation: c.activation,
        kind: condition.layer_kind(c.eta),
        init: Init::Gauss { std: c.init_std },
    };
    let Ok(mut p) = GradientProblem::new(&spec, c.batch, c.warmup, c.seed) else {
        return f64::INFINITY;
    };
    if !p.net.is_finite() {
        return f64::INFINITY;
    }
    p.check_with(FD_STEP, tamper)
        .map_or(f64::INFINITY, |checks| worst_relative_error(&checks))
}

fn network_gradients_with(
    scope: &Scope,
    cases: u32,
    seed: u64,
    tamper: fn(&mut [Vec<f64>]),
) -> ClaimReport {
    run_property(
        "network-gradients",
        1e-6,
        cases,
        seed,
        net_cases(scope),
        |c: &NetCase| net_case_error(c, tamper),
    )
}

fn run_network_gradients(cases: u32, seed: u64) -> ClaimReport {
    network_gradients_with(&Scope::registry(), cases, seed, |_| {})
}

// ---------------------------------------------------------------------------------------------
// determinism

/// The most cases `determinism` runs, whatever the number asked for.
pub const DETERMINISM_MAX_CASES: u32 = 64;

/// One random case of `determinism`: a small sweep.
#[derive(Clone)]
struct SweepCase {
    sweep: SweepConfig,
}

impl fmt::Debug for SweepCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The sweep's JSON is what `ipbn sweep` reads, so a failing case can be re-run as is.
        match serde_json::to_string(&self.sweep) {
            Ok(json) => write!(f, "{json}"),
            Err(e) => write!(f, "<sweep that does not serialise: {e}>"),
        }
    }
}

type CondPick = (usize, Option<Vec<f64>>, bool);

fn sweep_cases(scope: &Scope) -> impl Strategy<Value = SweepCase> {
    let acts = scope.activations();
    let per_act: Vec<Vec<Shape>> = acts.iter().map(|&a| scope.shapes(a)).collect();
    let cond = || (0usize..1024, params_strategy(), any::<bool>());
    (
        (0..acts.len(), cond(), cond()),
        proptest::collection::vec(3usize..=6, 1..=2),
        2usize..=6,
        4usize..=12,
        1usize..=6,
        (
            0.05f64..1.0,
            0.001f64..0.1,
            prop_oneof![Just(0.0), 0.0f64..0.9],
        ),
        (
            24usize..=48,
            6usize..=12,
            2usize..=5,
            2usize..=3,
            0.5f32..4.0,
            any::<u64>(),
        ),
        any::<u64>(),
    )
        .prop_map(
            move |((a, c1, c2), hidden, batch, steps, eval_every, rates, data, sweep_seed)| {
                let shapes = &per_act[a];
                let pick = |(i, t, adam): CondPick| {
                    let s = shapes[i % shapes.len()];
                    s.condition(t.as_deref(), adam)
                        .or_else(|| s.condition(None, adam))
                        .unwrap_or(Condition::Plain)
                };
                let (lr, ip_lr, momentum) = rates;
                let (train, test, features, classes, separation, data_seed) = data;
                let base = TrainConfig {
                    hidden,
                    activation: acts[a],
                    condition: Condition::Plain,
                    init: Init::Gauss { std: 0.5 },
                    batch,
                    steps,
                    lr,
                    momentum,
                    ip_lr,
                    eval_every,
                    seed: 0,
                    data: DataSource::Synthetic(SyntheticData {
                        train,
                        test,
                        features,
                        classes,
                        separation,
                        seed: data_seed,
                    }),
                    probe_size: test,
                    probe_units: vec![0, 1, 2],
                    percentiles: vec![15.0, 50.0, 85.0],
                };
                SweepCase {
                    sweep: SweepConfig {
                        name: "determinism".into(),
                        seed: sweep_seed,
                        base,
                        grid: Grid {
                            conditions: vec![pick(c1), pick(c2)],
                            seeds: vec![0, 1],
                            ..Grid::default()
                        },
                    },
                }
            },
        )
}

/// Runs a sweep on the current rayon pool into a folder; `Ok(true)` when every run of it
/// finished and was written.
type Execute = fn(&SweepConfig, &Split, &Path) -> Result<bool>;

/// The sweep as `ipbn sweep` runs it.
fn execute_sweep(sweep: &SweepConfig, data: &Split, out: &Path) -> Result<bool> {
    let o = sweep::run_sweep_with_data(sweep, data, out, SweepOptions::default(), &|_| {})?;
    Ok(o.failed.is_empty() && !o.cancelled && o.summary.missing == 0)
}

/// A fresh folder under the system's temporary folder, removed with everything in it when
/// dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let pid = std::process::id();
        let mut last = None;
        for _ in 0..64 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("ipbn-claim-determinism-{pid}-{n}"));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(Scratch(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary folder name")))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `sweep` with `execute` inside `pool` into a fresh folder and returns its files, or
/// `None` if the sweep fails, a run fails or is not run.
fn sweep_files(
    pool: &rayon::ThreadPool,
    execute: Execute,
    sweep: &SweepConfig,
    data: &Split,
) -> Option<BTreeMap<String, Vec<u8>>> {
    let dir = Scratch::new().ok()?;
    if !pool.install(|| execute(sweep, data, &dir.0)).ok()? {
        return None;
    }
    crate::io::read_tree(&dir.0).ok()
}

fn determinism_with(scope: &Scope, cases: u32, seed: u64, execute: Execute) -> ClaimReport {
    let pools = [1, 2].map(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build());
    let [Ok(one), Ok(two)] = pools else {
        return ClaimReport {
            id: "determinism".into(),
            cases: 0,
            worst_error: f64::INFINITY,
            tolerance: 0.0,
            holds: false,
            detail: "could not start rayon thread pools of 1 and 2 threads".into(),
        };
    };
    run_property(
        "determinism",
        0.0,
        cases.min(DETERMINISM_MAX_CASES),
        seed,
        sweep_cases(scope),
        |c: &SweepCase| {
            let Ok(data) = c.sweep.base.data.load() else {
                return 1.0;
            };
            let a = sweep_files(&one, execute, &c.sweep, &data);
            let b = sweep_files(&two, execute, &c.sweep, &data);
            match (a, b) {
                (Some(a), Some(b)) if a == b => 0.0,
                _ => 1.0,
            }
        },
    )
}

fn run_determinism(cases: u32, seed: u64) -> ClaimReport {
    determinism_with(&Scope::registry(), cases, seed, execute_sweep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_the_neuron_claims_then_these_with_unique_ids() {
        let ids: Vec<&str> = all().iter().map(|c| c.id).collect();
        let neuron: Vec<&str> = ipbn_neurons::claims::all().iter().map(|c| c.id).collect();
        assert_eq!(&ids[..neuron.len()], &neuron[..]);
        assert_eq!(&ids[neuron.len()..], ["network-gradients", "determinism"]);
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert_eq!(find("determinism").map(|c| c.id), Some("determinism"));
        assert!(find("no-such-claim").is_none());
    }

    #[test]
    fn conditions_cover_every_registered_rule_for_its_activation() {
        for act in ACTIVATIONS {
            let names: Vec<String> = conditions(act).iter().map(|c| c.to_string()).collect();
            assert_eq!(&names[..2], ["plain", "bn"]);
            for def in registry::active().defs() {
                let rule = def.build_default().unwrap();
                let accepts = ipbn_neurons::rules::accepts_activation(rule.as_ref(), act);
                let has = |prefix: &str| {
                    names
                        .iter()
                        .any(|n| n.starts_with(&format!("{prefix}:{}", def.id)))
                };
                assert_eq!(has("ip"), accepts, "{act} {}", def.id);
                assert_eq!(has("ip+affine"), accepts, "{act} {}", def.id);
            }
        }
        // Every rule accepts one of the two activations, so every rule is covered.
        let covered: usize = ACTIVATIONS.iter().map(|&a| conditions(a).len() - 2).sum();
        assert!(covered >= 2 * registry::active().defs().len(), "{covered}");
    }

    #[test]
    fn network_gradients_holds() {
        let r = run_network_gradients(24, 5);
        assert!(r.holds, "{r:?}");
        assert_eq!(r.cases, 24);
        assert!(r.worst_error > 0.0 && r.worst_error <= 1e-6, "{r:?}");
    }

    #[test]
    fn network_gradients_fails_on_a_slightly_wrong_gradient() {
        // A 1e-4 relative error in the last array (the output bias) must be caught.
        let r = network_gradients_with(&Scope::registry(), 8, 5, |g| {
            if let Some(last) = g.last_mut() {
                last.iter_mut().for_each(|v| *v *= 1.0 + 1e-4);
            }
        });
        assert!(!r.holds, "{r:?}");
        assert!(r.worst_error > 5e-5 && r.worst_error < 2e-4, "{r:?}");
        assert!(r.detail.contains("minimal case"), "{}", r.detail);
    }

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

    #[test]
    fn determinism_holds() {
        let r = run_determinism(3, 11);
        assert!(r.holds, "{r:?}");
        assert_eq!((r.cases, r.worst_error, r.tolerance), (3, 0.0, 0.0));
    }

    #[test]
    fn determinism_caps_the_cases_run() {
        // A cheap stand-in for the sweep (one fixed file) shows the cap: the report counts
        // the cases actually run.
        fn fixed(_: &SweepConfig, _: &Split, out: &Path) -> Result<bool> {
            std::fs::write(out.join("result.txt"), b"same")
                .map_err(|e| crate::error::TrainError::io(out, e))?;
            Ok(true)
        }
        let r = determinism_with(&Scope::registry(), 1_000_000, 1, fixed);
        assert!(r.holds, "{r:?}");
        assert_eq!(r.cases, u64::from(DETERMINISM_MAX_CASES));
        let r = determinism_with(&Scope::registry(), 5, 1, fixed);
        assert_eq!(r.cases, 5);
        // A sweep that fails counts as a difference.
        let r = determinism_with(&Scope::registry(), 3, 1, |_, _, _| {
            Err(ConfigError::new("sweep", "always fails").into())
        });
        assert!(!r.holds);
        assert_eq!(r.worst_error, 1.0);
    }

    #[test]
    fn determinism_fails_when_the_output_depends_on_the_thread_count() {
        // A stand-in for a sweep whose output records the thread count (as a result summed
        // with a parallel reduction would, in effect): every case differs between the pools.
        fn stamped(_: &SweepConfig, _: &Split, out: &Path) -> Result<bool> {
            let threads = rayon::current_num_threads().to_string();
            std::fs::write(out.join("result.txt"), threads)
                .map_err(|e| crate::error::TrainError::io(out, e))?;
            Ok(true)
        }
        let r = determinism_with(&Scope::registry(), 2, 11, stamped);
        assert!(!r.holds, "{r:?}");
        assert_eq!(r.worst_error, 1.0);
        assert!(r.detail.contains("minimal case"), "{}", r.detail);
    }
}
