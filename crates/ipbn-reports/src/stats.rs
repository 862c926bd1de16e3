//! Statistics for figures: what a figure may say about its runs.
//!
//! Every network figure compares conditions over the same seeds (same initial weights, same
//! batch order), so the comparisons here are **paired**: for each seed the difference of the
//! two conditions, then a 95 % confidence interval of the mean difference. A finding calls one
//! condition higher or lower than another only when that interval excludes 0
//! ([`Paired::direction`]); otherwise it says that no difference was detected at that `n`
//! ([`Paired::sentence`]).
//!
//! * [`mean_ci`]: mean and Student-t 95 % interval over seeds (the default for roughly
//!   symmetric metrics such as accuracy).
//! * [`bootstrap_ci`]: percentile-bootstrap interval of the mean, for skewed metrics (gradient
//!   norms, ratios), with its own seeded ChaCha generator so the interval is reproducible.
//! * [`paired`] / [`paired_bootstrap`]: the paired difference `a − b` over the seeds where
//!   both runs have a finite value; seeds where either does not (diverged, collapsed) are
//!   counted in [`Paired::excluded`], never averaged in.
//! * [`Verdict`]: one claim of a source with a computed verdict and its evidence, collected by
//!   `ipbn reproduce` into `verdicts.json` and the table that opens `reports/README.md`.
//!
//! Sums run over values in the order given, so every number is deterministic.

use ndarray_rand::rand::Rng;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of every interval in the figures.
pub const LEVEL: f64 = 0.95;

/// Bootstrap resamples used by [`bootstrap_ci`] and [`paired_bootstrap`].
pub const BOOTSTRAP_RESAMPLES: usize = 4000;

/// How an interval was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiMethod {
    /// Mean ± t(0.975, n − 1) · s / √n.
    StudentT,
    /// 2.5 and 97.5 percentiles of the means of [`BOOTSTRAP_RESAMPLES`] resamples.
    Bootstrap,
}

/// A mean over seeds with its 95 % confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// Number of finite values it rests on.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator; 0 when n = 1).
    pub sd: f64,
    /// Lower end of the interval (NaN when n < 2: no interval from one value).
    pub lo: f64,
    /// Upper end of the interval (NaN when n < 2).
    pub hi: f64,
    /// How the interval was computed.
    pub method: CiMethod,
}

impl Estimate {
    /// Whether the interval exists and lies wholly above (`Some(true)`) or below
    /// (`Some(false)`) `x`; `None` if it contains `x` or does not exist.
    pub fn excludes(&self, x: f64) -> Option<bool> {
        if !(self.lo.is_finite() && self.hi.is_finite()) {
            None
        } else if self.lo > x {
            Some(true)
        } else if self.hi < x {
            Some(false)
        } else {
            None
        }
    }

    /// `mean [lo, hi]` with each number formatted by `fmt`, or `mean (n = 1, no interval)`.
    pub fn text(&self, fmt: &dyn Fn(f64) -> String) -> String {
        if self.lo.is_finite() && self.hi.is_finite() {
            format!(
                "{} (95 % CI {} to {})",
                fmt(self.mean),
                fmt(self.lo),
                fmt(self.hi)
            )
        } else {
            format!("{} (n = {}, no interval)", fmt(self.mean), self.n)
        }
    }
}

/// The two-sided 95 % Student-t quantile t(0.975, df) for `df ≥ 1` degrees of freedom.
pub fn t_quantile(df: usize) -> f64 {
    // statrs only fails for a non-positive scale or degrees of freedom, excluded here.
    match StudentsT::new(0.0, 1.0, df.max(1) as f64) {
        Ok(t) => t.inverse_cdf(0.5 + LEVEL / 2.0),
        Err(_) => f64::NAN,
    }
}

