//! `single-neuron`: does a rule shape one neuron's output as its theory says?
//!
//! One IP unit `y = θ(α x + k)` receives a stream of inputs from a fixed distribution
//! (Gaussian, uniform, exponential) and adapts α and k with plain SGD on its rule's
//! direction, in mini-batches, from α = 1, k = 0. For every registered KL-type rule (at its
//! registry defaults) and every input the figure shows
//!
//! * the learned output density (histogram of θ(α x + k) on fresh inputs at the final α, k)
//!   against the rule's target density p*, and
//! * the (α, k) trajectory, with the fixed point of the averaged rule computed independently
//!   by quadrature over the input density (`E[Δα] = E[Δk] = 0`, solved by Newton's method)
//!   and, where models.md §3 lists one, the published fixed point.
//!
//! Rules that are not KL gradients (moment matching) have no target density and are left
//! out here (the `equivalence` figure shows them). The layout follows Triesch (2005, Fig. 1).

use super::experiment::{num_text, Experiment, Produced, Progress};
use crate::error::CliError;
use crate::figure::FigureContext;
use crate::plot::xy::fmt_number;
use crate::plot::{
    self, palette, Area, LegendEntry, LegendPos, LegendSwatch, MarkerShape, PlotError, RefPoint,
    Series, XyChart,
};
use ipbn_math::seed::derive_seed;
use ipbn_math::Activation;
use ipbn_neurons::{registry, IpRule, RuleKind};
use ndarray::Array1;
use ndarray_rand::rand::Rng;
use ndarray_rand::rand_distr::{Exp1, StandardNormal};
use rayon::prelude::*;
use serde_json::json;
use std::sync::Arc;

/// A fixed input distribution for a single unit.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InputDist {
    /// N(mean, sd²).
    Gaussian {
        /// Mean.
        mean: f64,
        /// Standard deviation (> 0).
        sd: f64,
    },
    /// Uniform on [lo, hi].
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end (> lo).
        hi: f64,
    },
    /// Exponential on [0, ∞) with this mean.
    Exponential {
        /// Mean (> 0).
        mean: f64,
    },
}

impl InputDist {
    /// The three inputs of models.md §3: N(0, 1), U[0, 1], Exp(mean 0.1).
    pub fn standard() -> Vec<InputDist> {
        vec![
            InputDist::Gaussian { mean: 0.0, sd: 1.0 },
            InputDist::Uniform { lo: 0.0, hi: 1.0 },
            InputDist::Exponential { mean: 0.1 },
        ]
    }

    /// A short label, e.g. `N(0, 1)`.
    pub fn label(&self) -> String {
        let f = crate::plot::xy::fmt_number;
        match *self {
            InputDist::Gaussian { mean, sd: 1.0 } => format!("N({}, 1)", f(mean)),
            InputDist::Gaussian { mean, sd } => format!("N({}, {}²)", f(mean), f(sd)),
            InputDist::Uniform { lo, hi } => format!("U[{}, {}]", f(lo), f(hi)),
            InputDist::Exponential { mean } => format!("Exp(mean {})", f(mean)),
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), String> {
        let ok = match *self {
            InputDist::Gaussian { mean, sd } => mean.is_finite() && sd.is_finite() && sd > 0.0,
            InputDist::Uniform { lo, hi } => lo.is_finite() && hi.is_finite() && hi > lo,
            InputDist::Exponential { mean } => mean.is_finite() && mean > 0.0,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "input distribution {self:?} is invalid: need finite parameters, sd > 0, hi > lo, mean > 0 for exponential"
            ))
        }
    }

    /// One sample.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            InputDist::Gaussian { mean, sd } => {
                let z: f64 = rng.sample(StandardNormal);
                mean + sd * z
            }
            InputDist::Uniform { lo, hi } => lo + (hi - lo) * rng.random::<f64>(),
            InputDist::Exponential { mean } => {
                let e: f64 = rng.sample(Exp1);
                mean * e
            }
        }
    }

    /// Mean of the distribution.
    pub fn mean(&self) -> f64 {
        match *self {
            InputDist::Gaussian { mean, .. } | InputDist::Exponential { mean } => mean,
            InputDist::Uniform { lo, hi } => 0.5 * (lo + hi),
        }
    }

    /// Standard deviation of the distribution.
    pub fn sd(&self) -> f64 {
        match *self {
            InputDist::Gaussian { sd, .. } => sd,
            InputDist::Uniform { lo, hi } => (hi - lo) / 12f64.sqrt(),
            InputDist::Exponential { mean } => mean,
        }
    }

    /// Composite Simpson nodes and weights (`n` intervals, even) for expectations over this
    /// distribution: `E[f(x)] ≈ Σ wᵢ f(xᵢ)`. The Gaussian is integrated over mean ± 12 sd and
    /// the exponential over [0, 60 means], where the neglected mass is below 1e-26.
    pub fn quadrature(&self, n: usize) -> (Vec<f64>, Vec<f64>) {
        let n = (n.max(2) + 1) & !1;
        let (a, b) = match *self {
            InputDist::Gaussian { mean, sd } => (mean - 12.0 * sd, mean + 12.0 * sd),
            InputDist::Uniform { lo, hi } => (lo, hi),
            InputDist::Exponential { mean } => (0.0, 60.0 * mean),
        };
        let h = (b - a) / n as f64;
        let pdf = |x: f64| match *self {
            InputDist::Gaussian { mean, sd } => {
                let z = (x - mean) / sd;
                (-0.5 * z * z).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
            }
            InputDist::Uniform { lo, hi } => 1.0 / (hi - lo),
            InputDist::Exponential { mean } => (-x / mean).exp() / mean,
        };
        let mut xs = Vec::with_capacity(n + 1);
        let mut ws = Vec::with_capacity(n + 1);
        for i in 0..=n {
            let x = a + h * i as f64;
            xs.push(x);
            ws.push(simpson_weight(i, n) * h / 3.0 * pdf(x));
        }
        (xs, ws)
    }
}

