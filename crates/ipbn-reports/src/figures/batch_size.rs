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

use super::common::{self, pct, Average, NetCond, Outcome};
use crate::error::CliError;
use crate::figure::{Figure, FigureContext, FigureOutput};
use crate::plot::{self, Area, LegendPos, PlotError, RefLine, Series, XyChart};
use ipbn_math::Activation;
use ipbn_train::{Init, TrainConfig};
use serde_json::{json, Value};

/// Settings of the `batch-size` figure.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
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
                hidden: vec![100, 100, 100],
                activation: Activation::Sigmoid,
                init: Init::Gauss { std: 0.1 },
                momentum: 0.0,
                probe_size: 100,
                probe_units: vec![0],
                percentiles: vec![50.0],
                ..TrainConfig::default()
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

    fn validate(&self, id: &str) -> Result<(), CliError> {
        self.base
            .validate()
            .map_err(|e| CliError::Usage(format!("{id}: {e}")))?;
        if self.batches.is_empty() || self.batches.contains(&0) || self.examples == 0 {
            return Err(CliError::Usage(format!(
                "{id}: batches must be non-empty and ≥ 1, and examples ≥ 1"
            )));
        }
        let rates_ok = self.lr_per_example.is_finite()
            && self.lr_per_example > 0.0
            && self.ip_lr_per_example.is_finite()
            && self.ip_lr_per_example >= 0.0;
        if !rates_ok {
            return Err(CliError::Usage(format!(
                "{id}: lr_per_example must be finite and > 0, ip_lr_per_example finite and ≥ 0"
            )));
        }
        if self.conditions.is_empty() {
            return Err(CliError::Usage(format!(
                "{id}: give at least one condition"
            )));
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

impl Figure for BatchSize {
    fn id(&self) -> &'static str {
        "batch-size"
    }

    fn question(&self) -> &'static str {
        "What does IP give that BN cannot?"
    }

    fn source(&self) -> &'static str {
        "beyond the sources"
    }

    fn run(&self, ctx: &FigureContext) -> Result<FigureOutput, CliError> {
        let cfg = self.config.clone().unwrap_or_else(|| {
            if ctx.quick {
                BatchSizeConfig::quick()
            } else {
                BatchSizeConfig::full()
            }
        });
        cfg.validate(self.id())?;
        let split = common::load_split(ctx)?;
        let ns = common::seed_count(ctx, cfg.seeds, self.id())?;
        let seeds: Vec<u64> = (0..ns).map(|r| common::run_seed(cfg.seed, r)).collect();
        let conds = cfg
            .conditions
            .iter()
            .map(|c| NetCond::parse(c, cfg.base.activation))
            .collect::<Result<Vec<_>, _>>()?;
        let nb = cfg.batches.len();
        // Condition-major, then batch, then seed.
        let configs: Vec<TrainConfig> = conds
            .iter()
            .flat_map(|c| {
                cfg.batches.iter().flat_map({
                    let seeds = &seeds;
                    let cfg = &cfg;
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
                s.label = format!(
                    "{} (undefined at batch {})",
                    cond.label,
                    undef
                        .iter()
                        .map(|b| b.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            series.push(s.markers());
            undefined.push(undef);
        }

        // Finding: each condition at the smallest and the largest batch, and BN's undefined
        // batches.
        let value_at = |s: &Series, b: usize| -> f64 {
            s.x.iter()
                .position(|&v| v == b as f64)
                .map_or(f64::NAN, |i| s.mean[i])
        };
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

        let mut files = draw(ctx, self.id(), &cfg, ns, &series, &conds, &undefined)?;

        let mut j = common::header_json(
            self.id(),
            self.question(),
            self.source(),
            ctx,
            &split,
            &seeds,
        );
        j.insert("finding".into(), json!(finding));
        j.insert(
            "config".into(),
            serde_json::to_value(&cfg).map_err(|e| CliError::Run(e.to_string()))?,
        );
        j.insert(
            "assumed".into(),
            json!("No source runs this experiment: examples, the per-example rates (scaled linearly with the batch) and the network are this figure's choices."),
        );
        j.insert(
            "conditions".into(),
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
        );
        j.insert("undefined_reasons".into(), json!(reasons));
        j.insert(
            "runs".into(),
            Value::Array(
                configs
                    .iter()
                    .zip(&outcomes)
                    .map(|(c, o)| common::run_json(c, o))
                    .collect(),
            ),
        );
        files.push(common::write_json(ctx, self.id(), &Value::Object(j))?);
        Ok(FigureOutput {
            id: self.id().to_string(),
            question: self.question().to_string(),
            finding,
            files,
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
                "Final test accuracy after {} examples, rates ∝ batch: mean and min–max over {} seed{}",
                cfg.examples,
                seeds,
                if seeds == 1 { "" } else { "s" }
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
                    u.iter()
                        .map(|b| b.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        chart.draw(&p)?;
        Ok(())
    })
}