fn finite(values: &[f64]) -> Vec<f64> {
    values.iter().copied().filter(|v| v.is_finite()).collect()
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 {
        (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (mean, sd)
}

/// Mean and Student-t 95 % interval of the finite values of `values` (non-finite ones are
/// left out and not counted in `n`); `None` if no value is finite.
pub fn mean_ci(values: &[f64]) -> Option<Estimate> {
    let v = finite(values);
    if v.is_empty() {
        return None;
    }
    let (mean, sd) = mean_sd(&v);
    let (lo, hi) = if v.len() < 2 {
        (f64::NAN, f64::NAN)
    } else {
        let h = t_quantile(v.len() - 1) * sd / (v.len() as f64).sqrt();
        (mean - h, mean + h)
    };
    Some(Estimate {
        n: v.len(),
        mean,
        sd,
        lo,
        hi,
        method: CiMethod::StudentT,
    })
}

/// Mean and percentile-bootstrap 95 % interval of the finite values of `values`, resampled
/// with a ChaCha generator seeded by `seed`; `None` if no value is finite.
pub fn bootstrap_ci(values: &[f64], seed: u64) -> Option<Estimate> {
    let v = finite(values);
    if v.is_empty() {
        return None;
    }
    let (mean, sd) = mean_sd(&v);
    let (lo, hi) = if v.len() < 2 {
        (f64::NAN, f64::NAN)
    } else {
        let mut rng = ipbn_math::seed::rng(seed);
        let n = v.len();
        let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
            .map(|_| (0..n).map(|_| v[rng.random_range(0..n)]).sum::<f64>() / n as f64)
            .collect();
        means.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let pos = p * (means.len() - 1) as f64;
            let (i, f) = (pos.floor() as usize, pos - pos.floor());
            means[i] + f * (means[(i + 1).min(means.len() - 1)] - means[i])
        };
        (q((1.0 - LEVEL) / 2.0), q(0.5 + LEVEL / 2.0))
    };
    Some(Estimate {
        n: v.len(),
        mean,
        sd,
        lo,
        hi,
        method: CiMethod::Bootstrap,
    })
}

/// Which way a paired comparison came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// The interval of `a − b` lies above 0.
    Higher,
    /// The interval of `a − b` lies below 0.
    Lower,
    /// The interval contains 0, or there is none (fewer than two usable seeds).
    NoDifference,
}

/// The paired difference `a − b` of two conditions over the same seeds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Paired {
    /// The mean difference and its interval, over the seeds where both values are finite.
    pub diff: Estimate,
    /// Mean of `a` over those seeds.
    pub a_mean: f64,
    /// Mean of `b` over those seeds.
    pub b_mean: f64,
    /// Seeds left out because either value was not finite (a run that diverged, say).
    pub excluded: usize,
}

fn pairs(a: &[f64], b: &[f64]) -> (Vec<f64>, Vec<f64>, usize) {
    let mut xa = Vec::new();
    let mut xb = Vec::new();
    let n = a.len().min(b.len());
    for i in 0..n {
        if a[i].is_finite() && b[i].is_finite() {
            xa.push(a[i]);
            xb.push(b[i]);
        }
    }
    let excluded = a.len().max(b.len()) - xa.len();
    (xa, xb, excluded)
}

fn paired_with(a: &[f64], b: &[f64], ci: &dyn Fn(&[f64]) -> Option<Estimate>) -> Option<Paired> {
    let (xa, xb, excluded) = pairs(a, b);
    let d: Vec<f64> = xa.iter().zip(&xb).map(|(x, y)| x - y).collect();
    let diff = ci(&d)?;
    Some(Paired {
        diff,
        a_mean: xa.iter().sum::<f64>() / xa.len() as f64,
        b_mean: xb.iter().sum::<f64>() / xb.len() as f64,
        excluded,
    })
}

/// The paired difference `a[i] − b[i]` (seed `i` in both) with a Student-t interval; `None`
/// if no seed has both values finite.
pub fn paired(a: &[f64], b: &[f64]) -> Option<Paired> {
    paired_with(a, b, &mean_ci)
}