/// α and k of one unit at recorded steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    /// Steps after which the state was recorded (0: the start).
    pub steps: Vec<usize>,
    /// α at those steps.
    pub alpha: Vec<f64>,
    /// k at those steps.
    pub k: Vec<f64>,
    /// The first step at which α or k stopped being finite, if any (the run stops there).
    pub diverged_at: Option<usize>,
}

impl Trajectory {
    /// The last recorded (α, k).
    pub fn last(&self) -> (f64, f64) {
        (
            self.alpha.last().copied().unwrap_or(f64::NAN),
            self.k.last().copied().unwrap_or(f64::NAN),
        )
    }
}

/// How a single unit adapts: plain SGD `α ← α + η Δα`, `k ← k + η Δk` on mini-batches,
/// optionally with a decaying learning rate.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnitSgd {
    /// Learning rate η.
    pub eta: f64,
    /// Samples per step (≥ 2 so that batch-statistics rules apply).
    pub batch: usize,
    /// Start (α, k).
    pub start: (f64, f64),
    /// Annealing time τ in steps: step t uses η/(1 + t/τ) (Robbins–Monro); 0 keeps η fixed.
    pub anneal: f64,
}

impl UnitSgd {
    /// Plain SGD with a fixed learning rate.
    pub fn fixed(eta: f64, batch: usize, start: (f64, f64)) -> Self {
        UnitSgd {
            eta,
            batch,
            start,
            anneal: 0.0,
        }
    }

    /// The learning rate at step `t` (1-based).
    pub fn eta_at(&self, t: usize) -> f64 {
        if self.anneal > 0.0 {
            self.eta / (1.0 + t as f64 / self.anneal)
        } else {
            self.eta
        }
    }
}

/// Runs one unit with `rule` and activation `act` on `steps` mini-batches drawn from
/// `input` with a ChaCha generator seeded by `seed`, recording (α, k) after each step listed
/// in `record_at` (sorted; 0 records the start). Stops early, recording `diverged_at`, if α
/// or k becomes non-finite; later records are then absent.
pub fn simulate_unit(
    rule: &dyn IpRule,
    act: Activation,
    input: &InputDist,
    sgd: &UnitSgd,
    steps: usize,
    record_at: &[usize],
    seed: u64,
) -> Trajectory {
    let mut rng = ipbn_math::seed::rng(seed);
    let (mut alpha, mut k) = sgd.start;
    let mut out = Trajectory {
        steps: Vec::new(),
        alpha: Vec::new(),
        k: Vec::new(),
        diverged_at: None,
    };
    let mut next = 0;
    let record = |t: usize, a: f64, kk: f64, out: &mut Trajectory, next: &mut usize| {
        while *next < record_at.len() && record_at[*next] == t {
            out.steps.push(t);
            out.alpha.push(a);
            out.k.push(kk);
            *next += 1;
        }
    };
    record(0, alpha, k, &mut out, &mut next);
    let b = sgd.batch.max(1);
    let mut x = Array1::<f64>::zeros(b);
    let mut y = Array1::<f64>::zeros(b);
    for t in 1..=steps {
        for i in 0..b {
            let xi = input.sample(&mut rng);
            x[i] = xi;
            y[i] = act.f(alpha * xi + k);
        }
        let d = rule.direction(x.view(), y.view(), alpha, k);
        let eta = sgd.eta_at(t);
        alpha += eta * d.alpha;
        k += eta * d.k;
        if !(alpha.is_finite() && k.is_finite()) {
            out.diverged_at = Some(t);
            break;
        }
        record(t, alpha, k, &mut out, &mut next);
    }
    out
}

