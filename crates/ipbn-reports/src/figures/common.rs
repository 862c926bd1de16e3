//! Shared machinery of the network figures (`bn-mnist`, `vanishing-gradient`,
//! `lr-stability`, `batch-size`, `homogenisation`); what every figure shares is in
//! [`super::experiment`].
//!
//! * [`load_split`]: the figure's data, once per figure, from [`FigureContext::data`].
//! * [`mnist_network`], [`standard_conditions`]: the network and the conditions the
//!   figures start from.
//! * [`check_base`], [`run_seeds`], [`parse_conds`]: the settings every network figure
//!   checks, its run seeds and its conditions.
//! * [`NetCond`]: a condition as drawn (label, colour, dash) with the activation it runs on.
//! * [`run_all`]: every run of a figure as one parallel batch through the executor of
//!   `ipbn sweep`, each run stored as `OUT/runs/<id>.json` (see [`crate::runs`]): a stored
//!   run is read back instead of trained, so a restarted `ipbn reproduce` trains no finished
//!   run and two figures that need the same run (`bn-mnist` and `homogenisation`) train it
//!   once. Runs are scheduled longest first on the context's rayon pool (each run is
//!   single-threaded and depends only on its configuration, so results are the same for any
//!   thread count) and returned in list order. Configurations the trainer rejects (e.g. `bn`
//!   with batch 1) come back as [`Outcome::Invalid`] instead of failing the figure. A figure
//!   passes all its runs to one `run_all` call before drawing, so that its runs can be
//!   declared without training (`--shard`).
//! * [`record_series`]: one condition's record history over seeds as a mean line with a
//!   band of the 95 % confidence interval of the mean, each diverged run marked once, where
//!   it diverged.
//! * JSON helpers that never write `null` or a non-finite number, and [`net_fields`], the
//!   fields every network figure's JSON carries (its data and run seeds).

use super::experiment::{Fields, Progress};
use crate::error::ReportError;
use crate::figure::{DataSource, FigureContext};
use crate::plot::{self, Diverged, Series, Spread};
use crate::runs::RunMode;
use ipbn_math::Activation;
use ipbn_train::data::{self, Split};
use ipbn_train::result::Record;
use ipbn_train::{Condition, RunResult, TrainConfig};
use plotters::style::RGBColor;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Loads the figure's data from the context's source; a bad `--data` folder is a usage
/// error whose message names the problem.
pub(crate) fn load_split(ctx: &FigureContext) -> Result<Split, ReportError> {
    match &ctx.data {
        DataSource::Shipped => data::load_shipped().map_err(|source| ReportError::Train {
            context: "cannot load the shipped MNIST subset".into(),
            usage: true,
            source: source.into(),
        }),
        DataSource::Dir(p) => data::load_dir(p).map_err(|source| ReportError::Train {
            context: format!("--data {}", p.display()),
            usage: true,
            source: source.into(),
        }),
        DataSource::Dataset(name) => data::load_named(name).map_err(|source| ReportError::Train {
            context: format!("--data {name}"),
            usage: true,
            source: source.into(),
        }),
    }
}

/// A usage error of figure `id`: `id: what`.
pub(crate) fn usage(id: &str, what: &str) -> ReportError {
    ReportError::Config(format!("{id}: {what}"))
}

/// Checks the settings every run of figure `id` starts from, as the trainer would.
pub(crate) fn check_base(id: &str, base: &TrainConfig) -> Result<(), ReportError> {
    base.validate().map_err(|e| usage(id, &e.to_string()))
}

/// The run seeds of figure `id`: `n` replicates (the config's `seeds`, which `--seeds N`
/// and `--set seeds=N` set), replicate `r` seeded with `derive_seed(base, r)`. Every
/// condition shares them, so that conditions are compared on the same initial weights and
/// batch order. (`_ctx` is unused: the context's seed override went when `--seeds` became
/// `--set seeds=N`; the parameter stays so that callers need not change.)
///
/// # Errors
/// A usage error if there would be no replicate.
pub(crate) fn run_seeds(
    _ctx: &FigureContext,
    n: usize,
    base: u64,
    id: &str,
) -> Result<Vec<u64>, ReportError> {
    if n == 0 {
        return Err(usage(id, "seeds must be ≥ 1 (--seeds N or --set seeds=N)"));
    }
    Ok((0..n as u64)
        .map(|r| ipbn_math::seed::derive_seed(base, r))
        .collect())
}

