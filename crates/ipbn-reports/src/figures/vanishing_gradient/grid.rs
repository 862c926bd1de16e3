//! The sensitivity grid of `vanishing-gradient` and what each run and cell measures.
//!
//! The grid is built from the rule registry: every registered rule that runs on the
//! network's activation, its *main* parameter (the first it declares) at the default times
//! each of the configured factors (a value outside the parameter's typical range is replaced
//! by the default divided by the factor; values are rounded to 3 significant digits and
//! deduplicated), crossed with every intrinsic rate η. A rule without parameters gets one row.
//! No rule is named here: a new rule joins the grid by itself.

use super::super::common::{NetCond, Outcome};
use crate::error::ReportError;
use ipbn_math::Activation;
use ipbn_neurons::registry;
use ipbn_neurons::rules::accepts_activation;
use ipbn_train::RunResult;

/// One rule's part of the grid.
#[derive(Clone, Debug)]
pub(super) struct RuleGrid {
    /// Registry id.
    pub id: String,
    /// Name of the main parameter, if the rule has one.
    pub param: Option<String>,
    /// Its values (one NaN row for a rule without parameters), increasing.
    pub values: Vec<f64>,
    /// Cell indices, row-major: `cells[v * etas + e]`.
    pub cells: Vec<usize>,
}

/// One cell: a rule at one parameter value and one η, with a run per seed.
#[derive(Clone, Debug)]
pub(super) struct Cell {
    /// Index of its rule in the grid list.
    pub rule: usize,
    /// The parameter value (NaN without a parameter).
    pub value: f64,
    /// The intrinsic rate.
    pub eta: f64,
    /// The condition (label `ip:RULE[:p=v] η=…`).
    pub cond: NetCond,
    /// Index into the run list of each seed's run.
    pub idx: Vec<usize>,
}

/// Rounds `v` to 3 significant digits.
fn round3(v: f64) -> f64 {
    format!("{v:.2e}").parse().unwrap_or(v)
}

/// The values of a parameter with default `d` and typical range `typical` for `factors`.
pub(super) fn param_values(d: f64, typical: (f64, f64), factors: &[f64]) -> Vec<f64> {
    let inside = |v: f64| v >= typical.0 && v <= typical.1;
    let mut out: Vec<f64> = Vec::new();
    if d == 0.0 {
        // No scale to multiply: five points across the typical range.
        out.extend((0..5).map(|i| round3(typical.0 + (typical.1 - typical.0) * i as f64 / 4.0)));
    } else {
        for &f in factors {
            let v = [d * f, d / f].into_iter().map(round3).find(|&v| inside(v));
            if let Some(v) = v {
                out.push(v);
            }
        }
    }
    out.sort_by(f64::total_cmp);
    out.dedup_by(|a, b| (*a - *b).abs() <= 1e-12 * b.abs().max(1e-300));
    out
}

/// The grid for a network with `activation`: the rules, their cells (conditions only; the
/// caller assigns run indices).
pub(super) fn build(
    activation: Activation,
    etas: &[f64],
    factors: &[f64],
) -> Result<(Vec<RuleGrid>, Vec<Cell>), ReportError> {
    let mut rules = Vec::new();
    let mut cells = Vec::new();
    for id in registry::ids() {
        let Some(def) = registry::find(id) else {
            continue;
        };
        let rule = def.build_default().map_err(|e| ReportError::Train {
            context: format!("rule {id}"),
            usage: false,
            source: e.into(),
        })?;
        if !accepts_activation(rule.as_ref(), activation) {
            continue;
        }
        let (param, values) = match def.params.first() {
            Some(p) => (
                Some(p.name.to_string()),
                param_values(p.default, p.typical, factors)
                    .into_iter()
                    .filter(|&v| p.contains(v))
                    .collect(),
            ),
            None => (None, vec![f64::NAN]),
        };
        let r = rules.len();
        let mut ids = Vec::new();
        for &v in &values {
            for &eta in etas {
                let spec = match &param {
                    Some(name) => format!("ip:{id}:{name}={v}"),
                    None => format!("ip:{id}"),
                };
                let mut cond = NetCond::parse(&spec, activation)?;
                cond.label = format!("{spec} η={eta}");
                ids.push(cells.len());
                cells.push(Cell {
                    rule: r,
                    value: v,
                    eta,
                    cond,
                    idx: Vec::new(),
                });
            }
        }
        rules.push(RuleGrid {
            id: id.to_string(),
            param,
            values,
            cells: ids,
        });
    }
    Ok((rules, cells))
}

