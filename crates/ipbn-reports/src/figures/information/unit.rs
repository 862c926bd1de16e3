//! One unit of `information`: its conditions, a run over adaptation time, the output range
//! it is measured on, and how each run ended.

use super::InformationConfig;
use crate::plot::{self, palette};
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
use std::sync::Arc;

/// How a condition sets α and k.
#[derive(Clone, Debug)]
pub(super) enum Adapt {
    None,
    Rule(Arc<dyn IpRule>),
    Bn,
}

/// One condition: an adaptation and an activation.
#[derive(Clone, Debug)]
pub(super) struct Condition {
    pub label: String,
    pub adapt: Adapt,
    pub act: Activation,
    pub color: RGBColor,
    pub dashed: bool,
}

/// Every condition, registry rules included, in a fixed order.
pub(super) fn conditions() -> Vec<Condition> {
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

/// The bounded output range of an activation (`None` for an unbounded one such as softplus,
/// whose outputs are measured on `[0, their largest value]`).
pub(super) fn bounded_range(act: Activation) -> Option<(f64, f64)> {
    match act {
        Activation::Sigmoid => Some((0.0, 1.0)),
        Activation::Tanh => Some((-1.0, 1.0)),
        _ => None,
    }
}

/// The range `y` is measured on: the activation's own range, or `[min(0, min y), max y]`
/// for an unbounded activation.
pub(super) fn fit_range(act: Activation, y: &[f64]) -> (f64, f64) {
    bounded_range(act).unwrap_or_else(|| {
        let lo = y.iter().copied().fold(0.0, f64::min);
        let hi = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, if hi > lo { hi } else { lo + 1.0 })
    })
}

/// How one run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fate {
    /// At the averaged rule's fixed point with α > 0 (see [`classify`]), or a condition
    /// without a rule.
    Target,
    /// Settled with α < 0: the mirror image of the intended fixed point.
    Mirror,
    /// Finite, α > 0, but not at the target's entropy.
    Elsewhere,
    /// α or k became non-finite.
    Diverged,
}

impl Fate {
    /// Every outcome, in the order counts are written.
    pub(super) const ALL: [Fate; 4] = [Fate::Target, Fate::Mirror, Fate::Elsewhere, Fate::Diverged];

    /// Its name in the finding, the legend and the tidy data.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Fate::Target => "at target",
            Fate::Mirror => "mirror (α < 0)",
            Fate::Elsewhere => "elsewhere",
            Fate::Diverged => "diverged",
        }
    }
}

/// Measurements of one (condition, input, seed) run at the record steps.
#[derive(Clone, Debug)]
pub(super) struct Measured {
    pub entropy: Vec<f64>,
    pub v2: Vec<f64>,
    pub alpha_end: f64,
    pub k_end: f64,
    pub fate: Fate,
    /// Histogram density of the final outputs on their range.
    pub final_hist: Option<plot::Histogram>,
}

impl Measured {
    /// Final entropy (nats, on the output's range).
    pub(super) fn h(&self) -> f64 {
        self.entropy.last().copied().unwrap_or(f64::NAN)
    }

    /// Final Rényi quadratic entropy −ln V₂.
    pub(super) fn h2(&self) -> f64 {
        -self.v2.last().copied().unwrap_or(f64::NAN).ln()
    }
}

