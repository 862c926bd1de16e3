//! `lr-stability`: is an IP network robust to high synaptic learning rates? (Shaw et al.
//! 2020; the talk's "Issues" slide: IP is "unstable" and "competes with error-based
//! learning".)
//!
//! * (a) Final test accuracy against the synaptic learning rate, on a log grid wide enough
//!   that `plain` fails, for each condition and, for each IP condition, its η = 0 control
//!   (the same parametrisation with the rule switched off, which isolates adaptation from
//!   the parametrisation): mean and 95 % CI band over seeds. A run whose
//!   loss or parameters became non-finite is *diverged*: it is marked with an × at the top
//!   edge and counted in the legend, never averaged in and never drawn as a low accuracy.
//!   A sigmoid network often does not diverge at a huge learning rate but saturates and falls
//!   to chance (10 %), which is drawn as what it is, a low accuracy.
//! * (b) Final test accuracy against the intrinsic learning rate η of every rule in the
//!   registry (a new rule appears here by itself), at a fixed synaptic learning rate. Rules
//!   derived for tanh run on the same network with tanh hidden units; each rule's η = 0
//!   control is drawn as a flat dashed line.
//!
//! At η = 0 the rule never acts, so the controls of all rules on one activation (with or
//! without the affine step) are one network: they run it with the first registered rule of
//! that activation and share its runs (checked: the controls' results were bit-identical
//! when each ran with its own rule).
//!
//! Every comparison is paired over seeds ([`crate::stats::paired`]). For robustness a
//! diverged run scores chance accuracy (1/classes), said so in the finding, because a
//! diverged network is a failure to learn; for "competes" only finished runs are compared.
//!
//! Every run uses the `bn-mnist` network (784-100-100-100-10, batch 60, `gauss:0.1`) for a
//! fixed number of steps; runs share seeds across conditions. Shaw et al.'s protocol is not
//! available: step count, grids and the learning rate of (b) are assumptions, written to
//! the JSON.

mod draw;

use super::common::{self, pct, sig3, usage, Average, NetCond, Outcome};
use super::experiment::{count, Experiment, Produced};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::Series;
use crate::stats::{self, Direction, Verdict, VerdictKind};
use ipbn_neurons::{registry, rules::accepts_activation};
use ipbn_train::{Condition, TrainConfig};
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
    /// The full protocol: 1,000 steps per run, learning rates 0.01 … 100, 5 seeds.
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
            seeds: 5,
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
            seeds: 2,
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
    /// Index of the line this one is the η = 0 control of (in the same panel).
    control_of: Option<usize>,
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

/// Final accuracy of each seed at point `p` of `line` (NaN for a diverged run, or
/// `diverged_as` if given).
fn point_accs(
    line: &Line,
    p: usize,
    seeds: usize,
    outcomes: &[Outcome],
    diverged_as: Option<f64>,
) -> Vec<f64> {
    (0..seeds)
        .map(|s| match outcomes[line.idx[p * seeds + s]].result() {
            Some(r) if r.diverged => diverged_as.unwrap_or(f64::NAN),
            Some(r) => r.final_test_accuracy.unwrap_or(f64::NAN),
            None => f64::NAN,
        })
        .collect()
}

/// Runs at point `p` of `line` that failed: diverged, or finished below `t`.
fn failures(line: &Line, p: usize, seeds: usize, outcomes: &[Outcome], t: f64) -> (usize, usize) {
    let mut d = 0;
    let mut below = 0;
    for s in 0..seeds {
        if let Some(r) = outcomes[line.idx[p * seeds + s]].result() {
            if r.diverged {
                d += 1;
            } else if r.final_test_accuracy.is_some_and(|a| a < t) {
                below += 1;
            }
        }
    }
    (d, below)
}

/// Grid values as a list, e.g. `{1, 3, 10}` (or `none`).
fn list(xs: &[f64]) -> String {
    if xs.is_empty() {
        "none".into()
    } else {
        format!(
            "{{{}}}",
            xs.iter().map(|x| sig3(*x)).collect::<Vec<_>>().join(", ")
        )
    }
}