/// The expected direction `(E[Δα], E[Δk])` of a rule at (α, k) over `input`, by quadrature
/// (one-sample directions weighted by the input density).
pub fn expected_direction(
    rule: &dyn IpRule,
    act: Activation,
    nodes: &(Vec<f64>, Vec<f64>),
    alpha: f64,
    k: f64,
) -> (f64, f64) {
    let mut da = 0.0;
    let mut dk = 0.0;
    let mut xa = Array1::<f64>::zeros(1);
    let mut ya = Array1::<f64>::zeros(1);
    for (&x, &w) in nodes.0.iter().zip(&nodes.1) {
        if w == 0.0 {
            continue;
        }
        xa[0] = x;
        ya[0] = act.f(alpha * x + k);
        let d = rule.direction(xa.view(), ya.view(), alpha, k);
        da += w * d.alpha;
        dk += w * d.k;
    }
    (da, dk)
}

/// The fixed point of the averaged rule (`E[Δα] = E[Δk] = 0`) near `guess`, by damped
/// Newton iterations on the quadrature expectation with a finite-difference Jacobian.
/// `None` if it does not converge to a residual below 1e-9 with α > 0.
pub fn fixed_point(
    rule: &dyn IpRule,
    act: Activation,
    input: &InputDist,
    guess: (f64, f64),
) -> Option<(f64, f64)> {
    let q = input.quadrature(6000);
    let f = |a: f64, k: f64| expected_direction(rule, act, &q, a, k);
    let norm = |v: (f64, f64)| v.0.hypot(v.1);
    let (mut a, mut k) = guess;
    if !(a.is_finite() && k.is_finite() && a > 0.0) {
        return None;
    }
    let mut r = f(a, k);
    for _ in 0..100 {
        if norm(r) < 1e-11 {
            break;
        }
        let ha = 1e-6 * a.abs().max(1e-3);
        let hk = 1e-6 * k.abs().max(1e-3);
        let ra = f(a + ha, k);
        let rk = f(a, k + hk);
        let j = [
            [(ra.0 - r.0) / ha, (rk.0 - r.0) / hk],
            [(ra.1 - r.1) / ha, (rk.1 - r.1) / hk],
        ];
        let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
        if !(det.is_finite() && det.abs() > 1e-300) {
            return None;
        }
        let sa = -(j[1][1] * r.0 - j[0][1] * r.1) / det;
        let sk = -(-j[1][0] * r.0 + j[0][0] * r.1) / det;
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..40 {
            let (na, nk) = (a + t * sa, k + t * sk);
            if na > 0.0 && na.is_finite() && nk.is_finite() {
                let nr = f(na, nk);
                if norm(nr) < norm(r) {
                    a = na;
                    k = nk;
                    r = nr;
                    improved = true;
                    break;
                }
            }
            t *= 0.5;
        }
        if !improved {
            break;
        }
    }
    (norm(r) < 1e-9 && a > 0.0).then_some((a, k))
}

/// Fixed points quoted in models.md §3 (with their stated precision), drawn as reference
/// markers: triesch (μ = 0.1) on the three standard inputs, and infomax-tanh and
/// infomax-logistic on any Gaussian input.
pub fn published_fixed_point(rule: &dyn IpRule, input: &InputDist) -> Option<(f64, f64)> {
    let param = |name: &str| {
        rule.params()
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value)
    };
    match (rule.id(), *input) {
        ("triesch", inp) if param("mu") == Some(0.1) => match inp {
            InputDist::Gaussian { mean: 0.0, sd: 1.0 } => Some((1.2383, -2.7024)),
            InputDist::Uniform { lo: 0.0, hi: 1.0 } => Some((4.2363, -4.8666)),
            InputDist::Exponential { mean: 0.1 } => Some((12.2595, -3.7365)),
            _ => None,
        },
        ("infomax-tanh", InputDist::Gaussian { mean, sd }) => {
            let a = 0.87440 / sd;
            Some((a, -a * mean))
        }
        ("infomax-logistic", InputDist::Gaussian { mean, sd }) => {
            let a = 1.74880 / sd;
            Some((a, -a * mean))
        }
        _ => None,
    }
}

