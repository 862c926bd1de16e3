//! `information`: does IP raise a neuron's information potential like infomax, and does BN?
//!
//! One unit receives inputs from a fixed, badly scaled distribution (default N(2, 3²), so
//! that an unadapted sigmoid or tanh saturates). Over adaptation time we measure its output
//! entropy under
//!
//! * no adaptation (α = 1, k = 0), with a sigmoid and with a tanh;
//! * every registered rule at its registry defaults, stepped by plain SGD on mini-batches:
//!   KL rules with their own activation, other rules (moment matching) with both;
//! * BN standardisation: every mini-batch normalised with its own mean and biased variance
//!   (α_B, k_B from `ipbn_math::mapping::bn_to_ip`), then the sigmoid or tanh. BN has no
//!   state, so its curve is flat.
//!
//! Outputs are rescaled to [0, 1] (tanh: (y + 1)/2) so that every activation is measured on
//! the same interval, where the uniform density has the largest differential entropy (0
//! nats) and the smallest quadratic information potential (V₂ = ∫p² = 1). Measured on a fixed
//! evaluation sample per seed: the differential entropy by histogram
//! (`ipbn_math::entropy::differential_entropy_hist`), and V₂ by its Parzen estimate with a
//! fixed Gaussian kernel width (`ipbn_math::entropy::information_potential`); Rényi's
//! quadratic entropy is H₂ = −ln V₂. Lower V₂ means more information (Principe 2010).

use super::common::run_seeds;
use super::experiment::{num_text, nums_text, Experiment, Produced, Progress};
use super::unit_common::{input_label, output_range, rule_label};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{
    self, palette, Align, Area, LegendPos, PlotError, RefLine, Series, Spread, TablePanel, XyChart,
};
use ipbn_math::entropy::{differential_entropy_hist, information_potential};
use ipbn_math::mapping::bn_to_ip;
use ipbn_math::numeric::simpson_weight;
use ipbn_math::seed::derive_seed;
use ipbn_math::stats::mean_var;
use ipbn_math::Activation;
use ipbn_neurons::rules::accepts_activation;
use ipbn_neurons::single_unit::{simulate_unit, InputDist, UnitSgd};
use ipbn_neurons::{registry, IpRule, RuleKind};
use ndarray::ArrayView1;
use plotters::style::RGBColor;
use rayon::prelude::*;
use serde_json::{json, Value};
use std::sync::Arc;

/// Settings of the `information` figure.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InformationConfig {
    /// The input distribution.
    pub input: InputDist,
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
    /// Gaussian kernel width σ of the Parzen estimate, on the [0, 1] output scale.
    pub kernel_sigma: f64,
    /// Histogram bins on [0, 1].
    pub bins: usize,
    /// Mini-batch size used by BN standardisation.
    pub bn_batch: usize,
    /// BN's ε.
    pub bn_eps: f64,
    /// Default number of seeds (overridden by `--seeds`).
    pub seeds: usize,
    /// Base seed.
    pub seed: u64,
}

impl InformationConfig {
    /// The full protocol.
    pub fn full() -> Self {
        InformationConfig {
            input: InputDist::Gaussian { mean: 2.0, sd: 3.0 },
            steps: 50_000,
            sgd: UnitSgd::fixed(0.005, 10, (1.0, 0.0)),
            anneal_fraction: 0.05,
            records: 40,
            eval_samples: 20_000,
            parzen_samples: 600,
            kernel_sigma: 0.02,
            bins: 40,
            bn_batch: 60,
            bn_eps: 1e-5,
            seeds: 5,
            seed: 2020,
        }
    }

