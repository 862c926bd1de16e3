//! `batch-size`: what does IP give that BN cannot? (Beyond the sources.)
//!
//! The `bn-mnist` network is trained under each condition with mini-batches of 1 to 128
//! samples, every run seeing the same number of training examples. The learning rates are
//! scaled linearly with the batch (the same rate per example: `lr = lr_per_example × batch`,
//! and likewise the intrinsic rate η), so that in the limit of small rates every batch size
//! follows the same path in examples seen and differences come from the batch itself.
//!
//! BN normalises with the batch's own statistics, so it is undefined for a batch of one (the
//! trainer rejects that configuration; it is drawn as "undefined", never as an accuracy),
//! and its statistics are noisy for small batches. An IP rule's gain and bias are state that
//! accumulates over steps, so every batch size, one included, is defined for it; the
//! moment-matching rule, however, reads a batch's variance and makes no update from a batch
//! of one.

use super::common::{self, pct, usage, Average, NetCond, Outcome};
use super::experiment::{count, join, Experiment, Produced};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{self, Area, LegendPos, PlotError, RefLine, Series, XyChart};
use ipbn_train::TrainConfig;
use serde_json::{json, Value};

/// Settings of the `batch-size` figure.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSizeConfig {
    /// Conditions, in drawing order.
    pub conditions: Vec<String>,
    /// Mini-batch sizes.
    pub batches: Vec<usize>,
    /// Training examples seen by every run (steps = ⌈examples / batch⌉).
    pub examples: usize,
    /// Synaptic learning rate per example (`lr = lr_per_example × batch`).
    pub lr_per_example: f64,
    /// Intrinsic learning rate per example (`ip_lr = ip_lr_per_example × batch`).
    pub ip_lr_per_example: f64,
    /// Every other setting (condition, batch, steps, rates and seed are set per run).
    pub base: TrainConfig,
    /// Default number of seeds (overridden by `--seeds`).
    pub seeds: usize,
    /// Base seed.
    pub seed: u64,
}

impl BatchSizeConfig {
    /// The full protocol: batches 1 … 128, 30,000 examples, 2 seeds.
    pub fn full() -> Self {
        BatchSizeConfig {
            conditions: [
                "plain",
                "bn",
                "ip:infomax-logistic",
                "ip:moment",
                "ip+affine:infomax-logistic",
            ]
            .map(String::from)
            .to_vec(),
            batches: vec![1, 2, 4, 8, 16, 32, 64, 128],
            examples: 30_000,
            lr_per_example: 1.0 / 60.0,
            ip_lr_per_example: 0.001 / 60.0,
            base: TrainConfig {
                probe_size: 100,
                percentiles: vec![50.0],
                ..common::mnist_network()
            },
            seeds: 2,
            seed: 2022,
        }
    }

    /// Small settings for tests and a first look.
    pub fn quick() -> Self {
        BatchSizeConfig {
            batches: vec![1, 4, 16, 64],
            examples: 2_000,
            seeds: 1,
            ..Self::full()
        }
    }

    fn validate(&self, id: &str) -> Result<(), ReportError> {
        common::check_base(id, &self.base)?;
        if self.batches.is_empty() || self.batches.contains(&0) || self.examples == 0 {
            return Err(usage(
                id,
                "batches must be non-empty and ≥ 1, and examples ≥ 1",
            ));
        }
        let rates_ok = self.lr_per_example.is_finite()
            && self.lr_per_example > 0.0
            && self.ip_lr_per_example.is_finite()
            && self.ip_lr_per_example >= 0.0;
        if !rates_ok {
            return Err(usage(
                id,
                "lr_per_example must be finite and > 0, ip_lr_per_example finite and ≥ 0",
            ));
        }
        if self.conditions.is_empty() {
            return Err(usage(id, "give at least one condition"));
        }
        Ok(())
    }

    /// The configuration of one run.
    fn run_config(&self, cond: &NetCond, batch: usize, seed: u64) -> TrainConfig {
        let steps = self.examples.div_ceil(batch);
        TrainConfig {
            condition: cond.condition.clone(),
            activation: cond.activation,
            batch,
            steps,
            eval_every: steps,
            lr: self.lr_per_example * batch as f64,
            ip_lr: self.ip_lr_per_example * batch as f64,
            seed,
            ..self.base.clone()
        }
    }
}

/// The `batch-size` figure.
#[derive(Clone, Debug, Default)]
pub struct BatchSize {
    /// Settings; `None` picks [`BatchSizeConfig::full`] or `quick` from the context.
    pub config: Option<BatchSizeConfig>,
}

impl Experiment for BatchSize {
    const ID: &'static str = "batch-size";
    const QUESTION: &'static str = "What does IP give that BN cannot?";
    const SOURCE: &'static str = "beyond the sources";
    type Config = BatchSizeConfig;
    const FULL: fn() -> BatchSizeConfig = BatchSizeConfig::full;
    const QUICK: fn() -> BatchSizeConfig = BatchSizeConfig::quick;

    fn given(&self) -> Option<&BatchSizeConfig> {
        self.config.as_ref()
    }

