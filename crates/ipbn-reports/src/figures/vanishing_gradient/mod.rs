//! `vanishing-gradient`: does IP enlarge error gradients in deep sigmoid networks, and does
//! it make them learn? (Shaw et al. 2020, gradients sampled during learning; Shaw 2019, IP
//! raises the mean slope.)
//!
//! Shaw et al.'s protocol is not available, so the verdicts rest on a sensitivity grid: in
//! one deep sigmoid network (default ten hidden layers of 100 units, `gauss:0.1`, batch 60,
//! SGD lr 0.5), every registered rule that runs on sigmoid is trained at every intrinsic
//! rate η of a grid spanning four decades × its main parameter ([`grid`]), each cell with
//! the same seeds as the references `plain` and `bn` (the *screening*). Then the
//! *confirmation*: the references and each rule's best cell of the screening, trained again
//! for longer (`confirm_steps`) on fresh seeds, so that the best cells are judged on runs
//! that did not select them and that had time to stop climbing. The confirmation's runs
//! depend on the screening's results: the figure declares its runs in two stages (see
//! [`crate::runs`]). Drawn ([`draw`]):
//!
//! * per rule, heat maps of the final test accuracy, of the first layer's weight-gradient
//!   norm late in training (geometric mean over the last `window` of the steps, then over
//!   seeds) and of that norm over the first layer's weight norm; diverged and collapsed runs
//!   are counted in each cell and left out of its value;
//! * from the confirmation: the mean activation slope θ′(u) per hidden layer at the end for
//!   plain, bn and each rule's best cell, their test accuracy and first-layer gradient over
//!   training (95 % CI bands).
//!
//! Comparisons are paired over seeds ([`crate::stats`]); gradient norms, which are skewed
//! and span decades, are compared on log10 with a percentile bootstrap.

mod draw;
mod grid;

use super::common::{self, pct, sig3, usage, NetCond};
use super::experiment::{count, Experiment, Produced};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::stats::{self, Direction, Verdict, VerdictKind};
use crate::tidy::TidyRow;
use grid::{Fate, Group};
use ipbn_train::{Init, TrainConfig};
use serde_json::{json, Value};

/// Settings of the `vanishing-gradient` figure.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VanishingConfig {
    /// Conditions without IP trained beside the grid (`plain` must be one: the baseline).
    pub references: Vec<String>,
    /// Intrinsic learning rates η of the grid.
    pub ip_lrs: Vec<f64>,
    /// Multiples of each rule's default main parameter (see the module docs of `grid`).
    pub param_factors: Vec<f64>,
    /// Every setting shared by the runs (condition, ip_lr and seed are set per run).
    pub base: TrainConfig,
    /// Steps of the confirmation runs (the references and each rule's best cell).
    pub confirm_steps: usize,
    /// Record interval of the confirmation runs.
    pub confirm_eval_every: usize,
    /// Base seed of the confirmation runs (fresh seeds, `seeds` of them).
    pub confirm_seed: u64,
    /// Fraction of the steps at the end over which gradients are averaged.
    pub window: f64,
    /// A finished run ending below this accuracy after reaching `learned_above` collapsed.
    pub collapse_below: f64,
    /// See `collapse_below`.
    pub learned_above: f64,
    /// Default number of seeds (overridden by `--seeds`).
    pub seeds: usize,
    /// Base seed.
    pub seed: u64,
}

impl VanishingConfig {
    /// The full protocol: 10 hidden layers of 100 sigmoid units, screening over 2,500 steps
    /// with η ∈ 1e-4 … 1 and the main parameter at ½, 1, 2, 3, 5 × its default, 5 seeds;
    /// confirmation over 8,000 steps on 5 fresh seeds.
    pub fn full() -> Self {
        VanishingConfig {
            references: vec!["plain".into(), "bn".into()],
            ip_lrs: vec![1e-4, 1e-3, 1e-2, 1e-1, 1.0],
            param_factors: vec![0.5, 1.0, 2.0, 3.0, 5.0],
            base: TrainConfig {
                hidden: vec![100; 10],
                steps: 2_500,
                eval_every: 250,
                probe_size: 200,
                percentiles: vec![50.0],
                ..common::mnist_network()
            },
            confirm_steps: 8_000,
            confirm_eval_every: 500,
            confirm_seed: 2021,
            window: 0.25,
            collapse_below: 0.15,
            learned_above: 0.3,
            seeds: 5,
            seed: 2020,
        }
    }

