//! `vanishing-gradient`: does IP enlarge error gradients in deep sigmoid networks?
//! (Shaw et al. 2020, gradients sampled during learning; Shaw 2019, IP raises the mean slope.)
//!
//! A deep sigmoid MLP (default ten hidden layers of 100 units, `gauss:0.1` weights, batch
//! 60, SGD) is trained under each condition with the same seeds. The trainer records, every
//! `eval_every` steps, the Frobenius norm of each layer's weight gradient at that step and
//! the mean activation slope θ′(u) of each hidden layer on a fixed probe batch. Drawn:
//!
//! * (a), (b) the gradient norm of each layer's weights against the layer index, early in
//!   training (records in the first `window` fraction of the steps) and late (the last
//!   `window` fraction), log scale. Each run's records in the window are averaged
//!   geometrically, then the runs: the line is the geometric mean over seeds, the band the
//!   seeds' range;
//! * (c) the first layer's gradient norm over training;
//! * (d) the mean slope θ′(u) of each hidden layer at the end, with the slope before training;
//! * (e) test accuracy over training, to show whether the enlarged gradients help learning.
//!
//! Shaw et al. (2020) did not publish their protocol in a form available to us: the depth,
//! width, initial weights, learning rates and the IP rate η (larger than `bn-mnist`'s, so
//! that the gains can move within the run) are assumptions, written to the JSON.

use super::common::{self, sig3, usage, Average, CondRuns};
use super::experiment::{count, Experiment, Produced};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{self, Area, LegendPos, PlotError, Series, XyChart};
use ipbn_train::{Init, RunResult, TrainConfig};
use serde_json::{json, Value};

/// Settings of the `vanishing-gradient` figure.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VanishingConfig {
    /// Conditions, in drawing order.
    pub conditions: Vec<String>,
    /// Every setting shared by the runs (condition and seed are set per run).
    pub base: TrainConfig,
    /// Fraction of the steps that counts as "early" (the first) and "late" (the last).
    pub window: f64,
    /// Default number of seeds (overridden by `--seeds`).
    pub seeds: usize,
    /// Base seed.
    pub seed: u64,
}

impl VanishingConfig {
    /// The full protocol: 10 hidden layers of 100 sigmoid units, 2,000 steps, 3 seeds.
    pub fn full() -> Self {
        VanishingConfig {
            conditions: [
                "plain",
                "bn",
                "ip:infomax-logistic",
                "ip:infomax-logistic:opt=adam",
                "ip:triesch",
                "ip:moment",
                "ip+affine:infomax-logistic",
            ]
            .map(String::from)
            .to_vec(),
            base: TrainConfig {
                hidden: vec![100; 10],
                steps: 2_000,
                ip_lr: 0.01,
                eval_every: 100,
                probe_size: 500,
                percentiles: vec![50.0],
                ..common::mnist_network()
            },
            window: 0.1,
            seeds: 3,
            seed: 2020,
        }
    }

    /// Small settings for tests and a first look.
    pub fn quick() -> Self {
        let full = Self::full();
        VanishingConfig {
            base: TrainConfig {
                hidden: vec![50; 6],
                steps: 200,
                eval_every: 20,
                probe_size: 200,
                ..full.base.clone()
            },
            window: 0.2,
            seeds: 1,
            ..full
        }
    }

    fn validate(&self, id: &str) -> Result<(), ReportError> {
        common::check_base(id, &self.base)?;
        if self.conditions.is_empty() || self.base.hidden.is_empty() {
            return Err(usage(
                id,
                "give at least one condition and one hidden layer",
            ));
        }
        if !(self.window > 0.0 && self.window <= 0.5) {
            return Err(usage(
                id,
                &format!("window must be in (0, 0.5], got {}", self.window),
            ));
        }
        Ok(())
    }
}

/// The `vanishing-gradient` figure.
#[derive(Clone, Debug, Default)]
pub struct VanishingGradient {
    /// Settings; `None` picks [`VanishingConfig::full`] or `quick` from the context.
    pub config: Option<VanishingConfig>,
}

