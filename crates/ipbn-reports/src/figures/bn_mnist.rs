//! `bn-mnist`: does normalising each unit's input speed up learning, and does IP do what BN
//! does? (Ioffe & Szegedy 2015, Fig. 1.)
//!
//! The network of the paper's MNIST experiment: 784-100-100-100-10 with sigmoid hidden units,
//! mini-batches of 60, small Gaussian initial weights (`gauss:0.1`; the paper gives no
//! value), plain SGD (learning rate 0.5; the paper gives none). Each condition is trained
//! with the same seeds (same initial weights and batch order), and drawn as
//!
//! * (a) test accuracy against the training step, mean and min–max band over seeds;
//! * (b)… one panel per condition: the 15th, 50th and 85th percentiles of the sigmoid input
//!   of one fixed unit of the last hidden layer (unit 0, measured on the first 500 test
//!   images in inference mode) over training, for the first seed (a unit index means a
//!   different unit in another seed, so its percentiles are not averaged over seeds).
//!
//! The paper trained for 50,000 steps on the full 60,000-image training set; the full
//! protocol here runs 10,000 steps on the shipped 8,000-image subset (or the `--data`
//! folder), so that the whole figure suite stays within a few minutes on two cores.
//!
//! The same runs feed `homogenisation` (see [`super::homogenisation`]): in one process they
//! are trained once.

use super::common::{self, pct, sig3, usage, Average, CondRuns, NetCond};
use super::experiment::{count, join, Experiment, Produced};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{self, Area, LegendPos, PlotError, RefLine, Series, XyChart};
use ipbn_train::TrainConfig;
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
    /// Accuracy threshold whose first crossing is reported in the finding.
    pub threshold: f64,
}