/// A rule's label with its parameters, e.g. `triesch (mu=0.1)`.
pub fn rule_label(rule: &dyn IpRule) -> String {
    let params: Vec<String> = rule
        .params()
        .iter()
        .map(|p| format!("{}={}", p.name, crate::plot::xy::fmt_number(p.value)))
        .collect();
    if params.is_empty() {
        rule.id().to_string()
    } else {
        format!("{} ({})", rule.id(), params.join(", "))
    }
}

/// Settings of the `single-neuron` figure.
///
/// The gain's dynamics slow down with the input's variance s² (by affine covariance, the
/// standardised gain α·s moves at rate η s²), so each input gets `steps / min(s², 1)` steps
/// (at most 100 × `steps`): unit-variance inputs `steps`, U[0, 1] 12 ×, Exp(mean 0.1) 100 ×.
/// The learning rate decays as η/(1 + t/τ) with τ = 1/`anneal_fraction` of a run's steps, so
/// each run ends close to its fixed point instead of fluctuating around it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SingleNeuronConfig {
    /// SGD steps of a run on a unit-variance input (see the type's docs for other inputs).
    pub steps: usize,
    /// SGD settings shared by every run (`anneal` is set per run from `anneal_fraction`).
    pub sgd: UnitSgd,
    /// τ of the decaying learning rate as a fraction of a run's steps (0: fixed η).
    pub anneal_fraction: f64,
    /// Recorded trajectory points per run (log-spaced in steps, plus the start).
    pub records: usize,
    /// Fresh inputs for the final output histogram.
    pub eval_samples: usize,
    /// Histogram bins over the activation's range.
    pub bins: usize,
    /// Base seed; run `i` uses `derive_seed(seed, i)`.
    pub seed: u64,
    /// Input distributions.
    pub inputs: Vec<InputDist>,
}

impl SingleNeuronConfig {
    /// The full protocol (a few seconds in release builds).
    pub fn full() -> Self {
        SingleNeuronConfig {
            steps: 20_000,
            sgd: UnitSgd::fixed(0.01, 10, (1.0, 0.0)),
            anneal_fraction: 0.05,
            records: 400,
            eval_samples: 50_000,
            bins: 40,
            seed: 2005,
            inputs: InputDist::standard(),
        }
    }

