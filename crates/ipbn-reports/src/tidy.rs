//! Tidy data: `ID.csv` beside each figure, one row per run, record and metric, in long
//! format (`figure, condition, seed, step, metric, value`, then the grid keys that vary
//! between the figure's runs, then `outcome`), loadable as it is by pandas
//! (`pd.read_csv`) or R (`read.csv`).
//!
//! A figure fills the `tidy` field of what its experiment produces: network figures with [`run_rows`] for
//! each run, single-unit figures with rows of their own. [`write_csv`] keeps only the key
//! columns whose value is not the same in every row, sorts nothing (rows stay in the order
//! the figure gave, which is deterministic) and writes the file atomically. Non-finite
//! values are written `NaN`, `Inf` and `-Inf`, which both readers parse as numbers.

use crate::error::ReportError;
use crate::plot::output::write_text_atomic;
use ipbn_train::{RunResult, TrainConfig};
use std::collections::BTreeSet;
use std::path::Path;

/// One measurement of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct TidyRow {
    /// Condition as drawn, e.g. `ip:triesch` or `bn`.
    pub condition: String,
    /// The run's seed.
    pub seed: u64,
    /// Training step (or adaptation step) of the measurement.
    pub step: u64,
    /// What was measured, e.g. `test_accuracy`, `grad_norm.hidden1`.
    pub metric: String,
    /// Its value.
    pub value: f64,
    /// Grid keys of the run (`lr`, `batch`, `ip_lr`, `depth`, ...), as text.
    pub keys: Vec<(String, String)>,
    /// What became of the run: `finished`, `diverged`, `collapsed`, `invalid`, ...
    pub outcome: String,
}

/// The grid keys of a network run: everything a figure may vary between runs.
pub fn config_keys(cfg: &TrainConfig) -> Vec<(String, String)> {
    vec![
        (
            "activation".into(),
            format!("{:?}", cfg.activation).to_lowercase(),
        ),
        ("depth".into(), cfg.hidden.len().to_string()),
        (
            "hidden".into(),
            cfg.hidden
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("-"),
        ),
        ("batch".into(), cfg.batch.to_string()),
        ("steps".into(), cfg.steps.to_string()),
        ("lr".into(), format!("{}", cfg.lr)),
        ("momentum".into(), format!("{}", cfg.momentum)),
        ("ip_lr".into(), format!("{}", cfg.ip_lr)),
    ]
}

/// Every measurement of a finished network run as rows: per record the test accuracy, the
/// training loss, each layer's gradient norm, each hidden layer's mean slope and mean
/// correlation, and the probe unit's input percentiles; `extra` keys are added to the
/// configuration's own (e.g. the rule parameter a grid varies).
pub fn run_rows(
    condition: &str,
    run: &RunResult,
    outcome: &str,
    extra: &[(String, String)],
) -> Vec<TidyRow> {
    let mut keys = config_keys(&run.config);
    keys.extend(extra.iter().cloned());
    let mut out = Vec::new();
    let mut push = |step: usize, metric: String, value: Option<f64>| {
        if let Some(value) = value {
            out.push(TidyRow {
                condition: condition.to_string(),
                seed: run.config.seed,
                step: step as u64,
                metric,
                value,
                keys: keys.clone(),
                outcome: outcome.to_string(),
            });
        }
    };
    for r in &run.history {
        push(r.step, "test_accuracy".into(), r.test_accuracy);
        push(r.step, "train_loss".into(), r.train_loss);
        for (name, g) in run.layers.iter().zip(&r.grad_norms) {
            push(r.step, format!("grad_norm.{name}"), *g);
        }
        for (i, s) in r.mean_slope.iter().enumerate() {
            push(r.step, format!("mean_slope.hidden{}", i + 1), *s);
        }
        for (i, c) in r.correlation.iter().enumerate() {
            push(r.step, format!("correlation.hidden{}", i + 1), *c);
        }
        for u in &r.unit_inputs {
            for (p, v) in run.probe.percentiles.iter().zip(&u.values) {
                push(r.step, format!("unit{}_input.p{}", u.unit, p), *v);
            }
        }
    }
    out
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Shortest text that reads back to the same f64.
        format!("{v:?}")
    }
}

/// Renders `rows` of figure `figure` as CSV text (see the module docs for the columns).
pub fn render_csv(figure: &str, rows: &[TidyRow]) -> Result<String, ReportError> {
    // Key columns in first-seen order, kept only if their value varies (a key missing from a
    // row counts as the empty value).
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        for (k, _) in &r.keys {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    let value_of = |r: &TidyRow, k: &str| {
        r.keys
            .iter()
            .find(|(n, _)| n == k)
            .map_or(String::new(), |(_, v)| v.clone())
    };
    names.retain(|k| {
        let distinct: BTreeSet<String> = rows.iter().map(|r| value_of(r, k)).collect();
        distinct.len() > 1
    });
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["figure", "condition", "seed", "step", "metric", "value"];
    header.extend(names.iter().map(String::as_str));
    header.push("outcome");
    let io = |e: csv::Error| ReportError::Run(format!("cannot format the tidy CSV: {e}"));
    w.write_record(&header).map_err(io)?;
    for r in rows {
        let mut rec = vec![
            figure.to_string(),
            r.condition.clone(),
            r.seed.to_string(),
            r.step.to_string(),
            r.metric.clone(),
            number(r.value),
        ];
        rec.extend(names.iter().map(|k| value_of(r, k)));
        rec.push(r.outcome.clone());
        w.write_record(&rec).map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReportError::Run(format!("cannot format the tidy CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ReportError::Run(format!("tidy CSV is not UTF-8: {e}")))
}

/// Writes `rows` of figure `figure` to `path` atomically (see [`render_csv`]).
pub fn write_csv(path: &Path, figure: &str, rows: &[TidyRow]) -> Result<(), ReportError> {
    Ok(write_text_atomic(path, &render_csv(figure, rows)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cond: &str, seed: u64, lr: &str, v: f64) -> TidyRow {
        TidyRow {
            condition: cond.into(),
            seed,
            step: 10,
            metric: "test_accuracy".into(),
            value: v,
            keys: vec![("lr".into(), lr.into()), ("batch".into(), "60".into())],
            outcome: "finished".into(),
        }
    }

    #[test]
    fn only_varying_keys_become_columns_and_values_read_back() {
        let rows = [
            row("plain", 1, "0.5", 0.912_345_678_9),
            row("bn, \"x\"", 2, "1", f64::NAN),
            row("bn", 3, "1", f64::NEG_INFINITY),
        ];
        let text = render_csv("fig", &rows).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "figure,condition,seed,step,metric,value,lr,outcome"
        );
        assert_eq!(
            lines[1],
            "fig,plain,1,10,test_accuracy,0.9123456789,0.5,finished"
        );
        // Quoted as CSV asks; non-finite values in the spelling pandas and R read.
        assert_eq!(
            lines[2],
            "fig,\"bn, \"\"x\"\"\",2,10,test_accuracy,NaN,1,finished"
        );
        assert!(lines[3].contains(",-Inf,"));
        let v: f64 = lines[1].split(',').nth(5).unwrap().parse().unwrap();
        assert_eq!(v, 0.912_345_678_9);
    }
}