/// Geometric mean of layer `l`'s gradient norm over the records of `run` with step in
/// `(from, to]` (NaN if there is none).
fn window_grad(run: &RunResult, l: usize, from: f64, to: f64) -> f64 {
    let logs: Vec<f64> = run
        .history
        .iter()
        .filter(|r| (r.step as f64) > from && (r.step as f64) <= to)
        .filter_map(|r| r.grad_norms.get(l).copied().flatten())
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(f64::ln)
        .collect();
    if logs.is_empty() {
        f64::NAN
    } else {
        (logs.iter().sum::<f64>() / logs.len() as f64).exp()
    }
}

/// Diverged runs of `runs`, counted once at `x`.
fn diverged_at(runs: &[&RunResult], x: f64) -> Vec<(f64, usize)> {
    let n = runs.iter().filter(|r| r.diverged).count();
    if n > 0 {
        vec![(x, n)]
    } else {
        Vec::new()
    }
}

impl Experiment for VanishingGradient {
    const ID: &'static str = "vanishing-gradient";
    const QUESTION: &'static str = "Does IP enlarge error gradients in deep sigmoid networks?";
    const SOURCE: &'static str =
        "Shaw et al. 2020 (gradients sampled during learning); Shaw 2019 (IP raises the mean slope)";
    type Config = VanishingConfig;
    const FULL: fn() -> VanishingConfig = VanishingConfig::full;
    const QUICK: fn() -> VanishingConfig = VanishingConfig::quick;

    fn given(&self) -> Option<&VanishingConfig> {
        self.config.as_ref()
    }