/// Parses every condition of `specs` for a network with hidden activation `activation`
/// (see [`NetCond::parse`]).
pub(crate) fn parse_conds(
    specs: &[String],
    activation: Activation,
) -> Result<Vec<NetCond>, ReportError> {
    specs
        .iter()
        .map(|c| NetCond::parse(c, activation))
        .collect()
}

/// The network every network figure starts from, that of Ioffe & Szegedy's MNIST
/// experiment: 784-100-100-100-10 with sigmoid hidden units, `gauss:0.1` initial weights
/// (the paper gives no value), mini-batches of 60, plain SGD (learning rate 0.5, no
/// momentum), IP rate 0.001 and one probed unit (unit 0). Each figure sets its steps,
/// records and probe batch, and whatever it varies.
pub(crate) fn mnist_network() -> TrainConfig {
    TrainConfig {
        hidden: vec![100, 100, 100],
        activation: Activation::Sigmoid,
        init: ipbn_train::Init::Gauss { std: 0.1 },
        batch: 60,
        lr: 0.5,
        momentum: 0.0,
        ip_lr: 0.001,
        probe_units: vec![0],
        ..TrainConfig::default()
    }
}

/// The conditions `bn-mnist` (and with it `homogenisation`) and `lr-stability` compare, in
/// drawing order: no normalisation, BN, three IP rules, and IP with BN's affine γ, β.
pub(crate) fn standard_conditions() -> Vec<String> {
    [
        "plain",
        "bn",
        "ip:infomax-logistic",
        "ip:triesch",
        "ip:moment",
        "ip+affine:infomax-logistic",
    ]
    .map(String::from)
    .to_vec()
}

/// One condition of a network figure as it is drawn.
#[derive(Clone, Debug)]
pub(crate) struct NetCond {
    /// Legend label (the condition as written, e.g. `ip:infomax-logistic:opt=adam`, plus a
    /// note on the network when it is not the figure's usual one).
    pub label: String,
    /// The parsed condition.
    pub condition: Condition,
    /// Hidden activation of the network it runs on.
    pub activation: Activation,
}

impl NetCond {
    /// Parses `spec` (`plain`, `bn`, `ip:RULESPEC`, `ip+affine:RULESPEC`) for a network with
    /// hidden activation `activation`; the label is `spec` itself.
    pub(crate) fn parse(spec: &str, activation: Activation) -> Result<NetCond, ReportError> {
        let condition: Condition =
            spec.parse()
                .map_err(|e: ipbn_train::ConfigError| ReportError::Train {
                    context: format!("condition `{spec}`"),
                    usage: true,
                    source: e.into(),
                })?;
        condition
            .check_activation(activation)
            .map_err(|e| ReportError::Train {
                context: format!("condition `{spec}`"),
                usage: true,
                source: e.into(),
            })?;
        Ok(NetCond {
            label: spec.to_string(),
            condition,
            activation,
        })
    }

    /// Whether the rule (if any) is stepped by Adam.
    fn adam(&self) -> bool {
        self.condition
            .rule_spec()
            .is_some_and(|s| matches!(s.step, ipbn_neurons::StepKind::Adam { .. }))
    }

    /// The condition's colour from the shared palette: the rule's hue (Adam-stepped rules
    /// share the palette's Adam colour), darker for `ip+affine`.
    pub(crate) fn color(&self) -> RGBColor {
        match &self.condition {
            Condition::Plain => plot::palette::PLAIN,
            Condition::Bn => plot::palette::BN,
            Condition::Ip(s) | Condition::IpAffine(s) => {
                let prefix = if matches!(self.condition, Condition::IpAffine(_)) {
                    "ip+affine"
                } else {
                    "ip"
                };
                let id = if self.adam() {
                    format!("adam-{}", s.id())
                } else {
                    s.id().to_string()
                };
                plot::color_for(&format!("{prefix}:{id}"))
            }
        }
    }

