//! `lr-stability`: is an IP network robust to high synaptic learning rates? (Shaw et al.
//! 2020; the talk's "Issues" slide: IP is "unstable" and "competes with error-based
//! learning".)
//!
//! * (a) Final test accuracy against the synaptic learning rate, on a log grid wide enough
//!   that `plain` fails, for each condition: mean and min–max band over seeds. A run whose
//!   loss or parameters became non-finite is *diverged*: it is marked with an × at the top
//!   edge and counted in the legend, never averaged in and never drawn as a low accuracy.
//!   A sigmoid network often does not diverge at a huge learning rate but saturates and falls
//!   to chance (10 %), which is drawn as what it is, a low accuracy.
//! * (b) Final test accuracy against the intrinsic learning rate η of every rule in the
//!   registry (a new rule appears here by itself), at a fixed synaptic learning rate. Rules
//!   derived for tanh run on the same network with tanh hidden units; the networks without
//!   IP are drawn as flat reference lines.
//!
//! Every run uses the `bn-mnist` network (784-100-100-100-10, batch 60, `gauss:0.1`) for a
//! fixed number of steps; runs share seeds across conditions. Shaw et al.'s protocol is not
//! available: step count, grids and the learning rate of (b) are assumptions, written to
//! the JSON.

use super::common::{self, pct, sig3, usage, Average, NetCond, Outcome};
use super::experiment::{count, Experiment, Produced};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{self, Area, LegendPos, PlotError, RefLine, Series, XyChart};
use ipbn_math::Activation;
use ipbn_neurons::{registry, rules::accepts_activation};
use ipbn_train::TrainConfig;
use serde_json::{json, Value};

/// Settings of the `lr-stability` figure.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrStabilityConfig {
    /// Conditions of panel (a), in drawing order.
    pub conditions: Vec<String>,
    /// Synaptic learning rates of panel (a).
    pub lrs: Vec<f64>,
    /// Intrinsic learning rates η of panel (b).
    pub ip_lrs: Vec<f64>,
    /// Synaptic learning rate of panel (b).
    pub lr_b: f64,
    /// Every other setting (condition, lr, ip_lr, activation and seed are set per run).
    pub base: TrainConfig,
    /// Accuracy below which a condition counts as failed in the finding.
    pub fail_below: f64,
    /// Default number of seeds (overridden by `--seeds`).
    pub seeds: usize,
    /// Base seed.
    pub seed: u64,
}

impl LrStabilityConfig {
    /// The full protocol: 1,000 steps per run, learning rates 0.01 … 100, 2 seeds.
    pub fn full() -> Self {
        LrStabilityConfig {
            conditions: common::standard_conditions(),
            lrs: vec![0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0],
            ip_lrs: vec![1e-4, 1e-3, 1e-2, 1e-1, 1.0],
            lr_b: 1.0,
            base: TrainConfig {
                steps: 1_000,
                eval_every: 1_000,
                probe_size: 100,
                percentiles: vec![50.0],
                ..common::mnist_network()
            },
            fail_below: 0.5,
            seeds: 2,
            seed: 2021,
        }
    }

    /// Small settings for tests and a first look.
    pub fn quick() -> Self {
        let full = Self::full();
        LrStabilityConfig {
            lrs: vec![0.1, 1.0, 10.0, 100.0],
            ip_lrs: vec![1e-3, 1e-1],
            base: TrainConfig {
                steps: 150,
                eval_every: 150,
                probe_size: 50,
                ..full.base.clone()
            },
            seeds: 1,
            ..full
        }
    }

    fn validate(&self, id: &str) -> Result<(), ReportError> {
        common::check_base(id, &self.base)?;
        let positive = |v: &[f64]| !v.is_empty() && v.iter().all(|x| x.is_finite() && *x > 0.0);
        if !positive(&self.lrs) || !positive(&[self.lr_b]) {
            return Err(usage(
                id,
                "learning rates must be finite and > 0, and the grid non-empty",
            ));
        }
        if !positive(&self.ip_lrs) {
            return Err(usage(
                id,
                "intrinsic learning rates must be finite and > 0 (they are drawn on a log axis)",
            ));
        }
        if self.conditions.is_empty() {
            return Err(usage(id, "give at least one condition"));
        }
        Ok(())
    }
}

/// The `lr-stability` figure.
#[derive(Clone, Debug, Default)]
pub struct LrStability {
    /// Settings; `None` picks [`LrStabilityConfig::full`] or `quick` from the context.
    pub config: Option<LrStabilityConfig>,
}

