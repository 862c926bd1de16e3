//! Turning runs into what is drawn: mean and spread over seeds, histogram densities.

/// How the shaded band around a mean line is computed from several runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Spread {
    /// From the smallest to the largest value over the runs.
    MinMax,
    /// Mean ± one (population) standard deviation over the runs.
    Sd,
    /// The Student-t 95 % confidence interval of the mean over the runs
    /// ([`crate::stats::mean_ci`]); no band where fewer than two runs have a value.
    Ci95,
}

impl Spread {
    /// What the band is, for legends and captions.
    pub fn describe(&self) -> &'static str {
        match self {
            Spread::MinMax => "min–max band",
            Spread::Sd => "±1 sd band",
            Spread::Ci95 => "band: 95 % CI of the mean",
        }
    }
}

/// `Some(v)` if `v` is finite.
pub fn finite_or_none(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Mean, band and divergence count at each of `len` points over several runs.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// Mean over the runs whose value at this point is finite (NaN if none is).
    pub mean: Vec<f64>,
    /// Lower edge of the band (NaN if no run is finite here).
    pub lo: Vec<f64>,
    /// Upper edge of the band (NaN if no run is finite here).
    pub hi: Vec<f64>,
    /// Number of runs whose value is not finite here (diverged), or that are too short.
    pub diverged: Vec<usize>,
}

/// Summarises `runs` (each a value per point; shorter runs count as diverged where they end)
/// at `len` points: the mean over the finite values, the band chosen by `spread`, and how
/// many runs were not finite at each point. Values are summed in run order, so the result
/// is deterministic.
pub fn summarise_runs(len: usize, runs: &[Vec<f64>], spread: Spread) -> RunSummary {
    let mut out = RunSummary {
        mean: Vec::with_capacity(len),
        lo: Vec::with_capacity(len),
        hi: Vec::with_capacity(len),
        diverged: Vec::with_capacity(len),
    };
    for i in 0..len {
        let vals: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.get(i).copied().and_then(finite_or_none))
            .collect();
        let bad = runs.len() - vals.len();
        out.diverged.push(bad);
        if vals.is_empty() {
            out.mean.push(f64::NAN);
            out.lo.push(f64::NAN);
            out.hi.push(f64::NAN);
            continue;
        }
        let n = vals.len() as f64;
        let mean = vals.iter().sum::<f64>() / n;
        let (lo, hi) = match spread {
            Spread::MinMax => (
                vals.iter().copied().fold(f64::INFINITY, f64::min),
                vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
            Spread::Sd => {
                let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                let sd = var.sqrt();
                (mean - sd, mean + sd)
            }
            Spread::Ci95 => match crate::stats::mean_ci(&vals) {
                Some(e) if e.lo.is_finite() => (e.lo, e.hi),
                _ => (f64::NAN, f64::NAN),
            },
        };
        out.mean.push(mean);
        out.lo.push(lo);
        out.hi.push(hi);
    }
    out
}

/// A histogram normalised to a density (bar areas sum to the fraction of samples inside the
/// range), for drawing against a probability density.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    /// `bins + 1` increasing bin edges.
    pub edges: Vec<f64>,
    /// Density in each bin: count / (total finite samples × bin width).
    pub density: Vec<f64>,
    /// Finite samples outside the range (not in any bin).
    pub outside: usize,
    /// Non-finite samples (ignored).
    pub non_finite: usize,
}

/// Bins the finite values of `samples` into `bins` equal bins over `range` (default: the
/// finite min and max of the samples) and normalises to a density. Returns `None` if `bins`
/// is 0, there is no finite sample, or the range is empty or not finite.
pub fn histogram_density(
    samples: &[f64],
    bins: usize,
    range: Option<(f64, f64)>,
) -> Option<Histogram> {
    let finite: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    if bins == 0 || finite.is_empty() {
        return None;
    }
    let (lo, hi) = match range {
        Some(r) => r,
        None => (
            finite.iter().copied().fold(f64::INFINITY, f64::min),
            finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ),
    };
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return None;
    }
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    let mut outside = 0;
    for &v in &finite {
        if v < lo || v > hi {
            outside += 1;
            continue;
        }
        let b = (((v - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let total = finite.len() as f64;
    Some(Histogram {
        edges: (0..=bins).map(|i| lo + width * i as f64).collect(),
        density: counts.iter().map(|&c| c as f64 / (total * width)).collect(),
        outside,
        non_finite: samples.len() - finite.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_excludes_and_counts_non_finite_runs() {
        let runs = vec![vec![1.0, 2.0, f64::NAN], vec![3.0, f64::INFINITY, f64::NAN]];
        let s = summarise_runs(3, &runs, Spread::MinMax);
        assert_eq!(s.mean[0], 2.0);
        assert_eq!((s.lo[0], s.hi[0]), (1.0, 3.0));
        assert_eq!(s.mean[1], 2.0);
        assert_eq!(s.diverged, vec![0, 1, 2]);
        assert!(s.mean[2].is_nan());
        let sd = summarise_runs(1, &runs, Spread::Sd);
        assert!((sd.hi[0] - 3.0).abs() < 1e-12 && (sd.lo[0] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn histogram_integrates_to_inside_fraction() {
        let s: Vec<f64> = (0..1000)
            .map(|i| f64::from(i) / 1000.0)
            .chain([f64::NAN, 5.0])
            .collect();
        let h = histogram_density(&s, 10, Some((0.0, 1.0))).unwrap();
        let area: f64 = h.density.iter().map(|d| d * 0.1).sum();
        assert!((area - 1000.0 / 1001.0).abs() < 1e-12);
        assert_eq!((h.outside, h.non_finite), (1, 1));
        assert!(histogram_density(&[f64::NAN], 10, None).is_none());
    }
}