    /// `ip+affine` conditions are drawn dashed (as the palette asks), so that they stay
    /// distinguishable from `ip` of the same rule in grey-scale too.
    pub(crate) fn dashed(&self) -> bool {
        matches!(self.condition, Condition::IpAffine(_))
    }

    /// The canonical, fully resolved condition string (every rule parameter written out).
    pub(crate) fn canonical(&self) -> String {
        self.condition.to_string()
    }
}

/// What became of one configuration.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// It ran (possibly diverging: see [`RunResult::diverged`]).
    Ran(Arc<RunResult>),
    /// The trainer does not accept it; the message says why (e.g. `bn` with batch 1).
    Invalid(String),
}

impl Outcome {
    /// The result, if it ran.
    pub(crate) fn result(&self) -> Option<&RunResult> {
        match self {
            Outcome::Ran(r) => Some(r),
            Outcome::Invalid(_) => None,
        }
    }
}

/// Runs every configuration of `configs` on `split` and returns the outcomes in list order,
/// reporting `(done, total)` through the context. The runs go through the executor of
/// `ipbn sweep` ([`ipbn_train::sweep::execute`]) as the context's [`crate::runs::RunStore`]
/// says: a run stored in `OUT/runs/<id>.json` is read back, the others are trained in
/// parallel on the current rayon pool (longest first; each run is single-threaded and
/// depends only on its configuration and the data, so results are the same for any thread
/// count) and stored as each finishes. A configuration listed twice is trained once.
/// Configurations the trainer rejects (e.g. `bn` with batch 1) come back as
/// [`Outcome::Invalid`] instead of failing the figure.
///
/// A figure passes every run it needs to one call, before it draws: in plan mode this call
/// records the runs and returns [`ReportError::Planned`], which stops the figure.
///
/// # Errors
/// The first failure of a valid configuration (an I/O or numerical error of the trainer,
/// not a divergence, which is a result), as [`ReportError::Run`]; runs not stored in merge
/// mode, or not trained because the run was interrupted, also as [`ReportError::Run`].
pub(crate) fn run_all(
    ctx: &FigureContext,
    split: &Split,
    configs: &[TrainConfig],
) -> Result<Vec<Outcome>, ReportError> {
    run_stage(ctx, split, configs, 0, false)
}