    /// Small settings for tests.
    pub fn quick() -> Self {
        SingleNeuronConfig {
            steps: 1_000,
            records: 100,
            eval_samples: 4_000,
            bins: 25,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), CliError> {
        for i in &self.inputs {
            i.validate().map_err(CliError::Usage)?;
        }
        if self.steps == 0 || self.records < 2 || self.eval_samples < 2 || self.bins == 0 {
            return Err(CliError::Usage(
                "single-neuron: steps, bins must be ≥ 1 and records, eval_samples ≥ 2".into(),
            ));
        }
        if !(self.sgd.eta.is_finite() && self.sgd.eta > 0.0) || self.sgd.batch == 0 {
            return Err(CliError::Usage(
                "single-neuron: eta must be finite and > 0 and batch ≥ 1".into(),
            ));
        }
        Ok(())
    }

    /// Steps of a run on `input`.
    pub fn steps_for(&self, input: &InputDist) -> usize {
        let v = input.sd() * input.sd();
        let factor = (1.0 / v.min(1.0)).min(100.0);
        (self.steps as f64 * factor).round() as usize
    }

    /// SGD settings of a run of `steps` steps.
    pub fn sgd_for(&self, steps: usize) -> UnitSgd {
        UnitSgd {
            anneal: self.anneal_fraction * steps as f64,
            ..self.sgd
        }
    }
}

/// `n` record steps over `0..=steps`: 0, then log-spaced from 1 to `steps`.
pub fn log_records(steps: usize, n: usize) -> Vec<usize> {
    let mut v = vec![0];
    if steps == 0 || n < 2 {
        return v;
    }
    let top = (steps as f64).log10();
    v.extend(
        (0..n - 1).map(|i| 10f64.powf(top * i as f64 / (n - 2).max(1) as f64).round() as usize),
    );
    v.dedup();
    v
}

/// The `single-neuron` figure.
#[derive(Clone, Debug, Default)]
pub struct SingleNeuron {
    /// Settings; `None` picks [`SingleNeuronConfig::full`] or `quick` from the context.
    pub config: Option<SingleNeuronConfig>,
}

/// One (rule, input) run and what is drawn from it.
#[derive(Clone, Debug)]
struct Run {
    rule: Arc<dyn IpRule>,
    rule_index: usize,
    input: InputDist,
    input_index: usize,
    seed: u64,
    traj: Trajectory,
    fixed: Option<(f64, f64)>,
    published: Option<(f64, f64)>,
    hist: Option<plot::Histogram>,
    kl: f64,
    mean_output: f64,
}

/// Kullback–Leibler divergence (nats) of the histogram from the target, with the target's
/// bin masses by Simpson's rule inside each bin.
fn histogram_kl(h: &plot::Histogram, ln_pdf: &dyn Fn(f64) -> f64) -> f64 {
    let mut kl = 0.0;
    let mut any = false;
    for (i, &d) in h.density.iter().enumerate() {
        let (a, b) = (h.edges[i], h.edges[i + 1]);
        let w = b - a;
        let p = d * w;
        if p <= 0.0 {
            continue;
        }
        let m = 16;
        let hh = w / m as f64;
        let mut q = 0.0;
        for j in 0..=m {
            let c = simpson_weight(j, m);
            // Keep strictly inside the bin ends where a density may be infinite (y = 0).
            let y = (a + hh * j as f64).clamp(a + 1e-9 * w, b - 1e-9 * w);
            let v = ln_pdf(y).exp();
            if v.is_finite() {
                q += c * v;
            }
        }
        q *= hh / 3.0;
        if q <= 0.0 {
            return f64::INFINITY;
        }
        kl += p * (p / q).ln();
        any = true;
    }
    if any {
        kl
    } else {
        f64::NAN
    }
}

/// The weight of node `i` of `n` (even) in the composite Simpson rule, before the factor
/// h/3: 1 at both ends, then 4 and 2 alternately.
pub(crate) fn simpson_weight(i: usize, n: usize) -> f64 {
    if i == 0 || i == n {
        1.0
    } else if i % 2 == 1 {
        4.0
    } else {
        2.0
    }
}

/// The open output range of an activation used for histograms and density curves.
pub(crate) fn output_range(act: Activation) -> (f64, f64) {
    match act {
        Activation::Tanh => (-1.0, 1.0),
        _ => (0.0, 1.0),
    }
}

fn fmt_pair(p: (f64, f64)) -> String {
    format!("({:.4}, {:.4})", p.0, p.1)
}

impl Experiment for SingleNeuron {
    const ID: &'static str = "single-neuron";
    const QUESTION: &'static str = "Does a rule shape one neuron's output as its theory says?";
    const SOURCE: &'static str = "Triesch 2005, Fig. 1";
    type Config = SingleNeuronConfig;
    const FULL: fn() -> SingleNeuronConfig = SingleNeuronConfig::full;
    const QUICK: fn() -> SingleNeuronConfig = SingleNeuronConfig::quick;

    fn given(&self) -> Option<&SingleNeuronConfig> {
        self.config.as_ref()
    }

