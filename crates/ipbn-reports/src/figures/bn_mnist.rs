//! `bn-mnist`: does normalising each unit's input speed up learning, and does IP do what BN
//! does? (Ioffe & Szegedy 2015, Fig. 1.)
//!
//! The network of the paper's MNIST experiment: 784-100-100-100-10 with sigmoid hidden units,
//! mini-batches of 60, 50,000 steps (the paper's protocol), small Gaussian initial weights
//! (`gauss:0.1`; the paper gives no value), plain SGD (learning rate 0.5; the paper gives
//! none). Each condition is trained with the same seeds (same initial weights and batch
//! order), and drawn as
//!
//! * (a) test accuracy against the training step (step 0 included), mean and 95 % CI band
//!   over seeds; runs that **collapse** (final accuracy at least `collapse_drop` below their
//!   own peak) are drawn apart as their own outcome, never averaged into the others;
//! * (b) the same zoomed on the top;
//! * (c) the 15–85 percentile band width of the probe units' sigmoid inputs over training
//!   (mean over the probed units of the last hidden layer, 95 % CI over seeds), and (d) the
//!   paired drift measures against plain;
//! * (e)… one panel per condition: the 15th, 50th and 85th percentiles of unit 0's sigmoid
//!   input over training, first seed. Under BN the percentiles are taken as the network sees
//!   them in training (batch statistics of mini-batches of 60 probe images, see
//!   [`ipbn_train::Record::unit_inputs_train`]); for the other conditions training and
//!   inference passes agree.
//!
//! Statistics (see [`crate::stats`]): each comparison is the paired difference over seeds with
//! its Student-t 95 % CI. Drift of a unit's input distribution over the whole run: for each
//! percentile its range (max − min) and standard deviation over the records, and the same for
//! the 15–85 width; per seed the mean over the probed units.
//!
//! The same runs feed `homogenisation` (see [`super::homogenisation`]): in one process they
//! are trained once.

use super::common::{self, pct, sig3, usage, Average, CondRuns, NetCond};
use super::experiment::{count, join, Experiment, Produced};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{self, Area, LegendPos, PlotError, RefLine, Series, TablePanel, XyChart};
use crate::stats::{self, Direction, Paired, Verdict, VerdictKind};
use crate::tidy::TidyRow;
use ipbn_train::{Record, RunResult, TrainConfig};
use serde_json::{json, Value};

/// Settings of the `bn-mnist` figure (also used by `homogenisation`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BnMnistConfig {
    /// Conditions, as `plain`, `bn`, `ip:RULESPEC` or `ip+affine:RULESPEC`, in drawing order.
    pub conditions: Vec<String>,
    /// Every setting shared by the runs (condition and seed are set per run).
    pub base: TrainConfig,
    /// Default number of seeds (overridden by `--seeds`).
    pub seeds: usize,
    /// Base seed: replicate `r` trains with `derive_seed(seed, r)`.
    pub seed: u64,
    /// Accuracy threshold: steps to reach it measure training speed.
    pub threshold: f64,
    /// A finished run whose final accuracy is at least this far (a fraction, 0.10 = 10
    /// points) below its own peak accuracy over the records counts as collapsed.
    pub collapse_drop: f64,
}

impl BnMnistConfig {
    /// The full protocol: the paper's 50,000 steps at batch 60, 5 seeds, a record every 500
    /// steps, ten probe units.
    pub fn full() -> Self {
        BnMnistConfig {
            conditions: common::standard_conditions(),
            base: TrainConfig {
                steps: 50_000,
                eval_every: 500,
                probe_size: 500,
                probe_units: (0..10).collect(),
                percentiles: vec![15.0, 50.0, 85.0],
                ..common::mnist_network()
            },
            seeds: 5,
            seed: 2015,
            threshold: 0.9,
            collapse_drop: 0.10,
        }
    }

    /// Small settings for tests and a first look.
    pub fn quick() -> Self {
        let full = Self::full();
        BnMnistConfig {
            base: TrainConfig {
                steps: 300,
                eval_every: 50,
                probe_size: 200,
                probe_units: vec![0, 1],
                ..full.base.clone()
            },
            seeds: 2,
            ..full
        }
    }

    fn validate(&self, id: &str) -> Result<(), ReportError> {
        common::check_base(id, &self.base)?;
        if self.conditions.is_empty() {
            return Err(usage(id, "give at least one condition"));
        }
        if self.base.hidden.is_empty() || self.base.probe_units.is_empty() {
            return Err(usage(
                id,
                "the network needs a hidden layer and a probe unit",
            ));
        }
        if self.base.percentiles.len() != 3 {
            return Err(usage(
                id,
                "give exactly three percentiles (low, middle, high)",
            ));
        }
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return Err(usage(id, "threshold must be in (0, 1)"));
        }
        if !(self.collapse_drop > 0.0 && self.collapse_drop < 1.0) {
            return Err(usage(id, "collapse_drop must be in (0, 1)"));
        }
        Ok(())
    }

    /// Trains every condition with every seed (memoised per process).
    pub(crate) fn train(
        &self,
        ctx: &FigureContext,
        split: &ipbn_train::data::Split,
        id: &str,
    ) -> Result<CondRuns, ReportError> {
        self.validate(id)?;
        let seeds = common::run_seeds(ctx, self.seeds, self.seed, id)?;
        let conds = common::parse_conds(&self.conditions, self.base.activation)?;
        CondRuns::run(ctx, split, conds, &self.base, seeds)
    }

    /// What the protocol assumes where Ioffe & Szegedy are silent, and the data it ran on.
    pub(crate) fn assumed(&self, data: &str) -> String {
        format!(
            "plain SGD with learning rate {} and no momentum, Gaussian initial weights sd 0.1, IP rate η {} (none given in the paper); data {data}{}; test accuracy on the whole test split in inference mode; probe = the first {} test images",
            self.base.lr,
            self.base.ip_lr,
            if data.starts_with("mnist-10k") {
                ", the shipped subset, not full MNIST (60,000/10,000)"
            } else {
                ""
            },
            self.base.probe_size
        )
    }
}