/// [`run_all`] for a figure whose runs come in stages, later ones chosen from the results of
/// earlier ones: `stage` numbers this call's runs (0, 1, …) and `later` says whether the
/// figure declares another stage after it. In plan mode the runs are declared; a stage with
/// `later` whose runs are all stored is then read back (nothing is trained) so that the
/// figure can go on to declare the next stage, and any other stage stops the figure with
/// [`ReportError::Planned`]. In the other modes it is [`run_all`].
///
/// # Errors
/// As [`run_all`].
pub(crate) fn run_stage(
    ctx: &FigureContext,
    split: &Split,
    configs: &[TrainConfig],
    stage: usize,
    later: bool,
) -> Result<Vec<Outcome>, ReportError> {
    use ipbn_train::sweep::{self, ExecOptions, SweepEvent, SweepRun};
    let store = &ctx.runs;
    // Each distinct run once; `which[i]` is the run of configuration `i`.
    let mut runs: Vec<SweepRun> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut which: Vec<Result<usize, String>> = Vec::with_capacity(configs.len());
    for cfg in configs {
        if let Err(e) = cfg.validate_for(split) {
            which.push(Err(e.to_string()));
            continue;
        }
        let id = sweep::run_id_on(cfg, split);
        let j = *by_id.entry(id.clone()).or_insert_with(|| {
            runs.push(SweepRun {
                index: runs.len(),
                id,
                replicate: 0,
                config: cfg.clone(),
                invalid: None,
            });
            runs.len() - 1
        });
        which.push(Ok(j));
    }
    if store.mode() == RunMode::Plan {
        store.declare(&runs, split, stage)?;
        if !later {
            return Err(ReportError::Planned);
        }
        // An earlier stage: read what is stored (nothing is trained in plan mode); the
        // figure goes on only if every run is there (checked after reading, below).
    }
    // Progress counts distinct valid runs; those read from disk are done at once.
    let progress = Progress::start(ctx, runs.len());
    // Longest first (ties in list order), so the pool starts the long runs early; results
    // come back per run, so the order of the outcomes is the list order whatever the
    // scheduling.
    let costs: Vec<f64> = runs
        .iter()
        .map(|r| sweep::run_cost(&r.config, split))
        .collect();
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let sorted: Vec<SweepRun> = order.iter().map(|&j| runs[j].clone()).collect();
    let on_event = |ev: &SweepEvent<'_>| match ev {
        SweepEvent::Planned { already_done, .. } => {
            (0..*already_done).for_each(|_| progress.tick())
        }
        SweepEvent::Finished { .. } => progress.tick(),
        SweepEvent::Failed { .. } => {}
    };
    let done = sweep::execute(
        &sorted,
        split,
        &ctx.out_dir,
        ExecOptions {
            shard: None,
            cancel: store.cancel_flag(),
            compute: store.mode() == RunMode::Compute,
            keep_results: true,
        },
        &on_event,
    )
    .map_err(|e| ReportError::Run(format!("cannot store the runs: {e}")))?;
    store.count(done.ran, done.loaded);
    if let Some((id, e)) = done.failed.first() {
        return Err(ReportError::Run(format!("training run {id} failed: {e}")));
    }
    let mut results: Vec<Option<Arc<RunResult>>> = runs.iter().map(|_| None).collect();
    for (k, r) in done.results.into_iter().enumerate() {
        if let Some(r) = r {
            results[order[k]] = Some(Arc::new(r));
        }
    }
    let absent = results.iter().filter(|r| r.is_none()).count();
    if absent > 0 && store.mode() == RunMode::Plan {
        return Err(ReportError::Planned);
    }
    if absent > 0 {
        let runs_dir = ctx.out_dir.join("runs");
        return Err(ReportError::Run(if done.cancelled || store.cancelled() {
            format!(
                "interrupted: the runs in progress finished and every finished run is stored \
                 in {}; run the same command again to resume ({absent} of {} runs of this \
                 figure still to train)",
                runs_dir.display(),
                runs.len()
            )
        } else {
            format!(
                "{absent} of {} runs of this figure are not stored in {}; run its shards \
                 (`ipbn reproduce ... --shard I/N`) or reproduce without --merge-only",
                runs.len(),
                runs_dir.display()
            )
        }));
    }
    which
        .into_iter()
        .map(|w| match w {
            Err(why) => Ok(Outcome::Invalid(why)),
            Ok(j) => results[j]
                .clone()
                .map(Outcome::Ran)
                .ok_or_else(|| ReportError::Run("a training run produced no result".into())),
        })
        .collect()
}

/// Every condition of a figure trained with every seed on one base configuration.
pub(crate) struct CondRuns {
    /// The conditions, in drawing order.
    pub conds: Vec<NetCond>,
    /// The run seeds (replicates), shared by every condition.
    pub seeds: Vec<u64>,
    /// Every configuration, condition-major (`c * seeds + s`).
    pub configs: Vec<TrainConfig>,
    /// What became of each configuration, in the same order.
    pub outcomes: Vec<Outcome>,
}

impl CondRuns {
    /// Trains `base` under each condition (and its activation) with each seed.
    pub(crate) fn run(
        ctx: &FigureContext,
        split: &Split,
        conds: Vec<NetCond>,
        base: &TrainConfig,
        seeds: Vec<u64>,
    ) -> Result<CondRuns, ReportError> {
        let configs: Vec<TrainConfig> = conds
            .iter()
            .flat_map(|c| {
                seeds.iter().map(move |&seed| TrainConfig {
                    condition: c.condition.clone(),
                    activation: c.activation,
                    seed,
                    ..base.clone()
                })
            })
            .collect();
        let outcomes = run_all(ctx, split, &configs)?;
        Ok(CondRuns {
            conds,
            seeds,
            configs,
            outcomes,
        })
    }

