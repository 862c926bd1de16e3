//! `homogenisation`: does IP make units too alike? (The talk's "Issues" slide.)
//!
//! The runs of `bn-mnist` (the same network, conditions and seeds; in one process they are
//! trained once and shared, see [`super::common::run_all`]). At every record the trainer
//! measures, for each hidden layer, the mean absolute Pearson correlation between the
//! outputs of its units over a fixed probe batch (the first test images, inference mode;
//! pairs with a constant unit are left out). Units that all respond alike have correlations
//! near 1; drawn per hidden layer over training, mean and min–max band over seeds.

use super::bn_mnist::BnMnistConfig;
use super::common::{self, sig3, Average, CondRuns};
use super::experiment::{count, join, Experiment, Produced};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{self, Area, LegendPos, PlotError, Series, XyChart};
use serde_json::{json, Value};

/// The `homogenisation` figure.
#[derive(Clone, Debug, Default)]
pub struct Homogenisation {
    /// Settings (those of `bn-mnist`, whose runs it reuses); `None` picks
    /// [`BnMnistConfig::full`] or `quick` from the context.
    pub config: Option<BnMnistConfig>,
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

    fn produce(&self, ctx: &FigureContext, cfg: &BnMnistConfig) -> Result<Produced, ReportError> {
        let split = common::load_split(ctx)?;
        let runs = cfg.train(ctx, &split, Self::ID)?;
        let depth = cfg.base.hidden.len();
        // series[layer][condition]
        let series: Vec<Vec<Series>> = (0..depth)
            .map(|l| {
                runs.record_series(
                    &|r| r.correlation.get(l).copied().flatten(),
                    Average::Arithmetic,
                )
            })
            .collect();

        let end = |s: &Series| common::final_mean(s, cfg.base.steps);
        let start = |s: &Series| common::mean_at(s, 0.0);
        let per_layer = |c: usize, f: &dyn Fn(&Series) -> f64| -> String {
            (0..depth)
                .map(|l| sig3(f(&series[l][c])))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let parts: Vec<String> = runs
            .conds
            .iter()
            .enumerate()
            .map(|(c, cond)| format!("{} {}", cond.label, per_layer(c, &end)))
            .collect();
        // The largest final value over conditions and layers, and plain's in that layer.
        let mut most: Option<(usize, usize, f64)> = None;
        for (l, layer) in series.iter().enumerate() {
            for (c, s) in layer.iter().enumerate() {
                let e = end(s);
                if e.is_finite() && most.is_none_or(|(_, _, m)| e > m) {
                    most = Some((l, c, e));
                }
            }
        }
        let plain = runs.conds.iter().position(|c| c.label == "plain");
        let most_text = match (most, plain) {
            (Some((l, c, e)), Some(p)) if c != p => format!(
                " The most alike units are in hidden layer {} under {} ({}, {}× plain's {}).",
                l + 1,
                runs.conds[c].label,
                sig3(e),
                sig3(e / end(&series[l][p])),
                sig3(end(&series[l][p]))
            ),
            (Some((l, c, e)), _) => format!(
                " The most alike units are in hidden layer {} under {} ({}).",
                l + 1,
                runs.conds[c].label,
                sig3(e)
            ),
            _ => String::new(),
        };
        // IP conditions above plain in some layer.
        let homog: Vec<String> = match plain {
            Some(p) => runs
                .conds
                .iter()
                .enumerate()
                .filter(|(_, cond)| cond.condition.rule_spec().is_some())
                .filter_map(|(c, cond)| {
                    let layers: Vec<String> = (0..depth)
                        .filter(|&l| end(&series[l][c]) > end(&series[l][p]))
                        .map(|l| (l + 1).to_string())
                        .collect();
                    (!layers.is_empty())
                        .then(|| format!("{} (layer {})", cond.label, layers.join(", ")))
                })
                .collect(),
            None => Vec::new(),
        };
        let finding = format!(
            "Mean |correlation| between units of hidden layers {} after {} steps (bn-mnist's runs; {} before training): {}.{most_text} IP conditions whose units end more alike than plain's: {}.",
            join(&(1..=depth).collect::<Vec<_>>(), " / "),
            cfg.base.steps,
            per_layer(0, &start),
            parts.join("; "),
            if homog.is_empty() { String::from("none") } else { homog.join(", ") }
        );

        let files = draw(ctx, Self::ID, cfg, &runs, &series)?;

        let mut fields = common::net_fields(&split, &runs.seeds);
        fields.extend([
            (
                "measure",
                json!("mean over pairs of distinct units of |Pearson correlation| of their outputs over the probe batch (first base.probe_size test images, inference mode); pairs with a constant unit left out"),
            ),
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
                                "correlation_per_layer": (0..depth).map(|l| common::series_json(&series[l][c])).collect::<Vec<_>>(),
                                "final_per_layer": (0..depth).map(|l| common::num_or(end(&series[l][c]), "diverged")).collect::<Vec<_>>(),
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
            tidy: Vec::new(),
        })
    }
}

fn draw(
    ctx: &FigureContext,
    id: &str,
    cfg: &BnMnistConfig,
    runs: &CondRuns,
    series: &[Vec<Series>],
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let depth = series.len();
    plot::save_figure(
        &ctx.out_dir,
        id,
        560 * depth as u32 + 380,
        720,
        |area: &Area<'_>| {
            let area = plot::titled(
                area,
                &format!(
                    "How alike are the hidden units? bn-mnist's runs: mean and min–max over {}",
                    count(runs.seeds.len(), "seed")
                ),
            )?;
            let mut weights = vec![560.0; depth];
            weights.push(380.0);
            let cells = plot::split_cols(&area, &weights)?;
            let mut entries = Vec::new();
            for (l, layer) in series.iter().enumerate() {
                let p = plot::layout::panel(&cells[l], l, &format!("hidden layer {}", l + 1))?;
                let chart = XyChart::new(
                    format!("training step (mini-batches of {})", cfg.base.batch),
                    "mean |correlation| between units",
                )
                .y_range(0.0, 1.0)
                .series_all(layer.iter().cloned())
                .legend(LegendPos::Hidden);
                chart.draw(&p)?;
                if l + 1 == depth {
                    entries = chart.legend_entries();
                }
            }
            let legend_area = cells[depth].margin(60, 10, 20, 10);
            plot::draw_legend(&legend_area, &entries, 1, plot::LEGEND_SIZE)?;
            Ok(())
        },
    )
}