/// Peak and final test accuracy of a run, and whether it collapsed (finished, final at least
/// `drop` below its peak). Diverged runs are not collapsed (they are their own outcome).
pub(crate) fn collapse(run: &RunResult, drop: f64) -> (f64, f64, bool) {
    let peak = run
        .history
        .iter()
        .filter_map(|r| r.test_accuracy)
        .fold(f64::NAN, f64::max);
    let fin = run.final_test_accuracy.unwrap_or(f64::NAN);
    let collapsed = !run.diverged && fin.is_finite() && peak - fin >= drop;
    (peak, fin, collapsed)
}

/// The outcome word of a run for the tidy rows: `finished`, `diverged` or `collapsed`.
pub(crate) fn outcome_word(run: &RunResult, drop: f64) -> &'static str {
    if run.diverged {
        "diverged"
    } else if collapse(run, drop).2 {
        "collapsed"
    } else {
        "finished"
    }
}

/// The tidy rows of every run, with `collapsed` runs marked, plus each record's effective
/// rank per hidden layer and (under BN) the probe units' training-view percentiles.
pub(crate) fn tidy_with_probe(runs: &CondRuns, drop: f64) -> Vec<TidyRow> {
    let n = runs.seeds.len();
    let mut out = Vec::new();
    for (i, o) in runs.outcomes.iter().enumerate() {
        let label = &runs.conds[i / n].label;
        let mut rows = common::tidy_rows(label, o, &[]);
        let Some(r) = o.result() else { continue };
        let word = outcome_word(r, drop);
        let template = rows.first().cloned();
        for row in &mut rows {
            row.outcome = word.to_string();
        }
        if let Some(t) = template {
            let mut push = |step: usize, metric: String, value: Option<f64>| {
                if let Some(value) = value.filter(|v| v.is_finite()) {
                    rows.push(TidyRow {
                        step: step as u64,
                        metric,
                        value,
                        outcome: word.to_string(),
                        ..t.clone()
                    });
                }
            };
            for rec in &r.history {
                for (l, e) in rec.effective_rank.iter().enumerate() {
                    push(rec.step, format!("effective_rank.hidden{}", l + 1), *e);
                }
                for u in &rec.unit_inputs_train {
                    for (p, v) in r.probe.percentiles.iter().zip(&u.values) {
                        push(rec.step, format!("unit{}_input_train.p{}", u.unit, p), *v);
                    }
                }
            }
        }
        out.extend(rows);
    }
    out
}

/// The percentiles of `unit` as the network sees them in training: the training view under
/// BN, the (identical) inference view otherwise.
fn seen_in_training(rec: &Record, unit: usize) -> Option<[f64; 3]> {
    let view = if rec.unit_inputs_train.is_empty() {
        &rec.unit_inputs
    } else {
        &rec.unit_inputs_train
    };
    let u = view.iter().find(|u| u.unit == unit)?;
    if u.values.len() != 3 {
        return None;
    }
    let v = [u.values[0]?, u.values[1]?, u.values[2]?];
    v.iter().all(|x| x.is_finite()).then_some(v)
}

/// Names of the eight drift measures, in the order of [`drift`].
const DRIFT_NAMES: [&str; 8] = [
    "range of the low percentile",
    "range of the median",
    "range of the high percentile",
    "range of the low–high width",
    "s.d. of the low percentile",
    "s.d. of the median",
    "s.d. of the high percentile",
    "s.d. of the low–high width",
];

/// Short keys of the drift measures for JSON and CSV.
const DRIFT_KEYS: [&str; 8] = [
    "p_low_range",
    "p_mid_range",
    "p_high_range",
    "width_range",
    "p_low_sd",
    "p_mid_sd",
    "p_high_sd",
    "width_sd",
];

fn range_sd(v: &[f64]) -> (f64, f64) {
    if v.len() < 2 {
        return (f64::NAN, f64::NAN);
    }
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (v.len() - 1) as f64;
    (hi - lo, var.sqrt())
}

/// Drift of the input distribution of `units` over the whole run (every record): the ranges
/// then standard deviations of the low, middle and high percentile and of the low–high width,
/// each the mean over the units (NaN if the run has fewer than two usable records).
pub(crate) fn drift(run: &RunResult, units: &[usize]) -> [f64; 8] {
    let mut acc = [0.0f64; 8];
    let mut n = 0usize;
    for &unit in units {
        let q: Vec<[f64; 3]> = run
            .history
            .iter()
            .filter_map(|r| seen_in_training(r, unit))
            .collect();
        if q.len() < 2 {
            continue;
        }
        let mut cols: [Vec<f64>; 4] = Default::default();
        for v in &q {
            cols[0].push(v[0]);
            cols[1].push(v[1]);
            cols[2].push(v[2]);
            cols[3].push(v[2] - v[0]);
        }
        for (k, c) in cols.iter().enumerate() {
            let (r, s) = range_sd(c);
            acc[k] += r;
            acc[4 + k] += s;
        }
        n += 1;
    }
    if n == 0 {
        return [f64::NAN; 8];
    }
    acc.map(|v| v / n as f64)
}