    /// The finished runs of condition `c`, in seed order (invalid ones left out).
    pub(crate) fn runs(&self, c: usize) -> Vec<&RunResult> {
        let n = self.seeds.len();
        self.outcomes[c * n..(c + 1) * n]
            .iter()
            .filter_map(Outcome::result)
            .collect()
    }

    /// How many of condition `c`'s finished runs diverged.
    pub(crate) fn diverged(&self, c: usize) -> usize {
        self.runs(c).iter().filter(|r| r.diverged).count()
    }

    /// Every run for the JSON: full configuration and outcome.
    pub(crate) fn runs_json(&self) -> Value {
        runs_json(&self.configs, &self.outcomes)
    }
}

/// The measurements of one run in long format (none if the trainer rejected it), its
/// outcome `finished` or `diverged`, with `extra` grid keys.
pub(crate) fn tidy_rows(
    label: &str,
    outcome: &Outcome,
    extra: &[(String, String)],
) -> Vec<crate::tidy::TidyRow> {
    match outcome {
        Outcome::Ran(r) => crate::tidy::run_rows(
            label,
            r,
            if r.diverged { "diverged" } else { "finished" },
            extra,
        ),
        Outcome::Invalid(_) => Vec::new(),
    }
}

/// The value of `f` at each of `steps` for one run (NaN where the run has no record, e.g.
/// after it diverged, or where `f` gives nothing).
pub(crate) fn aligned(
    run: &RunResult,
    steps: &[usize],
    f: &dyn Fn(&Record) -> Option<f64>,
) -> Vec<f64> {
    steps
        .iter()
        .map(|&s| {
            run.history
                .iter()
                .find(|r| r.step == s)
                .and_then(f)
                .filter(|v| v.is_finite())
                .unwrap_or(f64::NAN)
        })
        .collect()
}

/// How values are averaged over seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Average {
    /// Arithmetic mean.
    Arithmetic,
    /// Geometric mean (for positive quantities that span decades, drawn on a log axis);
    /// the band is the 95 % CI computed on the logarithms.
    Geometric,
}

/// Mean over `runs` (one value per x each, NaN where missing) with a band of the 95 %
/// confidence interval of the mean (Student t over the runs with a value there), drawn only
/// where some run has a value. Runs listed in `diverged` as `(x, count)` are marked
/// there once (not at every later point).
pub(crate) fn summary_series(
    nc: &NetCond,
    x: &[f64],
    runs: &[Vec<f64>],
    avg: Average,
    diverged: &[(f64, usize)],
) -> Series {
    let tf = |v: f64| match avg {
        Average::Arithmetic => v,
        Average::Geometric if v > 0.0 => v.ln(),
        Average::Geometric => f64::NAN,
    };
    let inv = |v: f64| match avg {
        Average::Arithmetic => v,
        Average::Geometric => v.exp(),
    };
    let t: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| r.iter().map(|&v| tf(v)).collect())
        .collect();
    let s = plot::summarise_runs(x.len(), &t, Spread::Ci95);
    let keep: Vec<usize> = (0..x.len()).filter(|&i| s.mean[i].is_finite()).collect();
    let mut out = Series::new(
        nc.label.clone(),
        keep.iter().map(|&i| x[i]).collect(),
        keep.iter().map(|&i| inv(s.mean[i])).collect(),
    )
    .band(
        keep.iter().map(|&i| inv(s.lo[i])).collect(),
        keep.iter().map(|&i| inv(s.hi[i])).collect(),
    )
    .color(nc.color());
    out.dashed = nc.dashed();
    out.diverged = diverged
        .iter()
        .filter(|(_, c)| *c > 0)
        .map(|&(x, count)| Diverged { x, count })
        .collect();
    out
}