    fn produce(&self, ctx: &FigureContext, cfg: &VanishingConfig) -> Result<Produced, ReportError> {
        cfg.validate(Self::ID)?;
        let split = common::load_split(ctx)?;
        let seeds = common::run_seeds(ctx, cfg.seeds, cfg.seed, Self::ID)?;
        let conds = common::parse_conds(&cfg.conditions, cfg.base.activation)?;
        let runs = CondRuns::run(ctx, &split, conds, &cfg.base, seeds)?;
        let depth = cfg.base.hidden.len();
        let steps = cfg.base.steps as f64;
        let early = (0.0, cfg.window * steps);
        let late = ((1.0 - cfg.window) * steps, steps);
        let layers_x: Vec<f64> = (1..=depth + 1).map(|l| l as f64).collect();
        let hidden_x: Vec<f64> = (1..=depth).map(|l| l as f64).collect();

        // A per-layer profile `f` of each of condition `c`'s runs against `x`, averaged as
        // asked, its diverged runs marked once at the first layer.
        let profile = |c: usize, x: &[f64], avg: Average, f: &dyn Fn(&RunResult) -> Vec<f64>| {
            let rs = runs.runs(c);
            let vals: Vec<Vec<f64>> = rs.iter().map(|r| f(r)).collect();
            common::summary_series(&runs.conds[c], x, &vals, avg, &diverged_at(&rs, 1.0))
        };
        let per_layer = |c: usize, (from, to): (f64, f64)| -> Series {
            profile(c, &layers_x, Average::Geometric, &|r| {
                (0..=depth).map(|l| window_grad(r, l, from, to)).collect()
            })
        };
        let nc = runs.conds.len();
        let early_s: Vec<Series> = (0..nc).map(|c| per_layer(c, early)).collect();
        let late_s: Vec<Series> = (0..nc).map(|c| per_layer(c, late)).collect();
        let first_s = runs.record_series(
            &|r| r.grad_norms.first().copied().flatten(),
            Average::Geometric,
        );
        let slope_s: Vec<Series> = (0..nc)
            .map(|c| {
                profile(c, &hidden_x, Average::Arithmetic, &|r| {
                    let last = r.history.last().filter(|_| !r.diverged);
                    (0..depth)
                        .map(|l| {
                            last.and_then(|h| h.mean_slope.get(l).copied().flatten())
                                .unwrap_or(f64::NAN)
                        })
                        .collect()
                })
            })
            .collect();
        // The slope before training (step 0, the same for every condition with the same
        // seeds: IP starts at α = 1, k = 0 and BN's running estimates at mean 0, variance 1).
        let initial_slope: Vec<f64> = {
            let rs = runs.runs(0);
            let vals: Vec<Vec<f64>> = rs
                .iter()
                .map(|r| {
                    (0..depth)
                        .map(|l| {
                            r.history
                                .first()
                                .and_then(|h| h.mean_slope.get(l).copied().flatten())
                                .unwrap_or(f64::NAN)
                        })
                        .collect()
                })
                .collect();
            plot::summarise_runs(depth, &vals, plot::Spread::MinMax).mean
        };
        let acc_s = runs.record_series(&|r| r.test_accuracy, Average::Arithmetic);

        // Finding: late first-layer gradient norms, against plain's.
        let first_late: Vec<f64> = late_s.iter().map(|s| common::mean_at(s, 1.0)).collect();
        let final_acc: Vec<f64> = acc_s
            .iter()
            .map(|s| common::final_mean(s, cfg.base.steps))
            .collect();
        let plain = runs.conds.iter().position(|c| c.label == "plain");
        let mut parts = Vec::new();
        for (c, cond) in runs.conds.iter().enumerate() {
            let rel = match plain {
                Some(p) if p != c && first_late[p] > 0.0 && first_late[c].is_finite() => {
                    let r = first_late[c] / first_late[p];
                    format!(
                        " ({} plain's, {}×)",
                        if r > 1.0 { "above" } else { "NOT above" },
                        sig3(r)
                    )
                }
                _ => String::new(),
            };
            parts.push(format!("{} {}{rel}", cond.label, sig3(first_late[c])));
        }
        let acc_text: Vec<String> = runs
            .conds
            .iter()
            .enumerate()
            .map(|(c, cond)| format!("{} {}", cond.label, common::pct(final_acc[c])))
            .collect();
        let diverged: usize = (0..nc).map(|c| runs.diverged(c)).sum();
        let learners: Vec<&str> = runs
            .conds
            .iter()
            .enumerate()
            .filter(|&(c, _)| final_acc[c] >= 0.5)
            .map(|(_, cond)| cond.label.as_str())
            .collect();
        let ip_above = runs.conds.iter().enumerate().any(|(c, cond)| {
            cond.condition.rule_spec().is_some()
                && plain.is_some_and(|p| first_late[c] > first_late[p])
        });
        let verdict = match (ip_above, learners.is_empty()) {
            (true, _) if learners.iter().all(|l| !l.starts_with("ip")) => format!(
                " IP enlarges the first layer's gradient over plain's, but within this run only {} learns (accuracy ≥ 50 %): larger gradients alone do not make the deep sigmoid network learn here.",
                if learners.is_empty() { String::from("no condition") } else { learners.join(", ") }
            ),
            (true, _) => format!(
                " IP enlarges the first layer's gradient over plain's; conditions reaching ≥ 50 % accuracy: {}.",
                learners.join(", ")
            ),
            (false, _) => String::from(
                " No IP condition raises the first layer's gradient above plain's, which disagrees with Shaw et al. 2020.",
            ),
        };
        let finding = format!(
            "In a {}-hidden-layer sigmoid network (width {}, gauss:{} weights, lr {}, IP η {}; Shaw et al.'s protocol is unknown, these are assumed), the first layer's weight-gradient norm over the last {:.0} % of {} steps (geometric mean over {}) is: {}. Final test accuracy: {}{}.{verdict}",
            depth,
            cfg.base.hidden[0],
            match cfg.base.init {
                Init::Gauss { std } => std.to_string(),
                other => format!("{other:?}"),
            },
            cfg.base.lr,
            cfg.base.ip_lr,
            100.0 * cfg.window,
            cfg.base.steps,
            count(runs.seeds.len(), "seed"),
            parts.join("; "),
            acc_text.join(", "),
            if diverged > 0 {
                format!("; {diverged} runs diverged")
            } else {
                String::new()
            }
        );

        let drawn = Drawn {
            early: &early_s,
            late: &late_s,
            first: &first_s,
            slope: &slope_s,
            initial_slope: &initial_slope,
            acc: &acc_s,
        };
        let files = draw(ctx, Self::ID, cfg, &runs, &drawn)?;

        let mut fields = common::net_fields(&split, &runs.seeds);
        fields.extend([
            (
                "assumed",
                json!("Shaw et al. 2020's network, learning rates and IP rate are not available; depth, width, initial weights, lr and ip_lr are this figure's choices (config.base). Gradient norms are Frobenius norms of each layer's weight gradient at the recorded step; windows average them geometrically."),
            ),
            ("early_window_steps", json!([early.0, early.1])),
            ("late_window_steps", json!([late.0, late.1])),
            ("initial_mean_slope", common::nums(&initial_slope)),
            (
                "conditions",
                Value::Array(
                    runs.conds
                        .iter()
                        .enumerate()
                        .map(|(c, cond)| {
                            json!({
                                "label": cond.label,
                                "condition": cond.canonical(),
                                "grad_norm_per_layer_early": common::series_json(&early_s[c]),
                                "grad_norm_per_layer_late": common::series_json(&late_s[c]),
                                "first_layer_grad_norm": common::series_json(&first_s[c]),
                                "mean_slope_per_layer_final": common::series_json(&slope_s[c]),
                                "test_accuracy": common::series_json(&acc_s[c]),
                                "first_layer_grad_norm_late": common::num_or(first_late[c], "diverged"),
                                "final_accuracy_mean": common::num_or(final_acc[c], "diverged"),
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

/// The series of every panel, per condition.
struct Drawn<'a> {
    early: &'a [Series],
    late: &'a [Series],
    first: &'a [Series],
    slope: &'a [Series],
    initial_slope: &'a [f64],
    acc: &'a [Series],
}

/// A log y range in whole decades that covers the bulk of the data: from two decades below
/// the lowest *median* of any series (a series' typical value) to the largest value. A
/// transient far below that (e.g. a rule that saturates every unit for a while) would
/// otherwise squeeze every other line into a few pixels; such values are cut at the frame
/// and named in a note (their numbers are in the JSON).
struct LogRange {
    lo: f64,
    hi: f64,
}

impl LogRange {
    fn of<'a>(series: impl Iterator<Item = &'a Series> + Clone) -> Option<LogRange> {
        let positive = |v: &f64| v.is_finite() && *v > 0.0;
        let mut medians = Vec::new();
        let mut hi = f64::NEG_INFINITY;
        let mut lo_all = f64::INFINITY;
        for s in series {
            let mut m: Vec<f64> = s.mean.iter().copied().filter(positive).collect();
            if m.is_empty() {
                continue;
            }
            m.sort_by(f64::total_cmp);
            medians.push(m[m.len() / 2]);
            for v in
                s.hi.iter()
                    .flatten()
                    .chain(&s.mean)
                    .chain(s.lo.iter().flatten())
            {
                if positive(v) {
                    hi = hi.max(*v);
                    lo_all = lo_all.min(*v);
                }
            }
        }
        let floor = medians.iter().copied().fold(f64::INFINITY, f64::min);
        if !(floor.is_finite() && hi.is_finite()) {
            return None;
        }
        let lo = (floor / 100.0).max(lo_all);
        Some(LogRange {
            lo: 10f64.powf(lo.log10().floor()),
            hi: 10f64.powf(hi.log10().ceil()),
        })
    }

    /// Sets the range on `chart`; returns it with a note for each series of `series` cut
    /// below it (drawn under the figure's legend, so that no note covers data).
    fn apply(
        this: &Option<LogRange>,
        mut chart: XyChart,
        series: &[Series],
        panel: &str,
    ) -> (XyChart, Vec<String>) {
        let mut notes = Vec::new();
        let Some(r) = this else {
            return (chart, notes);
        };
        chart = chart.y_range(r.lo, r.hi);
        for s in series {
            let min = s
                .mean
                .iter()
                .chain(s.lo.iter().flatten())
                .copied()
                .filter(|v| v.is_finite() && *v > 0.0)
                .fold(f64::INFINITY, f64::min);
            if min < r.lo {
                notes.push(format!(
                    "{panel}: {} reaches {} (below the frame)",
                    s.label,
                    sig3(min)
                ));
            }
        }
        (chart, notes)
    }
}

fn draw(
    ctx: &FigureContext,
    id: &str,
    cfg: &VanishingConfig,
    runs: &CondRuns,
    d: &Drawn<'_>,
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let depth = cfg.base.hidden.len();
    // Panels (a) and (b) share their y range so that early and late compare directly.
    let ab = LogRange::of(d.early.iter().chain(d.late));
    let c_range = LogRange::of(d.first.iter());
    let layer_axis = format!("layer (1 = first hidden, {} = output)", depth + 1);
    plot::save_figure(&ctx.out_dir, id, 1900, 1300, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            &format!(
                "{} sigmoid hidden layers of {} units, batch {}, lr {}: geometric mean and range over {}",
                depth,
                cfg.base.hidden[0],
                cfg.base.batch,
                cfg.base.lr,
                count(runs.seeds.len(), "seed")
            ),
        )?;
        let cells = area.split_evenly((2, 3));
        let grad_chart = |series: &[Series], panel: &str| {
            let c = XyChart::new(layer_axis.clone(), "weight-gradient norm ‖∂L/∂W‖")
                .log_y()
                .series_all(series.iter().cloned().map(Series::markers))
                .legend(LegendPos::Hidden);
            LogRange::apply(&ab, c, series, panel)
        };
        let steps = cfg.base.steps as f64;
        let a = plot::layout::panel(
            &cells[0],
            0,
            &format!(
                "gradient per layer, early (steps ≤ {:.0})",
                cfg.window * steps
            ),
        )?;
        let (chart, mut cut) = grad_chart(d.early, "(a)");
        chart.draw(&a)?;
        let b = plot::layout::panel(
            &cells[1],
            1,
            &format!(
                "gradient per layer, late (steps > {:.0})",
                (1.0 - cfg.window) * steps
            ),
        )?;
        let (chart, more) = grad_chart(d.late, "(b)");
        chart.draw(&b)?;
        cut.extend(more);
        let c = plot::layout::panel(&cells[2], 2, "first-layer gradient over training")?;
        let (chart, more) = LogRange::apply(
            &c_range,
            XyChart::new("training step", "first-layer gradient norm")
                .log_y()
                .series_all(d.first.iter().cloned())
                .legend(LegendPos::Hidden),
            d.first,
            "(c)",
        );
        chart.draw(&c)?;
        cut.extend(more);
        let dd = plot::layout::panel(&cells[3], 3, "mean slope θ′(u) per layer, at the end")?;
        let hidden_x: Vec<f64> = (1..=depth).map(|l| l as f64).collect();
        let mut before = Series::new("before training", hidden_x, d.initial_slope.to_vec())
            .color(plot::palette::NONE)
            .markers();
        before.dashed = true;
        let slope_chart = XyChart::new("hidden layer", "mean θ′(u) on the probe batch")
            .series(before)
            .series_all(d.slope.iter().cloned().map(Series::markers))
            .line(plot::RefLine::Horizontal(
                0.25,
                Some("largest sigmoid slope, 0.25".into()),
            ))
            .legend(LegendPos::Hidden);
        slope_chart.draw(&dd)?;
        let e = plot::layout::panel(&cells[4], 4, "test accuracy")?;
        let acc_chart = XyChart::new("training step", "test accuracy (fraction correct)")
            .series_all(d.acc.iter().cloned())
            .legend(LegendPos::Hidden);
        acc_chart.draw(&e)?;
        // One legend for every panel: each condition once (with its diverged count from
        // the accuracy panel), and the reference line of panel (d).
        let mut entries = acc_chart.legend_entries();
        entries.extend(
            slope_chart
                .legend_entries()
                .into_iter()
                .filter(|e| e.label == "before training" || e.label.starts_with("largest")),
        );
        let f = cells[5].margin(40, 10, 30, 10);
        plot::draw_legend(&f, &entries, 1, plot::LEGEND_SIZE)?;
        // Values cut at a panel's frame (every number is in the JSON).
        let (_, lh) = plot::legend_size(&f, &entries, 1, plot::LEGEND_SIZE)?;
        let style = plot::font(plot::LEGEND_SIZE);
        for (i, line) in cut.iter().enumerate() {
            f.draw_text(line, &style, (8, lh as i32 + 16 + 26 * i as i32))?;
        }
        Ok(())
    })
}