/// Entropy and V₂ of the outputs `y` measured on `(lo, hi)`: the histogram differential
/// entropy, and the Parzen V₂ with the kernel width `kernel_sigma` relative to the range
/// (V₂ of y is that of (y − lo)/(hi − lo) divided by hi − lo). Non-finite outputs make both
/// NaN.
pub(super) fn measure(y: &[f64], (lo, hi): (f64, f64), cfg: &InformationConfig) -> (f64, f64) {
    if y.iter().any(|v| !v.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    let h = differential_entropy_hist(y, cfg.bins, lo, hi).unwrap_or(f64::NAN);
    let w = hi - lo;
    let n = cfg.parzen_samples.min(y.len());
    let z: Vec<f64> = y[..n].iter().map(|v| (v - lo) / w).collect();
    let v = information_potential(&z, cfg.kernel_sigma).unwrap_or(f64::NAN) / w;
    (h, v)
}

/// BN standardisation of `x` in consecutive batches of `batch` (the last, short batch joins
/// the previous one), then θ.
pub(super) fn bn_outputs(x: &[f64], act: Activation, batch: usize, eps: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    let nb = (x.len() / batch).max(1);
    for b in 0..nb {
        let lo = b * batch;
        let hi = if b + 1 == nb { x.len() } else { lo + batch };
        let chunk = &x[lo..hi];
        let (mean, var) = mean_var(ArrayView1::from(chunk)).unwrap_or((f64::NAN, f64::NAN));
        let (alpha, k) = bn_to_ip(mean, var, eps);
        out.extend(chunk.iter().map(|&xi| act.f(alpha * xi + k)));
    }
    out
}

/// Differential entropy (nats) of a KL rule's target density on its activation's output
/// scale, by Simpson's rule (an unbounded range is integrated over (0, 200)).
pub(super) fn target_entropy(rule: &dyn IpRule) -> Option<f64> {
    let t = rule.target()?;
    let (lo, hi) = bounded_range(rule.activation()).unwrap_or((0.0, 200.0));
    let n = 200_000;
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
    let v = acc * h / 3.0;
    v.is_finite().then_some(v)
}

/// Whether a KL rule maximises entropy on its bounded range (its target is the uniform
/// density: target entropy = ln of the range's width): an infomax rule.
pub(super) fn is_infomax(rule: &dyn IpRule) -> bool {
    match (bounded_range(rule.activation()), target_entropy(rule)) {
        (Some((lo, hi)), Some(t)) => (t - (hi - lo).ln()).abs() < 1e-3,
        _ => false,
    }
}

/// One run of condition `c` on `input`.
pub(super) fn run_one(
    c: &Condition,
    input: &InputDist,
    cfg: &InformationConfig,
    record_at: &[usize],
    target: Option<f64>,
    seed: u64,
) -> Measured {
    // The same evaluation inputs for every condition of a seed and input.
    let mut erng = ipbn_math::seed::rng(derive_seed(seed, 0));
    let xs: Vec<f64> = (0..cfg.eval_samples)
        .map(|_| input.sample(&mut erng))
        .collect();
    let outputs =
        |alpha: f64, k: f64| -> Vec<f64> { xs.iter().map(|&x| c.act.f(alpha * x + k)).collect() };
    let hist = |y: &[f64]| {
        let r = fit_range(c.act, y);
        plot::histogram_density(y, cfg.bins, Some(r))
    };
    let at = |y: &[f64]| measure(y, fit_range(c.act, y), cfg);
    let n = record_at.len();
    match &c.adapt {
        Adapt::None => {
            let y = outputs(1.0, 0.0);
            let (h, v) = at(&y);
            Measured {
                entropy: vec![h; n],
                v2: vec![v; n],
                alpha_end: 1.0,
                k_end: 0.0,
                fate: Fate::Target,
                final_hist: hist(&y),
            }
        }
        Adapt::Bn => {
            let y = bn_outputs(&xs, c.act, cfg.bn_batch, cfg.bn_eps);
            let (h, v) = at(&y);
            let (m, var) = mean_var(ArrayView1::from(&xs[..])).unwrap_or((f64::NAN, f64::NAN));
            let (a, k) = bn_to_ip(m, var, cfg.bn_eps);
            Measured {
                entropy: vec![h; n],
                v2: vec![v; n],
                alpha_end: a,
                k_end: k,
                fate: Fate::Target,
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
                input,
                &sgd,
                cfg.steps,
                record_at,
                derive_seed(seed, 1),
            );
            let mut entropy = Vec::with_capacity(n);
            let mut v2 = Vec::with_capacity(n);
            for i in 0..n {
                // Records missing after a divergence are NaN.
                let (h, v) = match (traj.alpha.get(i), traj.k.get(i)) {
                    (Some(&a), Some(&k)) => at(&outputs(a, k)),
                    _ => (f64::NAN, f64::NAN),
                };
                entropy.push(h);
                v2.push(v);
            }
            let (alpha_end, k_end) = traj.last();
            let h_end = entropy.last().copied().unwrap_or(f64::NAN);
            let fate = if traj.diverged_at.is_some() || !h_end.is_finite() {
                Fate::Diverged
            } else if alpha_end < 0.0 {
                Fate::Mirror
            } else if target.is_none_or(|t| (h_end - t).abs() <= cfg.target_tolerance) {
                // Provisional: [`classify`] checks it against the averaged rule's fixed point.
                Fate::Target
            } else {
                Fate::Elsewhere
            };
            let final_hist = if fate == Fate::Diverged {
                None
            } else {
                hist(&outputs(alpha_end, k_end))
            };
            Measured {
                entropy,
                v2,
                alpha_end,
                k_end,
                fate,
                final_hist,
            }
        }
    }
}

/// The fixed point (α*, k*) with α* > 0 of the averaged rule on `input`, by Newton from each
/// of `guesses` in turn (`None` if none converges to α* > 0).
pub(super) fn target_fixed_point(
    rule: &dyn IpRule,
    act: Activation,
    input: &InputDist,
    guesses: &[(f64, f64)],
) -> Option<(f64, f64)> {
    guesses
        .iter()
        .filter(|g| g.0.is_finite() && g.0 > 0.0 && g.1.is_finite())
        .find_map(|&g| {
            ipbn_neurons::single_unit::fixed_point(rule, act, input, g)
                .ok()
                .filter(|p| p.0 > 0.0)
        })
}

/// Sets the outcome of a finite run with α > 0 from the fixed point: at the target when
/// (α, k) is within `tol` (relative Euclidean distance) of `fp`, else elsewhere. Without a
/// fixed point the provisional entropy criterion of [`run_one`] stands.
pub(super) fn classify(m: &mut Measured, fp: Option<(f64, f64)>, tol: f64) {
    if matches!(m.fate, Fate::Diverged | Fate::Mirror) {
        return;
    }
    if let Some((a, k)) = fp {
        let d = ((m.alpha_end - a).powi(2) + (m.k_end - k).powi(2)).sqrt();
        let r = (a * a + k * k).sqrt();
        m.fate = if d <= tol * r {
            Fate::Target
        } else {
            Fate::Elsewhere
        };
    }
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

    #[test]
    fn target_entropies_on_the_natural_scale() {
        for r in registry::default_rules() {
            let Some(t) = target_entropy(r.as_ref()) else {
                continue;
            };
            let desc = format!("{:?}", r.target());
            // A uniform target is the maximum on a bounded range: ln(width).
            if is_infomax(r.as_ref()) {
                let (lo, hi) = bounded_range(r.activation()).unwrap();
                assert!((t - (hi - lo).ln()).abs() < 1e-3, "{desc}");
            } else {
                assert!(t.is_finite(), "{desc}");
            }
        }
        // Exponential of mean 0.5 on (0, ∞) (softplus-exponential's target): 1 + ln 0.5.
        let sp = registry::default_rules()
            .into_iter()
            .find(|r| r.activation() == Activation::Softplus);
        if let Some(sp) = sp {
            let t = target_entropy(sp.as_ref()).unwrap();
            let mu = sp.param("mu").unwrap();
            assert!((t - (1.0 + mu.ln())).abs() < 1e-3, "{t}");
        }
    }

    #[test]
    fn measure_of_a_uniform_sample_is_ln_width() {
        let cfg = InformationConfig::quick();
        // A low-discrepancy sequence on (−1, 1): evenly spread, and so is any prefix (the
        // Parzen estimate uses the first `parzen_samples`).
        let phi = 0.5 * (5f64.sqrt() - 1.0);
        let y: Vec<f64> = (0..4000)
            .map(|i| -1.0 + 2.0 * ((i as f64 + 0.5) * phi).fract())
            .collect();
        let (h, v) = measure(&y, (-1.0, 1.0), &cfg);
        assert!((h - 2f64.ln()).abs() < 1e-3, "{h}");
        // V₂ of the uniform density on a width-2 range is 1/2 (edge effects of the kernel
        // lower it slightly).
        assert!((v - 0.5).abs() < 0.03, "{v}");
    }
}