    fn produce(&self, ctx: &FigureContext, cfg: &BatchSizeConfig) -> Result<Produced, ReportError> {
        cfg.validate(Self::ID)?;
        let split = common::load_split(ctx)?;
        let seeds = common::run_seeds(ctx, cfg.seeds, cfg.seed, Self::ID)?;
        let ns = seeds.len();
        let conds = common::parse_conds(&cfg.conditions, cfg.base.activation)?;
        let nb = cfg.batches.len();
        // Condition-major, then batch, then seed.
        let configs: Vec<TrainConfig> = conds
            .iter()
            .flat_map(|c| {
                cfg.batches.iter().flat_map({
                    let seeds = &seeds;
                    move |&b| seeds.iter().map(move |&s| cfg.run_config(c, b, s))
                })
            })
            .collect();
        let outcomes = common::run_all(ctx, &split, &configs)?;
        let at = |c: usize, b: usize, s: usize| &outcomes[(c * nb + b) * ns + s];
        let x: Vec<f64> = cfg.batches.iter().map(|&b| b as f64).collect();

        let mut series = Vec::new();
        let mut undefined: Vec<Vec<usize>> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        for (c, cond) in conds.iter().enumerate() {
            let mut vals = vec![vec![f64::NAN; nb]; ns];
            let mut diverged = Vec::new();
            let mut undef = Vec::new();
            for (b, &batch) in cfg.batches.iter().enumerate() {
                let mut d = 0;
                for (s, row) in vals.iter_mut().enumerate() {
                    match at(c, b, s) {
                        Outcome::Invalid(why) => {
                            if !undef.contains(&batch) {
                                undef.push(batch);
                                reasons.push(format!("{} at batch {batch}: {why}", cond.label));
                            }
                        }
                        Outcome::Ran(r) => match r.final_test_accuracy {
                            Some(a) if !r.diverged => row[b] = a,
                            _ => d += 1,
                        },
                    }
                }
                if d > 0 {
                    diverged.push((batch as f64, d));
                }
            }
            let mut s = common::summary_series(cond, &x, &vals, Average::Arithmetic, &diverged);
            if !undef.is_empty() {
                s.label = format!("{} (undefined at batch {})", cond.label, join(&undef, ", "));
            }
            series.push(s.markers());
            undefined.push(undef);
        }

        // Finding: each condition at the smallest and the largest batch, and BN's undefined
        // batches.
        let value_at = |s: &Series, b: usize| common::mean_at(s, b as f64);
        let (bmin, bmax) = (
            cfg.batches.iter().copied().min().unwrap_or(1),
            cfg.batches.iter().copied().max().unwrap_or(1),
        );
        let parts: Vec<String> = conds
            .iter()
            .enumerate()
            .map(|(c, cond)| {
                let small = if undefined[c].contains(&bmin) {
                    String::from("undefined")
                } else {
                    pct(value_at(&series[c], bmin))
                };
                let smallest_defined = cfg
                    .batches
                    .iter()
                    .copied()
                    .filter(|b| !undefined[c].contains(b))
                    .min();
                let extra = match smallest_defined {
                    Some(b) if b != bmin => {
                        format!(", {} at batch {b}", pct(value_at(&series[c], b)))
                    }
                    _ => String::new(),
                };
                format!(
                    "{} {small} at batch {bmin}{extra}, {} at batch {bmax}",
                    cond.label,
                    pct(value_at(&series[c], bmax))
                )
            })
            .collect();
        let n_div: usize = series
            .iter()
            .flat_map(|s| s.diverged.iter().map(|d| d.count))
            .sum();
        let finding = format!(
            "Final test accuracy after {} training examples with rates scaled linearly in the batch (lr {} and IP η {} per example, i.e. {} and {} at batch 60; an assumption, the sources have no such experiment): {}.{}{}",
            cfg.examples,
            common::sig3(cfg.lr_per_example),
            common::sig3(cfg.ip_lr_per_example),
            common::sig3(cfg.lr_per_example * 60.0),
            common::sig3(cfg.ip_lr_per_example * 60.0),
            parts.join("; "),
            if bmax > 1 {
                format!(
                    " At batch {bmax} a run takes only {} steps.",
                    cfg.examples.div_ceil(bmax)
                )
            } else {
                String::new()
            },
            if n_div > 0 {
                format!(" {n_div} runs diverged.")
            } else {
                String::new()
            }
        );

        let files = draw(ctx, Self::ID, cfg, ns, &series, &conds, &undefined)?;

        let mut fields = common::net_fields(&split, &seeds);
        fields.extend([
            (
                "assumed",
                json!("No source runs this experiment: examples, the per-example rates (scaled linearly with the batch) and the network are this figure's choices."),
            ),
            (
                "conditions",
                Value::Array(
                    conds
                        .iter()
                        .enumerate()
                        .map(|(c, cond)| {
                            json!({
                                "label": cond.label,
                                "condition": cond.canonical(),
                                "final_accuracy_vs_batch": common::series_json(&series[c]),
                                "undefined_batches": undefined[c],
                            })
                        })
                        .collect(),
                ),
            ),
            ("undefined_reasons", json!(reasons)),
            ("runs", common::runs_json(&configs, &outcomes)),
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
    cfg: &BatchSizeConfig,
    seeds: usize,
    series: &[Series],
    conds: &[NetCond],
    undefined: &[Vec<usize>],
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    plot::save_figure(&ctx.out_dir, id, 1600, 950, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            &format!(
                "Final test accuracy after {} examples, rates ∝ batch: mean and min–max over {}",
                cfg.examples,
                count(seeds, "seed")
            ),
        )?;
        let p = plot::layout::panel(&area, 0, "against the mini-batch size")?;
        let mut chart = XyChart::new(
            "mini-batch size (samples per step; log scale)",
            "final test accuracy (fraction correct)",
        )
        .log_x()
        .series_all(series.iter().cloned())
        .line(RefLine::Horizontal(0.1, Some("chance (10 classes)".into())))
        .legend(LegendPos::Right)
        .note_pos(LegendPos::Right);
        for (c, u) in undefined.iter().enumerate() {
            if !u.is_empty() {
                chart = chart.note(format!(
                    "{}: undefined at batch {} (not drawn)",
                    conds[c].label,
                    join(u, ", ")
                ));
            }
        }
        chart.draw(&p)?;
        Ok(())
    })
}
