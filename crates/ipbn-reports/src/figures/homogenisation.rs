//! `homogenisation`: does IP make units too alike? (The talk's "Issues" slide.)
//!
//! The runs of `bn-mnist` (the same network, conditions and seeds; in one process they are
//! trained once and shared, see [`super::common::run_all`]). At every record the trainer
//! measures, for each hidden layer over a fixed probe batch (the first test images,
//! inference mode):
//!
//! * the mean absolute Pearson correlation between the outputs of its units (pairs with a
//!   constant unit left out): near 1 when the units respond alike;
//! * the effective rank of its representation, the participation ratio (Σλ)²/Σλ² =
//!   (tr C)²/‖C‖²_F of the covariance C of its outputs: from 1 (one signal) to the width.
//!
//! Both are drawn per hidden layer over training, mean and 95 % CI band over seeds; runs that
//! collapsed in `bn-mnist` (final accuracy ≥ `collapse_drop` below their peak) are drawn apart,
//! and a panel follows each collapsed run's accuracy and effective rank together. IP
//! conditions are compared with plain by the paired difference over seeds at the end.

use super::bn_mnist::{self, BnMnistConfig};
use super::common::{self, sig3, CondRuns};
use super::experiment::{count, join, Experiment, Produced};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{self, Area, LegendPos, PlotError, Series, TablePanel, XyChart};
use crate::stats::{self, Direction, Paired, Verdict, VerdictKind};
use ipbn_train::{Record, RunResult};
use serde_json::{json, Value};

/// The `homogenisation` figure.
#[derive(Clone, Debug, Default)]
pub struct Homogenisation {
    /// Settings (those of `bn-mnist`, whose runs it reuses); `None` picks
    /// [`BnMnistConfig::full`] or `quick` from the context.
    pub config: Option<BnMnistConfig>,
}

/// The two measures, as (key, axis label, reader of layer `l` at a record).
fn measure(m: usize, l: usize) -> impl Fn(&Record) -> Option<f64> {
    move |r: &Record| {
        if m == 0 {
            r.correlation.get(l).copied().flatten()
        } else {
            r.effective_rank.get(l).copied().flatten()
        }
    }
}

const MEASURE_NAMES: [&str; 2] = ["mean |correlation| between units", "effective rank"];
const MEASURE_KEYS: [&str; 2] = ["correlation", "effective_rank"];

/// The value of measure `m` of layer `l` at a run's last record (NaN if it diverged).
fn at_end(run: &RunResult, m: usize, l: usize) -> f64 {
    if run.diverged {
        return f64::NAN;
    }
    run.history
        .last()
        .and_then(measure(m, l))
        .unwrap_or(f64::NAN)
}

/// The record at which a run's test accuracy peaked (first such record).
fn peak_record(run: &RunResult) -> Option<&Record> {
    run.history
        .iter()
        .filter(|r| r.test_accuracy.is_some())
        .fold(None, |best: Option<&Record>, r| match best {
            Some(b) if b.test_accuracy >= r.test_accuracy => Some(b),
            _ => Some(r),
        })
}

impl Experiment for Homogenisation {
    const ID: &'static str = "homogenisation";
    const QUESTION: &'static str = "Does IP make units too alike?";
    const SOURCE: &'static str = "the talk's \"Issues\" slide";
    type Config = BnMnistConfig;
    const FULL: fn() -> BnMnistConfig = BnMnistConfig::full;
    const QUICK: fn() -> BnMnistConfig = BnMnistConfig::quick;

    fn given(&self) -> Option<&BnMnistConfig> {
        self.config.as_ref()
    }