const PROTOCOL: &str = "Shaw et al. 2020's protocol and the talk's are not available: the bn-mnist network (784-100-100-100-10 sigmoid, gauss:0.1, batch 60, SGD) trained for base.steps steps on the shipped MNIST subset; the learning-rate grid, the η grid, lr_b and the IP η of panel (a) are this figure's choices. Robustness compares each IP condition with plain and with its η = 0 control at every rate above plain's best, a diverged run scoring chance accuracy; 'unstable' means that at some η at least half the seeds diverge (more than at η = 0), or at least half fail (diverge or end below fail_below) while the η = 0 control has no failed run; 'competes' means that at some η above the rule's best the finished runs' accuracy is below the η = 0 control's (paired CI excludes 0).";

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
        let ns = seeds.len();
        let chance = 1.0 / split.train.classes.max(2) as f64;

        // Every run, declared up front, with its tidy label and panel.
        let mut configs: Vec<TrainConfig> = Vec::new();
        let mut meta: Vec<(String, &'static str)> = Vec::new();
        let mut push = |cond: &NetCond, lr: f64, ip_lr: f64, panel: &'static str| -> Vec<usize> {
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
                    meta.push((cond.label.clone(), panel));
                    configs.len() - 1
                })
                .collect()
        };
        // At η = 0 the rule never acts, so every rule's control on a network of one activation
        // (with or without the affine step) is the same network: the controls run it with the
        // first registered rule of that activation, so that they share their runs (one per
        // seed and rate), and keep their own label and colour.
        let control = |cond: &NetCond| -> Result<NetCond, ReportError> {
            let affine = matches!(cond.condition, Condition::IpAffine(_));
            let first = registry::default_rules()
                .into_iter()
                .find(|r| accepts_activation(r.as_ref(), cond.activation))
                .map_or_else(
                    || cond.condition.to_string(),
                    |r| format!("{}:{}", if affine { "ip+affine" } else { "ip" }, r.id()),
                );
            let mut c = NetCond::parse(&first, cond.activation)?;
            c.label = format!("{} η=0", cond.label);
            Ok(c)
        };
        // Panel (a): conditions × learning rates × seeds; each IP condition's η = 0 control.
        let mut lines_a: Vec<Line> = Vec::new();
        for cond in common::parse_conds(&cfg.conditions, cfg.base.activation)? {
            let idx = cfg
                .lrs
                .iter()
                .flat_map(|&lr| push(&cond, lr, cfg.base.ip_lr, "a"))
                .collect();
            let has_rule = cond.condition.rule_spec().is_some();
            lines_a.push(Line {
                cond: cond.clone(),
                control_of: None,
                x: cfg.lrs.clone(),
                idx,
            });
            if has_rule {
                let c = control(&cond)?;
                let idx = cfg
                    .lrs
                    .iter()
                    .flat_map(|&lr| push(&c, lr, 0.0, "a"))
                    .collect();
                lines_a.push(Line {
                    cond: c,
                    control_of: Some(lines_a.len() - 1),
                    x: cfg.lrs.clone(),
                    idx,
                });
            }
        }
        // Panel (b): every registered rule × η × seeds on the network of its activation, and
        // its η = 0 control (one run per seed, drawn flat).
        let mut lines_b: Vec<Line> = Vec::new();
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
            let idx = cfg
                .ip_lrs
                .iter()
                .flat_map(|&eta| push(&cond, cfg.lr_b, eta, "b"))
                .collect();
            lines_b.push(Line {
                cond: cond.clone(),
                control_of: None,
                x: cfg.ip_lrs.clone(),
                idx,
            });
            let c = control(&cond)?;
            let once = push(&c, cfg.lr_b, 0.0, "b");
            lines_b.push(Line {
                cond: c,
                control_of: Some(lines_b.len() - 1),
                x: cfg.ip_lrs.clone(),
                idx: cfg.ip_lrs.iter().flat_map(|_| once.clone()).collect(),
            });
        }
        let outcomes = common::run_all(ctx, &split, &configs)?;
        let to_series = |l: &Line, lines: &[Line]| {
            let (vals, div) = line_values(l, ns, &outcomes);
            let mut s = common::summary_series(&l.cond, &l.x, &vals, Average::Arithmetic, &div);
            if let Some(k) = l.control_of {
                s.dashed = true;
                s.color = Some(crate::plot::lighten(lines[k].cond.color(), 0.35));
            }
            s
        };
        let series_a: Vec<Series> = lines_a.iter().map(|l| to_series(l, &lines_a)).collect();
        let mut series_b: Vec<Series> = lines_b.iter().map(|l| to_series(l, &lines_b)).collect();
        for (s, l) in series_b.iter_mut().zip(&lines_b) {
            if l.control_of.is_some() {
                // A flat line: its divergences are those of one run per seed, marked once;
                // its band (the same at every η) is left out so the rules' bands stay
                // readable (the control's CI is in the JSON through the runs).
                s.diverged.truncate(1);
                s.lo = None;
                s.hi = None;
            }
        }

        // (a) Robustness: above plain's best rate, each IP condition against plain and
        // against its η = 0 control, paired, a diverged run scoring chance.
        let plain = lines_a.iter().position(|l| l.cond.label == "plain");
        let plain_best = plain.and_then(|p| best(&series_a[p])).map(|(x, _)| x);
        let acc_fmt = |v: f64| format!("{:.1} points", 100.0 * v);
        let mut robust_parts = Vec::new();
        let mut robust_support = 0;
        let mut robust_total = 0;
        if let (Some(p), Some(pb)) = (plain, plain_best) {
            for (li, l) in lines_a.iter().enumerate() {
                if l.control_of.is_some() || l.cond.condition.rule_spec().is_none() {
                    continue;
                }
                let k = lines_a.iter().position(|c| c.control_of == Some(li));
                robust_total += 1;
                let (mut up_p, mut down_p, mut up_c, mut down_c) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let mut strongest: Option<(f64, String)> = None;
                for (pi, &lr) in cfg.lrs.iter().enumerate() {
                    if lr <= pb {
                        continue;
                    }
                    let a = point_accs(l, pi, ns, &outcomes, Some(chance));
                    let vs_p = stats::paired(
                        &a,
                        &point_accs(&lines_a[p], pi, ns, &outcomes, Some(chance)),
                    );
                    let vs_c = k.and_then(|k| {
                        stats::paired(
                            &a,
                            &point_accs(&lines_a[k], pi, ns, &outcomes, Some(chance)),
                        )
                    });
                    let dp = vs_p.map_or(Direction::NoDifference, |x| x.direction());
                    let dc = vs_c.map_or(Direction::NoDifference, |x| x.direction());
                    match dp {
                        Direction::Higher => up_p.push(lr),
                        Direction::Lower => down_p.push(lr),
                        Direction::NoDifference => {}
                    }
                    match dc {
                        Direction::Higher => up_c.push(lr),
                        Direction::Lower => down_c.push(lr),
                        Direction::NoDifference => {}
                    }
                    if dp == Direction::Higher {
                        if let Some(x) = vs_p {
                            strongest = Some((
                                lr,
                                x.sentence(
                                    &l.cond.label,
                                    "plain",
                                    &format!("accuracy at lr {}", sig3(lr)),
                                    &acc_fmt,
                                ),
                            ));
                        }
                    }
                }
                let supported = up_p.iter().any(|x| up_c.contains(x)) && down_p.is_empty();
                if supported {
                    robust_support += 1;
                }
                robust_parts.push(format!(
                    "{}: above plain at lr {}, below at {}; above its η=0 control at {}, below at {}{}",
                    l.cond.label,
                    list(&up_p),
                    list(&down_p),
                    list(&up_c),
                    list(&down_c),
                    strongest.map_or(String::new(), |(_, s)| format!(" ({s})"))
                ));
            }
        }
        let peaks: Vec<String> = series_a
            .iter()
            .zip(&lines_a)
            .filter(|(_, l)| l.control_of.is_none())
            .map(|(s, l)| {
                let (bx, bm) = best(s).unwrap_or((f64::NAN, f64::NAN));
                format!("{} {} at lr {}", l.cond.label, pct(bm), sig3(bx))
            })
            .collect();

        // (b) Instability and competition, each rule against its η = 0 control.
        let mut unstable_parts = Vec::new();
        let mut compete_parts = Vec::new();
        let (mut n_unstable, mut n_compete, mut n_rules) = (0, 0, 0);
        for (li, l) in lines_b.iter().enumerate() {
            if l.control_of.is_some() {
                continue;
            }
            let Some(k) = lines_b.iter().position(|c| c.control_of == Some(li)) else {
                continue;
            };
            n_rules += 1;
            let ctrl = &lines_b[k];
            let (cd, cb) = failures(ctrl, 0, ns, &outcomes, cfg.fail_below);
            let per_eta: Vec<(usize, usize)> = (0..l.x.len())
                .map(|p| failures(l, p, ns, &outcomes, cfg.fail_below))
                .collect();
            // Unstable: at some η at least half the seeds diverge (more than at η = 0), or
            // at least half fail while the η = 0 control has no failed run.
            let unstable = per_eta
                .iter()
                .any(|&(d, b)| (2 * d >= ns && d > cd) || (2 * (d + b) >= ns && cd + cb == 0));
            if unstable {
                n_unstable += 1;
            }
            unstable_parts.push(format!(
                "{} {} (η=0: {})",
                l.cond.label,
                l.x.iter()
                    .zip(&per_eta)
                    .map(|(x, (d, b))| format!("η {}: {d}+{b}", sig3(*x)))
                    .collect::<Vec<_>>()
                    .join(", "),
                format_args!("{cd}+{cb}")
            ));
            let best_eta = best(&series_b[li]).map_or(f64::INFINITY, |(x, _)| x);
            let ctrl_acc = point_accs(ctrl, 0, ns, &outcomes, None);
            let mut falls: Option<String> = None;
            for (p, &eta) in l.x.iter().enumerate() {
                if eta <= best_eta {
                    continue;
                }
                if let Some(x) = stats::paired(&point_accs(l, p, ns, &outcomes, None), &ctrl_acc) {
                    if x.direction() == Direction::Lower {
                        falls = Some(format!(
                            "from η {}: {}",
                            sig3(eta),
                            x.sentence(&format!("η {}", sig3(eta)), "η=0", "accuracy", &acc_fmt)
                        ));
                        break;
                    }
                }
            }
            if falls.is_some() {
                n_compete += 1;
            }
            // The best η against the control (paired), and the gain the rule left there: the
            // mean α over the hidden units, layers and finished seeds at the end.
            let p_best = l.x.iter().position(|&x| x == best_eta);
            let vs_ctrl = p_best
                .and_then(|p| {
                    stats::paired(&point_accs(l, p, ns, &outcomes, None), &ctrl_acc).map(|x| {
                        x.sentence(
                            &format!("η {}", sig3(best_eta)),
                            "η=0",
                            "accuracy",
                            &acc_fmt,
                        )
                    })
                })
                .unwrap_or_else(|| "no pairs".into());
            let mean_alpha = |last: bool| {
                p_best.map_or(f64::NAN, |p| {
                    let a: Vec<f64> = (0..ns)
                        .filter_map(|s| outcomes[l.idx[p * ns + s]].result())
                        .filter(|r| !r.diverged)
                        .filter_map(|r| {
                            if last {
                                r.history.last()
                            } else {
                                r.history.first()
                            }
                        })
                        .flat_map(|h| h.ip.iter().flatten().filter_map(|ip| ip.alpha.mean))
                        .collect();
                    if a.is_empty() {
                        f64::NAN
                    } else {
                        a.iter().sum::<f64>() / a.len() as f64
                    }
                })
            };
            compete_parts.push(format!(
                "{} best {} at η {} (η=0: {}; {vs_ctrl}; mean gain α {} at the start, {} at the end), {}",
                l.cond.label,
                pct(best(&series_b[li]).map_or(f64::NAN, |b| b.1)),
                sig3(best_eta),
                pct(series_b[k].mean.first().copied().unwrap_or(f64::NAN)),
                sig3(mean_alpha(false)),
                sig3(mean_alpha(true)),
                falls.unwrap_or_else(|| "no η above the best lowers the accuracy below η=0's (finished runs, paired)".into())
            ));
        }
        let n_div: usize = outcomes
            .iter()
            .filter(|o| o.result().is_some_and(|r| r.diverged))
            .count();
        let finding = format!(
            "After {} steps with {} (Shaw et al.'s protocol is unknown; steps, grids and IP η {} of panel (a) are assumed): best accuracy {}. Above plain's best rate (lr {}), paired over seeds with a diverged run scoring chance ({}): {}. IP conditions robust to higher rates (above plain and above their η=0 control at some rate, below plain at none): {robust_support} of {robust_total}. Over η at lr {}: {}. Failed runs per η (diverged + finished below {}): {}; unstable (at some η at least half the seeds diverge, more than at η=0, or at least half fail where η=0 has no failure): {n_unstable} of {n_rules} rules. {n_div} of {} runs diverged in all (× marks, never averaged).",
            cfg.base.steps,
            count(ns, "seed"),
            cfg.base.ip_lr,
            peaks.join(", "),
            plain_best.map_or("n/a".into(), sig3),
            pct(chance),
            robust_parts.join("; "),
            cfg.lr_b,
            compete_parts.join("; "),
            pct(cfg.fail_below),
            unstable_parts.join("; "),
            outcomes.len()
        );
        let verdicts = vec![
            Verdict {
                id: "shaw2020-ip-robust-lr".into(),
                source: "Shaw et al. 2020".into(),
                claim: "IP makes networks robust to higher synaptic learning rates".into(),
                verdict: VerdictKind::from_counts(robust_support, robust_total),
                evidence: format!(
                    "{robust_support} of {robust_total} IP conditions are above plain and above their η=0 control at some rate above plain's best (lr {}) and below plain at none (paired t 95 % CI, n = {ns} seeds, diverged = chance). {}",
                    plain_best.map_or("n/a".into(), sig3),
                    robust_parts.join("; ")
                ),
                figure: Self::ID.into(),
                protocol_assumed: PROTOCOL.into(),
            },
            Verdict {
                id: "talk-ip-unstable".into(),
                source: "the talk, \"Issues\" slide".into(),
                claim: "IP is unstable".into(),
                verdict: VerdictKind::from_counts(n_unstable, n_rules),
                evidence: format!(
                    "{n_unstable} of {n_rules} rules have an η at which at least half of {ns} seeds diverge (more than at η=0) or fail (diverged + below {}) where η=0 has no failure: {}",
                    pct(cfg.fail_below),
                    unstable_parts.join("; ")
                ),
                figure: Self::ID.into(),
                protocol_assumed: PROTOCOL.into(),
            },
            Verdict {
                id: "talk-ip-competes".into(),
                source: "the talk, \"Issues\" slide".into(),
                claim: "IP competes with error-based learning".into(),
                verdict: VerdictKind::from_counts(n_compete, n_rules),
                evidence: format!(
                    "{n_compete} of {n_rules} rules have an η above their best at which the finished runs' accuracy is below the η=0 control's (paired t 95 % CI): {}",
                    compete_parts.join("; ")
                ),
                figure: Self::ID.into(),
                protocol_assumed: PROTOCOL.into(),
            },
        ];

        let files = draw::draw(ctx, Self::ID, cfg, ns, &series_a, &series_b)?;

        let tidy = configs
            .iter()
            .zip(&outcomes)
            .zip(&meta)
            .flat_map(|((_, o), (label, panel))| {
                common::tidy_rows(label, o, &[("panel".to_string(), panel.to_string())])
            })
            .collect();
        let lines_json = |ls: &[Line], ss: &[Series]| -> Value {
            Value::Array(
                ls.iter()
                    .zip(ss)
                    .map(|(l, s)| {
                        json!({
                            "label": l.cond.label,
                            "condition": l.cond.canonical(),
                            "activation": l.cond.activation.name(),
                            "eta_zero_control": l.control_of.is_some(),
                            "final_accuracy": common::series_json(s),
                        })
                    })
                    .collect(),
            )
        };
        let mut fields = common::net_fields(&split, &seeds);
        fields.extend([
            ("assumed", json!(PROTOCOL)),
            ("panel_a_vs_lr", lines_json(&lines_a, &series_a)),
            ("panel_b_vs_ip_lr", lines_json(&lines_b, &series_b)),
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