/// Where the diverged runs among `runs` stopped: `(step, count)` pairs, in step order.
pub(crate) fn divergence_steps(runs: &[&RunResult]) -> Vec<(f64, usize)> {
    let mut out: Vec<(f64, usize)> = Vec::new();
    for r in runs {
        if let Some(s) = r.diverged_at_step {
            let x = s as f64;
            match out.iter_mut().find(|(px, _)| *px == x) {
                Some(p) => p.1 += 1,
                None => out.push((x, 1)),
            }
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// One condition's history over its seeds: `f` of each record against the training step,
/// averaged as asked, each diverged run marked where it diverged.
pub(crate) fn record_series(
    nc: &NetCond,
    runs: &[&RunResult],
    f: &dyn Fn(&Record) -> Option<f64>,
    avg: Average,
) -> Series {
    let steps = union_steps(runs);
    let vals: Vec<Vec<f64>> = runs.iter().map(|r| aligned(r, &steps, f)).collect();
    let x: Vec<f64> = steps.iter().map(|&s| s as f64).collect();
    summary_series(nc, &x, &vals, avg, &divergence_steps(runs))
}

/// Every recorded step of any of `runs`, increasing.
pub(crate) fn union_steps(runs: &[&RunResult]) -> Vec<usize> {
    let mut steps: Vec<usize> = runs
        .iter()
        .flat_map(|r| r.history.iter().map(|h| h.step))
        .collect();
    steps.sort_unstable();
    steps.dedup();
    steps
}

/// A number for JSON: finite values as numbers, anything else as the string `"diverged"`
/// or `"undefined"` as given, so a file never holds `null` or a non-finite number.
pub(crate) fn num_or(v: f64, otherwise: &str) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        json!(otherwise)
    }
}

/// A list of numbers for JSON (non-finite entries written as `"none"`).
pub(crate) fn nums(v: &[f64]) -> Value {
    Value::Array(v.iter().map(|&x| num_or(x, "none")).collect())
}

/// The numbers a [`Series`] draws, for the figure's JSON.
pub(crate) fn series_json(s: &Series) -> Value {
    json!({
        "label": s.label,
        "x": nums(&s.x),
        "mean": nums(&s.mean),
        "lo": nums(s.lo.as_deref().unwrap_or(&[])),
        "hi": nums(s.hi.as_deref().unwrap_or(&[])),
        "diverged": s.diverged.iter().map(|d| json!({"x": num_or(d.x, "none"), "runs": d.count})).collect::<Vec<_>>(),
    })
}

/// Every run for the figure's JSON (see [`run_json`]), `configs[i]` with `outcomes[i]`.
pub(crate) fn runs_json(configs: &[TrainConfig], outcomes: &[Outcome]) -> Value {
    Value::Array(
        configs
            .iter()
            .zip(outcomes)
            .map(|(c, o)| run_json(c, o))
            .collect(),
    )
}

/// A run for the figure's JSON: its full configuration and what became of it.
pub(crate) fn run_json(cfg: &TrainConfig, outcome: &Outcome) -> Value {
    let config = serde_json::to_value(cfg).unwrap_or_else(|e| json!(e.to_string()));
    match outcome {
        Outcome::Invalid(why) => json!({
            "config": config,
            "status": "undefined",
            "reason": why,
        }),
        Outcome::Ran(r) => json!({
            "config": config,
            "status": if r.diverged { "diverged" } else { "finished" },
            "final_test_accuracy": r.final_test_accuracy.map_or(json!("diverged"), |a| json!(a)),
            "diverged_at_step": r.diverged_at_step.map_or(json!("never"), |s| json!(s)),
            "steps_completed": r.steps_completed,
        }),
    }
}

/// The fields every network figure's JSON carries besides the shared header: its run seeds
/// and the data it trained on.
pub(crate) fn net_fields(split: &Split, seeds: &[u64]) -> Fields {
    vec![
        ("run_seeds", json!(seeds)),
        (
            "data",
            json!({
                "dataset": split.describe(),
                "files": split.files,
                "train": {"name": split.train.name, "samples": split.train.len()},
                "test": {"name": split.test.name, "samples": split.test.len()},
            }),
        ),
    ]
}

/// Formats `v` with 3 significant digits (`diverged` if not finite).
pub(crate) fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e4).contains(&a) {
        format!("{v:.2e}")
    } else {
        let digits = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.digits$}")
    }
}