/// One line of a panel: a condition and the configurations of its points × seeds.
struct Line {
    cond: NetCond,
    /// x value of each point.
    x: Vec<f64>,
    /// Index into the run list of each (point, seed), point-major.
    idx: Vec<usize>,
}

/// Final accuracy per point and seed (NaN for diverged runs), and the diverged counts.
fn line_values(
    line: &Line,
    seeds: usize,
    outcomes: &[Outcome],
) -> (Vec<Vec<f64>>, Vec<(f64, usize)>) {
    let mut per_seed = vec![vec![f64::NAN; line.x.len()]; seeds];
    let mut diverged = Vec::new();
    for (p, &x) in line.x.iter().enumerate() {
        let mut d = 0;
        for (s, row) in per_seed.iter_mut().enumerate() {
            if let Some(r) = outcomes[line.idx[p * seeds + s]].result() {
                if r.diverged {
                    d += 1;
                } else if let Some(a) = r.final_test_accuracy {
                    row[p] = a;
                }
            }
        }
        if d > 0 {
            diverged.push((x, d));
        }
    }
    (per_seed, diverged)
}

/// The best point of `s` (largest mean accuracy; the first of equals).
fn best(s: &Series) -> Option<(f64, f64)> {
    s.x.iter().zip(&s.mean).filter(|(_, m)| m.is_finite()).fold(
        None,
        |acc: Option<(f64, f64)>, (&x, &m)| match acc {
            Some((_, bm)) if bm >= m => acc,
            _ => Some((x, m)),
        },
    )
}

/// Where `s` first fails *above its best point* on `grid` (so that a rate too small to
/// learn in the run does not count as instability): the first grid value with a diverged
/// run, or with a mean accuracy below `t`.
fn first_failure(s: &Series, grid: &[f64], t: f64) -> Option<(f64, &'static str)> {
    let from = best(s).map_or(f64::NEG_INFINITY, |(x, _)| x);
    grid.iter().filter(|&&x| x >= from).find_map(|&x| {
        if s.diverged.iter().any(|d| d.x == x && d.count > 0) {
            return Some((x, "diverged"));
        }
        let i = s.x.iter().position(|&v| v == x)?;
        (s.mean[i] < t).then_some((x, "below"))
    })
}

impl Experiment for LrStability {
    const ID: &'static str = "lr-stability";
    const QUESTION: &'static str = "Is an IP network robust to high synaptic learning rates?";
    const SOURCE: &'static str = "Shaw et al. 2020; the talk's \"Issues\" slide";
    type Config = LrStabilityConfig;
    const FULL: fn() -> LrStabilityConfig = LrStabilityConfig::full;
    const QUICK: fn() -> LrStabilityConfig = LrStabilityConfig::quick;

    fn given(&self) -> Option<&LrStabilityConfig> {
        self.config.as_ref()
    }