/// As [`paired`], with a percentile-bootstrap interval (for skewed metrics).
pub fn paired_bootstrap(a: &[f64], b: &[f64], seed: u64) -> Option<Paired> {
    paired_with(a, b, &|d| bootstrap_ci(d, seed))
}

impl Paired {
    /// Higher, lower, or no difference detected, from whether the interval excludes 0.
    pub fn direction(&self) -> Direction {
        match self.diff.excludes(0.0) {
            Some(true) => Direction::Higher,
            Some(false) => Direction::Lower,
            None => Direction::NoDifference,
        }
    }

    /// One sentence on `a` against `b` for `metric`, e.g. "bn's final accuracy is higher
    /// than plain's by 1.2 points (95 % CI 0.8 to 1.6; paired over 5 seeds)" or "no
    /// difference detected in final accuracy between X and Y (Δ = 0.1, 95 % CI −0.3 to 0.5;
    /// n = 5)". `fmt` formats a difference with its unit.
    pub fn sentence(&self, a: &str, b: &str, metric: &str, fmt: &dyn Fn(f64) -> String) -> String {
        let d = &self.diff;
        let ci = if d.lo.is_finite() {
            format!("95 % CI {} to {}", fmt(d.lo), fmt(d.hi))
        } else {
            "no interval".to_string()
        };
        let excl = if self.excluded > 0 {
            format!(
                "; {} seed{} without a value left out",
                self.excluded,
                if self.excluded == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        };
        match self.direction() {
            Direction::Higher | Direction::Lower => format!(
                "{a}'s {metric} is {} than {b}'s by {} ({ci}; paired over {} seeds{excl})",
                if self.direction() == Direction::Higher {
                    "higher"
                } else {
                    "lower"
                },
                fmt(d.mean.abs()),
                d.n
            ),
            Direction::NoDifference => format!(
                "no difference detected in {metric} between {a} and {b} (Δ = {}, {ci}; n = {}{excl})",
                fmt(d.mean),
                d.n
            ),
        }
    }
}

/// The verdict on one claim of a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    /// Every test of the claim supports it, each with an interval excluding no effect.
    Reproduced,
    /// Some tests support it and others do not (or only under some settings).
    Partly,
    /// No test supports it: no effect detected, or an effect the other way.
    NotReproduced,
}

impl VerdictKind {
    /// The verdict as written in `verdicts.json` and the table.
    pub fn as_str(&self) -> &'static str {
        match self {
            VerdictKind::Reproduced => "reproduced",
            VerdictKind::Partly => "partly",
            VerdictKind::NotReproduced => "not-reproduced",
        }
    }

    /// The verdict from how many of `total` tests of a claim support it.
    pub fn from_counts(supported: usize, total: usize) -> VerdictKind {
        if total > 0 && supported == total {
            VerdictKind::Reproduced
        } else if supported > 0 {
            VerdictKind::Partly
        } else {
            VerdictKind::NotReproduced
        }
    }
}

