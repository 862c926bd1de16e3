//! `batch-size`: what does IP give that BN cannot? (Beyond the sources.)
//!
//! The `bn-mnist` network is trained under each condition with mini-batches of 1 to 128
//! samples, **every batch size for the same number of steps** with the same learning rate
//! and intrinsic rate per step (the protocol of `bn-mnist`: lr 0.5, η 0.001). A fixed number
//! of examples would give large batches few steps (the earlier version of this figure gave
//! batch 128 only 235 steps) and so measure under-training, not the batch; with a fixed
//! number of steps every batch size gets the same number of updates, and a larger batch
//! sees proportionally more examples (its gradient and its batch statistics are less noisy),
//! which is the comparison BN's dependence on the batch is about.
//!
//! BN normalises with the batch's own statistics, so it is undefined for a batch of one (the
//! trainer rejects that configuration; it is drawn as "undefined", never as an accuracy),
//! and its statistics are noisy for small batches. An IP rule's gain and bias are state that
//! accumulates over steps, so every batch size, one included, is defined for it; the
//! moment-matching rule, however, reads a batch's variance and makes no update from a batch
//! of one.
//!
//! Drawn: (a) final test accuracy against the batch size, mean and 95 % CI over seeds;
//! (b) each condition's paired difference from BN at the same batch size and seed, mean and
//! 95 % CI of the paired difference.

use super::bn_mnist;
use super::common::{self, pct, usage, Average, NetCond, Outcome};
use super::experiment::{count, join, Experiment, Produced};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{self, Area, LegendPos, PlotError, RefLine, Series, XyChart};
use crate::stats::{self, Paired};
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
    /// Training steps of every run, whatever its batch size (`base.lr` and `base.ip_lr` are
    /// the rates per step, the same for every batch size).
    pub steps: usize,
    /// Every other setting (condition, batch, steps and seed are set per run).
    pub base: TrainConfig,
    /// Default number of seeds (overridden by `--seeds`).
    pub seeds: usize,
    /// Base seed.
    pub seed: u64,
}