    fn produce(
        &self,
        ctx: &FigureContext,
        cfg: &LrStabilityConfig,
    ) -> Result<Produced, ReportError> {
        cfg.validate(Self::ID)?;
        let split = common::load_split(ctx)?;
        let seeds = common::run_seeds(ctx, cfg.seeds, cfg.seed, Self::ID)?;

        let mut configs: Vec<TrainConfig> = Vec::new();
        let mut push = |cond: &NetCond, lr: f64, ip_lr: f64| -> Vec<usize> {
            seeds
                .iter()
                .map(|&seed| {
                    configs.push(TrainConfig {
                        condition: cond.condition.clone(),
                        activation: cond.activation,
                        lr,
                        ip_lr,
                        seed,
                        ..cfg.base.clone()
                    });
                    configs.len() - 1
                })
                .collect()
        };
        // Panel (a): conditions × learning rates × seeds.
        let mut lines_a = Vec::new();
        for cond in common::parse_conds(&cfg.conditions, cfg.base.activation)? {
            let idx = cfg
                .lrs
                .iter()
                .flat_map(|&lr| push(&cond, lr, cfg.base.ip_lr))
                .collect();
            lines_a.push(Line {
                cond,
                x: cfg.lrs.clone(),
                idx,
            });
        }
        // Panel (b): every registered rule × η × seeds, on the network of its activation;
        // then the networks without IP on the same grid (one run per seed, repeated).
        let mut lines_b = Vec::new();
        let mut acts: Vec<Activation> = Vec::new();
        for rule in registry::default_rules() {
            let act = if accepts_activation(rule.as_ref(), cfg.base.activation) {
                cfg.base.activation
            } else {
                rule.activation()
            };
            let mut cond = NetCond::parse(&format!("ip:{}", rule.id()), act)?;
            if act != cfg.base.activation {
                cond.label = format!("{} ({} network)", cond.label, act.name());
            }
            if !acts.contains(&act) {
                acts.push(act);
            }
            let idx = cfg
                .ip_lrs
                .iter()
                .flat_map(|&eta| push(&cond, cfg.lr_b, eta))
                .collect();
            lines_b.push(Line {
                cond,
                x: cfg.ip_lrs.clone(),
                idx,
            });
        }
        let mut refs_b = Vec::new();
        // The base activation's network first (solid), any other dashed.
        acts.sort_by_key(|&a| a != cfg.base.activation);
        for &act in &acts {
            let mut cond = NetCond::parse("plain", act)?;
            cond.label = format!("no IP ({} network)", act.name());
            let once = push(&cond, cfg.lr_b, cfg.base.ip_lr);
            let idx = cfg.ip_lrs.iter().flat_map(|_| once.clone()).collect();
            refs_b.push(Line {
                cond,
                x: cfg.ip_lrs.clone(),
                idx,
            });
        }
        let outcomes = common::run_all(ctx, &split, &configs)?;
        let ns = seeds.len();
        let to_series = |l: &Line| {
            let (vals, div) = line_values(l, ns, &outcomes);
            common::summary_series(&l.cond, &l.x, &vals, Average::Arithmetic, &div)
        };
        let series_a: Vec<Series> = lines_a.iter().map(to_series).collect();
        let series_b: Vec<Series> = lines_b.iter().map(to_series).collect();
        let refs: Vec<Series> = refs_b
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut s = to_series(l).color(plot::palette::PLAIN);
                // A flat line: its divergences (if any) are those of one run per seed.
                s.diverged.truncate(1);
                s.dashed = acts[i] != cfg.base.activation;
                s
            })
            .collect();

        // Finding.
        let fails: Vec<String> = series_a
            .iter()
            .zip(&lines_a)
            .map(|(s, l)| {
                let (bx, bm) = best(s).unwrap_or((f64::NAN, f64::NAN));
                let fail = match first_failure(s, &cfg.lrs, cfg.fail_below) {
                    _ if bm.is_nan() || bm < cfg.fail_below => {
                        format!("never reaches {}", pct(cfg.fail_below))
                    }
                    Some((x, "diverged")) => format!("first diverges at lr {x}"),
                    Some((x, _)) => format!("first falls below {} at lr {x}", pct(cfg.fail_below)),
                    None => format!(
                        "stays ≥ {} up to lr {}",
                        pct(cfg.fail_below),
                        cfg.lrs.last().copied().unwrap_or(f64::NAN)
                    ),
                };
                format!(
                    "{} peaks at {} (lr {}) and {fail}",
                    l.cond.label,
                    pct(bm),
                    sig3(bx)
                )
            })
            .collect();
        let ref_of = |act: Activation| -> f64 {
            acts.iter()
                .position(|a| *a == act)
                .and_then(|i| refs[i].mean.first().copied())
                .unwrap_or(f64::NAN)
        };
        let rules_text: Vec<String> = series_b
            .iter()
            .zip(&lines_b)
            .map(|(s, l)| {
                let (bx, bm) = best(s).unwrap_or((f64::NAN, f64::NAN));
                let fail = if bm.is_nan() || bm < cfg.fail_below {
                    format!("never reaches {}", pct(cfg.fail_below))
                } else {
                    first_failure(s, &cfg.ip_lrs, cfg.fail_below).map_or(
                        format!("never below {}", pct(cfg.fail_below)),
                        |(x, why)| {
                            if why == "diverged" {
                                format!("diverges at η {x}")
                            } else {
                                format!("below {} from η {x}", pct(cfg.fail_below))
                            }
                        },
                    )
                };
                format!(
                    "{} best {} at η {} (no IP: {}), {}",
                    l.cond.label,
                    pct(bm),
                    sig3(bx),
                    pct(ref_of(l.cond.activation)),
                    fail
                )
            })
            .collect();
        // Is each IP condition more robust than plain? Compare where they first fail.
        let fail_x = |s: &Series| {
            first_failure(s, &cfg.lrs, cfg.fail_below).map_or(f64::INFINITY, |(x, _)| x)
        };
        let plain_fail = lines_a
            .iter()
            .position(|l| l.cond.label == "plain")
            .map(|p| fail_x(&series_a[p]));
        let verdict = match plain_fail {
            Some(pf) => {
                let (mut more, mut not): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
                for (s, l) in series_a.iter().zip(&lines_a) {
                    if l.cond.label == "plain" {
                        continue;
                    }
                    if fail_x(s) > pf {
                        more.push(&l.cond.label);
                    } else {
                        not.push(&l.cond.label);
                    }
                }
                format!(
                    " Tolerating a larger learning rate than plain: {}; not: {}.",
                    if more.is_empty() {
                        "none".into()
                    } else {
                        more.join(", ")
                    },
                    if not.is_empty() {
                        "none".into()
                    } else {
                        not.join(", ")
                    }
                )
            }
            None => String::new(),
        };
        let n_div: usize = series_a
            .iter()
            .chain(&series_b)
            .flat_map(|s| s.diverged.iter().map(|d| d.count))
            .sum();
        let finding = format!(
            "After {} steps (Shaw et al.'s protocol is unknown; steps, grids and IP η {} are assumed), looking above each condition's best learning rate: {}.{verdict} Over the intrinsic rate η at lr {}: {}. {} runs diverged (non-finite loss; marked × and never averaged); a failing sigmoid network mostly saturates to chance accuracy instead.",
            cfg.base.steps,
            cfg.base.ip_lr,
            fails.join("; "),
            cfg.lr_b,
            rules_text.join("; "),
            n_div
        );

        let files = draw(ctx, Self::ID, cfg, ns, &series_a, &series_b, &refs)?;

        let lines_json = |ls: &[Line], ss: &[Series]| -> Value {
            Value::Array(
                ls.iter()
                    .zip(ss)
                    .map(|(l, s)| {
                        json!({
                            "label": l.cond.label,
                            "condition": l.cond.canonical(),
                            "activation": l.cond.activation.name(),
                            "final_accuracy": common::series_json(s),
                        })
                    })
                    .collect(),
            )
        };
        let mut fields = common::net_fields(&split, &seeds);
        fields.extend([
            (
                "assumed",
                json!("Shaw et al. 2020's protocol is not available: the network is bn-mnist's, trained for base.steps steps; lrs, ip_lrs and lr_b are this figure's choices. A run is diverged when its loss or parameters became non-finite; its accuracy is not averaged."),
            ),
            ("panel_a_vs_lr", lines_json(&lines_a, &series_a)),
            ("panel_b_vs_ip_lr", lines_json(&lines_b, &series_b)),
            ("panel_b_no_ip", lines_json(&refs_b, &refs)),
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
    cfg: &LrStabilityConfig,
    seeds: usize,
    a: &[Series],
    b: &[Series],
    refs: &[Series],
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    plot::save_figure(&ctx.out_dir, id, 1700, 1500, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            &format!(
                "Final test accuracy after {} steps (784-100-100-100-10, batch {}): mean and min–max over {}",
                cfg.base.steps,
                cfg.base.batch,
                count(seeds, "seed")
            ),
        )?;
        let rows = plot::split_rows(&area, &[1.0, 1.0])?;
        let pa = plot::layout::panel(
            &rows[0],
            0,
            &format!(
                "against the synaptic learning rate (IP η = {})",
                cfg.base.ip_lr
            ),
        )?;
        XyChart::new(
            "synaptic learning rate (SGD step size)",
            "final test accuracy (fraction correct)",
        )
        .log_x()
        .y_range(0.0, 1.0)
        .series_all(a.iter().cloned().map(Series::markers))
        .line(RefLine::Horizontal(0.1, Some("chance (10 classes)".into())))
        .legend(LegendPos::Right)
        .draw(&pa)?;
        let pb = plot::layout::panel(
            &rows[1],
            1,
            &format!(
                "against the intrinsic learning rate η of each rule (synaptic lr = {})",
                cfg.lr_b
            ),
        )?;
        XyChart::new(
            "intrinsic learning rate η (SGD step of α, k)",
            "final test accuracy (fraction correct)",
        )
        .log_x()
        .y_range(0.0, 1.0)
        .series_all(refs.iter().cloned())
        .series_all(b.iter().cloned().map(Series::markers))
        .legend(LegendPos::Right)
        .draw(&pb)?;
        Ok(())
    })
}
