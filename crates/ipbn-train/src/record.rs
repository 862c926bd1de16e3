//! The metrics recorder: test accuracy and the probe measurements taken at each eval point.
//!
//! The probe batch is the first `probe_size` samples of the test set, run in inference mode
//! (BN with its running estimates, IP frozen), so every record measures the same inputs and
//! recording never changes the training trajectory. All buffers are allocated once per run;
//! recording costs about one pass over the test set per record.

use crate::config::TrainConfig;
use crate::data::Split;
use crate::error::Result;
use crate::mlp::{Mlp, Workspace};
use crate::result::{finite, IpSummary, Record, Summary, UnitPercentiles};
use ipbn_neurons::Mode;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2};

/// Rows per inference pass over the test set.
pub const EVAL_CHUNK: usize = 500;

/// Measures a network at eval points.
pub(crate) struct Recorder {
    probe_x: Array2<f32>,
    ws: Workspace<f32>,
    units: Vec<usize>,
    percentiles: Vec<f64>,
    column: Vec<f64>,
    standardised: Vec<Array2<f64>>,
    corr: Vec<Array2<f64>>,
    valid: Vec<bool>,
}

impl Recorder {
    pub(crate) fn new(net: &Mlp<f32>, data: &Split, cfg: &TrainConfig) -> Self {
        let p = cfg.probe_size.min(data.test.len());
        let probe_x = data.test.inputs.slice(s![..p, ..]).to_owned();
        let cap = EVAL_CHUNK.max(p).min(data.test.len().max(p));
        let widths: Vec<usize> = (0..net.depth()).map(|l| net.width(l)).collect();
        Recorder {
            probe_x,
            ws: net.workspace(cap, false),
            units: cfg.probe_units.clone(),
            percentiles: cfg.percentiles.clone(),
            column: Vec::with_capacity(p),
            standardised: widths.iter().map(|&w| Array2::zeros((p, w))).collect(),
            corr: widths.iter().map(|&w| Array2::zeros((w, w))).collect(),
            valid: Vec::with_capacity(widths.iter().copied().max().unwrap_or(0)),
        }
    }

    /// Probe samples.
    pub(crate) fn probe_samples(&self) -> usize {
        self.probe_x.nrows()
    }

    /// Test accuracy of `net` in inference mode.
    pub(crate) fn test_accuracy(&mut self, net: &mut Mlp<f32>, data: &Split) -> Result<f64> {
        let correct =
            net.count_correct(data.test.inputs.view(), &data.test.labels, &mut self.ws)?;
        Ok(correct as f64 / data.test.len() as f64)
    }

    /// A full record at `step`.
    pub(crate) fn record(
        &mut self,
        net: &mut Mlp<f32>,
        data: &Split,
        step: usize,
        train_loss: Option<f64>,
        with_grads: bool,
    ) -> Result<Record> {
        let test_accuracy = finite(self.test_accuracy(net, data)?);
        let grad_norms = if with_grads {
            net.weight_grad_norms().into_iter().map(finite).collect()
        } else {
            vec![None; net.depth() + 1]
        };
        let weight_norms = weight_norms(net);
        net.forward(self.probe_x.view(), Mode::Eval, &mut self.ws)?;
        net.fill_activation_inputs(&mut self.ws);
        let act = net.activation();
        let depth = net.depth();
        let mut mean_slope = Vec::with_capacity(depth);
        let mut correlation = Vec::with_capacity(depth);
        let mut ip = Vec::with_capacity(depth);
        for l in 0..depth {
            let u = net.activation_input(l, &self.ws);
            let sum: f64 = u.iter().map(|&v| act.df(v as f64)).sum();
            mean_slope.push(finite(sum / u.len() as f64));
            correlation.push(mean_abs_correlation(
                &mut self.standardised[l],
                &mut self.corr[l],
                &mut self.valid,
                self.ws.hidden_output(l),
            ));
            ip.push(net.ip_gain_bias(l).map(|(a, k)| IpSummary {
                alpha: Summary::of(a.iter().map(|&v| v as f64)),
                k: Summary::of(k.iter().map(|&v| v as f64)),
            }));
        }
        let mut unit_inputs = Vec::with_capacity(self.units.len());
        if depth > 0 {
            let u = net.activation_input(depth - 1, &self.ws);
            for &unit in &self.units {
                self.column.clear();
                self.column.extend(u.column(unit).iter().map(|&v| v as f64));
                let values = match ipbn_math::percentiles(&self.column, &self.percentiles) {
                    Ok(q) => q.into_iter().map(finite).collect(),
                    Err(_) => vec![None; self.percentiles.len()],
                };
                unit_inputs.push(UnitPercentiles { unit, values });
            }
        }
        Ok(Record {
            step,
            train_loss,
            test_accuracy,
            grad_norms,
            weight_norms,
            mean_slope,
            correlation,
            unit_inputs,
            ip,
        })
    }
}

/// Frobenius norm of each layer's weight matrix (hidden layers first, output last): the
/// parameters named `*.w` of [`Mlp::param_names`], in order.
fn weight_norms(net: &mut Mlp<f32>) -> Vec<Option<f64>> {
    let names = net.param_names();
    net.params_mut()
        .iter()
        .zip(&names)
        .filter(|(_, n)| n.ends_with(".w"))
        .map(|(p, _)| finite(p.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt()))
        .collect()
}

/// Mean |Pearson correlation| over the pairs of non-constant units of `y` (rows are probe
/// samples), computed as one product of the standardised matrix `z` with itself into `c`.
fn mean_abs_correlation(
    z: &mut Array2<f64>,
    c: &mut Array2<f64>,
    valid: &mut Vec<bool>,
    y: ArrayView2<'_, f32>,
) -> Option<f64> {
    let n = y.nrows();
    valid.clear();
    for (j, col) in y.columns().into_iter().enumerate() {
        let mean = col.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = col.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        let ok = var.is_finite() && var > 0.0;
        valid.push(ok);
        let scale = if ok {
            1.0 / (var * n as f64).sqrt()
        } else {
            0.0
        };
        for (zi, &v) in z.column_mut(j).iter_mut().zip(col.iter()) {
            *zi = if ok { (v as f64 - mean) * scale } else { 0.0 };
        }
    }
    general_mat_mul(1.0, &z.t(), &*z, 0.0, c);
    let w = c.nrows();
    let (mut sum, mut pairs) = (0.0f64, 0usize);
    for i in 0..w {
        if !valid[i] {
            continue;
        }
        for j in i + 1..w {
            if valid[j] {
                sum += c[[i, j]].abs().min(1.0);
                pairs += 1;
            }
        }
    }
    if pairs == 0 {
        None
    } else {
        finite(sum / pairs as f64)
    }
}