    /// Small settings for tests.
    pub fn quick() -> Self {
        InformationConfig {
            steps: 2_000,
            records: 12,
            eval_samples: 2_000,
            parzen_samples: 300,
            seeds: 2,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), ReportError> {
        self.input.validate()?;
        let bad = |m: &str| Err(ReportError::Config(format!("information: {m}")));
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
        Ok(())
    }
}

/// The `information` figure.
#[derive(Clone, Debug, Default)]
pub struct Information {
    /// Settings; `None` picks [`InformationConfig::full`] or `quick` from the context.
    pub config: Option<InformationConfig>,
}

/// How a condition sets α and k.
#[derive(Clone, Debug)]
enum Adapt {
    None,
    Rule(Arc<dyn IpRule>),
    Bn,
}

/// One condition: an adaptation and an activation.
#[derive(Clone, Debug)]
struct Condition {
    label: String,
    adapt: Adapt,
    act: Activation,
    color: RGBColor,
    dashed: bool,
}

/// Every condition, registry rules included, in a fixed order.
fn conditions() -> Vec<Condition> {
    let acts = [Activation::Sigmoid, Activation::Tanh];
    let mut out = Vec::new();
    for act in acts {
        out.push(Condition {
            label: format!("none ({})", act.name()),
            adapt: Adapt::None,
            act,
            color: palette::NONE,
            dashed: act == Activation::Tanh,
        });
    }
    for rule in registry::default_rules() {
        if rule.kind() == RuleKind::Kl {
            out.push(Condition {
                label: format!("ip:{}", rule.id()),
                act: rule.activation(),
                color: palette::color_for(&format!("ip:{}", rule.id())),
                adapt: Adapt::Rule(rule),
                dashed: false,
            });
        } else {
            for act in acts {
                if accepts_activation(rule.as_ref(), act) {
                    out.push(Condition {
                        label: format!("ip:{} ({})", rule.id(), act.name()),
                        act,
                        color: palette::color_for(&format!("ip:{}", rule.id())),
                        adapt: Adapt::Rule(rule.clone()),
                        dashed: act == Activation::Tanh,
                    });
                }
            }
        }
    }
    for act in acts {
        out.push(Condition {
            label: format!("bn ({})", act.name()),
            adapt: Adapt::Bn,
            act,
            color: palette::BN,
            dashed: act == Activation::Tanh,
        });
    }
    out
}

/// Measurements of one (condition, seed) run at the record steps.
#[derive(Clone, Debug)]
struct Measured {
    entropy: Vec<f64>,
    v2: Vec<f64>,
    alpha_end: f64,
    k_end: f64,
    /// Histogram density of the final outputs on [0, 1].
    final_hist: Option<plot::Histogram>,
}

/// Output rescaled to [0, 1].
fn to_unit(act: Activation, y: f64) -> f64 {
    match act {
        Activation::Tanh => 0.5 * (y + 1.0),
        _ => y,
    }
}

/// Entropy and V₂ of the outputs `y01` (on [0, 1]); non-finite outputs make both NaN.
fn measure(y01: &[f64], cfg: &InformationConfig) -> (f64, f64) {
    let h = differential_entropy_hist(y01, cfg.bins, 0.0, 1.0).unwrap_or(f64::NAN);
    let n = cfg.parzen_samples.min(y01.len());
    let v = information_potential(&y01[..n], cfg.kernel_sigma).unwrap_or(f64::NAN);
    (h, v)
}

/// BN standardisation of `x` in consecutive batches of `batch` (the last, short batch joins
/// the previous one), then θ, rescaled to [0, 1].
fn bn_outputs(x: &[f64], act: Activation, batch: usize, eps: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    let nb = (x.len() / batch).max(1);
    for b in 0..nb {
        let lo = b * batch;
        let hi = if b + 1 == nb { x.len() } else { lo + batch };
        let chunk = &x[lo..hi];
        let (mean, var) = mean_var(ArrayView1::from(chunk)).unwrap_or((f64::NAN, f64::NAN));
        let (alpha, k) = bn_to_ip(mean, var, eps);
        out.extend(chunk.iter().map(|&xi| to_unit(act, act.f(alpha * xi + k))));
    }
    out
}

fn run_one(c: &Condition, cfg: &InformationConfig, record_at: &[usize], seed: u64) -> Measured {
    // The same evaluation inputs for every condition of a seed.
    let mut erng = ipbn_math::seed::rng(derive_seed(seed, 0));
    let xs: Vec<f64> = (0..cfg.eval_samples)
        .map(|_| cfg.input.sample(&mut erng))
        .collect();
    let outputs = |alpha: f64, k: f64| -> Vec<f64> {
        xs.iter()
            .map(|&x| to_unit(c.act, c.act.f(alpha * x + k)))
            .collect()
    };
    let hist = |y: &[f64]| plot::histogram_density(y, cfg.bins, Some((0.0, 1.0)));
    let n = record_at.len();
    match &c.adapt {
        Adapt::None => {
            let y = outputs(1.0, 0.0);
            let (h, v) = measure(&y, cfg);
            Measured {
                entropy: vec![h; n],
                v2: vec![v; n],
                alpha_end: 1.0,
                k_end: 0.0,
                final_hist: hist(&y),
            }
        }
        Adapt::Bn => {
            let y = bn_outputs(&xs, c.act, cfg.bn_batch, cfg.bn_eps);
            let (h, v) = measure(&y, cfg);
            let (m, var) = mean_var(ArrayView1::from(&xs[..])).unwrap_or((f64::NAN, f64::NAN));
            let (a, k) = bn_to_ip(m, var, cfg.bn_eps);
            Measured {
                entropy: vec![h; n],
                v2: vec![v; n],
                alpha_end: a,
                k_end: k,
                final_hist: hist(&y),
            }
        }
        Adapt::Rule(rule) => {
            let sgd = UnitSgd {
                anneal: cfg.anneal_fraction * cfg.steps as f64,
                ..cfg.sgd
            };
            let traj = simulate_unit(
                rule.as_ref(),
                c.act,
                &cfg.input,
                &sgd,
                cfg.steps,
                record_at,
                derive_seed(seed, 1),
            );
            let mut entropy = Vec::with_capacity(n);
            let mut v2 = Vec::with_capacity(n);
            for i in 0..n {
                // Records missing after a divergence are NaN: counted as diverged in the plot.
                let (h, v) = match (traj.alpha.get(i), traj.k.get(i)) {
                    (Some(&a), Some(&k)) => measure(&outputs(a, k), cfg),
                    _ => (f64::NAN, f64::NAN),
                };
                entropy.push(h);
                v2.push(v);
            }
            let (alpha_end, k_end) = traj.last();
            let final_hist = if traj.diverged_at.is_none() {
                hist(&outputs(alpha_end, k_end))
            } else {
                None
            };
            Measured {
                entropy,
                v2,
                alpha_end,
                k_end,
                final_hist,
            }
        }
    }
}

/// Differential entropy (nats) of a KL rule's target density, moved to the [0, 1] output
/// scale (minus ln of the activation range's width), by Simpson's rule over the range.
fn target_entropy(rule: &dyn IpRule) -> Option<f64> {
    let t = rule.target()?;
    let (lo, hi) = output_range(rule.activation());
    let n = 20_000;
    let h = (hi - lo) / n as f64;
    let mut acc = 0.0;
    for i in 0..=n {
        let y = (lo + h * i as f64).clamp(lo + 1e-12, hi - 1e-12);
        let lp = t.ln_pdf(y);
        let p = lp.exp();
        let f = if p > 0.0 && lp.is_finite() {
            -p * lp
        } else {
            0.0
        };
        acc += simpson_weight(i, n) * f;
    }
    let v = acc * h / 3.0 - (hi - lo).ln();
    v.is_finite().then_some(v)
}

/// The numbers a series of one condition draws, for the JSON: mean, low and high.
fn band_json(s: &Series) -> Value {
    json!({
        "mean": nums_text(&s.mean),
        "lo": nums_text(s.lo.as_deref().unwrap_or(&[])),
        "hi": nums_text(s.hi.as_deref().unwrap_or(&[])),
    })
}

impl Experiment for Information {
    const ID: &'static str = "information";
    const QUESTION: &'static str =
        "Does IP raise a neuron's information potential like infomax, and does BN?";
    const SOURCE: &'static str = "Shaw et al. 2020";
    type Config = InformationConfig;
    const FULL: fn() -> InformationConfig = InformationConfig::full;
    const QUICK: fn() -> InformationConfig = InformationConfig::quick;
    const TRAINS_NETWORKS: bool = false;

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
        let seeds = seed_values.len();
        let conds = conditions();
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
        let jobs: Vec<(usize, usize)> = (0..conds.len())
            .flat_map(|c| (0..seeds).map(move |s| (c, s)))
            .collect();
        let progress = Progress::start(ctx, jobs.len());
        let results: Vec<Measured> = jobs
            .par_iter()
            .map(|&(c, s)| {
                let m = run_one(&conds[c], cfg, &record_at, seed_values[s]);
                progress.tick();
                m
            })
            .collect();
        let per_cond: Vec<Vec<&Measured>> = (0..conds.len())
            .map(|c| {
                jobs.iter()
                    .zip(&results)
                    .filter(|((jc, _), _)| *jc == c)
                    .map(|(_, m)| m)
                    .collect()
            })
            .collect();
        let x: Vec<f64> = record_at.iter().map(|&s| s as f64).collect();
        // One measure of every condition over its seeds: mean line and min–max band.
        let measure_series = |f: &dyn Fn(&Measured) -> &Vec<f64>| -> Vec<Series> {
            conds
                .iter()
                .zip(&per_cond)
                .map(|(c, ms)| {
                    let runs: Vec<Vec<f64>> = ms.iter().map(|m| f(m).clone()).collect();
                    let mut s = Series::from_runs(c.label.clone(), &x, &runs, Spread::MinMax)
                        .color(c.color);
                    s.dashed = c.dashed;
                    s
                })
                .collect()
        };
        let ent_series = measure_series(&|m| &m.entropy);
        let v2_series = measure_series(&|m| &m.v2);
        // Final values: mean over seeds at the last record (NaN if every seed diverged).
        let finals: Vec<(f64, f64)> = ent_series
            .iter()
            .zip(&v2_series)
            .map(|(e, v)| {
                (
                    e.mean.last().copied().unwrap_or(f64::NAN),
                    v.mean.last().copied().unwrap_or(f64::NAN),
                )
            })
            .collect();
        let best = (0..conds.len())
            .filter(|&i| finals[i].0.is_finite())
            .max_by(|&a, &b| finals[a].0.total_cmp(&finals[b].0));
        let best_v2 = (0..conds.len())
            .filter(|&i| finals[i].1.is_finite())
            .min_by(|&a, &b| finals[a].1.total_cmp(&finals[b].1));
        let find = |label: &str| conds.iter().position(|c| c.label == label);
        let describe = |i: Option<usize>| match i {
            Some(i) => format!(
                "{} (H = {:.3} nats, V₂ = {:.3})",
                conds[i].label, finals[i].0, finals[i].1
            ),
            None => String::from("none (no finite result)"),
        };
        let mut finding = format!(
            "On input {} after {} steps, the highest output entropy (outputs on [0, 1], maximum 0 nats for uniform) is reached by {}; the lowest information potential by {}.",
            input_label(&cfg.input),
            cfg.steps,
            describe(best),
            describe(best_v2),
        );
        let targets: Vec<Option<f64>> = conds
            .iter()
            .map(|c| match &c.adapt {
                Adapt::Rule(r) => target_entropy(r.as_ref()),
                _ => None,
            })
            .collect();
        // Per run: does a KL rule reach its target density's entropy (within 0.1 nats)?
        let tol = 0.1;
        let mut kl_runs = 0usize;
        let mut kl_hits = 0usize;
        let mut misses: Vec<String> = Vec::new();
        for i in 0..conds.len() {
            let Some(t) = targets[i] else { continue };
            for (s, m) in per_cond[i].iter().enumerate() {
                kl_runs += 1;
                let h = m.entropy.last().copied().unwrap_or(f64::NAN);
                if (h - t).abs() <= tol {
                    kl_hits += 1;
                } else {
                    misses.push(format!(
                        "{} seed {} ends at H = {:.2} with (α, k) = ({:.3}, {:.3})",
                        conds[i].label,
                        s + 1,
                        h,
                        m.alpha_end,
                        m.k_end
                    ));
                }
            }
        }
        let h_of = |label: &str| find(label).map_or(f64::NAN, |i| finals[i].0);
        finding.push_str(&format!(
            " No adaptation gives H = {:.3} (sigmoid) and {:.3} (tanh), BN standardisation {:.3} and {:.3}; the KL rules reach their target density's entropy (to {} nats) in {} of {} runs{}.",
            h_of("none (sigmoid)"),
            h_of("none (tanh)"),
            h_of("bn (sigmoid)"),
            h_of("bn (tanh)"),
            tol,
            kl_hits,
            kl_runs,
            if misses.is_empty() {
                String::new()
            } else {
                format!(" ({})", misses.join("; "))
            }
        ));