/// One claim of a source with the verdict the runs give it.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Verdict {
    /// Stable id, e.g. `ioffe2015-bn-trains-faster`.
    pub id: String,
    /// The source, e.g. `Ioffe & Szegedy 2015`.
    pub source: String,
    /// The claim in a sentence.
    pub claim: String,
    /// The verdict.
    pub verdict: VerdictKind,
    /// The numbers it rests on, with their intervals and `n`.
    pub evidence: String,
    /// The figure whose runs gave the evidence.
    pub figure: String,
    /// What the protocol assumed where the source is silent.
    pub protocol_assumed: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Two-sided 95 % quantiles from standard tables.
        for (df, t) in [(1, 12.7062), (4, 2.7764), (9, 2.2622), (29, 2.0452)] {
            assert!(
                (t_quantile(df) - t).abs() < 1e-4,
                "df {df}: {}",
                t_quantile(df)
            );
        }
    }

    #[test]
    fn mean_ci_of_known_values() {
        let e = mean_ci(&[1.0, 2.0, 3.0, 4.0, 5.0, f64::NAN]).unwrap();
        assert_eq!(e.n, 5);
        assert_eq!(e.mean, 3.0);
        let sd = 2.5f64.sqrt();
        assert!((e.sd - sd).abs() < 1e-12);
        let h = 2.776_445_105 * sd / 5f64.sqrt();
        assert!((e.lo - (3.0 - h)).abs() < 1e-6 && (e.hi - (3.0 + h)).abs() < 1e-6);
        let one = mean_ci(&[7.0]).unwrap();
        assert!(one.lo.is_nan() && one.excludes(0.0).is_none());
        assert!(mean_ci(&[f64::NAN]).is_none());
    }

    #[test]
    fn paired_detects_a_consistent_shift_that_unpaired_spread_hides() {
        // Seeds differ a lot; the condition adds 0.01 to each.
        let b = [0.50, 0.70, 0.90, 0.60, 0.80];
        let a: Vec<f64> = b
            .iter()
            .zip([0.011, 0.009, 0.010, 0.012, 0.008])
            .map(|(x, d)| x + d)
            .collect();
        let p = paired(&a, &b).unwrap();
        assert_eq!(p.direction(), Direction::Higher);
        assert!((p.diff.mean - 0.01).abs() < 1e-12);
        assert!(p
            .sentence("a", "b", "accuracy", &|x| format!("{x:.3}"))
            .starts_with("a's accuracy is higher than b's by 0.010"));
        // Opposite signs across seeds: no difference detected.
        let c = [0.51, 0.69, 0.91, 0.59, 0.80];
        let q = paired(&c, &b).unwrap();
        assert_eq!(q.direction(), Direction::NoDifference);
        assert!(q
            .sentence("c", "b", "accuracy", &|x| format!("{x:.3}"))
            .starts_with("no difference detected"));
    }

    #[test]
    fn diverged_seeds_are_excluded_and_counted() {
        let a = [1.0, f64::NAN, 3.0, 4.0];
        let b = [0.5, 1.0, 2.5, f64::INFINITY];
        let p = paired(&a, &b).unwrap();
        assert_eq!((p.diff.n, p.excluded), (2, 2));
        assert_eq!(p.diff.mean, 0.5);
        assert!(p
            .sentence("a", "b", "x", &|x| format!("{x}"))
            .contains("2 seeds without a value left out"));
    }

    #[test]
    fn bootstrap_is_reproducible_and_brackets_the_mean() {
        let v = [1.0, 1.5, 2.0, 10.0, 1.2, 0.9, 1.1];
        let a = bootstrap_ci(&v, 3).unwrap();
        let b = bootstrap_ci(&v, 3).unwrap();
        assert_eq!(a, b);
        assert!(a.lo < a.mean && a.mean < a.hi);
        // The skewed sample's interval reaches further above the mean than below it.
        assert!(a.hi - a.mean > a.mean - a.lo);
        let p = paired_bootstrap(&v, &[0.0; 7], 3).unwrap();
        assert_eq!(p.direction(), Direction::Higher);
    }

    #[test]
    fn verdicts_from_counts() {
        assert_eq!(VerdictKind::from_counts(3, 3), VerdictKind::Reproduced);
        assert_eq!(VerdictKind::from_counts(1, 3), VerdictKind::Partly);
        assert_eq!(VerdictKind::from_counts(0, 3), VerdictKind::NotReproduced);
        assert_eq!(VerdictKind::from_counts(0, 0), VerdictKind::NotReproduced);
        assert_eq!(
            serde_json::to_value(VerdictKind::NotReproduced).unwrap(),
            "not-reproduced"
        );
    }
}