    // Indices run over measures, layers and conditions of several parallel tables at once.
    #[allow(clippy::needless_range_loop)]
    fn produce(&self, ctx: &FigureContext, cfg: &BnMnistConfig) -> Result<Produced, ReportError> {
        let split = common::load_split(ctx)?;
        let runs = cfg.train(ctx, &split, Self::ID)?;
        let depth = cfg.base.hidden.len();
        let drop = cfg.collapse_drop;
        // series[m][layer] = every condition's groups.
        let series: Vec<Vec<Vec<Series>>> = (0..2)
            .map(|m| {
                (0..depth)
                    .map(|l| {
                        (0..runs.conds.len())
                            .flat_map(|c| bn_mnist::grouped_series(&runs, c, drop, &measure(m, l)))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        // end[m][l][c] = per-seed values at the end.
        let end: Vec<Vec<Vec<Vec<f64>>>> = (0..2)
            .map(|m| {
                (0..depth)
                    .map(|l| {
                        (0..runs.conds.len())
                            .map(|c| bn_mnist::per_seed(&runs, c, &|r| at_end(r, m, l)))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let mean = |v: &[f64]| stats::mean_ci(v).map_or(f64::NAN, |e| e.mean);
        let per_layer = |m: usize, c: usize| -> String {
            (0..depth)
                .map(|l| sig3(mean(&end[m][l][c])))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let start = |m: usize, l: usize| -> f64 {
            let v = bn_mnist::per_seed(&runs, 0, &|r| {
                r.history
                    .first()
                    .and_then(measure(m, l))
                    .unwrap_or(f64::NAN)
            });
            mean(&v)
        };
        let layers_text = join(&(1..=depth).collect::<Vec<_>>(), " / ");
        let mut sentences = vec![format!(
            "bn-mnist's runs ({}, {} steps, {}): mean |correlation| / effective rank of hidden layers {layers_text} at the end (means over seeds; before training {} and {}): {}.",
            split.describe(),
            cfg.base.steps,
            count(runs.seeds.len(), "seed"),
            (0..depth).map(|l| sig3(start(0, l))).collect::<Vec<_>>().join(" / "),
            (0..depth).map(|l| sig3(start(1, l))).collect::<Vec<_>>().join(" / "),
            runs.conds
                .iter()
                .enumerate()
                .map(|(c, nc)| format!("{} {} and {}", nc.label, per_layer(0, c), per_layer(1, c)))
                .collect::<Vec<_>>()
                .join("; ")
        )];

        // Paired IP − plain at the end, per layer and measure.
        let plain = runs.conds.iter().position(|c| c.label == "plain");
        let ips: Vec<usize> = (0..runs.conds.len())
            .filter(|&c| runs.conds[c].condition.rule_spec().is_some())
            .collect();
        let mut comparisons = serde_json::Map::new();
        let mut verdicts = Vec::new();
        // table rows: condition, layer, Δcorr, Δrank
        let mut table_rows: Vec<[String; 4]> = Vec::new();
        if let Some(p) = plain {
            let mut supported = 0;
            let mut evidence = Vec::new();
            let mut homog_text = Vec::new();
            for &c in &ips {
                let label = &runs.conds[c].label;
                let mut layers_ok = Vec::new();
                let mut parts = Vec::new();
                for l in 0..depth {
                    let dc = stats::paired(&end[0][l][c], &end[0][l][p]);
                    let dr = stats::paired(&end[1][l][c], &end[1][l][p]);
                    let ok = dc.is_some_and(|d| d.direction() == Direction::Higher)
                        && dr.is_some_and(|d| d.direction() == Direction::Lower);
                    if ok {
                        layers_ok.push(l + 1);
                    }
                    let txt = |d: &Option<Paired>| {
                        d.map_or("n/a".to_string(), |d| {
                            format!(
                                "{} ({} to {})",
                                sig3(d.diff.mean),
                                sig3(d.diff.lo),
                                sig3(d.diff.hi)
                            )
                        })
                    };
                    table_rows.push([label.clone(), (l + 1).to_string(), txt(&dc), txt(&dr)]);
                    parts.push(format!(
                        "layer {}: {}; {}",
                        l + 1,
                        bn_mnist::sentence(&dc, label, "plain", "|correlation|", &sig3),
                        bn_mnist::sentence(&dr, label, "plain", "effective rank", &sig3)
                    ));
                    comparisons.insert(
                        format!("{label}_minus_plain_layer{}", l + 1),
                        json!({
                            "correlation": bn_mnist::paired_json(&dc),
                            "effective_rank": bn_mnist::paired_json(&dr),
                        }),
                    );
                }
                if !layers_ok.is_empty() {
                    supported += 1;
                    homog_text.push(format!("{label} (layer {})", join(&layers_ok, ", ")));
                }
                evidence.push(format!("{label}: {}", parts.join("; ")));
            }
            sentences.push(format!(
                "IP conditions whose units end more alike than plain's in some hidden layer (|correlation| higher and effective rank lower, both paired 95 % CIs excluding 0): {} of {}{}.",
                supported,
                ips.len(),
                if homog_text.is_empty() {
                    String::new()
                } else {
                    format!(": {}", homog_text.join(", "))
                }
            ));
            if !ips.is_empty() {
                verdicts.push(Verdict {
                    id: "talk-ip-homogenises-units".into(),
                    source: "the talk, \"Issues\" slide".into(),
                    claim: "IP homogenises units".into(),
                    verdict: VerdictKind::from_counts(supported, ips.len()),
                    evidence: format!(
                        "at step {}, paired IP − plain over seeds per hidden layer; an IP condition homogenises when in some layer its mean |correlation| is higher and its effective rank lower than plain's, both 95 % CIs excluding 0 ({supported} of {} IP conditions do; reproduced if all, partly if some): {}",
                        cfg.base.steps,
                        ips.len(),
                        evidence.join(" | ")
                    ),
                    figure: Self::ID.into(),
                    protocol_assumed: format!(
                        "{}; the representation of a layer = its outputs on the probe batch in inference mode",
                        cfg.assumed(&split.describe())
                    ),
                });
            }
        }

        // Collapsed runs: from their peak record to the end.
        let mut collapse_text = Vec::new();
        let mut collapse_json = serde_json::Map::new();
        let mut collapsed_runs: Vec<(usize, &RunResult)> = Vec::new();
        for c in 0..runs.conds.len() {
            for r in runs.runs(c) {
                if bn_mnist::collapse(r, drop).2 {
                    collapsed_runs.push((c, r));
                }
            }
        }
        for c in 0..runs.conds.len() {
            let rs: Vec<&RunResult> = collapsed_runs
                .iter()
                .filter(|x| x.0 == c)
                .map(|x| x.1)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let label = &runs.conds[c].label;
            let mut parts = Vec::new();
            let mut js = serde_json::Map::new();
            for l in 0..depth {
                for m in 0..2 {
                    let at_peak: Vec<f64> = rs
                        .iter()
                        .map(|r| peak_record(r).and_then(measure(m, l)).unwrap_or(f64::NAN))
                        .collect();
                    let last: Vec<f64> = rs.iter().map(|r| at_end(r, m, l)).collect();
                    let d = stats::paired(&last, &at_peak);
                    js.insert(
                        format!("{}_layer{}_end_minus_peak", MEASURE_KEYS[m], l + 1),
                        bn_mnist::paired_json(&d),
                    );
                    if m == 1 {
                        parts.push(format!(
                            "layer {} {} → {}{}",
                            l + 1,
                            sig3(mean(&at_peak)),
                            sig3(mean(&last)),
                            d.map_or(String::new(), |d| if d.diff.lo.is_finite() {
                                format!(" (Δ 95 % CI {} to {})", sig3(d.diff.lo), sig3(d.diff.hi))
                            } else {
                                String::new()
                            })
                        ));
                    }
                }
            }
            let peaks: Vec<f64> = rs
                .iter()
                .filter_map(|r| peak_record(r).map(|p| p.step as f64))
                .collect();
            collapse_text.push(format!(
                "In the {} collapsed {label} runs (peak accuracy at step {} on average), the effective rank from the peak to the end: {}",
                rs.len(),
                sig3(mean(&peaks)),
                parts.join(", ")
            ));
            collapse_json.insert(label.clone(), Value::Object(js));
        }
        if collapse_text.is_empty() {
            sentences.push("No run collapsed.".into());
        } else {
            sentences.push(format!("{}.", collapse_text.join("; ")));
        }
        let finding = sentences.join(" ");

        let files = draw(
            ctx,
            Self::ID,
            cfg,
            &runs,
            &series,
            &collapsed_runs,
            &table_rows,
        )?;

        let mut fields = common::net_fields(&split, &runs.seeds);
        fields.extend([
            (
                "measure",
                json!({
                    "correlation": "mean over pairs of distinct units of |Pearson correlation| of their outputs over the probe batch (first base.probe_size test images, inference mode); pairs with a constant unit left out",
                    "effective_rank": "participation ratio (tr C)^2 / ||C||_F^2 of the covariance C of the layer's outputs over the probe batch",
                }),
            ),
            ("comparisons", Value::Object(comparisons)),
            ("collapsed_runs", Value::Object(collapse_json)),
            ("runs", runs.runs_json()),
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
                                "end_per_seed": (0..2).map(|m| (MEASURE_KEYS[m].to_string(), json!((0..depth).map(|l| common::nums(&end[m][l][c])).collect::<Vec<_>>()))).collect::<serde_json::Map<_, _>>(),
                            })
                        })
                        .collect(),
                ),
            ),
            (
                "series",
                json!((0..2).map(|m| (MEASURE_KEYS[m].to_string(), json!(series[m].iter().map(|layer| layer.iter().map(common::series_json).collect::<Vec<_>>()).collect::<Vec<_>>()))).collect::<serde_json::Map<_, _>>()),
            ),
        ]);
        Ok(Produced {
            finding,
            files,
            fields,
            verdicts,
            tidy: bn_mnist::tidy_with_probe(&runs, drop),
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn draw(
    ctx: &FigureContext,
    id: &str,
    cfg: &BnMnistConfig,
    runs: &CondRuns,
    series: &[Vec<Vec<Series>>],
    collapsed: &[(usize, &RunResult)],
    table_rows: &[[String; 4]],
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let depth = cfg.base.hidden.len();
    let band = plot::Spread::Ci95.describe();
    plot::save_figure(
        &ctx.out_dir,
        id,
        560 * depth as u32 + 420,
        1700,
        |area: &Area<'_>| {
            let area = plot::titled(
                area,
                &format!(
                    "How alike are the hidden units? bn-mnist's runs: mean over {}; {band}; collapsed runs drawn apart (markers)",
                    count(runs.seeds.len(), "seed")
                ),
            )?;
            let rows = plot::split_rows(&area, &[1.0, 1.0, 1.0])?;
            let mut weights = vec![560.0; depth];
            weights.push(420.0);
            let mut entries = Vec::new();
            for m in 0..2 {
                let cells = plot::split_cols(&rows[m], &weights)?;
                for l in 0..depth {
                    let p = plot::layout::panel(
                        &cells[l],
                        m * depth + l,
                        &format!("{}, hidden layer {}", MEASURE_NAMES[m], l + 1),
                    )?;
                    let mut chart = XyChart::new(
                        format!("training step (mini-batches of {})", cfg.base.batch),
                        MEASURE_NAMES[m],
                    )
                    .series_all(series[m][l].iter().cloned())
                    .legend(LegendPos::Hidden);
                    chart = if m == 0 {
                        chart.y_range(0.0, 1.0)
                    } else {
                        let top = series[m][l]
                            .iter()
                            .flat_map(|s| s.hi.iter().flatten().chain(&s.mean))
                            .copied()
                            .filter(|v| v.is_finite())
                            .fold(1.0, f64::max);
                        chart.y_range(0.0, (1.1 * top).min(cfg.base.hidden[l] as f64))
                    };
                    chart.draw(&p)?;
                    if m == 0 && l + 1 == depth {
                        entries = chart.legend_entries();
                    }
                }
                if m == 0 {
                    plot::draw_legend(
                        &cells[depth].margin(60, 10, 20, 10),
                        &entries,
                        1,
                        plot::LEGEND_SIZE,
                    )?;
                }
            }
            let bottom = plot::split_cols(&rows[2], &[1.0, 1.0])?;
            let pc = plot::layout::panel(
                &bottom[0],
                2 * depth,
                &format!("collapsed runs: test accuracy (solid) and mean |correlation| of hidden layer {depth} (dashed)"),
            )?;
            let mut chart = XyChart::new(
                format!("training step (mini-batches of {})", cfg.base.batch),
                "fraction",
            )
            .y_range(0.0, 1.0)
            .legend(LegendPos::LowerLeft);
            if collapsed.is_empty() {
                chart = chart.note("no run collapsed");
            }
            for (i, (c, r)) in collapsed.iter().enumerate().take(6) {
                let color = plot::categorical(i);
                let x: Vec<f64> = r.history.iter().map(|h| h.step as f64).collect();
                let accs: Vec<f64> = r
                    .history
                    .iter()
                    .map(|h| h.test_accuracy.unwrap_or(f64::NAN))
                    .collect();
                let seed = runs
                    .seeds
                    .iter()
                    .position(|&s| s == r.config.seed)
                    .map_or(0, |s| s + 1);
                chart = chart.series(
                    Series::new(
                        format!("{} seed {seed} accuracy", runs.conds[*c].label),
                        x.clone(),
                        accs,
                    )
                    .color(color),
                );
                let l = depth - 1;
                let corr: Vec<f64> = r
                    .history
                    .iter()
                    .map(|h| h.correlation.get(l).copied().flatten().unwrap_or(f64::NAN))
                    .collect();
                chart = chart.series(
                    Series::new(format!("… |correlation|, layer {}", l + 1), x, corr)
                        .color(color)
                        .dashed(),
                );
            }
            chart.draw(&pc)?;
            let pt = plot::layout::panel(
                &bottom[1],
                2 * depth + 1,
                "at the end: IP − plain, paired over seeds (95 % CI)",
            )?;
            let mut table =
                TablePanel::new(["condition", "layer", "Δ |correlation|", "Δ effective rank"])
                    .align(vec![
                        plot::Align::Left,
                        plot::Align::Right,
                        plot::Align::Right,
                        plot::Align::Right,
                    ]);
            for row in table_rows {
                table = table.row(row.iter().cloned());
            }
            table.draw(&pt)?;
            Ok(())
        },
    )
}