/// `x` as a percentage with one decimal.
pub(crate) fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} %", 100.0 * x)
    } else {
        "n/a".into()
    }
}

/// A small synthetic split (64/32 samples, 5 features, 3 classes) for the tests of the
/// network figures.
#[cfg(test)]
pub(crate) fn tiny_split() -> Split {
    ipbn_train::DataSource::Synthetic(ipbn_train::config::SyntheticData {
        train: 64,
        test: 32,
        features: 5,
        classes: 3,
        separation: 3.0,
        seed: 1,
    })
    .load()
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_mean_and_single_divergence_marks() {
        let nc = NetCond::parse("plain", Activation::Sigmoid).unwrap();
        let x = [0.0, 1.0, 2.0];
        let runs = vec![vec![1.0, 10.0, f64::NAN], vec![100.0, 1000.0, f64::NAN]];
        let s = summary_series(&nc, &x, &runs, Average::Geometric, &[(1.5, 2)]);
        // The point where no run has a value is not drawn.
        assert_eq!(s.x, vec![0.0, 1.0]);
        assert!((s.mean[0] - 10.0).abs() < 1e-9 && (s.mean[1] - 100.0).abs() < 1e-9);
        // The band is the t interval on the logarithms: 10^(2 ± t(0.975, 1)).
        let t = crate::stats::t_quantile(1);
        let lo = s.lo.as_ref().unwrap()[1];
        assert!((lo.log10() - (2.0 - t)).abs() < 1e-9, "{lo}");
        assert_eq!(s.diverged, vec![Diverged { x: 1.5, count: 2 }]);
    }

    fn context(dir: &std::path::Path, mode: RunMode) -> FigureContext {
        FigureContext {
            quick: true,
            data: DataSource::Shipped,
            out_dir: dir.to_path_buf(),
            progress: Arc::new(|d, t| assert!(d <= t)),
            runs: crate::runs::RunStore::new(mode, None),
            overrides: Default::default(),
        }
    }

    #[test]
    fn run_seeds_follow_the_count_and_reject_zero() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path(), RunMode::Compute);
        let own = run_seeds(&ctx, 3, 7, "fig").unwrap();
        assert_eq!(own.len(), 3);
        assert_eq!(own[2], ipbn_math::seed::derive_seed(7, 2));
        assert!(own[0] != own[1] && own[1] != own[2]);
        // Fewer seeds keep the same first replicates.
        assert_eq!(run_seeds(&ctx, 2, 7, "fig").unwrap(), own[..2]);
        match run_seeds(&ctx, 0, 7, "fig") {
            Err(ReportError::Config(m)) => {
                assert_eq!(m, "fig: seeds must be ≥ 1 (--seeds N or --set seeds=N)")
            }
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn colours_follow_the_palette() {
        let a = NetCond::parse("ip:infomax-logistic", Activation::Sigmoid).unwrap();
        let b = NetCond::parse("ip+affine:infomax-logistic", Activation::Sigmoid).unwrap();
        let c = NetCond::parse("ip:infomax-logistic:opt=adam", Activation::Sigmoid).unwrap();
        assert_eq!(a.color(), plot::color_for("ip:infomax-logistic"));
        assert_ne!(a.color(), b.color());
        assert!(b.dashed() && !a.dashed());
        assert_eq!(c.color(), plot::color_for("ip:adam-infomax-logistic"));
        assert_ne!(c.color(), a.color());
        assert!(NetCond::parse("ip:infomax-tanh", Activation::Sigmoid).is_err());
    }

    #[test]
    fn runs_are_stored_read_back_identically_planned_and_merged() {
        let split = tiny_split();
        let dir = tempfile::tempdir().unwrap();
        let ok = TrainConfig {
            hidden: vec![4],
            steps: 6,
            batch: 8,
            eval_every: 3,
            probe_size: 8,
            ip_lr: 0.01,
            ..TrainConfig::default()
        };
        let ip = TrainConfig {
            condition: "ip:triesch".parse().unwrap(),
            ..ok.clone()
        };
        let bad = TrainConfig {
            condition: Condition::Bn,
            batch: 1,
            ..ok.clone()
        };
        let list = [ok.clone(), bad, ip.clone(), ok.clone()];
        // Plan mode declares the two distinct valid runs and trains nothing.
        let plan = context(dir.path(), RunMode::Plan);
        assert!(matches!(
            run_all(&plan, &split, &list),
            Err(ReportError::Planned)
        ));
        let planned = plan.runs.take_planned();
        assert_eq!(planned.runs.len(), 2);
        assert_eq!(planned.data.len(), 1);
        assert!(!dir.path().join("runs").exists());
        // Merge mode with nothing stored names what is missing.
        let merge = context(dir.path(), RunMode::MergeOnly);
        match run_all(&merge, &split, &list) {
            Err(ReportError::Run(m)) => assert!(m.starts_with("2 of 2 runs"), "{m}"),
            other => panic!("expected missing runs, got {other:?}"),
        }
        // Compute trains each distinct run once and stores it.
        let ctx = context(dir.path(), RunMode::Compute);
        let first = run_all(&ctx, &split, &list).unwrap();
        assert_eq!(ctx.runs.counts().computed, 2);
        assert_eq!(
            std::fs::read_dir(dir.path().join("runs")).unwrap().count(),
            2
        );
        let as_text = |o: &Outcome| serde_json::to_string(o.result().unwrap()).unwrap();
        assert_eq!(as_text(&first[0]), as_text(&first[3]));
        assert!(matches!(&first[1], Outcome::Invalid(m) if m.contains("batch")));
        // Read back, in any mode but plan, the results are the same to the last bit.
        for mode in [RunMode::Compute, RunMode::MergeOnly] {
            let again = context(dir.path(), mode);
            let read = run_all(&again, &split, &list).unwrap();
            assert_eq!(
                again.runs.counts(),
                crate::runs::RunCounts {
                    computed: 0,
                    loaded: 2
                }
            );
            for i in [0, 2, 3] {
                assert_eq!(as_text(&read[i]), as_text(&first[i]));
                let (a, b) = (read[i].result().unwrap(), first[i].result().unwrap());
                assert_eq!(
                    a.final_test_accuracy.map(f64::to_bits),
                    b.final_test_accuracy.map(f64::to_bits)
                );
            }
        }
        // A stored run of other data is not taken for this one.
        let other = ipbn_train::DataSource::Synthetic(ipbn_train::config::SyntheticData {
            seed: 2,
            ..ipbn_train::config::SyntheticData {
                train: 64,
                test: 32,
                features: 5,
                classes: 3,
                separation: 3.0,
                seed: 1,
            }
        })
        .load()
        .unwrap();
        let ctx2 = context(dir.path(), RunMode::Compute);
        run_all(&ctx2, &other, &[ok]).unwrap();
        assert_eq!(ctx2.runs.counts().computed, 1);
    }

    #[test]
    fn invalid_configs_are_outcomes_not_errors() {
        let split = tiny_split();
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path(), RunMode::Compute);
        let ok = TrainConfig {
            hidden: vec![4],
            steps: 5,
            batch: 8,
            eval_every: 5,
            probe_size: 8,
            ..TrainConfig::default()
        };
        let bad = TrainConfig {
            condition: Condition::Bn,
            batch: 1,
            ..ok.clone()
        };
        let out = run_all(&ctx, &split, &[ok.clone(), bad]).unwrap();
        assert!(out[0].result().is_some_and(|r| r.steps_completed == 5));
        assert!(matches!(&out[1], Outcome::Invalid(m) if m.contains("batch")));
        // The stored run gives the same result for the same configuration.
        let again = run_all(&ctx, &split, &[ok]).unwrap();
        assert_eq!(
            again[0].result().unwrap().final_test_accuracy,
            out[0].result().unwrap().final_test_accuracy
        );
    }
}