impl BnMnistConfig {
    /// The full protocol: 10,000 steps (the paper: 50,000), 3 seeds.
    pub fn full() -> Self {
        BnMnistConfig {
            conditions: common::standard_conditions(),
            base: TrainConfig {
                steps: 10_000,
                eval_every: 250,
                probe_size: 500,
                percentiles: vec![15.0, 50.0, 85.0],
                ..common::mnist_network()
            },
            seeds: 3,
            seed: 2015,
            threshold: 0.9,
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
}

/// The `bn-mnist` figure.
#[derive(Clone, Debug, Default)]
pub struct BnMnist {
    /// Settings; `None` picks [`BnMnistConfig::full`] or `quick` from the context.
    pub config: Option<BnMnistConfig>,
}

/// The first step at which `s`'s mean reaches `t` (None if it never does).
fn first_reach(s: &Series, t: f64) -> Option<f64> {
    s.x.iter()
        .zip(&s.mean)
        .find(|(_, &m)| m >= t)
        .map(|(&x, _)| x)
}

/// `s` without its points at step 0 (which a log step axis cannot show).
fn drop_step_zero(s: &Series) -> Series {
    let keep: Vec<usize> = (0..s.x.len()).filter(|&i| s.x[i] > 0.0).collect();
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    Series {
        x: pick(&s.x),
        mean: pick(&s.mean),
        lo: s.lo.as_deref().map(pick),
        hi: s.hi.as_deref().map(pick),
        ..s.clone()
    }
}

/// One panel of percentiles: the middle percentile as the line, the band between the low and
/// high ones, for the first seed's run of a condition.
fn percentile_series(nc: &NetCond, run: &ipbn_train::RunResult, unit: usize) -> Series {
    let mut x = Vec::new();
    let mut q = [Vec::new(), Vec::new(), Vec::new()];
    for rec in &run.history {
        let Some(u) = rec.unit_inputs.iter().find(|u| u.unit == unit) else {
            continue;
        };
        let v: Vec<f64> = u.values.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        if v.len() == 3 && v.iter().all(|v| v.is_finite()) {
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
        let unit = cfg.base.probe_units[0];
        let layer = cfg.base.hidden.len();

        let acc = runs.record_series(&|r| r.test_accuracy, Average::Arithmetic);
        let pcts: Vec<Option<Series>> = (0..runs.conds.len())
            .map(|c| {
                runs.runs(c)
                    .first()
                    .map(|r| percentile_series(&runs.conds[c], r, unit))
            })
            .collect();

        // Finding: final accuracy, first crossing of the threshold, BN against plain.
        let finals: Vec<f64> = acc
            .iter()
            .map(|s| common::final_mean(s, cfg.base.steps))
            .collect();
        let reach: Vec<Option<f64>> = acc.iter().map(|s| first_reach(s, cfg.threshold)).collect();
        let diverged: Vec<usize> = (0..runs.conds.len()).map(|c| runs.diverged(c)).collect();
        let per_cond: Vec<String> = runs
            .conds
            .iter()
            .enumerate()
            .map(|(c, nc)| {
                format!(
                    "{} {}{}{}",
                    nc.label,
                    pct(finals[c]),
                    match reach[c] {
                        Some(s) => format!(" (≥ {} from step {s})", pct(cfg.threshold)),
                        None => format!(" (never ≥ {})", pct(cfg.threshold)),
                    },
                    if diverged[c] > 0 {
                        format!(", {} of {} runs diverged", diverged[c], runs.seeds.len())
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        let pos = |l: &str| runs.conds.iter().position(|c| c.label == l);
        let bn_vs_plain = match (pos("bn"), pos("plain")) {
            (Some(b), Some(p)) => {
                let (sb, sp) = (&acc[b], &acc[p]);
                let mut above = 0;
                let mut shared = 0;
                for (i, x) in sb.x.iter().enumerate() {
                    if *x == 0.0 {
                        continue;
                    }
                    if let Some(j) = sp.x.iter().position(|y| y == x) {
                        shared += 1;
                        if sb.mean[i] > sp.mean[j] {
                            above += 1;
                        }
                    }
                }
                let drift = |c: usize| -> Option<(f64, f64)> {
                    let s = pcts[c].as_ref()?;
                    let (lo, hi) = (s.lo.as_ref()?, s.hi.as_ref()?);
                    let i = s.x.iter().position(|&x| x > 0.0)?;
                    let n = s.x.len() - 1;
                    Some((
                        (s.mean[n] - s.mean[i]).abs(),
                        (hi[n] - lo[n]) - (hi[i] - lo[i]),
                    ))
                };
                let drift_text = match (drift(p), drift(b)) {
                    (Some(dp), Some(db)) => format!(
                        " The median input of unit {unit} moves by {} under plain and {} under bn from the first record to the last (seed 1).",
                        sig3(dp.0),
                        sig3(db.0)
                    ),
                    _ => String::new(),
                };
                let speed = match (reach[b], reach[p]) {
                    (Some(rb), Some(rp)) if rb < rp => format!(
                        "BN reaches {t} at step {rb}, plain at step {rp} ({}× sooner), as in the paper",
                        sig3(rp / rb.max(1.0)),
                        t = pct(cfg.threshold)
                    ),
                    (Some(rb), None) => format!(
                        "BN reaches {} at step {rb}, plain never does, as in the paper",
                        pct(cfg.threshold)
                    ),
                    (Some(rb), Some(rp)) => format!(
                        "BN reaches {t} at step {rb}, plain at step {rp}: not sooner, which disagrees with the paper's Fig. 1",
                        t = pct(cfg.threshold)
                    ),
                    (None, _) => format!(
                        "BN never reaches {}, which disagrees with the paper's Fig. 1",
                        pct(cfg.threshold)
                    ),
                };
                let gap = finals[b] - finals[p];
                let end_text = if gap.abs() < 0.005 {
                    format!(
                        "ends level with it ({} against {}), unlike the paper, whose BN ends higher (after 50,000 steps on 60,000 images)",
                        pct(finals[b]),
                        pct(finals[p])
                    )
                } else if gap > 0.0 {
                    format!("ends {:.1} points higher, as in the paper", 100.0 * gap)
                } else {
                    format!(
                        "ends {:.1} points lower, unlike the paper, whose BN ends higher",
                        -100.0 * gap
                    )
                };
                format!(
                    " {speed}; BN's mean is above plain's at {above} of {shared} records and {end_text}.{drift_text}"
                )
            }
            _ => String::new(),
        };
        let finding = format!(
            "Mean test accuracy after {} steps (the paper ran 50,000; shortened here to keep the figure suite within minutes, on {} training images, lr {} and IP η {} assumed): {}.{}",
            cfg.base.steps,
            split.train.len(),
            cfg.base.lr,
            cfg.base.ip_lr,
            per_cond.join("; "),
            bn_vs_plain
        );

        let files = draw(
            ctx,
            Self::ID,
            cfg,
            &runs,
            &acc,
            &pcts,
            unit,
            layer,
            split.train.features(),
        )?;

        let mut fields = common::net_fields(&split, &runs.seeds);
        fields.extend([
            (
                "assumed",
                json!("learning rate, initial weight scale and IP rate are not given by the paper; values in config.base. Accuracy on the test split in inference mode; percentiles on the first probe_size test images."),
            ),
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
                                "accuracy": common::series_json(&acc[c]),
                                "final_accuracy_mean": common::num_or(finals[c], "diverged"),
                                "first_step_reaching_threshold": reach[c].map_or(json!("never"), |s| json!(s)),
                                "diverged_runs": diverged[c],
                                "unit_input_percentiles_seed1": pcts[c].as_ref().map_or(json!("no run"), |s| json!({
                                    "unit": unit,
                                    "layer": layer,
                                    "percentiles": cfg.base.percentiles,
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
            verdicts: Vec::new(),
            tidy: runs.tidy(),
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn draw(
    ctx: &FigureContext,
    id: &str,
    cfg: &BnMnistConfig,
    runs: &CondRuns,
    acc: &[Series],
    pcts: &[Option<Series>],
    unit: usize,
    layer: usize,
    inputs: usize,
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let n = runs.conds.len();
    let cols = n.div_ceil(2).max(1);
    let rows = n.div_ceil(cols);
    // A shared y range for the percentile panels, so that drifts compare across conditions.
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in pcts.iter().flatten() {
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
    // The zoom of panel (b): from just below the threshold to just above the best mean.
    let top = acc
        .iter()
        .flat_map(|s| s.hi.iter().flatten().chain(&s.mean))
        .copied()
        .filter(|v| v.is_finite())
        .fold(cfg.threshold, f64::max);
    let zoom = (cfg.threshold - 0.05, (top + 0.01).min(1.0));
    plot::save_figure(
        &ctx.out_dir,
        id,
        1800,
        1000 + 380 * rows as u32,
        |area: &Area<'_>| {
            let area = plot::titled(
                area,
                &format!(
                    "MNIST {}-{}-10 sigmoid network, batch {}: mean and min–max over {}",
                    inputs,
                    join(&cfg.base.hidden, "-"),
                    cfg.base.batch,
                    count(runs.seeds.len(), "seed")
                ),
            )?;
            let parts = plot::split_rows(&area, &[1.1, 0.95 * rows as f64])?;
            // (a) on a log step axis (the speed of the first thousand steps), (b) a zoom on the
            // top of a linear axis (the end of training); one legend for both.
            let after_start: Vec<Series> = acc.iter().map(drop_step_zero).collect();
            let full = XyChart::new(
                format!(
                    "training step (mini-batches of {}; log scale)",
                    cfg.base.batch
                ),
                "test accuracy (fraction correct)",
            )
            .log_x()
            .series_all(after_start)
            .line(RefLine::Horizontal(
                cfg.threshold,
                Some(format!("{} accuracy", pct(cfg.threshold))),
            ))
            .legend(LegendPos::Hidden);
            let entries = full.legend_entries();
            let (lw, _) = plot::legend_size(&parts[0], &entries, 1, plot::LEGEND_SIZE)?;
            let (w, _) = parts[0].dim_in_pixel();
            let rest = (f64::from(w) - f64::from(lw) - 30.0).max(2.0);
            let top = plot::split_cols(&parts[0], &[rest / 2.0, rest / 2.0, f64::from(lw) + 30.0])?;
            let pa = plot::layout::panel(&top[0], 0, "test accuracy during training")?;
            full.draw(&pa)?;
            let pb = plot::layout::panel(&top[1], 1, "the same, zoomed on the top")?;
            XyChart::new(
                format!("training step (mini-batches of {})", cfg.base.batch),
                "test accuracy (fraction correct)",
            )
            .y_range(zoom.0, zoom.1)
            .series_all(acc.iter().cloned())
            .line(RefLine::Horizontal(cfg.threshold, None))
            .legend(LegendPos::Hidden)
            .note(format!("lines below {} are cut at the frame", zoom.0))
            .note_pos(LegendPos::LowerRight)
            .draw(&pb)?;
            plot::draw_legend(&top[2].margin(60, 0, 10, 0), &entries, 1, plot::LEGEND_SIZE)?;
            let cells = parts[1].split_evenly((rows, cols));
            for (c, cell) in cells.iter().enumerate().take(n) {
                let title = format!("{} (seed 1)", runs.conds[c].label);
                let p = plot::layout::panel(cell, c + 2, &title)?;
                let mut chart = XyChart::new(
                    "training step",
                    format!(
                        "u of unit {unit}, layer {layer}: {}–{}–{}th pct.",
                        cfg.base.percentiles[0], cfg.base.percentiles[1], cfg.base.percentiles[2]
                    ),
                )
                .legend(LegendPos::Hidden);
                if let Some((a, b)) = y_range {
                    chart = chart.y_range(a, b);
                }
                match &pcts[c] {
                    Some(s) => chart = chart.series(s.clone()),
                    None => chart = chart.note("no finished run"),
                }
                chart.draw(&p)?;
            }
            Ok(())
        },
    )
}