    fn produce(&self, ctx: &FigureContext, cfg: &SingleNeuronConfig) -> Result<Produced, CliError> {
        cfg.validate()?;
        // Every registered KL rule, at its registry defaults.
        let all_rules = registry::default_rules();
        let rules: Vec<Arc<dyn IpRule>> = all_rules
            .iter()
            .filter(|r| r.kind() == RuleKind::Kl && r.target().is_some())
            .cloned()
            .collect();
        let skipped: Vec<&str> = all_rules
            .iter()
            .filter(|r| !(r.kind() == RuleKind::Kl && r.target().is_some()))
            .map(|r| r.id())
            .collect();
        if rules.is_empty() {
            return Err(CliError::Run(
                "single-neuron: the registry has no KL rule".into(),
            ));
        }
        let jobs: Vec<(usize, usize)> = (0..rules.len())
            .flat_map(|r| (0..cfg.inputs.len()).map(move |i| (r, i)))
            .collect();
        let progress = Progress::start(ctx, jobs.len());
        let runs: Vec<Run> = jobs
            .par_iter()
            .enumerate()
            .map(|(j, &(ri, ii))| {
                let rule = rules[ri].clone();
                let input = cfg.inputs[ii];
                let act = rule.activation();
                let seed = derive_seed(cfg.seed, j as u64);
                let steps = cfg.steps_for(&input);
                let record_at = log_records(steps, cfg.records);
                let traj = simulate_unit(
                    rule.as_ref(),
                    act,
                    &input,
                    &cfg.sgd_for(steps),
                    steps,
                    &record_at,
                    seed,
                );
                let end = traj.last();
                let fixed = fixed_point(rule.as_ref(), act, &input, end)
                    .or_else(|| fixed_point(rule.as_ref(), act, &input, cfg.sgd.start));
                let published = published_fixed_point(rule.as_ref(), &input);
                // Output histogram at the final (α, k) on fresh inputs from another stream.
                let mut rng = ipbn_math::seed::rng(derive_seed(seed, 1));
                let ys: Vec<f64> = (0..cfg.eval_samples)
                    .map(|_| act.f(end.0 * input.sample(&mut rng) + end.1))
                    .collect();
                let hist = plot::histogram_density(&ys, cfg.bins, Some(output_range(act)));
                let kl = match (&hist, rule.target()) {
                    (Some(h), Some(t)) => histogram_kl(h, &|y| t.ln_pdf(y)),
                    _ => f64::NAN,
                };
                let finite: Vec<f64> = ys.iter().copied().filter(|v| v.is_finite()).collect();
                let mean_output = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
                progress.tick();
                Run {
                    rule,
                    rule_index: ri,
                    input,
                    input_index: ii,
                    seed,
                    traj,
                    fixed,
                    published,
                    hist,
                    kl,
                    mean_output,
                }
            })
            .collect();

        let files = draw(ctx, Self::ID, &rules, cfg, &runs)?;

        // Finding: distance of the end point to the quadrature fixed point, and the
        // agreement of the quadrature fixed points with the published ones.
        let rel =
            |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).hypot(a.1 - b.1) / b.0.hypot(b.1).max(1e-12);
        let end_gaps: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.fixed.map(|f| rel(r.traj.last(), f)))
            .collect();
        let pub_gaps: Vec<f64> = runs
            .iter()
            .filter_map(|r| match (r.fixed, r.published) {
                (Some(f), Some(p)) => Some(rel(f, p)),
                _ => None,
            })
            .collect();
        let worst_end = end_gaps.iter().copied().fold(0.0, f64::max);
        let worst_pub = pub_gaps.iter().copied().fold(0.0, f64::max);
        let kls: Vec<f64> = runs
            .iter()
            .map(|r| r.kl)
            .filter(|v| v.is_finite())
            .collect();
        let (kl_lo, kl_hi) = (
            kls.iter().copied().fold(f64::INFINITY, f64::min),
            kls.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let diverged = runs.iter().filter(|r| r.traj.diverged_at.is_some()).count();
        let triesch_g = runs
            .iter()
            .find(|r| r.rule.id() == "triesch" && matches!(r.input, InputDist::Gaussian { .. }));
        let mut finding = format!(
            "With SGD (η = {} decaying to η/{}, batches of {}, {} steps per unit input variance), all {} runs of {} KL rules × {} inputs end within {:.2} % of the fixed point of the averaged rule ({} diverged); the learned output histograms are {:.3}–{:.3} nats (KL) from the target densities.",
            cfg.sgd.eta,
            fmt_number(1.0 + 1.0 / cfg.anneal_fraction.max(f64::MIN_POSITIVE)),
            cfg.sgd.batch,
            cfg.steps,
            runs.len(),
            rules.len(),
            cfg.inputs.len(),
            100.0 * worst_end,
            diverged,
            kl_lo,
            kl_hi
        );
        if let Some(t) = triesch_g {
            finding.push_str(&format!(
                " Quadrature fixed points agree with models.md §3 to {:.1e} (relative){}; triesch on {} ends at {} with mean rate {:.4}.",
                worst_pub,
                if pub_gaps.is_empty() { " (none listed)" } else { "" },
                t.input.label(),
                fmt_pair(t.traj.last()),
                t.mean_output
            ));
        }

        let fields = vec![
            ("seeds", json!(runs.iter().map(|r| r.seed).collect::<Vec<_>>())),
            ("rules_skipped_not_kl", json!(skipped)),
            (
                "runs",
                json!(runs.iter().map(|r| {
                    let h = r.hist.as_ref();
                    json!({
                        "rule": r.rule.id(),
                        "rule_label": rule_label(r.rule.as_ref()),
                        "activation": r.rule.activation().name(),
                        "target": r.rule.target_description(),
                        "input": r.input,
                        "input_label": r.input.label(),
                        "seed": r.seed,
                        "trajectory": {"step": r.traj.steps, "alpha": r.traj.alpha, "k": r.traj.k},
                        "diverged_at": r.traj.diverged_at.map_or(json!(false), |s| json!(s)),
                        "end": [num_text(r.traj.last().0), num_text(r.traj.last().1)],
                        "fixed_point_quadrature": r.fixed.map_or(json!("not found"), |f| json!([f.0, f.1])),
                        "fixed_point_published": r.published.map_or(json!("none listed"), |f| json!([f.0, f.1])),
                        "output_histogram": h.map_or(json!("no finite output"), |h| json!({"edges": h.edges, "density": h.density, "outside": h.outside, "non_finite": h.non_finite})),
                        "kl_to_target_nats": num_text(r.kl),
                        "mean_output": num_text(r.mean_output),
                    })
                }).collect::<Vec<_>>()),
            ),
        ];
        Ok(Produced {
            finding,
            files,
            fields,
        })
    }
}