        let hists: Vec<Option<plot::Histogram>> = per_cond
            .iter()
            .map(|ms| ms.first().and_then(|m| m.final_hist.clone()))
            .collect();
        let drawn = Drawn {
            conds: &conds,
            ent: &ent_series,
            v2: &v2_series,
            finals: &finals,
            targets: &targets,
            hists: &hists,
            seeds,
        };
        let files = draw(ctx, Self::ID, cfg, &drawn)?;

        let fields = vec![
            ("seeds", json!(seed_values)),
            (
                "measure",
                json!("outputs rescaled to [0, 1]; entropy = histogram differential entropy (nats); v2 = Parzen estimate of the quadratic information potential with a Gaussian kernel of width kernel_sigma; renyi2 = -ln v2"),
            ),
            ("steps", json!(record_at)),
            (
                "conditions",
                json!(conds.iter().enumerate().map(|(i, c)| json!({
                    "label": c.label,
                    "activation": c.act.name(),
                    "adaptation": match &c.adapt {
                        Adapt::None => json!("none"),
                        Adapt::Bn => json!("bn standardisation per batch"),
                        Adapt::Rule(r) => json!(rule_label(r.as_ref())),
                    },
                    "entropy": band_json(&ent_series[i]),
                    "v2": band_json(&v2_series[i]),
                    "diverged_runs": ent_series[i].diverged.iter().map(|d| d.count).sum::<usize>(),
                    "final_entropy": num_text(finals[i].0),
                    "final_v2": num_text(finals[i].1),
                    "final_renyi2": num_text(-finals[i].1.ln()),
                    "target_entropy": targets[i].map_or(json!("not a KL rule"), |t| json!(t)),
                    "final_histogram_seed1": hists[i].as_ref().map_or(json!("none"), |h| json!({"edges": h.edges, "density": h.density})),
                    "end_alpha_k_per_seed": per_cond[i].iter().map(|m| json!([num_text(m.alpha_end), num_text(m.k_end)])).collect::<Vec<_>>(),
                })).collect::<Vec<_>>()),
            ),
        ];
        Ok(Produced {
            finding,
            files,
            fields,
            verdicts: Vec::new(),
            tidy: Vec::new(),
        })
    }
}

