//! `information`: does IP raise a neuron's information potential like infomax, and does BN?
//! (Shaw et al. 2020.)
//!
//! One unit receives inputs from fixed, badly scaled distributions (default N(2, 3²), the
//! uniform U[−3, 7] and the skewed Exp(mean 2), so that an unadapted sigmoid or tanh
//! saturates and the rules' different targets matter). Over adaptation time we measure its
//! output entropy under
//!
//! * no adaptation (α = 1, k = 0), with a sigmoid and with a tanh;
//! * every registered rule at its registry defaults, stepped by plain SGD on mini-batches:
//!   KL rules with their own activation, other rules (moment matching) with both;
//! * BN standardisation: every mini-batch normalised with its own mean and biased variance
//!   (α_B, k_B from `ipbn_math::mapping::bn_to_ip`), then the sigmoid or tanh.
//!
//! Outputs are measured on their activation's own range (sigmoid [0, 1], tanh [−1, 1],
//! softplus [0, the largest output]): the histogram differential entropy H (nats; the
//! uniform density gives the largest, ln of the width) and the Parzen estimate of the
//! quadratic information potential V₂ (kernel width `kernel_sigma` × the range), with
//! Rényi's quadratic entropy H₂ = −ln V₂ (more information: higher H₂, lower V₂).
//!
//! Each rule run ends at its target (within `fixed_point_tolerance` of the fixed point with
//! α > 0 of the averaged rule on its input, found by Newton on the quadrature expectation),
//! at the mirror (α < 0), elsewhere, or diverged ([`unit::Fate`]); the curves average only runs at the target, the others are
//! drawn as their own lines and counted. Comparisons are paired over seeds (the same
//! evaluation inputs per seed).

mod draw;
mod unit;

use super::common::run_seeds;
use super::experiment::{num_text, nums_text, Experiment, Produced, Progress};
use super::unit_common::{input_label, rule_label};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{Series, Spread};
use crate::stats::{self, Direction, Verdict, VerdictKind};
use crate::tidy::TidyRow;
use ipbn_math::Activation;
use ipbn_neurons::single_unit::{InputDist, UnitSgd};
use rayon::prelude::*;
use serde_json::{json, Value};
use unit::{Adapt, Fate, Measured};

/// Settings of the `information` figure.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InformationConfig {
    /// The input distributions (the first is drawn over time).
    pub inputs: Vec<InputDist>,
    /// SGD steps of adaptation.
    pub steps: usize,
    /// SGD settings (shared by every rule; `anneal` is set from `anneal_fraction`).
    pub sgd: UnitSgd,
    /// τ of the decaying learning rate η/(1 + t/τ) as a fraction of `steps` (0: fixed η).
    pub anneal_fraction: f64,
    /// Number of log-spaced measurement points over 1..=steps.
    pub records: usize,
    /// Evaluation inputs per seed for the histogram entropy.
    pub eval_samples: usize,
    /// The first this many evaluation outputs are used for the Parzen estimate (O(n²)).
    pub parzen_samples: usize,
    /// Gaussian kernel width σ of the Parzen estimate, as a fraction of the output range.
    pub kernel_sigma: f64,
    /// Histogram bins over the output range.
    pub bins: usize,
    /// Mini-batch size used by BN standardisation.
    pub bn_batch: usize,
    /// BN's ε.
    pub bn_eps: f64,
    /// A rule run is at its target when its final (α, k) is within this relative distance
    /// of the fixed point (α > 0) of the averaged rule on its input.
    pub fixed_point_tolerance: f64,
    /// Where no fixed point is found: at the target when the final H is within this many
    /// nats of the target density's entropy.
    pub target_tolerance: f64,
    /// A rule is "close to infomax" when the 95 % CI of its paired H₂ difference from the
    /// infomax rule of its activation lies within ± this many nats.
    pub close_tolerance: f64,
    /// Default number of seeds (overridden by `--seeds`).
    pub seeds: usize,
    /// Base seed.
    pub seed: u64,
}