/// Colour of input distribution `i` (shared by every panel).
fn input_color(i: usize) -> RGBColor {
    palette::categorical(i)
}

use plotters::style::RGBColor;

fn draw(
    ctx: &FigureContext,
    id: &str,
    rules: &[Arc<dyn IpRule>],
    cfg: &SingleNeuronConfig,
    runs: &[Run],
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let cols = 1 + cfg.inputs.len();
    let rows = rules.len();
    let width = 520 * cols as u32;
    let height = 170 + 430 * rows as u32;
    plot::save_figure(&ctx.out_dir, id, width, height, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            &format!(
                "One IP unit adapting by SGD on each KL rule from (α, k) = ({}, {}): η = {} decaying, batches of {}",
                cfg.sgd.start.0, cfg.sgd.start.1, cfg.sgd.eta, cfg.sgd.batch
            ),
        )?;
        // One shared legend for all panels.
        let mut entries: Vec<LegendEntry> = cfg
            .inputs
            .iter()
            .enumerate()
            .map(|(i, inp)| LegendEntry {
                label: format!("input {}", inp.label()),
                color: input_color(i),
                swatch: LegendSwatch::Line {
                    dashed: false,
                    marker: false,
                    band: false,
                },
            })
            .collect();
        entries.push(LegendEntry {
            label: "target density p*".into(),
            color: palette::REFERENCE,
            swatch: LegendSwatch::Line {
                dashed: true,
                marker: false,
                band: false,
            },
        });
        entries.push(LegendEntry {
            label: "start".into(),
            color: RGBColor(120, 120, 120),
            swatch: LegendSwatch::Marker(MarkerShape::Square),
        });
        entries.push(LegendEntry {
            label: "fixed point (quadrature)".into(),
            color: palette::REFERENCE,
            swatch: LegendSwatch::Marker(MarkerShape::Diamond),
        });
        entries.push(LegendEntry {
            label: "fixed point (models.md §3)".into(),
            color: palette::FAIL,
            swatch: LegendSwatch::Marker(MarkerShape::Plus),
        });
        let per_row = entries.len().div_ceil(2);
        let (lw, lh) = plot::legend_size(&area, &entries, per_row, plot::LEGEND_SIZE)?;
        let (aw, _) = area.dim_in_pixel();
        let (top, body) = area.split_vertically(lh as i32 + 12);
        let top = top.margin(0, 0, ((aw as i32 - lw as i32) / 2).max(0), 0);
        plot::draw_legend(&top, &entries, per_row, plot::LEGEND_SIZE)?;

        let mut titles: Vec<String> = Vec::new();
        for r in rules {
            titles.push(format!("{}: output", rule_label(r.as_ref())));
            for inp in &cfg.inputs {
                titles.push(format!("{} on {}", r.id(), inp.label()));
            }
        }
        let title_refs: Vec<&str> = titles.iter().map(String::as_str).collect();
        let panels = plot::grid(&body, rows, cols, &title_refs)?;
        for (ri, rule) in rules.iter().enumerate() {
            let act = rule.activation();
            let (lo, hi) = output_range(act);
            let mut density = XyChart::new(
                format!("output y = {}(αx + k)", act.name()),
                "probability density",
            )
            .legend(LegendPos::Hidden);
            for run in runs.iter().filter(|r| r.rule_index == ri) {
                if let Some(h) = &run.hist {
                    density = density.series(
                        Series::step(run.input.label(), &h.edges, &h.density)
                            .color(input_color(run.input_index)),
                    );
                }
            }
            if let Some(t) = rule.target() {
                let n = 400;
                let ys: Vec<f64> = (0..=n)
                    .map(|i| lo + (hi - lo) * (i as f64 + 0.5) / (n as f64 + 1.0))
                    .collect();
                let ps: Vec<f64> = ys.iter().map(|&y| t.ln_pdf(y).exp()).collect();
                density = density.series(
                    Series::new("target p*", ys, ps)
                        .color(palette::REFERENCE)
                        .dashed(),
                );
            }
            density.x_range(lo, hi).draw(&panels[ri * cols])?;

            for run in runs.iter().filter(|r| r.rule_index == ri) {
                let mut chart = XyChart::new("gain α", "bias k")
                    .legend(LegendPos::Hidden)
                    .series(
                        Series::new(
                            format!("trajectory {}", run.input.label()),
                            run.traj.alpha.clone(),
                            run.traj.k.clone(),
                        )
                        .color(input_color(run.input_index)),
                    )
                    .reference(RefPoint::new(
                        "start",
                        cfg.sgd.start,
                        RGBColor(120, 120, 120),
                        MarkerShape::Square,
                    ));
                if let Some(f) = run.fixed {
                    chart = chart.reference(RefPoint::new(
                        "fixed point (quadrature)",
                        f,
                        palette::REFERENCE,
                        MarkerShape::Diamond,
                    ));
                }
                if let Some(p) = run.published {
                    chart = chart.reference(RefPoint::new(
                        "fixed point (models.md §3)",
                        p,
                        palette::FAIL,
                        MarkerShape::Plus,
                    ));
                }
                if let Some(s) = run.traj.diverged_at {
                    chart = chart.note(format!("diverged at step {s}"));
                }
                chart.draw(&panels[ri * cols + 1 + run.input_index])?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadrature_integrates_each_density_to_one() {
        for d in InputDist::standard() {
            let (x, w) = d.quadrature(4000);
            let mass: f64 = w.iter().sum();
            let mean: f64 = x.iter().zip(&w).map(|(x, w)| x * w).sum();
            assert!((mass - 1.0).abs() < 1e-8, "{d:?}: mass {mass}");
            assert!((mean - d.mean()).abs() < 1e-8, "{d:?}: mean {mean}");
        }
    }

    #[test]
    fn quadrature_fixed_points_match_models_md() {
        let triesch = registry::parse_spec("triesch:mu=0.1").unwrap().rule;
        for input in InputDist::standard() {
            let p = published_fixed_point(triesch.as_ref(), &input).unwrap();
            let f = fixed_point(triesch.as_ref(), Activation::Sigmoid, &input, (1.0, 0.0))
                .or_else(|| fixed_point(triesch.as_ref(), Activation::Sigmoid, &input, p))
                .unwrap();
            assert!(
                (f.0 - p.0).abs() < 1e-3 && (f.1 - p.1).abs() < 1e-3,
                "{input:?}: {f:?} vs {p:?}"
            );
        }
        let tanh = registry::parse_spec("infomax-tanh").unwrap().rule;
        let g = InputDist::Gaussian { mean: 2.0, sd: 3.0 };
        let f = fixed_point(tanh.as_ref(), Activation::Tanh, &g, (1.0, 0.0)).unwrap();
        assert!(
            (f.0 * 3.0 - 0.8744).abs() < 1e-4 && (f.1 + f.0 * 2.0).abs() < 1e-4,
            "{f:?}"
        );
    }

    #[test]
    fn sgd_run_is_seeded_and_records_requested_steps() {
        let rule = registry::parse_spec("infomax-tanh").unwrap().rule;
        let sgd = UnitSgd::fixed(0.02, 8, (1.0, 0.0));
        let g = InputDist::Gaussian { mean: 0.0, sd: 1.0 };
        let run = || {
            simulate_unit(
                rule.as_ref(),
                Activation::Tanh,
                &g,
                &sgd,
                3000,
                &[0, 10, 3000],
                7,
            )
        };
        let a = run();
        assert_eq!(a, run());
        assert_eq!(a.steps, vec![0, 10, 3000]);
        assert!((a.last().0 - 0.8744).abs() < 0.05, "{:?}", a.last());
    }
}
