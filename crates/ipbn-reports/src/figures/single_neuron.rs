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

mod draw;

use super::experiment::{num_text, Experiment, Produced, Progress};
use super::unit_common::{input_label, log_records, output_range, rule_label};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot;
use crate::plot::xy::fmt_number;
use ipbn_math::numeric::simpson_weight;
use ipbn_math::seed::derive_seed;
use ipbn_neurons::single_unit::{
    fixed_point, published_fixed_point, simulate_unit, InputDist, Trajectory, UnitSgd,
};
use ipbn_neurons::{registry, IpRule, RuleKind};
use rayon::prelude::*;
use serde_json::json;
use std::sync::Arc;

/// Settings of the `single-neuron` figure.
///
/// The gain's dynamics slow down with the input's variance s² (by affine covariance, the
/// standardised gain α·s moves at rate η s²), so each input gets `steps / min(s², 1)` steps
/// (at most 100 × `steps`): unit-variance inputs `steps`, U[0, 1] 12 ×, Exp(mean 0.1) 100 ×.
/// The learning rate decays as η/(1 + t/τ) with τ = 1/`anneal_fraction` of a run's steps, so
/// each run ends close to its fixed point instead of fluctuating around it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
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

    fn validate(&self) -> Result<(), ReportError> {
        for i in &self.inputs {
            i.validate()?;
        }
        if self.steps == 0 || self.records < 2 || self.eval_samples < 2 || self.bins == 0 {
            return Err(ReportError::Config(
                "single-neuron: steps, bins must be ≥ 1 and records, eval_samples ≥ 2".into(),
            ));
        }
        if !(self.sgd.eta.is_finite() && self.sgd.eta > 0.0) || self.sgd.batch == 0 {
            return Err(ReportError::Config(
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
    const TRAINS_NETWORKS: bool = false;

    fn given(&self) -> Option<&SingleNeuronConfig> {
        self.config.as_ref()
    }

    fn produce(
        &self,
        ctx: &FigureContext,
        cfg: &SingleNeuronConfig,
    ) -> Result<Produced, ReportError> {
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
            return Err(ReportError::Run(
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
                    .or_else(|_| fixed_point(rule.as_ref(), act, &input, cfg.sgd.start))
                    .ok();
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

        let files = draw::draw(ctx, Self::ID, &rules, cfg, &runs)?;

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
                input_label(&t.input),
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
                        "input_label": input_label(&r.input),
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
            verdicts: Vec::new(),
            tidy: Vec::new(),
        })
    }
}