/// What the drawing needs, per condition (same order as the conditions).
struct Drawn<'a> {
    conds: &'a [Condition],
    ent: &'a [Series],
    v2: &'a [Series],
    finals: &'a [(f64, f64)],
    targets: &'a [Option<f64>],
    hists: &'a [Option<plot::Histogram>],
    seeds: usize,
}

fn fmt3(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "diverged".into()
    }
}

fn draw(
    ctx: &FigureContext,
    id: &str,
    cfg: &InformationConfig,
    d: &Drawn<'_>,
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    plot::save_figure(&ctx.out_dir, id, 1800, 1600, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            &format!(
                "One unit on input {}: output entropy over adaptation (mean and min–max over {} seeds)",
                input_label(&cfg.input),
                d.seeds
            ),
        )?;
        let rows = plot::split_rows(&area, &[0.42, 0.31, 0.27])?;
        let x_desc = "adaptation step (SGD steps of the rule)";
        let entropy_chart = XyChart::new(x_desc, "differential entropy of y on [0, 1] (nats)")
            .log_x()
            .series_all(d.ent.iter().cloned())
            .line(RefLine::Horizontal(
                0.0,
                Some("uniform output: largest H, smallest V₂".into()),
            ))
            .legend(LegendPos::Hidden);
        let v2_chart = XyChart::new(x_desc, "information potential V₂ (Parzen)")
            .log_x()
            .log_y()
            .series_all(d.v2.iter().cloned())
            .line(RefLine::Horizontal(
                1.0,
                Some("uniform output: largest H, smallest V₂".into()),
            ))
            .legend(LegendPos::Hidden);
        // One legend for every panel, in its own column.
        let mut entries = entropy_chart.legend_entries();
        for e in v2_chart.legend_entries() {
            if !entries.iter().any(|x| x.label == e.label) {
                entries.push(e);
            }
        }
        let (lw, _) = plot::legend_size(&rows[0], &entries, 1, plot::LEGEND_SIZE)?;
        let (w, _) = rows[0].dim_in_pixel();
        let lw = f64::from(lw + 20);
        let rest = (f64::from(w) - lw).max(2.0);
        let top = plot::split_cols(&rows[0], &[rest / 2.0, rest / 2.0, lw])?;
        let pa = plot::layout::panel(&top[0], 0, "output entropy")?;
        entropy_chart.draw(&pa)?;
        let pb = plot::layout::panel(&top[1], 1, "quadratic information potential")?;
        v2_chart.draw(&pb)?;
        plot::draw_legend(&top[2].margin(50, 0, 4, 0), &entries, 1, plot::LEGEND_SIZE)?;

        // Final output densities (first seed), one panel per activation.
        let mid = plot::split_cols(&rows[1], &[0.5, 0.5])?;
        for (p, act) in [Activation::Sigmoid, Activation::Tanh]
            .into_iter()
            .enumerate()
        {
            let mut chart = XyChart::new(
                format!(
                    "output on [0, 1] ({})",
                    if act == Activation::Tanh {
                        "(y + 1)/2"
                    } else {
                        "y"
                    }
                ),
                "probability density",
            )
            .x_range(0.0, 1.0)
            .legend(LegendPos::Hidden);
            // A saturated unit piles its output into the edge bins; clip such spikes so that
            // the other densities stay readable, and say so.
            let cap = 5.0;
            let mut clipped = false;
            for (i, c) in d.conds.iter().enumerate() {
                if c.act != act {
                    continue;
                }
                if let Some(h) = &d.hists[i] {
                    let peak = h.density.iter().copied().fold(0.0, f64::max);
                    if peak > cap {
                        clipped = true;
                        chart = chart.note(format!("{}: peak {:.1} (clipped)", c.label, peak));
                    }
                    let mut s = Series::step(c.label.clone(), &h.edges, &h.density).color(c.color);
                    s.dashed = c.dashed;
                    chart = chart.series(s);
                }
            }
            if clipped {
                chart = chart.y_range(0.0, cap).note_pos(LegendPos::Right);
            }
            let panel = plot::layout::panel(
                &mid[p],
                2 + p,
                &format!("final outputs, {} conditions (seed 1)", act.name()),
            )?;
            chart.draw(&panel)?;
        }

        let mut table = TablePanel::new([
            "",
            "condition",
            "activation",
            "final entropy H (nats)",
            "H of the rule's target",
            "final V₂",
            "Rényi H₂ = −ln V₂",
            "rank by H",
        ])
        .align(vec![
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ]);
        let mut order: Vec<usize> = (0..d.conds.len()).collect();
        order.sort_by(|&a, &b| d.finals[b].0.total_cmp(&d.finals[a].0));
        let rank = |i: usize| order.iter().position(|&j| j == i).map_or(0, |p| p + 1);
        for (i, c) in d.conds.iter().enumerate() {
            let (h, v) = d.finals[i];
            table = table.row_colored(
                [
                    if c.dashed { "■ ╌╌" } else { "■ ━━" }.to_string(),
                    c.label.clone(),
                    c.act.name().to_string(),
                    fmt3(h),
                    d.targets[i].map_or_else(|| "–".to_string(), fmt3),
                    fmt3(v),
                    fmt3(-v.ln()),
                    rank(i).to_string(),
                ],
                vec![Some(c.color), None, None, None, None, None, None, None],
            );
        }
        let pe = plot::layout::panel(&rows[2], 4, "after adaptation (mean over seeds)")?;
        table.draw(&pe)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bn_output_is_standardised_per_batch() {
        let x: Vec<f64> = (0..120).map(|i| 5.0 + f64::from(i % 7)).collect();
        let y = bn_outputs(&x, Activation::Identity, 60, 0.0);
        for b in y.chunks(60) {
            let m: f64 = b.iter().sum::<f64>() / 60.0;
            let v: f64 = b.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / 60.0;
            assert!(m.abs() < 1e-12 && (v - 1.0).abs() < 1e-12, "{m} {v}");
        }
    }

    #[test]
    fn every_registered_rule_is_a_condition() {
        let c = conditions();
        for r in registry::default_rules() {
            assert!(
                c.iter()
                    .any(|c| c.label.starts_with(&format!("ip:{}", r.id()))),
                "{}",
                r.id()
            );
        }
    }
}