/// The first step at which a run's test accuracy reaches `t`, linearly interpolated between
/// the record before and the record that reaches it (NaN if it never does).
fn steps_to(run: &RunResult, t: f64) -> f64 {
    let mut prev: Option<(f64, f64)> = None;
    for r in &run.history {
        let Some(a) = r.test_accuracy else { continue };
        let s = r.step as f64;
        if a >= t {
            return match prev {
                Some((ps, pa)) if a > pa => ps + (t - pa) / (a - pa) * (s - ps),
                _ => s,
            };
        }
        prev = Some((s, a));
    }
    f64::NAN
}

/// One value per seed of condition `c` (NaN for a run that is missing or gives nothing).
pub(crate) fn per_seed(runs: &CondRuns, c: usize, f: &dyn Fn(&RunResult) -> f64) -> Vec<f64> {
    let n = runs.seeds.len();
    runs.outcomes[c * n..(c + 1) * n]
        .iter()
        .map(|o| o.result().map_or(f64::NAN, f))
        .collect()
}

/// A paired comparison as JSON.
pub(crate) fn paired_json(p: &Option<Paired>) -> Value {
    match p {
        Some(p) => json!({
            "mean_difference": common::num_or(p.diff.mean, "none"),
            "ci95": [common::num_or(p.diff.lo, "none"), common::num_or(p.diff.hi, "none")],
            "n": p.diff.n,
            "excluded": p.excluded,
            "a_mean": common::num_or(p.a_mean, "none"),
            "b_mean": common::num_or(p.b_mean, "none"),
            "direction": p.direction(),
        }),
        None => json!("no seed with both values"),
    }
}

/// `p`'s sentence, or a note that no seed had both values.
pub(crate) fn sentence(
    p: &Option<Paired>,
    a: &str,
    b: &str,
    metric: &str,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    match p {
        Some(p) => p.sentence(a, b, metric, fmt),
        None => format!("no seed has a value of {metric} for both {a} and {b}"),
    }
}

/// Accuracy differences in percentage points.
fn points(v: f64) -> String {
    format!("{:.2} points", 100.0 * v)
}

/// The `bn-mnist` figure.
#[derive(Clone, Debug, Default)]
pub struct BnMnist {
    /// Settings; `None` picks [`BnMnistConfig::full`] or `quick` from the context.
    pub config: Option<BnMnistConfig>,
}

/// The series of `f` for condition `c`: the runs that did not collapse (mean and 95 % CI,
/// diverged runs marked), then, if any, the collapsed ones as their own series with markers.
pub(crate) fn grouped_series(
    runs: &CondRuns,
    c: usize,
    drop: f64,
    f: &dyn Fn(&Record) -> Option<f64>,
) -> Vec<Series> {
    let all = runs.runs(c);
    let (bad, good): (Vec<&RunResult>, Vec<&RunResult>) =
        all.iter().partition(|r| collapse(r, drop).2);
    let nc = &runs.conds[c];
    let mut out = Vec::new();
    if !good.is_empty() {
        let mut named = nc.clone();
        if !bad.is_empty() {
            named.label = format!("{} ({} of {})", nc.label, good.len(), all.len());
        }
        out.push(common::record_series(&named, &good, f, Average::Arithmetic));
    }
    if !bad.is_empty() {
        let mut named = nc.clone();
        named.label = format!("{}: collapsed ({} of {})", nc.label, bad.len(), all.len());
        let mut s = common::record_series(&named, &bad, f, Average::Arithmetic);
        s.markers = true;
        out.push(s);
    }
    out
}

/// `s` restricted to `x ≤ until`.
fn until(s: &Series, until: f64) -> Series {
    let keep: Vec<usize> = (0..s.x.len()).filter(|&i| s.x[i] <= until).collect();
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    Series {
        x: pick(&s.x),
        mean: pick(&s.mean),
        lo: s.lo.as_deref().map(pick),
        hi: s.hi.as_deref().map(pick),
        diverged: s
            .diverged
            .iter()
            .filter(|d| d.x <= until)
            .copied()
            .collect(),
        ..s.clone()
    }
}

/// One panel of percentiles: the middle percentile as the line, the band between the low and
/// high ones, for the first seed's run of a condition, as the network sees them in training.
fn percentile_series(nc: &NetCond, run: &RunResult, unit: usize) -> Series {
    let mut x = Vec::new();
    let mut q = [Vec::new(), Vec::new(), Vec::new()];
    for rec in &run.history {
        if let Some(v) = seen_in_training(rec, unit) {
            x.push(rec.step as f64);
            for i in 0..3 {
                q[i].push(v[i]);
            }
        }
    }
    let [lo, mid, hi] = q;
    let mut s = Series::new(nc.label.clone(), x, mid)
        .band(lo, hi)
        .color(nc.color());
    s.dashed = nc.dashed();
    s.diverged = common::divergence_steps(&[run])
        .into_iter()
        .map(|(x, count)| plot::Diverged { x, count })
        .collect();
    s
}

/// Mean over `units` of the low–high width of their inputs at one record (as seen in
/// training).
fn mean_width(rec: &Record, units: &[usize]) -> Option<f64> {
    let w: Vec<f64> = units
        .iter()
        .filter_map(|&u| seen_in_training(rec, u).map(|v| v[2] - v[0]))
        .collect();
    (!w.is_empty()).then(|| w.iter().sum::<f64>() / w.len() as f64)
}

/// Everything the finding, the verdicts and the drawing need, computed once.
struct Analysis {
    /// Per condition, its accuracy series (see [`grouped_series`]).
    acc: Vec<Vec<Series>>,
    /// Every condition's band-width series over seeds (collapsed runs apart, as for `acc`).
    width: Vec<Series>,
    /// Per condition, seed 1's percentile panel.
    pcts: Vec<Option<Series>>,
    /// Per condition and seed: final accuracy, peak, collapsed, steps to the threshold,
    /// accuracy at the first record after step 0, drift measures.
    finals: Vec<Vec<f64>>,
    peaks: Vec<Vec<f64>>,
    collapsed: Vec<Vec<bool>>,
    reach: Vec<Vec<f64>>,
    early: Vec<Vec<f64>>,
    drifts: Vec<Vec<[f64; 8]>>,
    /// The first record after step 0 (the "early" step).
    early_step: usize,
}