/// How one run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fate {
    /// Trained to the end.
    Finished,
    /// Loss or parameters became non-finite.
    Diverged,
    /// Reached `learned_above` at some record, then ended below `collapse_below`.
    Collapsed,
}

impl Fate {
    /// The outcome as written in the tidy data.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Fate::Finished => "finished",
            Fate::Diverged => "diverged",
            Fate::Collapsed => "collapsed",
        }
    }
}

/// What one run measured (NaN where it has no value, e.g. after diverging).
#[derive(Clone, Debug)]
pub(super) struct RunM {
    pub fate: Fate,
    /// Final test accuracy (NaN if diverged).
    pub acc: f64,
    /// Final accuracy minus that at the record nearest 3/4 of the steps.
    pub gain: f64,
    /// Geometric mean of the first layer's gradient norm over the late window.
    pub grad: f64,
    /// Geometric mean of the first layer's gradient norm over its weight norm, same window.
    pub rel: f64,
    /// Mean slope θ′ of each hidden layer at the last record.
    pub slope: Vec<f64>,
    /// Their average over layers.
    pub slope_mean: f64,
    /// Highest test accuracy over the records (NaN if diverged).
    pub peak: f64,
    /// Step of that record.
    pub peak_step: f64,
    /// Mean gain α of each hidden layer at the last record (NaN for a layer without IP).
    pub alpha: Vec<f64>,
}

/// Geometric mean of `f` over the records of `run` with step in `(from, to]`.
fn window_geo(run: &RunResult, from: f64, to: f64, f: &dyn Fn(usize) -> Option<f64>) -> f64 {
    let logs: Vec<f64> = (0..run.history.len())
        .filter(|&i| {
            let s = run.history[i].step as f64;
            s > from && s <= to
        })
        .filter_map(f)
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(f64::ln)
        .collect();
    if logs.is_empty() {
        f64::NAN
    } else {
        (logs.iter().sum::<f64>() / logs.len() as f64).exp()
    }
}

/// The measurements of one outcome (an invalid configuration counts as diverged: it has no
/// value; the trainer accepts every configuration of this figure).
pub(super) fn measure(
    o: &Outcome,
    depth: usize,
    steps: usize,
    window: f64,
    collapse_below: f64,
    learned_above: f64,
) -> RunM {
    let nan = RunM {
        fate: Fate::Diverged,
        acc: f64::NAN,
        gain: f64::NAN,
        grad: f64::NAN,
        rel: f64::NAN,
        slope: vec![f64::NAN; depth],
        slope_mean: f64::NAN,
        peak: f64::NAN,
        peak_step: f64::NAN,
        alpha: vec![f64::NAN; depth],
    };
    let Some(r) = o.result() else {
        return nan;
    };
    if r.diverged {
        return nan;
    }
    let acc = r.final_test_accuracy.unwrap_or(f64::NAN);
    let best = r
        .history
        .iter()
        .filter_map(|h| h.test_accuracy)
        .fold(f64::NEG_INFINITY, f64::max);
    let fate = if acc < collapse_below && best >= learned_above {
        Fate::Collapsed
    } else {
        Fate::Finished
    };
    let q = 0.75 * steps as f64;
    let at_q = r
        .history
        .iter()
        .min_by(|a, b| {
            (a.step as f64 - q)
                .abs()
                .total_cmp(&(b.step as f64 - q).abs())
        })
        .and_then(|h| h.test_accuracy)
        .unwrap_or(f64::NAN);
    let (from, to) = ((1.0 - window) * steps as f64, steps as f64);
    let grad = window_geo(r, from, to, &|i| {
        r.history[i].grad_norms.first().copied().flatten()
    });
    let rel = window_geo(r, from, to, &|i| {
        let h = &r.history[i];
        let g = h.grad_norms.first().copied().flatten()?;
        let w = h.weight_norms.first().copied().flatten()?;
        (w > 0.0).then_some(g / w)
    });
    let last = r.history.last();
    let slope: Vec<f64> = (0..depth)
        .map(|l| {
            last.and_then(|h| h.mean_slope.get(l).copied().flatten())
                .unwrap_or(f64::NAN)
        })
        .collect();
    let slope_mean = slope.iter().sum::<f64>() / depth.max(1) as f64;
    let (peak, peak_step) = r
        .history
        .iter()
        .filter_map(|h| h.test_accuracy.map(|a| (a, h.step as f64)))
        .fold((f64::NAN, f64::NAN), |(b, s), (a, st)| {
            if b.is_nan() || a > b {
                (a, st)
            } else {
                (b, s)
            }
        });
    let alpha: Vec<f64> = (0..depth)
        .map(|l| {
            last.and_then(|h| h.ip.get(l).cloned().flatten())
                .and_then(|ip| ip.alpha.mean)
                .unwrap_or(f64::NAN)
        })
        .collect();
    RunM {
        fate,
        acc,
        gain: acc - at_q,
        grad,
        rel,
        slope,
        slope_mean,
        peak,
        peak_step,
        alpha,
    }
}