impl InformationConfig {
    /// The full protocol.
    pub fn full() -> Self {
        InformationConfig {
            inputs: vec![
                InputDist::Gaussian { mean: 2.0, sd: 3.0 },
                InputDist::Uniform { lo: -3.0, hi: 7.0 },
                InputDist::Exponential { mean: 2.0 },
            ],
            steps: 50_000,
            sgd: UnitSgd::fixed(0.005, 10, (1.0, 0.0)),
            anneal_fraction: 0.05,
            records: 25,
            eval_samples: 10_000,
            parzen_samples: 600,
            kernel_sigma: 0.02,
            bins: 40,
            bn_batch: 60,
            bn_eps: 1e-5,
            fixed_point_tolerance: 0.05,
            target_tolerance: 0.1,
            close_tolerance: 0.1,
            seeds: 10,
            seed: 2020,
        }
    }

    /// Small settings for tests.
    pub fn quick() -> Self {
        InformationConfig {
            steps: 2_000,
            records: 10,
            eval_samples: 2_000,
            parzen_samples: 300,
            seeds: 2,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), ReportError> {
        let bad = |m: &str| Err(ReportError::Config(format!("information: {m}")));
        if self.inputs.is_empty() {
            return bad("give at least one input distribution");
        }
        for i in &self.inputs {
            i.validate()?;
        }
        if self.steps == 0 || self.records < 2 {
            return bad("steps must be ≥ 1 and records ≥ 2");
        }
        if self.eval_samples < self.bn_batch.max(2) || self.parzen_samples < 2 {
            return bad("eval_samples must be ≥ bn_batch and parzen_samples ≥ 2");
        }
        if self.bn_batch < 2 {
            return bad("bn_batch must be ≥ 2 (BN needs two samples per batch)");
        }
        if !(self.kernel_sigma.is_finite() && self.kernel_sigma > 0.0) || self.bins == 0 {
            return bad("kernel_sigma must be finite and > 0, and bins ≥ 1");
        }
        if !(self.sgd.eta.is_finite() && self.sgd.eta > 0.0) || self.sgd.batch < 2 {
            return bad("eta must be finite and > 0, and the SGD batch ≥ 2");
        }
        let pos = |v: f64| v.is_finite() && v > 0.0;
        if !pos(self.target_tolerance)
            || !pos(self.close_tolerance)
            || !pos(self.fixed_point_tolerance)
        {
            return bad("fixed_point_tolerance, target_tolerance and close_tolerance must be finite and > 0");
        }
        Ok(())
    }
}

/// The `information` figure.
#[derive(Clone, Debug, Default)]
pub struct Information {
    /// Settings; `None` picks [`InformationConfig::full`] or `quick` from the context.
    pub config: Option<InformationConfig>,
}

/// The numbers a series draws, for the JSON: mean, low and high.
fn band_json(s: &Series) -> Value {
    json!({
        "mean": nums_text(&s.mean),
        "lo": nums_text(s.lo.as_deref().unwrap_or(&[])),
        "hi": nums_text(s.hi.as_deref().unwrap_or(&[])),
    })
}

/// Outcome counts as text, e.g. `4 at target, 1 mirror (α < 0)` (zero counts left out).
fn fate_counts(ms: &[&Measured]) -> String {
    Fate::ALL
        .iter()
        .filter_map(|f| {
            let n = ms.iter().filter(|m| m.fate == *f).count();
            (n > 0).then(|| format!("{n} {}", f.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const PROTOCOL: &str = "Shaw et al. 2020's single-unit protocol is not available: the input distributions, SGD rate, batch, steps and the rules' registry defaults are this figure's choices; information potential is read as Rényi's quadratic entropy H₂ = −ln V₂ of the output on its activation's range (higher: more information); 'close to infomax' means the 95 % CI of the paired H₂ difference from the infomax rule of the same activation lies within ± close_tolerance nats (diverged runs excluded and counted; runs at the mirror fixed point or elsewhere included as the rule's outcome); 'BN raises information potential' means BN standardisation's H₂ is above no adaptation's (paired CI excludes 0).";

impl Experiment for Information {
    const ID: &'static str = "information";
    const QUESTION: &'static str =
        "Does IP raise a neuron's information potential like infomax, and does BN?";
    const SOURCE: &'static str = "Shaw et al. 2020";
    type Config = InformationConfig;
    const FULL: fn() -> InformationConfig = InformationConfig::full;
    const QUICK: fn() -> InformationConfig = InformationConfig::quick;

    fn given(&self) -> Option<&InformationConfig> {
        self.config.as_ref()
    }

    fn produce(
        &self,
        ctx: &FigureContext,
        cfg: &InformationConfig,
    ) -> Result<Produced, ReportError> {
        cfg.validate()?;
        let seed_values = run_seeds(ctx, cfg.seeds, cfg.seed, Self::ID)?;
        let ns = seed_values.len();
        let conds = unit::conditions();
        let targets: Vec<Option<f64>> = conds
            .iter()
            .map(|c| match &c.adapt {
                Adapt::Rule(r) => unit::target_entropy(r.as_ref()),
                _ => None,
            })
            .collect();
        let record_at: Vec<usize> = {
            let top = (cfg.steps as f64).log10();
            let mut v: Vec<usize> = (0..cfg.records)
                .map(|i| {
                    10f64
                        .powf(top * i as f64 / (cfg.records - 1) as f64)
                        .round() as usize
                })
                .collect();
            v.dedup();
            v
        };
        let ni = cfg.inputs.len();
        let jobs: Vec<(usize, usize, usize)> = (0..conds.len())
            .flat_map(|c| (0..ni).flat_map(move |i| (0..ns).map(move |s| (c, i, s))))
            .collect();
        let progress = Progress::start(ctx, jobs.len());
        let mut results: Vec<Measured> = jobs
            .par_iter()
            .map(|&(c, i, s)| {
                let m = unit::run_one(
                    &conds[c],
                    &cfg.inputs[i],
                    cfg,
                    &record_at,
                    targets[c],
                    seed_values[s],
                );
                progress.tick();
                m
            })
            .collect();
        // Each rule's outcome against the fixed point of its averaged rule on each input,
        // found by Newton from the median final state of the runs with α > 0, else (1, 0).
        let mut fixed_points: Vec<Vec<Option<(f64, f64)>>> = vec![vec![None; ni]; conds.len()];
        for (c, cond) in conds.iter().enumerate() {
            let Adapt::Rule(rule) = &cond.adapt else {
                continue;
            };
            for (i, input) in cfg.inputs.iter().enumerate() {
                let at = |s: usize| (c * ni + i) * ns + s;
                let mut ends: Vec<(f64, f64)> = (0..ns)
                    .map(|s| (results[at(s)].alpha_end, results[at(s)].k_end))
                    .filter(|e| e.0.is_finite() && e.0 > 0.0 && e.1.is_finite())
                    .collect();
                ends.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut guesses: Vec<(f64, f64)> =
                    ends.get(ends.len() / 2).copied().into_iter().collect();
                guesses.push(cfg.sgd.start);
                let fp = unit::target_fixed_point(rule.as_ref(), cond.act, input, &guesses);
                fixed_points[c][i] = fp;
                for s in 0..ns {
                    unit::classify(&mut results[at(s)], fp, cfg.fixed_point_tolerance);
                }
            }
        }
        // runs[c][i][s]
        let runs: Vec<Vec<Vec<&Measured>>> = (0..conds.len())
            .map(|c| {
                (0..ni)
                    .map(|i| (0..ns).map(|s| &results[(c * ni + i) * ns + s]).collect())
                    .collect()
            })
            .collect();
        let x: Vec<f64> = record_at.iter().map(|&s| s as f64).collect();
        // Per (condition, input): the entropy over time of the runs at the target (95 % CI),
        // and one line per other outcome that is not diverged, drawn apart.
        let ent_series: Vec<Vec<Vec<Series>>> = (0..conds.len())
            .map(|c| {
                (0..ni)
                    .map(|i| {
                        let ms = &runs[c][i];
                        let div = ms.iter().filter(|m| m.fate == Fate::Diverged).count();
                        let mut out = Vec::new();
                        for f in [Fate::Target, Fate::Mirror, Fate::Elsewhere] {
                            let group: Vec<Vec<f64>> = ms
                                .iter()
                                .filter(|m| m.fate == f)
                                .map(|m| m.entropy.clone())
                                .collect();
                            if group.is_empty() {
                                continue;
                            }
                            let label = if f == Fate::Target && group.len() == ns {
                                conds[c].label.clone()
                            } else {
                                format!("{}: {} ({})", conds[c].label, f.as_str(), group.len())
                            };
                            let mut s = Series::from_runs(label, &x, &group, Spread::Ci95)
                                .color(conds[c].color);
                            s.dashed = conds[c].dashed || f != Fate::Target;
                            if f != Fate::Target {
                                s = s.markers();
                            }
                            if f == Fate::Target && div > 0 {
                                s = s.diverged(x[x.len() - 1], div);
                            }
                            out.push(s);
                        }
                        out
                    })
                    .collect()
            })
            .collect();

        // Final values per seed (NaN if diverged).
        let h2 = |c: usize, i: usize| -> Vec<f64> {
            runs[c][i]
                .iter()
                .map(|m| {
                    if m.fate == Fate::Diverged {
                        f64::NAN
                    } else {
                        m.h2()
                    }
                })
                .collect()
        };
        let nats = |v: f64| format!("{v:.3} nats");
        let mut parts = Vec::new();
        // Highest H₂ per input and activation, only with a CI separating it from the next.
        for (i, input) in cfg.inputs.iter().enumerate() {
            let mut per_act = Vec::new();
            for act in [Activation::Sigmoid, Activation::Tanh, Activation::Softplus] {
                let mut ranked: Vec<(usize, f64)> = (0..conds.len())
                    .filter(|&c| conds[c].act == act)
                    .map(|c| {
                        let v = h2(c, i);
                        let m = stats::mean_ci(&v).map_or(f64::NAN, |e| e.mean);
                        (c, m)
                    })
                    .filter(|(_, m)| m.is_finite())
                    .collect();
                if ranked.is_empty() {
                    continue;
                }
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                let top = ranked[0].0;
                let text = match ranked.get(1) {
                    Some(&(second, _)) => match stats::paired(&h2(top, i), &h2(second, i)) {
                        Some(p) if p.direction() == Direction::Higher => format!(
                            "{} highest ({})",
                            conds[top].label,
                            p.sentence(&conds[top].label, &conds[second].label, "H₂", &nats)
                        ),
                        Some(p) => format!(
                            "no single highest: {}",
                            p.sentence(&conds[top].label, &conds[second].label, "H₂", &nats)
                        ),
                        None => format!("{} highest (no pairs to compare)", conds[top].label),
                    },
                    None => format!("{} only", conds[top].label),
                };
                per_act.push(format!("{}: {text}", act.name()));
            }
            parts.push(format!("on {}: {}", input_label(input), per_act.join("; ")));
        }

        // Close to infomax: every other rule against the infomax rule of its activation.
        let infomax: Vec<Option<usize>> = conds
            .iter()
            .map(|c| {
                (0..conds.len()).find(|&j| {
                    conds[j].act == c.act
                        && matches!(&conds[j].adapt, Adapt::Rule(r) if unit::is_infomax(r.as_ref()))
                })
            })
            .collect();
        let mut close = Vec::new();
        let (mut n_close, mut n_pairs) = (0, 0);
        for (c, cond) in conds.iter().enumerate() {
            let Adapt::Rule(_) = &cond.adapt else {
                continue;
            };
            let Some(j) = infomax[c].filter(|&j| j != c) else {
                continue;
            };
            for (i, input) in cfg.inputs.iter().enumerate() {
                let Some(p) = stats::paired(&h2(c, i), &h2(j, i)) else {
                    continue;
                };
                n_pairs += 1;
                let d = p.diff;
                let within =
                    d.lo.is_finite() && d.lo >= -cfg.close_tolerance && d.hi <= cfg.close_tolerance;
                if within {
                    n_close += 1;
                }
                close.push(format!(
                    "{} on {}: {} ({})",
                    cond.label,
                    input_label(input),
                    if within { "close" } else { "not close" },
                    p.sentence(&cond.label, &conds[j].label, "H₂", &nats)
                ));
            }
        }
        // BN against no adaptation.
        let mut bn_parts = Vec::new();
        let (mut n_bn, mut n_bn_total) = (0, 0);
        for act in [Activation::Sigmoid, Activation::Tanh] {
            let find = |pred: &dyn Fn(&Adapt) -> bool| {
                (0..conds.len()).find(|&c| conds[c].act == act && pred(&conds[c].adapt))
            };
            let (Some(b), Some(n)) = (
                find(&|a| matches!(a, Adapt::Bn)),
                find(&|a| matches!(a, Adapt::None)),
            ) else {
                continue;
            };
            for (i, input) in cfg.inputs.iter().enumerate() {
                if let Some(p) = stats::paired(&h2(b, i), &h2(n, i)) {
                    n_bn_total += 1;
                    if p.direction() == Direction::Higher {
                        n_bn += 1;
                    }
                    bn_parts.push(format!(
                        "{}: {}",
                        input_label(input),
                        p.sentence(&conds[b].label, &conds[n].label, "H₂", &nats)
                    ));
                }
            }
        }
        // Outcomes of every rule run.
        let mut outcome_parts = Vec::new();
        let mut odd = Vec::new();
        for (c, cond) in conds.iter().enumerate() {
            if !matches!(cond.adapt, Adapt::Rule(_)) {
                continue;
            }
            for (i, input) in cfg.inputs.iter().enumerate() {
                let ms = &runs[c][i];
                if ms.iter().all(|m| m.fate == Fate::Target) {
                    continue;
                }
                outcome_parts.push(format!(
                    "{} on {}: {}",
                    cond.label,
                    input_label(input),
                    fate_counts(ms)
                ));
                for (s, m) in ms.iter().enumerate() {
                    if m.fate != Fate::Target {
                        odd.push(format!(
                            "{} on {} seed {}: {} with H = {:.2}, (α, k) = ({:.3}, {:.3})",
                            cond.label,
                            input_label(input),
                            s + 1,
                            m.fate.as_str(),
                            m.h(),
                            m.alpha_end,
                            m.k_end
                        ));
                    }
                }
            }
        }
        let rule_runs: usize = conds
            .iter()
            .filter(|c| matches!(c.adapt, Adapt::Rule(_)))
            .count()
            * ni
            * ns;
        let target_runs: usize = (0..conds.len())
            .filter(|&c| matches!(conds[c].adapt, Adapt::Rule(_)))
            .map(|c| {
                runs[c]
                    .iter()
                    .flatten()
                    .filter(|m| m.fate == Fate::Target)
                    .count()
            })
            .sum();
        let finding = format!(
            "After {} SGD steps, {} per input, outputs measured on their activation's range (Rényi H₂ = −ln V₂, higher = more information): {}. {target_runs} of {rule_runs} rule runs end at their target (within {:.0} % of the averaged rule's fixed point with α > 0; H within {} nats of the target's where none is found){}. Close to infomax (paired H₂ CI within ±{} nats): {n_close} of {n_pairs}. BN standardisation above no adaptation in H₂: {n_bn} of {n_bn_total} ({}).",
            cfg.steps,
            super::experiment::count(ns, "seed"),
            parts.join(" | "),
            100.0 * cfg.fixed_point_tolerance,
            cfg.target_tolerance,
            if outcome_parts.is_empty() {
                String::new()
            } else {
                format!("; the others, drawn apart and not averaged in: {}", outcome_parts.join("; "))
            },
            cfg.close_tolerance,
            bn_parts.join("; "),
        );
        let verdicts = vec![
            Verdict {
                id: "shaw2020-ip-close-to-infomax".into(),
                source: "Shaw et al. 2020".into(),
                claim: "IP's information potential is close to infomax's".into(),
                verdict: VerdictKind::from_counts(n_close, n_pairs),
                evidence: format!(
                    "{n_close} of {n_pairs} (rule × input) pairs have the 95 % CI of the paired H₂ difference from the infomax rule of the same activation within ±{} nats (n = {ns} seeds, diverged excluded): {}",
                    cfg.close_tolerance,
                    close.join("; ")
                ),
                figure: Self::ID.into(),
                protocol_assumed: PROTOCOL.into(),
            },
            Verdict {
                id: "shaw2020-bn-raises-information".into(),
                source: "Shaw et al. 2020".into(),
                claim: "BN raises information potential".into(),
                verdict: VerdictKind::from_counts(n_bn, n_bn_total),
                evidence: format!(
                    "{n_bn} of {n_bn_total} (activation × input) pairs have BN standardisation's H₂ above no adaptation's (paired t 95 % CI excludes 0, n = {ns}): {}",
                    bn_parts.join("; ")
                ),
                figure: Self::ID.into(),
                protocol_assumed: PROTOCOL.into(),
            },
        ];

        let files = draw::draw(
            ctx,
            Self::ID,
            cfg,
            &draw::Drawn {
                conds: &conds,
                ent: &ent_series,
                runs: &runs,
                targets: &targets,
                seeds: ns,
            },
        )?;

        // Tidy rows: every run and record, with the input and activation as keys.
        let mut tidy = Vec::new();
        for (k, &(c, i, s)) in jobs.iter().enumerate() {
            let m = &results[k];
            let keys = vec![
                ("input".to_string(), input_label(&cfg.inputs[i])),
                ("activation".to_string(), conds[c].act.name().to_string()),
            ];
            for (r, &step) in record_at.iter().enumerate() {
                for (metric, v) in [("entropy", m.entropy[r]), ("v2", m.v2[r])] {
                    if v.is_finite() {
                        tidy.push(TidyRow {
                            condition: conds[c].label.clone(),
                            seed: seed_values[s],
                            step: step as u64,
                            metric: metric.into(),
                            value: v,
                            keys: keys.clone(),
                            outcome: m.fate.as_str().into(),
                        });
                    }
                }
            }
        }

        let fields = vec![
            ("seeds", json!(seed_values)),
            ("assumed", json!(PROTOCOL)),
            (
                "measure",
                json!("outputs on their activation's range (sigmoid [0,1], tanh [-1,1], softplus [0, max output]); entropy = histogram differential entropy (nats); v2 = Parzen estimate of the quadratic information potential (kernel width kernel_sigma × range); renyi2 = -ln v2"),
            ),
            ("steps", json!(record_at)),
            ("odd_runs", json!(odd)),
            (
                "conditions",
                json!(conds.iter().enumerate().map(|(c, cond)| json!({
                    "label": cond.label,
                    "activation": cond.act.name(),
                    "adaptation": match &cond.adapt {
                        Adapt::None => json!("none"),
                        Adapt::Bn => json!("bn standardisation per batch"),
                        Adapt::Rule(r) => json!(rule_label(r.as_ref())),
                    },
                    "target_entropy": targets[c].map_or(json!("not a KL rule"), |t| json!(t)),
                    "fixed_points": fixed_points[c].iter().map(|p| p.map_or(json!("none"), |(a, k)| json!([a, k]))).collect::<Vec<_>>(),
                    "per_input": cfg.inputs.iter().enumerate().map(|(i, input)| json!({
                        "input": input_label(input),
                        "outcomes": fate_counts(&runs[c][i]),
                        "entropy_lines": ent_series[c][i].iter().map(|s| json!({"label": s.label, "band": band_json(s)})).collect::<Vec<_>>(),
                        "final_entropy_per_seed": runs[c][i].iter().map(|m| num_text(m.h())).collect::<Vec<_>>(),
                        "final_renyi2_per_seed": runs[c][i].iter().map(|m| num_text(m.h2())).collect::<Vec<_>>(),
                        "fate_per_seed": runs[c][i].iter().map(|m| m.fate.as_str()).collect::<Vec<_>>(),
                        "end_alpha_k_per_seed": runs[c][i].iter().map(|m| json!([num_text(m.alpha_end), num_text(m.k_end)])).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>()),
            ),
        ];
        Ok(Produced {
            finding,
            files,
            fields,
            verdicts,
            tidy,
        })
    }
}