    /// Small settings for tests and a first look.
    pub fn quick() -> Self {
        let full = Self::full();
        VanishingConfig {
            ip_lrs: vec![1e-3, 1e-1],
            param_factors: vec![1.0, 2.0],
            base: TrainConfig {
                hidden: vec![50; 6],
                steps: 200,
                eval_every: 50,
                probe_size: 100,
                ..full.base.clone()
            },
            confirm_steps: 400,
            confirm_eval_every: 100,
            seeds: 2,
            ..full
        }
    }

    fn validate(&self, id: &str) -> Result<(), ReportError> {
        common::check_base(id, &self.base)?;
        if self.base.hidden.is_empty() || !self.references.iter().any(|r| r == "plain") {
            return Err(usage(
                id,
                "give at least one hidden layer, and `plain` among the references",
            ));
        }
        let positive = |v: &[f64]| !v.is_empty() && v.iter().all(|x| x.is_finite() && *x > 0.0);
        if !positive(&self.ip_lrs) || !positive(&self.param_factors) {
            return Err(usage(
                id,
                "ip_lrs and param_factors must be non-empty, finite and > 0",
            ));
        }
        if self.confirm_steps == 0
            || self.confirm_eval_every == 0
            || self.confirm_eval_every > self.confirm_steps
        {
            return Err(usage(
                id,
                "confirm_steps must be ≥ 1 and confirm_eval_every in 1..=confirm_steps",
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

/// log10 of each value (NaN stays NaN; non-positive values become NaN).
fn log10s(v: &[f64]) -> Vec<f64> {
    v.iter()
        .map(|&x| if x > 0.0 { x.log10() } else { f64::NAN })
        .collect()
}

/// What a rule's grid gave: its best and typical cells with their comparisons.
struct RuleResult {
    best: Option<usize>,
    typical: Option<usize>,
    /// Index of the best cell's group among the confirmation groups.
    confirmed: Option<usize>,
}

const PROTOCOL: &str = "Shaw et al. 2020's network, learning rates, IP rates and training length are not available: a 10×100 sigmoid MLP (gauss:0.1, batch 60, SGD lr 0.5) on the shipped MNIST subset is assumed, the IP rate η over 1e-4…1 and each rule's first parameter around its default form the sensitivity grid; 'best' is the cell with the highest mean final accuracy without a diverged run at the screening length, 'typical' the cell at the median of the rule's cells; each rule's best cell and the references are then trained again for the confirmation length on fresh seeds, and the best cells' comparisons use those runs; gradients are late-window geometric means of the first layer's weight-gradient Frobenius norm.";

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
        let act = cfg.base.activation;
        let refs = common::parse_conds(&cfg.references, act)?;
        let (rules, mut cells) = grid::build(act, &cfg.ip_lrs, &cfg.param_factors)?;
        if rules.is_empty() {
            return Err(usage(
                Self::ID,
                &format!("no registered rule runs on {}", act.name()),
            ));
        }

        // Every run, declared up front: references × seeds, then cells × seeds.
        let mut configs: Vec<TrainConfig> = Vec::new();
        let mut push = |cond: &NetCond, ip_lr: f64| -> Vec<usize> {
            seeds
                .iter()
                .map(|&seed| {
                    configs.push(TrainConfig {
                        condition: cond.condition.clone(),
                        activation: cond.activation,
                        ip_lr,
                        seed,
                        ..cfg.base.clone()
                    });
                    configs.len() - 1
                })
                .collect()
        };
        let ref_idx: Vec<Vec<usize>> = refs.iter().map(|c| push(c, cfg.base.ip_lr)).collect();
        for c in &mut cells {
            c.idx = push(&c.cond, c.eta);
        }
        let outcomes = common::run_stage(ctx, &split, &configs, 0, true)?;
        let depth = cfg.base.hidden.len();
        let m = |i: usize| {
            grid::measure(
                &outcomes[i],
                depth,
                cfg.base.steps,
                cfg.window,
                cfg.collapse_below,
                cfg.learned_above,
            )
        };
        let group = |idx: &[usize]| Group {
            runs: idx.iter().map(|&i| m(i)).collect(),
        };
        let ref_g: Vec<Group> = ref_idx.iter().map(|i| group(i)).collect();
        let cell_g: Vec<Group> = cells.iter().map(|c| group(&c.idx)).collect();
        let p = refs.iter().position(|r| r.label == "plain").unwrap_or(0);
        let plain = &ref_g[p];
        let bn = refs.iter().position(|r| r.label == "bn");

        // Best and typical cell of each rule.
        let mut results: Vec<RuleResult> = rules
            .iter()
            .map(|g| {
                let mut ranked: Vec<usize> = g
                    .cells
                    .iter()
                    .copied()
                    .filter(|&c| cell_g[c].mean(|r| r.acc).is_finite())
                    .collect();
                ranked.sort_by(|&a, &b| {
                    cell_g[b]
                        .mean(|r| r.acc)
                        .total_cmp(&cell_g[a].mean(|r| r.acc))
                        .then(a.cmp(&b))
                });
                let best = ranked
                    .iter()
                    .copied()
                    .find(|&c| cell_g[c].count(Fate::Diverged) == 0);
                let typical = ranked.get(ranked.len() / 2).copied();
                RuleResult {
                    best,
                    typical,
                    confirmed: None,
                }
            })
            .collect();
        // Confirmation: the references and each rule's best cell, trained for longer on fresh
        // seeds (a second stage: which cells run depends on the screening's results).
        let cseeds = common::run_seeds(ctx, cfg.seeds, cfg.confirm_seed, Self::ID)?;
        let mut cconfigs: Vec<TrainConfig> = Vec::new();
        let mut cpush = |cond: &NetCond, ip_lr: f64| -> Vec<usize> {
            cseeds
                .iter()
                .map(|&seed| {
                    cconfigs.push(TrainConfig {
                        condition: cond.condition.clone(),
                        activation: cond.activation,
                        ip_lr,
                        seed,
                        steps: cfg.confirm_steps,
                        eval_every: cfg.confirm_eval_every,
                        ..cfg.base.clone()
                    });
                    cconfigs.len() - 1
                })
                .collect()
        };
        let mut conf: Vec<(NetCond, Vec<usize>)> = refs
            .iter()
            .map(|c| (c.clone(), cpush(c, cfg.base.ip_lr)))
            .collect();
        for res in &mut results {
            if let Some(b) = res.best {
                res.confirmed = Some(conf.len());
                conf.push((cells[b].cond.clone(), cpush(&cells[b].cond, cells[b].eta)));
            }
        }
        let coutcomes = common::run_stage(ctx, &split, &cconfigs, 1, false)?;
        let conf_g: Vec<Group> = conf
            .iter()
            .map(|(_, idx)| Group {
                runs: idx
                    .iter()
                    .map(|&i| {
                        grid::measure(
                            &coutcomes[i],
                            depth,
                            cfg.confirm_steps,
                            cfg.window,
                            cfg.collapse_below,
                            cfg.learned_above,
                        )
                    })
                    .collect(),
            })
            .collect();
        let cplain = &conf_g[p];
        let conf_label = |k: usize| conf[k].0.label.clone();

        let acc_fmt = |v: f64| format!("{:.1} points", 100.0 * v);
        let pct_ci = |e: &stats::Estimate| e.text(&|v| format!("{:.1} %", 100.0 * v));
        let est = |v: &[f64]| stats::mean_ci(v);
        let acc_of = |g: &Group| g.values(|r| r.acc);

        // Improves learning: best and typical cells against plain, paired.
        let mut learn_parts = Vec::new();
        let mut learn_support = 0;
        let mut learn_total = 0;
        let mut best_overall: Option<usize> = None;
        // One cell against its stage's plain, paired: the sentence and whether it is higher.
        let vs_plain = |g: &Group, base: &Group, label: &str| {
            stats::paired(&acc_of(g), &acc_of(base)).map_or(("no pairs".into(), false), |pr| {
                (
                    pr.sentence(label, "plain", "final accuracy", &acc_fmt),
                    pr.direction() == Direction::Higher,
                )
            })
        };
        for (g, res) in rules.iter().zip(&results) {
            // The best cell on the confirmation's fresh seeds, and the typical cell from the
            // screening, each against its own stage's plain.
            let best = res.confirmed.map(|k| {
                if best_overall
                    .is_none_or(|o| conf_g[k].mean(|r| r.acc) > conf_g[o].mean(|r| r.acc))
                {
                    best_overall = Some(k);
                }
                let what = format!("confirmation ({} steps, fresh seeds)", cfg.confirm_steps);
                (what, vs_plain(&conf_g[k], cplain, &conf_label(k)))
            });
            let typical = res.typical.map(|c| {
                let what = format!("screening ({} steps)", cfg.base.steps);
                (what, vs_plain(&cell_g[c], plain, &cells[c].cond.label))
            });
            for (kind, part) in [("best", best), ("typical", typical)] {
                learn_total += 1;
                match part {
                    None => learn_parts.push(format!("{}: no {kind} cell", g.id)),
                    Some((what, (sentence, higher))) => {
                        learn_support += usize::from(higher);
                        learn_parts.push(format!("{} {kind} cell, {what}: {sentence}", g.id));
                    }
                }
            }
        }

        // Plateau check of every rule's confirmed best cell: the gain over the last quarter.
        let mut plateau = Vec::new();
        let mut climbing = Vec::new();
        for res in &results {
            if let Some(k) = res.confirmed {
                if let Some(e) = est(&conf_g[k].values(|r| r.gain)) {
                    if e.excludes(0.0) == Some(true) && e.mean > 0.0 {
                        climbing.push(conf_label(k));
                    }
                    plateau.push(format!("{} {}", conf_label(k), e.text(&acc_fmt)));
                }
            }
        }

        // Transient learning: each confirmed best cell's peak over the records against its end.
        let peak_text: Vec<String> = results
            .iter()
            .filter_map(|r| r.confirmed)
            .filter_map(|k| {
                let g = &conf_g[k];
                let drop = stats::paired(&g.values(|r| r.acc), &g.values(|r| r.peak))?;
                let step = g.mean(|r| r.peak_step);
                Some(format!(
                    "{} peaks at {} (mean step {:.0}) and ends {}",
                    conf_label(k),
                    est(&g.values(|r| r.peak)).map_or("n/a".into(), |e| pct_ci(&e)),
                    step,
                    if drop.direction() == Direction::Lower {
                        format!(
                            "lower, by {} (95 % CI {} to {}; paired over {} seeds)",
                            acc_fmt(-drop.diff.mean),
                            acc_fmt(-drop.diff.hi),
                            acc_fmt(-drop.diff.lo),
                            drop.diff.n
                        )
                    } else {
                        "with no drop detected from the peak".to_string()
                    }
                ))
            })
            .collect();

        // Gradients: every cell against plain, absolute and relative, paired bootstrap on log10.
        let grad_vs = |g: &Group, base: &Group, rel: bool, seed: u64| {
            let f = |r: &grid::RunM| if rel { r.rel } else { r.grad };
            stats::paired_bootstrap(&log10s(&g.values(f)), &log10s(&base.values(f)), seed)
        };
        let grad_cmp = |g: &Group, rel: bool, seed: u64| grad_vs(g, plain, rel, seed);
        let mut grad_counts = [[0usize; 3]; 2]; // [abs, rel] × [higher, lower, none]
        let mut both_higher = 0;
        let mut cells_compared = 0;
        for (i, g) in cell_g.iter().enumerate() {
            let d: Vec<Direction> = [false, true]
                .iter()
                .map(|&rel| {
                    grad_cmp(g, rel, cfg.seed ^ i as u64)
                        .map_or(Direction::NoDifference, |p| p.direction())
                })
                .collect();
            if g.mean(|r| r.grad).is_nan() {
                continue;
            }
            cells_compared += 1;
            for (k, dir) in d.iter().enumerate() {
                let j = match dir {
                    Direction::Higher => 0,
                    Direction::Lower => 1,
                    Direction::NoDifference => 2,
                };
                grad_counts[k][j] += 1;
            }
            if d.iter().all(|x| *x == Direction::Higher) {
                both_higher += 1;
            }
        }
        let log_fmt = |v: f64| format!("{} decades", sig3(v));
        let best_grad_text: Vec<String> = results
            .iter()
            .filter_map(|r| r.confirmed)
            .map(|k| {
                let g = &conf_g[k];
                let abs =
                    grad_vs(g, cplain, false, cfg.confirm_seed).map_or("no pairs".into(), |p| {
                        p.sentence(
                            &conf_label(k),
                            "plain",
                            "log10 first-layer gradient",
                            &log_fmt,
                        )
                    });
                let rel =
                    grad_vs(g, cplain, true, cfg.confirm_seed).map_or("no pairs".into(), |p| {
                        p.sentence(
                            &conf_label(k),
                            "plain",
                            "log10 gradient/weight norm",
                            &log_fmt,
                        )
                    });
                format!("{abs}; {rel}")
            })
            .collect();

        // The screening cell with the smallest late gradient, and what its layers did.
        let smallest_grad = (0..cells.len())
            .filter(|&c| cell_g[c].geo_mean(|r| r.grad).is_finite())
            .min_by(|&a, &b| {
                cell_g[a]
                    .geo_mean(|r| r.grad)
                    .total_cmp(&cell_g[b].geo_mean(|r| r.grad))
            })
            .map(|c| {
                let g = &cell_g[c];
                let per_layer: Vec<f64> = (0..depth)
                    .map(|l| g.mean(|r| r.alpha.get(l).copied().unwrap_or(f64::NAN)))
                    .collect();
                let fin: Vec<f64> = per_layer.iter().copied().filter(|v| v.is_finite()).collect();
                let (lo, hi) = fin
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
                let (sm, pm) = (g.mean(|r| r.slope_mean), plain.mean(|r| r.slope_mean));
                format!(
                    " The smallest late gradient is {}'s ({} against plain's {}): the mean gain α of its hidden layers at the end runs from {} (layer 1) to {} (layer {depth}; lowest {}, highest {}), and its mean slope θ′ is {} (plain {}){}.",
                    cells[c].cond.label,
                    sig3(g.geo_mean(|r| r.grad)),
                    sig3(plain.geo_mean(|r| r.grad)),
                    sig3(per_layer.first().copied().unwrap_or(f64::NAN)),
                    sig3(per_layer.last().copied().unwrap_or(f64::NAN)),
                    sig3(lo),
                    sig3(hi),
                    sig3(sm),
                    sig3(pm),
                    if sm < 0.1 * pm {
                        ", under a tenth of plain's: its units sit in the flat tails of the sigmoid"
                    } else {
                        ""
                    },
                )
            })
            .unwrap_or_default();

        // Mean slope: every cell against plain (layer average, paired t).
        let mut slope_counts = [0usize; 3];
        for g in &cell_g {
            if let Some(pr) =
                stats::paired(&g.values(|r| r.slope_mean), &plain.values(|r| r.slope_mean))
            {
                slope_counts[match pr.direction() {
                    Direction::Higher => 0,
                    Direction::Lower => 1,
                    Direction::NoDifference => 2,
                }] += 1;
            }
        }
        let slope_total: usize = slope_counts.iter().sum();
        let best_slope_text: Vec<String> = results
            .iter()
            .filter_map(|r| r.confirmed)
            .map(|k| {
                stats::paired(
                    &conf_g[k].values(|r| r.slope_mean),
                    &cplain.values(|r| r.slope_mean),
                )
                .map_or("no pairs".into(), |p| {
                    p.sentence(&conf_label(k), "plain", "mean slope θ′", &sig3)
                })
            })
            .collect();

        // Outcomes.
        let tally = |gs: &[&Group]| {
            (
                gs.iter().map(|g| g.runs.len()).sum::<usize>(),
                gs.iter().map(|g| g.count(Fate::Diverged)).sum::<usize>(),
                gs.iter().map(|g| g.count(Fate::Collapsed)).sum::<usize>(),
            )
        };
        let (n_runs, n_div, n_col) = tally(&ref_g.iter().chain(&cell_g).collect::<Vec<_>>());
        let (c_runs, c_div, c_col) = tally(&conf_g.iter().collect::<Vec<_>>());

        let grid_text: Vec<String> = rules
            .iter()
            .map(|g| match &g.param {
                Some(p) => format!(
                    "{} {p} ∈ {{{}}}",
                    g.id,
                    g.values
                        .iter()
                        .map(|v| sig3(*v))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => format!("{} (no parameter)", g.id),
            })
            .collect();
        let ref_text: Vec<String> = refs
            .iter()
            .zip(&ref_g)
            .map(|(r, g)| {
                format!(
                    "{} {}",
                    r.label,
                    est(&acc_of(g)).map_or("n/a".into(), |e| pct_ci(&e))
                )
            })
            .collect();
        let conf_text: Vec<String> = conf_g
            .iter()
            .enumerate()
            .map(|(k, g)| {
                format!(
                    "{} {}",
                    conf_label(k),
                    est(&acc_of(g)).map_or("n/a".into(), |e| pct_ci(&e))
                )
            })
            .collect();
        let best_text = match best_overall {
            Some(k) => {
                let g = &conf_g[k];
                let vs_bn = bn
                    .and_then(|b| stats::paired(&acc_of(g), &acc_of(&conf_g[b])))
                    .map_or(String::new(), |p| {
                        format!(
                            "; {}",
                            p.sentence(&conf_label(k), "bn", "final accuracy", &acc_fmt)
                        )
                    });
                format!(
                    "The best IP configuration is {} with {} final accuracy in the confirmation{vs_bn}.",
                    conf_label(k),
                    est(&acc_of(g)).map_or("n/a".into(), |e| pct_ci(&e))
                )
            }
            None => "Every IP cell had a diverged run; no best configuration.".into(),
        };
        let plain_slope = plain.mean(|r| r.slope_mean);
        let finding = format!(
            "In a {depth}-hidden-layer sigmoid network (width {}, gauss:{} weights, lr {}, batch {}; Shaw et al.'s protocol is unknown, these are assumed). Screening, {} steps, {} per cell, over η ∈ {{{}}} × {}: final accuracy {}. Confirmation, {} steps on {} fresh seeds, of the references and each rule's best screening cell: final accuracy {}. {best_text} Against plain, paired: {}. Accuracy gain over the last quarter of the confirmation runs: {}{}. Peak against end: {}. First-layer gradient (geometric mean over the last {:.0} % of steps) above plain's in {} of {} screening cells ({} below), relative to the weight norm above in {} ({} below) (paired bootstrap on log10); confirmed best cells: {}.{smallest_grad} Mean slope θ′ over layers: plain {} (screening); IP cells higher than plain in {} of {slope_total}, lower in {}, no difference in {}; confirmed best cells: {}. Outcomes: screening {n_div} of {n_runs} runs diverged, {n_col} collapsed; confirmation {c_div} of {c_runs} diverged, {c_col} collapsed (collapsed: reached {} then ended below {}), counted apart (diverged runs have no value and are left out; collapsed runs keep their final accuracy).",
            cfg.base.hidden[0],
            match cfg.base.init {
                Init::Gauss { std } => std.to_string(),
                other => format!("{other:?}"),
            },
            cfg.base.lr,
            cfg.base.batch,
            cfg.base.steps,
            count(seeds.len(), "seed"),
            cfg.ip_lrs.iter().map(|v| sig3(*v)).collect::<Vec<_>>().join(", "),
            grid_text.join("; "),
            ref_text.join(", "),
            cfg.confirm_steps,
            cseeds.len(),
            conf_text.join(", "),
            learn_parts.join("; "),
            plateau.join("; "),
            if climbing.is_empty() {
                " (no gain detected over the last quarter: every CI includes 0 or lies below it)".to_string()
            } else {
                format!(
                    " (still climbing, CI above 0: {}; their final accuracy is a lower bound)",
                    climbing.join(", ")
                )
            },
            peak_text.join("; "),
            100.0 * cfg.window,
            grad_counts[0][0],
            cells_compared,
            grad_counts[0][1],
            grad_counts[1][0],
            grad_counts[1][1],
            best_grad_text.join("; "),
            sig3(plain_slope),
            slope_counts[0],
            slope_counts[1],
            slope_counts[2],
            best_slope_text.join("; "),
            pct(cfg.learned_above),
            pct(cfg.collapse_below),
        );

        let verdicts = vec![
            Verdict {
                id: "shaw2020-ip-improves-deep-learning".into(),
                source: "Shaw et al. 2020".into(),
                claim: "IP improves learning in deep networks".into(),
                verdict: VerdictKind::from_counts(learn_support, learn_total),
                evidence: format!(
                    "{learn_support} of {learn_total} (rule × best/typical cell) comparisons have final accuracy above plain's (paired t CI excludes 0; best cells confirmed on fresh seeds over {} steps, typical cells from the {}-step screening). {}",
                    cfg.confirm_steps,
                    cfg.base.steps,
                    learn_parts.join("; ")
                ),
                figure: Self::ID.into(),
                protocol_assumed: PROTOCOL.into(),
            },
            Verdict {
                id: "shaw2020-ip-enlarges-gradients".into(),
                source: "Shaw et al. 2020".into(),
                claim: "IP enlarges error gradients".into(),
                verdict: VerdictKind::from_counts(both_higher, cells_compared),
                evidence: format!(
                    "{both_higher} of {cells_compared} screening grid cells have a late first-layer gradient above plain's both absolutely and relative to the weight norm (paired bootstrap 95 % CI of the log10 difference excludes 0); absolute higher/lower/no difference {}/{}/{}, relative {}/{}/{}. Confirmed best cells: {}",
                    grad_counts[0][0], grad_counts[0][1], grad_counts[0][2],
                    grad_counts[1][0], grad_counts[1][1], grad_counts[1][2],
                    best_grad_text.join("; ")
                ),
                figure: Self::ID.into(),
                protocol_assumed: PROTOCOL.into(),
            },
            Verdict {
                id: "shaw2019-ip-raises-slope".into(),
                source: "Shaw 2019 (thesis)".into(),
                claim: "IP raises the mean activation slope".into(),
                verdict: VerdictKind::from_counts(slope_counts[0], slope_total),
                evidence: format!(
                    "Layer-averaged θ′ at the end: plain {}; {} of {slope_total} screening grid cells higher than plain (paired t CI excludes 0), {} lower, {} no difference. Confirmed best cells: {}",
                    sig3(plain_slope),
                    slope_counts[0],
                    slope_counts[1],
                    slope_counts[2],
                    best_slope_text.join("; ")
                ),
                figure: Self::ID.into(),
                protocol_assumed: PROTOCOL.into(),
            },
        ];

        let view = draw::View {
            cfg,
            seeds: seeds.len(),
            confirm_seeds: cseeds.len(),
            rules: &rules,
            cell_g: &cell_g,
            plain,
            highlight: &conf,
            outcomes: &coutcomes,
        };
        let files = draw::draw(ctx, Self::ID, &view)?;

        // Tidy rows: every run with its grid keys, its outcome (collapsed apart) and the
        // first layer's weight norm per record.
        let mut tidy: Vec<TidyRow> = Vec::new();
        let mut add = |stage: &str,
                       outs: &[common::Outcome],
                       label: &str,
                       rule: &str,
                       param: &str,
                       value: f64,
                       idx: &[usize],
                       g: &Group| {
            let extra = vec![
                ("stage".to_string(), stage.to_string()),
                ("rule".to_string(), rule.to_string()),
                ("param".to_string(), param.to_string()),
                (
                    "param_value".to_string(),
                    if value.is_finite() {
                        format!("{value}")
                    } else {
                        String::new()
                    },
                ),
            ];
            for (&i, r) in idx.iter().zip(&g.runs) {
                let mut rows = common::tidy_rows(label, &outs[i], &extra);
                for row in &mut rows {
                    row.outcome = r.fate.as_str().into();
                }
                if let Some(res) = outs[i].result() {
                    let keys = rows.first().map(|r| r.keys.clone()).unwrap_or_default();
                    for h in &res.history {
                        for (l, w) in h.weight_norms.iter().enumerate() {
                            if let Some(w) = w {
                                rows.push(TidyRow {
                                    condition: label.into(),
                                    seed: res.config.seed,
                                    step: h.step as u64,
                                    metric: format!(
                                        "weight_norm_{}",
                                        res.layers.get(l).map_or("?", |s| s.as_str())
                                    ),
                                    value: *w,
                                    keys: keys.clone(),
                                    outcome: r.fate.as_str().into(),
                                });
                            }
                        }
                    }
                }
                tidy.extend(rows);
            }
        };
        for ((r, idx), g) in refs.iter().zip(&ref_idx).zip(&ref_g) {
            add("screening", &outcomes, &r.label, "", "", f64::NAN, idx, g);
        }
        for (c, g) in cells.iter().zip(&cell_g) {
            let rule = &rules[c.rule];
            add(
                "screening",
                &outcomes,
                &c.cond.label,
                &rule.id,
                rule.param.as_deref().unwrap_or(""),
                c.value,
                &c.idx,
                g,
            );
        }
        for ((nc, idx), g) in conf.iter().zip(&conf_g) {
            let cell = results
                .iter()
                .filter_map(|r| r.best)
                .find(|&b| cells[b].cond.label == nc.label)
                .map(|b| &cells[b]);
            let (rule, param, value) = cell.map_or(("", "", f64::NAN), |c| {
                let rg = &rules[c.rule];
                (rg.id.as_str(), rg.param.as_deref().unwrap_or(""), c.value)
            });
            add(
                "confirmation",
                &coutcomes,
                &nc.label,
                rule,
                param,
                value,
                idx,
                g,
            );
        }

        let cell_json = |c: &grid::Cell, g: &Group| {
            json!({
                "label": c.cond.label,
                "condition": c.cond.canonical(),
                "param_value": common::num_or(c.value, "none"),
                "ip_lr": c.eta,
                "final_accuracy": common::nums(&g.values(|r| r.acc)),
                "gain_last_quarter": common::nums(&g.values(|r| r.gain)),
                "first_layer_grad_late": common::nums(&g.values(|r| r.grad)),
                "first_layer_grad_over_weight_late": common::nums(&g.values(|r| r.rel)),
                "mean_slope_layer_average": common::nums(&g.values(|r| r.slope_mean)),
                "diverged": g.count(Fate::Diverged),
                "collapsed": g.count(Fate::Collapsed),
            })
        };
        let mut fields = common::net_fields(&split, &seeds);
        fields.extend([
            ("assumed", json!(PROTOCOL)),
            (
                "references",
                Value::Array(
                    refs.iter()
                        .zip(&ref_g)
                        .map(|(r, g)| {
                            json!({
                                "label": r.label,
                                "final_accuracy": common::nums(&g.values(|x| x.acc)),
                                "first_layer_grad_late": common::nums(&g.values(|x| x.grad)),
                                "first_layer_grad_over_weight_late": common::nums(&g.values(|x| x.rel)),
                                "mean_slope_per_layer": g.runs.iter().map(|x| common::nums(&x.slope)).collect::<Vec<_>>(),
                                "diverged": g.count(Fate::Diverged),
                                "collapsed": g.count(Fate::Collapsed),
                            })
                        })
                        .collect(),
                ),
            ),
            (
                "grid",
                Value::Array(
                    rules
                        .iter()
                        .zip(&results)
                        .map(|(g, res)| {
                            json!({
                                "rule": g.id,
                                "param": g.param.clone().unwrap_or_default(),
                                "values": common::nums(&g.values),
                                "best": res.best.map_or(json!("none"), |b| json!(cells[b].cond.label)),
                                "typical": res.typical.map_or(json!("none"), |b| json!(cells[b].cond.label)),
                                "cells": g.cells.iter().map(|&c| cell_json(&cells[c], &cell_g[c])).collect::<Vec<_>>(),
                            })
                        })
                        .collect(),
                ),
            ),
            (
                "confirmation",
                json!({
                    "steps": cfg.confirm_steps,
                    "seeds": cseeds,
                    "conditions": conf
                        .iter()
                        .zip(&conf_g)
                        .map(|((nc, _), g)| {
                            json!({
                                "label": nc.label,
                                "condition": nc.canonical(),
                                "final_accuracy": common::nums(&g.values(|x| x.acc)),
                                "gain_last_quarter": common::nums(&g.values(|x| x.gain)),
                                "first_layer_grad_late": common::nums(&g.values(|x| x.grad)),
                                "first_layer_grad_over_weight_late": common::nums(&g.values(|x| x.rel)),
                                "mean_slope_layer_average": common::nums(&g.values(|x| x.slope_mean)),
                                "diverged": g.count(Fate::Diverged),
                                "collapsed": g.count(Fate::Collapsed),
                            })
                        })
                        .collect::<Vec<_>>(),
                    "runs": common::runs_json(&cconfigs, &coutcomes),
                }),
            ),
            ("runs", common::runs_json(&configs, &outcomes)),
        ]);
        Ok(Produced {
            finding,
            files,
            fields,
            verdicts,
            tidy,
        })
    }
}