impl Analysis {
    fn new(cfg: &BnMnistConfig, runs: &CondRuns) -> Analysis {
        let nc = runs.conds.len();
        let units = &cfg.base.probe_units;
        let early_step = cfg.base.eval_every.min(cfg.base.steps);
        let mut a = Analysis {
            acc: Vec::new(),
            width: Vec::new(),
            pcts: Vec::new(),
            finals: Vec::new(),
            peaks: Vec::new(),
            collapsed: Vec::new(),
            reach: Vec::new(),
            early: Vec::new(),
            drifts: Vec::new(),
            early_step,
        };
        for c in 0..nc {
            a.acc.push(grouped_series(runs, c, cfg.collapse_drop, &|r| {
                r.test_accuracy
            }));
            a.width
                .extend(grouped_series(runs, c, cfg.collapse_drop, &|r| {
                    mean_width(r, units)
                }));
            a.pcts.push(
                runs.runs(c)
                    .first()
                    .map(|r| percentile_series(&runs.conds[c], r, units[0])),
            );
            a.finals
                .push(per_seed(runs, c, &|r| collapse(r, cfg.collapse_drop).1));
            a.peaks
                .push(per_seed(runs, c, &|r| collapse(r, cfg.collapse_drop).0));
            let n = runs.seeds.len();
            a.collapsed.push(
                runs.outcomes[c * n..(c + 1) * n]
                    .iter()
                    .map(|o| o.result().is_some_and(|r| collapse(r, cfg.collapse_drop).2))
                    .collect(),
            );
            a.reach
                .push(per_seed(runs, c, &|r| steps_to(r, cfg.threshold)));
            a.early.push(per_seed(runs, c, &|r| {
                r.history
                    .iter()
                    .find(|h| h.step == early_step)
                    .and_then(|h| h.test_accuracy)
                    .unwrap_or(f64::NAN)
            }));
            a.drifts.push(
                runs.outcomes[c * n..(c + 1) * n]
                    .iter()
                    .map(|o| o.result().map_or([f64::NAN; 8], |r| drift(r, units)))
                    .collect(),
            );
        }
        a
    }

    fn drift_of(&self, c: usize, k: usize) -> Vec<f64> {
        self.drifts[c].iter().map(|d| d[k]).collect()
    }
}

/// Every run's peak and final accuracy where it collapsed, as text.
fn collapse_text(runs: &CondRuns, a: &Analysis, drop: f64) -> String {
    let mut parts = Vec::new();
    for (c, nc) in runs.conds.iter().enumerate() {
        let k = a.collapsed[c].iter().filter(|&&b| b).count();
        if k == 0 {
            continue;
        }
        let pk: Vec<f64> = (0..a.collapsed[c].len())
            .filter(|&s| a.collapsed[c][s])
            .map(|s| a.peaks[c][s])
            .collect();
        let fi: Vec<f64> = (0..a.collapsed[c].len())
            .filter(|&s| a.collapsed[c][s])
            .map(|s| a.finals[c][s])
            .collect();
        let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        parts.push(format!(
            "{} {} of {} (peak {} → final {} on average)",
            nc.label,
            k,
            a.collapsed[c].len(),
            pct(m(&pk)),
            pct(m(&fi))
        ));
    }
    let rule = format!(
        "Runs whose final accuracy is ≥ {:.0} points below their own peak count as collapsed and are drawn apart (markers)",
        100.0 * drop
    );
    if parts.is_empty() {
        format!("{rule}: none.")
    } else {
        format!(
            "{rule}: {}; none in the other conditions.",
            parts.join("; ")
        )
    }
}

impl Experiment for BnMnist {
    const ID: &'static str = "bn-mnist";
    const QUESTION: &'static str =
        "Does normalising each unit's input speed up learning, and does IP do what BN does?";
    const SOURCE: &'static str = "Ioffe & Szegedy 2015, Fig. 1 (50,000 steps in the paper)";
    type Config = BnMnistConfig;
    const FULL: fn() -> BnMnistConfig = BnMnistConfig::full;
    const QUICK: fn() -> BnMnistConfig = BnMnistConfig::quick;

    fn given(&self) -> Option<&BnMnistConfig> {
        self.config.as_ref()
    }