impl BatchSizeConfig {
    /// The full protocol: batches 1 … 128, 4,000 steps each, 5 seeds.
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
            steps: 4_000,
            base: TrainConfig {
                probe_size: 100,
                percentiles: vec![50.0],
                ..common::mnist_network()
            },
            seeds: 5,
            seed: 2022,
        }
    }

    /// Small settings for tests and a first look.
    pub fn quick() -> Self {
        BatchSizeConfig {
            batches: vec![1, 4, 16, 64],
            steps: 150,
            seeds: 2,
            ..Self::full()
        }
    }

    fn validate(&self, id: &str) -> Result<(), ReportError> {
        common::check_base(id, &self.base)?;
        if self.batches.is_empty() || self.batches.contains(&0) || self.steps == 0 {
            return Err(usage(
                id,
                "batches must be non-empty and ≥ 1, and steps ≥ 1",
            ));
        }
        if self.conditions.is_empty() {
            return Err(usage(id, "give at least one condition"));
        }
        Ok(())
    }

    /// The configuration of one run.
    fn run_config(&self, cond: &NetCond, batch: usize, seed: u64) -> TrainConfig {
        TrainConfig {
            condition: cond.condition.clone(),
            activation: cond.activation,
            batch,
            steps: self.steps,
            eval_every: self.steps,
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

    // Indices run over conditions, batches and seeds of several parallel tables at once.
    #[allow(clippy::needless_range_loop)]
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

        // vals[c][b][s]: final accuracy (NaN if diverged or undefined).
        let mut vals = vec![vec![vec![f64::NAN; ns]; nb]; conds.len()];
        let mut series = Vec::new();
        let mut undefined: Vec<Vec<usize>> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        let mut n_div = 0usize;
        for (c, cond) in conds.iter().enumerate() {
            let mut diverged = Vec::new();
            let mut undef = Vec::new();
            for (b, &batch) in cfg.batches.iter().enumerate() {
                let mut d = 0;
                for s in 0..ns {
                    match at(c, b, s) {
                        Outcome::Invalid(why) => {
                            if !undef.contains(&batch) {
                                undef.push(batch);
                                reasons.push(format!("{} at batch {batch}: {why}", cond.label));
                            }
                        }
                        Outcome::Ran(r) => match r.final_test_accuracy {
                            Some(a) if !r.diverged => vals[c][b][s] = a,
                            _ => d += 1,
                        },
                    }
                }
                if d > 0 {
                    diverged.push((batch as f64, d));
                    n_div += d;
                }
            }
            // Seed-major rows for the summary.
            let rows: Vec<Vec<f64>> = (0..ns)
                .map(|s| (0..nb).map(|b| vals[c][b][s]).collect())
                .collect();
            let mut ser = common::summary_series(cond, &x, &rows, Average::Arithmetic, &diverged);
            if !undef.is_empty() {
                ser.label = format!("{} (undefined at batch {})", cond.label, join(&undef, ", "));
            }
            series.push(ser.markers());
            undefined.push(undef);
        }

        // Paired differences from BN at each batch size where BN is defined.
        let bn = conds.iter().position(|c| c.label == "bn");
        let mut diffs: Vec<(usize, Vec<Option<Paired>>)> = Vec::new();
        let mut diff_series = Vec::new();
        if let Some(bi) = bn {
            for c in (0..conds.len()).filter(|&c| c != bi) {
                let d: Vec<Option<Paired>> = (0..nb)
                    .map(|b| {
                        if undefined[bi].contains(&cfg.batches[b]) {
                            None
                        } else {
                            stats::paired(&vals[c][b], &vals[bi][b])
                        }
                    })
                    .collect();
                let keep: Vec<usize> = (0..nb).filter(|&b| d[b].is_some()).collect();
                let get = |f: &dyn Fn(&Paired) -> f64| -> Vec<f64> {
                    keep.iter()
                        .map(|&b| d[b].as_ref().map_or(f64::NAN, f))
                        .collect()
                };
                let mut sr = Series::new(
                    format!("{} − bn", conds[c].label),
                    keep.iter().map(|&b| x[b]).collect(),
                    get(&|p| p.diff.mean),
                )
                .band(get(&|p| p.diff.lo), get(&|p| p.diff.hi))
                .color(conds[c].color())
                .markers();
                sr.dashed = conds[c].dashed();
                diff_series.push(sr);
                diffs.push((c, d));
            }
        }

        // Finding.
        let est_text = |c: usize, b: usize| -> String {
            if undefined[c].contains(&cfg.batches[b]) {
                "undefined".into()
            } else {
                stats::mean_ci(&vals[c][b])
                    .map_or("n/a (every run diverged)".into(), |e| e.text(&pct))
            }
        };
        let bmin_i = (0..nb).min_by_key(|&b| cfg.batches[b]).unwrap_or(0);
        let bmax_i = (0..nb).max_by_key(|&b| cfg.batches[b]).unwrap_or(0);
        let bn_small_i = bn.and_then(|bi| {
            (0..nb)
                .filter(|&b| !undefined[bi].contains(&cfg.batches[b]))
                .min_by_key(|&b| cfg.batches[b])
        });
        let mut shown = vec![bmin_i];
        if let Some(b) = bn_small_i {
            if !shown.contains(&b) {
                shown.push(b);
            }
        }
        if !shown.contains(&bmax_i) {
            shown.push(bmax_i);
        }
        let batches_text = join(
            &shown.iter().map(|&b| cfg.batches[b]).collect::<Vec<_>>(),
            " / ",
        );
        let per_cond: Vec<String> = conds
            .iter()
            .enumerate()
            .map(|(c, cond)| {
                format!(
                    "{} {}",
                    cond.label,
                    shown
                        .iter()
                        .map(|&b| est_text(c, b))
                        .collect::<Vec<_>>()
                        .join(" / ")
                )
            })
            .collect();
        let mut sentences = vec![format!(
            "Every batch size trained for the same {} steps at lr {} and IP η {} per step (a fixed number of steps, not of examples: batch {} sees {}× the examples of batch {}; the sources have no such experiment) on {}, {} per condition: final test accuracy (mean, 95 % CI) at batch {batches_text}: {}.",
            cfg.steps,
            cfg.base.lr,
            cfg.base.ip_lr,
            cfg.batches[bmax_i],
            cfg.batches[bmax_i] / cfg.batches[bmin_i].max(1),
            cfg.batches[bmin_i],
            split.describe(),
            count(ns, "seed"),
            per_cond.join("; ")
        )];
        if let Some(bi) = bn {
            if !undefined[bi].is_empty() {
                // Where BN cannot run, the IP conditions against plain, and against chance.
                let plain = conds.iter().position(|c| c.label == "plain");
                let chance = 1.0 / split.train.classes.max(2) as f64;
                let mut parts = Vec::new();
                for &bsz in &undefined[bi] {
                    let Some(b) = cfg.batches.iter().position(|&x| x == bsz) else {
                        continue;
                    };
                    for c in (0..conds.len()).filter(|&c| c != bi && Some(c) != plain) {
                        if undefined[c].contains(&bsz) {
                            continue;
                        }
                        let above_chance = stats::mean_ci(&vals[c][b])
                            .is_some_and(|e| e.excludes(chance) == Some(true) && e.mean > chance);
                        let vs_plain = plain.map_or(String::new(), |p| {
                            format!(
                                "; {}",
                                bn_mnist::sentence(
                                    &stats::paired(&vals[c][b], &vals[p][b]),
                                    &conds[c].label,
                                    "plain",
                                    "final test accuracy",
                                    &|v| format!("{:.2} points", 100.0 * v),
                                )
                            )
                        });
                        parts.push(format!(
                            "{} at batch {bsz} {} chance ({}){vs_plain}",
                            conds[c].label,
                            if above_chance {
                                "learns: its 95 % CI lies above"
                            } else {
                                "is not shown to learn: its 95 % CI does not lie above"
                            },
                            pct(chance),
                        ));
                    }
                }
                sentences.push(format!(
                    "BN is undefined at batch {} (one sample has no batch variance; the trainer rejects the configuration), where the IP conditions run: {}.",
                    join(&undefined[bi], ", "),
                    parts.join("; ")
                ));
            }
            for b in [bn_small_i, Some(bmax_i)]
                .into_iter()
                .flatten()
                .collect::<std::collections::BTreeSet<_>>()
            {
                let parts: Vec<String> = diffs
                    .iter()
                    .map(|(c, d)| {
                        bn_mnist::sentence(
                            &d[b],
                            &conds[*c].label,
                            "bn",
                            "final test accuracy",
                            &|v| format!("{:.2} points", 100.0 * v),
                        )
                    })
                    .collect();
                sentences.push(format!(
                    "At batch {}: {}.",
                    cfg.batches[b],
                    parts.join("; ")
                ));
            }
        }
        if n_div > 0 {
            sentences.push(format!("{n_div} runs diverged (marked ×, never averaged)."));
        }
        let finding = sentences.join(" ");

        let files = draw(
            ctx,
            Self::ID,
            cfg,
            ns,
            &series,
            &diff_series,
            &conds,
            &undefined,
        )?;

        let mut fields = common::net_fields(&split, &seeds);
        fields.extend([
            (
                "assumed",
                json!(format!("No source runs this experiment: a fixed number of steps ({}) for every batch size, the rates per step of bn-mnist (lr {}, IP η {}), plain SGD, Gaussian initial weights sd 0.1, data {}.", cfg.steps, cfg.base.lr, cfg.base.ip_lr, split.describe())),
            ),
            ("fairness", json!("fixed number of steps for every batch size (not a fixed number of examples)")),
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
                                "final_accuracy_per_batch_and_seed": (0..nb).map(|b| common::nums(&vals[c][b])).collect::<Vec<_>>(),
                                "undefined_batches": undefined[c],
                                "minus_bn_per_batch": diffs.iter().find(|(dc, _)| *dc == c).map_or(json!("n/a"), |(_, d)| json!(d.iter().map(bn_mnist::paired_json).collect::<Vec<_>>())),
                            })
                        })
                        .collect(),
                ),
            ),
            ("undefined_reasons", json!(reasons)),
            ("runs", common::runs_json(&configs, &outcomes)),
        ]);
        let tidy = configs
            .iter()
            .zip(&outcomes)
            .enumerate()
            .flat_map(|(i, (c, o))| {
                let label = &conds[i / (nb * ns)].label;
                match o {
                    Outcome::Invalid(_) => vec![crate::tidy::TidyRow {
                        condition: label.clone(),
                        seed: c.seed,
                        step: 0,
                        metric: "test_accuracy".into(),
                        value: f64::NAN,
                        keys: crate::tidy::config_keys(c),
                        outcome: "undefined".into(),
                    }],
                    _ => common::tidy_rows(label, o, &[]),
                }
            })
            .collect();
        Ok(Produced {
            finding,
            files,
            fields,
            verdicts: Vec::new(),
            tidy,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn draw(
    ctx: &FigureContext,
    id: &str,
    cfg: &BatchSizeConfig,
    seeds: usize,
    series: &[Series],
    diffs: &[Series],
    conds: &[NetCond],
    undefined: &[Vec<usize>],
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let band = plot::Spread::Ci95.describe();
    plot::save_figure(&ctx.out_dir, id, 1800, 1500, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            &format!(
                "Final test accuracy after {} steps at every batch size (lr {}, IP η {} per step): mean over {}; {band}",
                cfg.steps,
                cfg.base.lr,
                cfg.base.ip_lr,
                count(seeds, "seed")
            ),
        )?;
        let rows = plot::split_rows(&area, &[1.0, 1.0])?;
        let bmin = cfg.batches.iter().copied().min().unwrap_or(1) as f64;
        let bmax = cfg.batches.iter().copied().max().unwrap_or(1) as f64;
        let xr = (bmin / 1.25, bmax * 1.25);
        let p = plot::layout::panel(&rows[0], 0, "against the mini-batch size")?;
        let mut chart = XyChart::new(
            "mini-batch size (samples per step; log scale)",
            "final test accuracy (fraction correct)",
        )
        .log_x()
        .x_range(xr.0, xr.1)
        .y_range(0.0, 1.0)
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
        let q = plot::layout::panel(
            &rows[1],
            1,
            "difference from BN at the same batch size and seed (paired; band: 95 % CI of the paired difference)",
        )?;
        let mut chart = XyChart::new(
            "mini-batch size (samples per step; log scale)",
            "final accuracy − bn's (fraction)",
        )
        .log_x()
        .x_range(xr.0, xr.1)
        .series_all(diffs.iter().cloned())
        .line(RefLine::Horizontal(0.0, Some("no difference".into())))
        .legend(LegendPos::Right);
        if diffs.is_empty() {
            chart = chart.note("no bn condition to compare with");
        }
        chart.draw(&q)?;
        Ok(())
    })
}