/// Per-seed values of a group of runs (a cell or a reference condition).
#[derive(Clone, Debug)]
pub(super) struct Group {
    pub runs: Vec<RunM>,
}

impl Group {
    /// `f` of every seed's run, in seed order.
    pub(super) fn values(&self, f: impl Fn(&RunM) -> f64) -> Vec<f64> {
        self.runs.iter().map(f).collect()
    }

    /// How many runs ended as `fate`.
    pub(super) fn count(&self, fate: Fate) -> usize {
        self.runs.iter().filter(|r| r.fate == fate).count()
    }

    /// Mean of the finite values of `f` (NaN if none).
    pub(super) fn mean(&self, f: impl Fn(&RunM) -> f64) -> f64 {
        let v: Vec<f64> = self
            .values(f)
            .into_iter()
            .filter(|x| x.is_finite())
            .collect();
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    }

    /// Geometric mean of the finite positive values of `f` (NaN if none).
    pub(super) fn geo_mean(&self, f: impl Fn(&RunM) -> f64) -> f64 {
        let v: Vec<f64> = self
            .values(f)
            .into_iter()
            .filter(|x| x.is_finite() && *x > 0.0)
            .map(f64::ln)
            .collect();
        if v.is_empty() {
            f64::NAN
        } else {
            (v.iter().sum::<f64>() / v.len() as f64).exp()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_values_follow_default_and_typical_range() {
        // A default in the middle of its range: the factors as given.
        assert_eq!(
            param_values(0.1, (0.02, 5.0), &[0.5, 1.0, 2.0, 3.0, 5.0]),
            vec![0.05, 0.1, 0.2, 0.3, 0.5]
        );
        // A default at the top of its range: factors above 1 divide instead (0.333 rounded),
        // duplicates removed.
        assert_eq!(
            param_values(1.0, (0.05, 1.0), &[0.5, 1.0, 2.0, 3.0, 5.0]),
            vec![0.2, 0.333, 0.5, 1.0]
        );
        // A default of 0: five points across the typical range.
        assert_eq!(
            param_values(0.0, (-1.0, 1.0), &[2.0]),
            vec![-1.0, -0.5, 0.0, 0.5, 1.0]
        );
    }

    #[test]
    fn the_sigmoid_grid_comes_from_the_registry() {
        let (rules, cells) = build(Activation::Sigmoid, &[1e-3, 1e-1], &[1.0, 2.0]).unwrap();
        assert!(!rules.is_empty());
        for g in &rules {
            assert_eq!(g.cells.len(), g.values.len() * 2);
            for &c in &g.cells {
                assert!(cells[c]
                    .cond
                    .condition
                    .check_activation(Activation::Sigmoid)
                    .is_ok());
                assert!(cells[c].cond.label.starts_with(&format!("ip:{}", g.id)));
            }
        }
        // Every rule of the registry that runs on sigmoid is there, and no other.
        let expected: Vec<&str> = registry::ids()
            .into_iter()
            .filter(|id| {
                let r = registry::find(id).unwrap().build_default().unwrap();
                accepts_activation(r.as_ref(), Activation::Sigmoid)
            })
            .collect();
        let got: Vec<&str> = rules.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(got, expected);
    }
}