    fn produce(&self, ctx: &FigureContext, cfg: &BnMnistConfig) -> Result<Produced, ReportError> {
        let split = common::load_split(ctx)?;
        let runs = cfg.train(ctx, &split, Self::ID)?;
        let a = Analysis::new(cfg, &runs);
        let data = split.describe();
        let assumed = cfg.assumed(&data);
        let n_seeds = runs.seeds.len();

        // Final accuracy per condition, with its CI over seeds (every finished run,
        // collapsed ones included, diverged ones left out and counted).
        let per_cond: Vec<String> = runs
            .conds
            .iter()
            .enumerate()
            .map(|(c, nc)| {
                let est = stats::mean_ci(&a.finals[c]);
                let div = runs.diverged(c);
                format!(
                    "{} {}{}",
                    nc.label,
                    est.map_or("n/a".into(), |e| e.text(&pct)),
                    if div > 0 {
                        format!(", {} of {n_seeds} runs diverged", div)
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        let pos = |l: &str| runs.conds.iter().position(|c| c.label == l);
        let mut sentences = vec![format!(
            "On {data} images ({} steps at batch {}, records every {} steps, {} per condition; {}): final test accuracy (mean, 95 % CI over seeds) {}.",
            cfg.base.steps,
            cfg.base.batch,
            cfg.base.eval_every,
            count(n_seeds, "seed"),
            "lr, initial weights and IP η assumed, see protocol_assumed",
            per_cond.join("; ")
        )];
        sentences.push(collapse_text(&runs, &a, cfg.collapse_drop));

        let mut verdicts = Vec::new();
        let mut comparisons = serde_json::Map::new();
        if let (Some(b), Some(p)) = (pos("bn"), pos("plain")) {
            // Trains faster: steps to the threshold (plain − bn > 0) and accuracy at the first
            // record (bn − plain > 0).
            let reach = stats::paired(&a.reach[p], &a.reach[b]);
            let early = stats::paired(&a.early[b], &a.early[p]);
            let never = |c: usize| a.reach[c].iter().filter(|v| !v.is_finite()).count();
            let steps_fmt = |v: f64| format!("{v:.0} steps");
            let reach_s = sentence(
                &reach,
                "plain",
                "bn",
                &format!("number of steps to reach {}", pct(cfg.threshold)),
                &steps_fmt,
            );
            let early_s = sentence(
                &early,
                "bn",
                "plain",
                &format!("test accuracy at step {}", a.early_step),
                &points,
            );
            let faster_ok = [
                reach.is_some_and(|p| p.direction() == Direction::Higher),
                early.is_some_and(|p| p.direction() == Direction::Higher),
            ];
            let never_text = if never(b) + never(p) > 0 {
                format!(
                    " (runs never reaching it: bn {}, plain {}; left out of the pairing)",
                    never(b),
                    never(p)
                )
            } else {
                String::new()
            };
            sentences.push(format!("Speed: {reach_s}{never_text}; {early_s}."));
            verdicts.push(Verdict {
                id: "ioffe2015-bn-trains-faster".into(),
                source: "Ioffe & Szegedy 2015".into(),
                claim: "BN trains faster".into(),
                verdict: VerdictKind::from_counts(faster_ok.iter().filter(|&&x| x).count(), 2),
                evidence: format!(
                    "two tests, each supporting when its paired 95 % CI excludes 0 in BN's favour: (1) {reach_s} (step of first reaching {} by linear interpolation between records){never_text}; (2) {early_s}",
                    pct(cfg.threshold)
                ),
                figure: Self::ID.into(),
                protocol_assumed: assumed.clone(),
            });
            // Higher accuracy: paired final accuracy.
            let fin = stats::paired(&a.finals[b], &a.finals[p]);
            let fin_s = sentence(&fin, "bn", "plain", "final test accuracy", &points);
            sentences.push(format!("Accuracy: {fin_s}."));
            verdicts.push(Verdict {
                id: "ioffe2015-bn-higher-accuracy".into(),
                source: "Ioffe & Szegedy 2015".into(),
                claim: "BN reaches higher accuracy".into(),
                verdict: VerdictKind::from_counts(
                    usize::from(fin.is_some_and(|p| p.direction() == Direction::Higher)),
                    1,
                ),
                evidence: format!(
                    "{fin_s}, at step {} (reproduced when the paired 95 % CI of bn − plain lies above 0)",
                    cfg.base.steps
                ),
                figure: Self::ID.into(),
                protocol_assumed: assumed.clone(),
            });
            // Stable inputs: the eight drift measures, bn − plain < 0.
            let drift_p: Vec<Option<Paired>> = (0..8)
                .map(|k| stats::paired(&a.drift_of(b, k), &a.drift_of(p, k)))
                .collect();
            let lower = drift_p
                .iter()
                .filter(|d| d.is_some_and(|d| d.direction() == Direction::Lower))
                .count();
            let higher = drift_p
                .iter()
                .filter(|d| d.is_some_and(|d| d.direction() == Direction::Higher))
                .count();
            let fmt3 = |v: f64| sig3(v);
            let drift_sentences: Vec<String> = (0..8)
                .map(|k| sentence(&drift_p[k], "bn", "plain", DRIFT_NAMES[k], &fmt3))
                .collect();
            let pc = &cfg.base.percentiles;
            let unit_text = format!(
                "the sigmoid inputs of units {} of hidden layer {} (mean over the units per seed; percentiles {}/{}/{} of the first {} test images at each of the records; BN's as seen in training, with the batch statistics of mini-batches of {})",
                if cfg.base.probe_units.len() > 3 {
                    format!(
                        "{}–{}",
                        cfg.base.probe_units[0],
                        cfg.base.probe_units[cfg.base.probe_units.len() - 1]
                    )
                } else {
                    join(&cfg.base.probe_units, ", ")
                },
                cfg.base.hidden.len(),
                pc[0],
                pc[1],
                pc[2],
                cfg.base.probe_size,
                cfg.base.batch
            );
            sentences.push(format!(
                "Input drift over the whole run, of {unit_text}: BN's is lower than plain's in {lower} and higher in {higher} of 8 measures (range and s.d. over the records of each percentile and of the {}–{} width); {}; {}.",
                pc[0],
                pc[2],
                drift_sentences[1],
                drift_sentences[7]
            ));
            verdicts.push(Verdict {
                id: "ioffe2015-bn-stable-inputs".into(),
                source: "Ioffe & Szegedy 2015".into(),
                claim: "BN keeps each unit's input distribution stable".into(),
                verdict: VerdictKind::from_counts(lower, 8),
                evidence: format!(
                    "drift of {unit_text}, paired bn − plain over seeds, a measure supporting when its 95 % CI lies below 0 ({lower} of 8 do; reproduced if all 8, partly if some): {}",
                    drift_sentences.join("; ")
                ),
                figure: Self::ID.into(),
                protocol_assumed: assumed.clone(),
            });
            comparisons.insert("bn_vs_plain".into(), json!({
                "steps_to_threshold_plain_minus_bn": paired_json(&reach),
                "early_accuracy_bn_minus_plain": paired_json(&early),
                "early_step": a.early_step,
                "final_accuracy_bn_minus_plain": paired_json(&fin),
                "drift_bn_minus_plain": DRIFT_KEYS.iter().zip(&drift_p).map(|(k, d)| (k.to_string(), paired_json(d))).collect::<serde_json::Map<_, _>>(),
            }));
        }
        // Shaw 2019: the moving-average variant against plain and against each other IP rule.
        if let (Some(m), Some(p)) = (pos("ip:moment"), pos("plain")) {
            let others: Vec<usize> = (0..runs.conds.len())
                .filter(|&c| c != m && runs.conds[c].condition.rule_spec().is_some())
                .collect();
            let mut tests = Vec::new();
            for &o in std::iter::once(&p).chain(&others) {
                let d = stats::paired(&a.finals[m], &a.finals[o]);
                let k = a.collapsed[o].iter().filter(|&&x| x).count();
                let note = if k > 0 {
                    format!(
                        " ({} of {}'s runs collapsed, included at their final accuracy)",
                        k, runs.conds[o].label
                    )
                } else {
                    String::new()
                };
                tests.push((
                    d.is_some_and(|d| d.direction() == Direction::Higher),
                    format!(
                        "{}{note}",
                        sentence(
                            &d,
                            "ip:moment",
                            &runs.conds[o].label,
                            "final test accuracy",
                            &points
                        )
                    ),
                ));
                comparisons.insert(
                    format!("final_accuracy_ip:moment_minus_{}", runs.conds[o].label),
                    paired_json(&d),
                );
            }
            let ok = tests.iter().filter(|t| t.0).count();
            let texts: Vec<String> = tests.iter().map(|t| t.1.clone()).collect();
            sentences.push(format!(
                "The moving-average rule (ip:moment) beats {ok} of {} others: {}.",
                tests.len(),
                texts.join("; ")
            ));
            verdicts.push(Verdict {
                id: "shaw2019-moment-beats-ip-and-plain".into(),
                source: "Shaw 2019 (thesis)".into(),
                claim: "the moving-average variant (WD) beats IP and plain networks".into(),
                verdict: VerdictKind::from_counts(ok, tests.len()),
                evidence: format!(
                    "paired final test accuracy of ip:moment against plain and against each other IP condition, a test supporting when its 95 % CI lies above 0 ({ok} of {} do; reproduced if all, partly if some): {}",
                    tests.len(),
                    texts.join("; ")
                ),
                figure: Self::ID.into(),
                protocol_assumed: format!("{assumed}; WD taken to be the moment-matching rule ip:moment"),
            });
        }
        let finding = sentences.join(" ");

        let files = draw(
            ctx,
            Self::ID,
            cfg,
            &runs,
            &a,
            split.train.features(),
            &verdicts,
        )?;

        let mut fields = common::net_fields(&split, &runs.seeds);
        fields.extend([
            ("assumed", json!(assumed)),
            ("collapse_rule", json!(format!("a finished run is collapsed when its final test accuracy is ≥ {} below its own peak over the records", cfg.collapse_drop))),
            ("comparisons", Value::Object(comparisons)),
            (
                "conditions",
                Value::Array(
                    runs.conds
                        .iter()
                        .enumerate()
                        .map(|(c, nc)| {
                            json!({
                                "label": nc.label,
                                "condition": nc.canonical(),
                                "accuracy": a.acc[c].iter().map(common::series_json).collect::<Vec<_>>(),
                                "final_accuracy_per_seed": common::nums(&a.finals[c]),
                                "peak_accuracy_per_seed": common::nums(&a.peaks[c]),
                                "collapsed_per_seed": a.collapsed[c],
                                "steps_to_threshold_per_seed": common::nums(&a.reach[c]),
                                "diverged_runs": runs.diverged(c),
                                "drift_per_seed": DRIFT_KEYS.iter().enumerate().map(|(k, key)| (key.to_string(), common::nums(&a.drift_of(c, k)))).collect::<serde_json::Map<_, _>>(),
                                "width": a.width.iter().filter(|s| s.label == nc.label || s.label.starts_with(&format!("{} (", nc.label)) || s.label.starts_with(&format!("{}: collapsed", nc.label))).map(common::series_json).collect::<Vec<_>>(),
                                "unit_input_percentiles_seed1": a.pcts[c].as_ref().map_or(json!("no run"), |s| json!({
                                    "unit": cfg.base.probe_units[0],
                                    "layer": cfg.base.hidden.len(),
                                    "percentiles": cfg.base.percentiles,
                                    "view": if nc.label == "bn" { "training (batch statistics)" } else { "inference (= training for this condition)" },
                                    "step": common::nums(&s.x),
                                    "low": common::nums(s.lo.as_deref().unwrap_or(&[])),
                                    "middle": common::nums(&s.mean),
                                    "high": common::nums(s.hi.as_deref().unwrap_or(&[])),
                                })),
                            })
                        })
                        .collect(),
                ),
            ),
            ("runs", runs.runs_json()),
        ]);
        Ok(Produced {
            finding,
            files,
            fields,
            verdicts,
            tidy: tidy_with_probe(&runs, cfg.collapse_drop),
        })
    }
}

// The drift measures index two parallel tables (names and paired differences).
#[allow(clippy::needless_range_loop)]
fn draw(
    ctx: &FigureContext,
    id: &str,
    cfg: &BnMnistConfig,
    runs: &CondRuns,
    a: &Analysis,
    inputs: usize,
    verdicts: &[Verdict],
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let n = runs.conds.len();
    let cols = n.div_ceil(2).max(1);
    let rows = n.div_ceil(cols);
    let unit = cfg.base.probe_units[0];
    let layer = cfg.base.hidden.len();
    // A shared y range for the percentile panels, so that drifts compare across conditions.
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in a.pcts.iter().flatten() {
        for v in
            s.lo.iter()
                .flatten()
                .chain(s.hi.iter().flatten())
                .chain(&s.mean)
        {
            if v.is_finite() {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
    }
    let pad = 0.05 * (hi - lo).max(1e-3);
    let y_range = (lo.is_finite() && hi.is_finite()).then_some((lo - pad, hi + pad));
    let acc: Vec<Series> = a.acc.iter().flatten().cloned().collect();
    let top = acc
        .iter()
        .flat_map(|s| s.hi.iter().flatten().chain(&s.mean))
        .copied()
        .filter(|v| v.is_finite())
        .fold(cfg.threshold, f64::max);
    let zoom = (cfg.threshold - 0.02, (top + 0.005).min(1.0));
    let early = (cfg.base.steps as f64 / 10.0).max(cfg.base.eval_every as f64 * 4.0);
    let band = plot::Spread::Ci95.describe();
    plot::save_figure(
        &ctx.out_dir,
        id,
        2000,
        1500 + 380 * rows as u32,
        |area: &Area<'_>| {
            let area = plot::titled(
                area,
                &format!(
                    "MNIST {}-{}-10 sigmoid network, batch {}, {} steps: mean over {}; {band}",
                    inputs,
                    join(&cfg.base.hidden, "-"),
                    cfg.base.batch,
                    cfg.base.steps,
                    count(runs.seeds.len(), "seed")
                ),
            )?;
            let parts = plot::split_rows(&area, &[1.1, 1.0, 0.95 * rows as f64])?;
            let step_label = format!("training step (mini-batches of {})", cfg.base.batch);
            let whole = XyChart::new(step_label.clone(), "test accuracy (fraction correct)")
                .y_range(0.0, 1.0)
                .series_all(acc.iter().cloned())
                .line(RefLine::Horizontal(
                    cfg.threshold,
                    Some(format!("{} accuracy", pct(cfg.threshold))),
                ))
                .legend(LegendPos::Hidden);
            let entries = whole.legend_entries();
            let (lw, _) = plot::legend_size(&parts[0], &entries, 1, plot::LEGEND_SIZE)?;
            let (w, _) = parts[0].dim_in_pixel();
            let rest = (f64::from(w) - f64::from(lw) - 30.0).max(3.0);
            let top_cells = plot::split_cols(
                &parts[0],
                &[rest / 3.0, rest / 3.0, rest / 3.0, f64::from(lw) + 30.0],
            )?;
            let pa = plot::layout::panel(&top_cells[0], 0, "test accuracy, the whole run")?;
            whole.draw(&pa)?;
            let pb = plot::layout::panel(
                &top_cells[1],
                1,
                &format!("the first {} steps (speed)", early),
            )?;
            XyChart::new(step_label.clone(), "test accuracy (fraction correct)")
                .x_range(0.0, early)
                .y_range(0.0, 1.0)
                .series_all(acc.iter().map(|s| until(s, early)))
                .line(RefLine::Horizontal(cfg.threshold, None))
                .legend(LegendPos::Hidden)
                .draw(&pb)?;
            let pc = plot::layout::panel(&top_cells[2], 2, "the whole run, zoomed on the top")?;
            XyChart::new(step_label.clone(), "test accuracy (fraction correct)")
                .y_range(zoom.0, zoom.1)
                .series_all(acc.iter().cloned())
                .line(RefLine::Horizontal(cfg.threshold, None))
                .legend(LegendPos::Hidden)
                .note(format!("lines below {} are cut at the frame", zoom.0))
                .note_pos(LegendPos::LowerRight)
                .draw(&pc)?;
            plot::draw_legend(
                &top_cells[3].margin(60, 0, 10, 0),
                &entries,
                1,
                plot::LEGEND_SIZE,
            )?;

            // Row 2: the low–high width over training, and the drift table.
            let mid = plot::split_cols(&parts[1], &[1.0, 1.0])?;
            let pd = plot::layout::panel(
                &mid[0],
                3,
                &format!(
                    "{}–{} width of the inputs of units {}, layer {layer} (mean over units)",
                    cfg.base.percentiles[0],
                    cfg.base.percentiles[2],
                    if cfg.base.probe_units.len() > 3 {
                        format!(
                            "{}–{}",
                            cfg.base.probe_units[0],
                            cfg.base.probe_units[cfg.base.probe_units.len() - 1]
                        )
                    } else {
                        join(&cfg.base.probe_units, ", ")
                    }
                ),
            )?;
            XyChart::new(step_label.clone(), "input width (u units)")
                .series_all(a.width.iter().cloned())
                .legend(LegendPos::Hidden)
                .note(format!(
                    "{band} over seeds; bn: batch statistics, as in training"
                ))
                .note_pos(LegendPos::LowerRight)
                .draw(&pd)?;
            let pe = plot::layout::panel(&mid[1], 4, "drift over the whole run and verdicts")?;
            let mut table = TablePanel::new([
                "measure (per seed, mean over units)",
                "bn",
                "plain",
                "bn − plain (95 % CI)",
            ])
            .align(vec![
                plot::Align::Left,
                plot::Align::Right,
                plot::Align::Right,
                plot::Align::Right,
            ]);
            let pos = |l: &str| runs.conds.iter().position(|c| c.label == l);
            if let (Some(b), Some(p)) = (pos("bn"), pos("plain")) {
                for k in 0..8 {
                    let d = stats::paired(&a.drift_of(b, k), &a.drift_of(p, k));
                    let (am, bm, ci) = match d {
                        Some(d) => (
                            sig3(d.a_mean),
                            sig3(d.b_mean),
                            format!(
                                "{} ({} to {})",
                                sig3(d.diff.mean),
                                sig3(d.diff.lo),
                                sig3(d.diff.hi)
                            ),
                        ),
                        None => ("n/a".into(), "n/a".into(), "n/a".into()),
                    };
                    table = table.row([DRIFT_NAMES[k].to_string(), am, bm, ci]);
                }
            }
            for v in verdicts {
                table = table.row([
                    format!("{}: {}", v.source, v.claim),
                    String::new(),
                    String::new(),
                    v.verdict.as_str().to_string(),
                ]);
            }
            table.draw(&pe)?;

            let cells = parts[2].split_evenly((rows, cols));
            for (c, cell) in cells.iter().enumerate().take(n) {
                let nc = &runs.conds[c];
                let title = if nc.label == "bn" {
                    format!("{} (seed 1; batch statistics, as in training)", nc.label)
                } else {
                    format!("{} (seed 1)", nc.label)
                };
                let p = plot::layout::panel(cell, c + 5, &title)?;
                let mut chart = XyChart::new(
                    "training step",
                    format!(
                        "u of unit {unit}, layer {layer}: {}–{}–{}th pct.",
                        cfg.base.percentiles[0], cfg.base.percentiles[1], cfg.base.percentiles[2]
                    ),
                )
                .legend(LegendPos::Hidden)
                .note("line: median; band: 15th–85th percentile (not a CI)")
                .note_pos(LegendPos::LowerRight);
                if let Some((a, b)) = y_range {
                    chart = chart.y_range(a, b);
                }
                match &a.pcts[c] {
                    Some(s) => chart = chart.series(s.clone()),
                    None => chart = chart.note("no finished run"),
                }
                chart.draw(&p)?;
            }
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipbn_train::result::UnitPercentiles;

    /// A finished run of a tiny network whose history is then replaced by `accs` (one record
    /// every 10 steps from step 0) with unit 0's percentiles `pcts[i]` in the given view.
    fn fake_run(accs: &[f64], pcts: &[[f64; 3]], train_view: bool) -> RunResult {
        let split = common::tiny_split();
        let cfg = TrainConfig {
            hidden: vec![4],
            steps: 10,
            batch: 8,
            eval_every: 10,
            probe_size: 8,
            probe_units: vec![0],
            ..TrainConfig::default()
        };
        let mut run = ipbn_train::trainer::run(&cfg, &split, &mut |_| {}).unwrap();
        let template = run.history[0].clone();
        run.history = accs
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let view = vec![UnitPercentiles {
                    unit: 0,
                    values: pcts[i].iter().map(|&v| Some(v)).collect(),
                }];
                let mut r = template.clone();
                r.step = 10 * i;
                r.test_accuracy = Some(a);
                if train_view {
                    // The inference view says something else; the training view must win.
                    r.unit_inputs = vec![UnitPercentiles {
                        unit: 0,
                        values: vec![Some(100.0); 3],
                    }];
                    r.unit_inputs_train = view;
                } else {
                    r.unit_inputs = view;
                    r.unit_inputs_train = Vec::new();
                }
                r
            })
            .collect();
        run.final_test_accuracy = accs.last().copied();
        run
    }

    #[test]
    fn collapse_steps_and_drift_follow_their_definitions() {
        let p = [[-1.0, 0.0, 1.0], [-2.0, 0.5, 2.0], [-1.0, 1.0, 1.0]];
        // Peaks at 0.89, ends at 0.52: collapsed at a 10-point rule, not at a 40-point one.
        let r = fake_run(&[0.1, 0.89, 0.52], &p, false);
        let (peak, fin, collapsed) = collapse(&r, 0.10);
        assert_eq!((peak, fin, collapsed), (0.89, 0.52, true));
        assert!(!collapse(&r, 0.40).2);
        assert_eq!(outcome_word(&r, 0.10), "collapsed");
        // 0.5 is crossed between step 0 (0.1) and step 10 (0.89): 10·0.4/0.79.
        assert!((steps_to(&r, 0.5) - 10.0 * 0.4 / 0.79).abs() < 1e-12);
        assert!(steps_to(&r, 0.95).is_nan());
        // Ranges and sample s.d. over the three records: low −1, −2, −1; median 0, 0.5, 1;
        // high 1, 2, 1; width 2, 4, 2.
        let d = drift(&r, &[0]);
        let sd = |v: [f64; 3]| {
            let m = (v[0] + v[1] + v[2]) / 3.0;
            (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 2.0).sqrt()
        };
        let want = [
            1.0,
            1.0,
            1.0,
            2.0,
            sd([-1.0, -2.0, -1.0]),
            sd([0.0, 0.5, 1.0]),
            sd([1.0, 2.0, 1.0]),
            sd([2.0, 4.0, 2.0]),
        ];
        for k in 0..8 {
            assert!(
                (d[k] - want[k]).abs() < 1e-12,
                "{}: {} vs {}",
                DRIFT_KEYS[k],
                d[k],
                want[k]
            );
        }
        // Under BN the training view is what counts, not the inference view.
        let bn = fake_run(&[0.1, 0.89, 0.52], &p, true);
        assert_eq!(drift(&bn, &[0]), d);
        // A steady run: no drift, no collapse.
        let flat = fake_run(&[0.1, 0.9, 0.91], &[[0.0, 1.0, 2.0]; 3], false);
        assert_eq!(drift(&flat, &[0]), [0.0; 8]);
        assert!(!collapse(&flat, 0.10).2);
        assert_eq!(outcome_word(&flat, 0.10), "finished");
    }
}
