//! The metrics recorder: test accuracy and the probe measurements taken at each eval point.
//!
//! The probe batch is the first `probe_size` samples of the test set, run in inference mode
//! (BN with its running estimates, IP frozen), so every record measures the same inputs and
//! recording never changes the training trajectory. All buffers are allocated once per run;
//! recording costs about one pass over the test set per record.
//!
//! Under `bn` the probe units' percentiles are also taken as the network sees them in
//! training ([`Record::unit_inputs_train`]): a copy of the network runs the probe batch in
//! training mode, one mini-batch of the run's batch size at a time, so each is normalised
//! with its own batch statistics; the copy is discarded, so training is unchanged.

use crate::condition::Condition;
use crate::config::TrainConfig;
use crate::data::Split;
use crate::error::Result;
use crate::mlp::{Mlp, Workspace};
use crate::result::{finite, IpSummary, Record, Summary, UnitPercentiles};
use ipbn_neurons::Mode;
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
    sd: Vec<f64>,
    train_view: Option<TrainView>,
}

/// A scratch copy of the network run in training mode on whole mini-batches of the probe.
struct TrainView {
    net: Mlp<f32>,
    ws: Workspace<f32>,
    batch: usize,
    chunks: usize,
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
            sd: Vec::with_capacity(widths.iter().copied().max().unwrap_or(0)),
            train_view: (matches!(cfg.condition, Condition::Bn) && p >= 2).then(|| {
                let batch = cfg.batch.clamp(2, p);
                TrainView {
                    net: net.clone(),
                    ws: net.workspace(batch, false),
                    batch,
                    chunks: p / batch,
                }
            }),
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
        let mut effective_rank = Vec::with_capacity(depth);
        let mut ip = Vec::with_capacity(depth);
        for l in 0..depth {
            let u = net.activation_input(l, &self.ws);
            let sum: f64 = u.iter().map(|&v| act.df(v as f64)).sum();
            mean_slope.push(finite(sum / u.len() as f64));
            correlation.push(mean_abs_correlation(
                &mut self.standardised[l],
                &mut self.corr[l],
                &mut self.valid,
                &mut self.sd,
                self.ws.hidden_output(l),
            ));
            effective_rank.push(participation_ratio(&self.corr[l], &self.valid, &self.sd));
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
        let unit_inputs_train = match (&mut self.train_view, depth) {
            (Some(tv), d) if d > 0 => tv.percentiles(
                net,
                self.probe_x.view(),
                &self.units,
                &self.percentiles,
                &mut self.column,
            )?,
            _ => Vec::new(),
        };
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
            effective_rank,
            unit_inputs_train,
        })
    }
}

impl TrainView {
    /// The percentiles of `units`' activation inputs (last hidden layer) over the probe's
    /// whole mini-batches, each run in training mode on a fresh copy of `net`.
    fn percentiles(
        &mut self,
        net: &Mlp<f32>,
        probe: ArrayView2<'_, f32>,
        units: &[usize],
        percentiles: &[f64],
        column: &mut Vec<f64>,
    ) -> Result<Vec<UnitPercentiles>> {
        self.net.clone_from(net);
        let last = self.net.depth() - 1;
        let mut cols: Vec<Vec<f64>> =
            vec![Vec::with_capacity(self.chunks * self.batch); units.len()];
        for c in 0..self.chunks {
            let rows = probe.slice(s![c * self.batch..(c + 1) * self.batch, ..]);
            self.net.forward(rows, Mode::Train, &mut self.ws)?;
            self.net.fill_activation_inputs(&mut self.ws);
            let u = self.net.activation_input(last, &self.ws);
            for (col, &unit) in cols.iter_mut().zip(units) {
                col.extend(u.column(unit).iter().map(|&v| v as f64));
            }
        }
        Ok(units
            .iter()
            .zip(cols)
            .map(|(&unit, col)| {
                column.clear();
                column.extend(col);
                let values = match ipbn_math::percentiles(column, percentiles) {
                    Ok(q) => q.into_iter().map(finite).collect(),
                    Err(_) => vec![None; percentiles.len()],
                };
                UnitPercentiles { unit, values }
            })
            .collect())
    }
}

/// The participation ratio (tr C)²/‖C‖²_F of the covariance C of a layer's outputs, from
/// the correlation matrix `c` of [`mean_abs_correlation`] and the units' standard
/// deviations `sd` (C_ij = c_ij·sd_i·sd_j; constant units contribute nothing). `None` if
/// every unit is constant.
fn participation_ratio(c: &Array2<f64>, valid: &[bool], sd: &[f64]) -> Option<f64> {
    let w = c.nrows();
    let (mut trace, mut fro2) = (0.0f64, 0.0f64);
    for i in 0..w {
        if !valid[i] {
            continue;
        }
        trace += sd[i] * sd[i];
        for j in 0..w {
            if valid[j] {
                let cij = c[[i, j]] * sd[i] * sd[j];
                fro2 += cij * cij;
            }
        }
    }
    if fro2 > 0.0 {
        finite(trace * trace / fro2)
    } else {
        None
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
/// samples), computed as one product of the standardised matrix `z` with itself into `c`;
/// leaves each unit's standard deviation (over the probe, divided by n) in `sd`.
fn mean_abs_correlation(
    z: &mut Array2<f64>,
    c: &mut Array2<f64>,
    valid: &mut Vec<bool>,
    sd: &mut Vec<f64>,
    y: ArrayView2<'_, f32>,
) -> Option<f64> {
    let n = y.nrows();
    valid.clear();
    sd.clear();
    for (j, col) in y.columns().into_iter().enumerate() {
        let mean = col.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = col.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        let ok = var.is_finite() && var > 0.0;
        valid.push(ok);
        sd.push(if ok { var.sqrt() } else { 0.0 });
        let scale = if ok {
            1.0 / (var * n as f64).sqrt()
        } else {
            0.0
        };
        for (zi, &v) in z.column_mut(j).iter_mut().zip(col.iter()) {
            *zi = if ok { (v as f64 - mean) * scale } else { 0.0 };
        }
    }
    ipbn_math::gemm(1.0, &z.t(), &*z, 0.0, c);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SyntheticData;
    use crate::DataSource;
    use ndarray::Array2;

    #[test]
    fn participation_ratio_of_known_covariances() {
        // Three independent units of equal variance: rank 3; one unit duplicated: the ratio
        // of a 2-D representation with eigenvalues (2, 1) → 9/5.
        let y = Array2::from_shape_fn((4000, 3), |(i, j)| {
            let s = [1.0f32, -1.0];
            s[(i >> j) & 1]
        });
        let (mut z, mut c) = (Array2::zeros((4000, 3)), Array2::zeros((3, 3)));
        let (mut valid, mut sd) = (Vec::new(), Vec::new());
        mean_abs_correlation(&mut z, &mut c, &mut valid, &mut sd, y.view());
        let pr = participation_ratio(&c, &valid, &sd).unwrap();
        assert!((pr - 3.0).abs() < 1e-9, "{pr}");
        let mut y2 = y.clone();
        let col0 = y2.column(0).to_owned();
        y2.column_mut(2).assign(&col0);
        mean_abs_correlation(&mut z, &mut c, &mut valid, &mut sd, y2.view());
        let pr = participation_ratio(&c, &valid, &sd).unwrap();
        assert!((pr - 9.0 / 5.0).abs() < 1e-9, "{pr}");
        // A constant unit is left out; all constant: no value.
        let flat = Array2::<f32>::ones((10, 3));
        assert!(mean_abs_correlation(&mut z, &mut c, &mut valid, &mut sd, flat.view()).is_none());
        assert!(participation_ratio(&c, &valid, &sd).is_none());
    }

    fn run(condition: &str) -> crate::RunResult {
        let split = DataSource::Synthetic(SyntheticData {
            train: 256,
            test: 200,
            features: 8,
            classes: 3,
            separation: 2.0,
            seed: 3,
        })
        .load()
        .unwrap();
        let cfg = TrainConfig {
            hidden: vec![6, 5],
            condition: condition.parse().unwrap(),
            batch: 30,
            steps: 40,
            eval_every: 20,
            probe_size: 100,
            probe_units: vec![0, 2],
            seed: 9,
            ..TrainConfig::default()
        };
        crate::trainer::run(&cfg, &split, &mut |_| {}).unwrap()
    }

    #[test]
    fn bn_records_its_training_view_and_the_others_do_not() {
        let bn = run("bn");
        let plain = run("plain");
        // Same initial weights: at step 0 the eval views agree (BN's running estimates start
        // at mean 0, variance 1), while the training view is standardised per mini-batch of
        // 30 (γ = 1, β = 0): its 15th/85th percentiles sit near ∓1, its median near 0.
        let (b0, p0) = (&bn.history[0], &plain.history[0]);
        assert_eq!(p0.unit_inputs_train, Vec::new());
        assert_eq!(b0.unit_inputs_train.len(), 2);
        for (e, t) in b0.unit_inputs.iter().zip(&b0.unit_inputs_train) {
            let v: Vec<f64> = t.values.iter().map(|v| v.unwrap()).collect();
            assert!(v[0] < -0.6 && v[0] > -1.5, "{v:?}");
            assert!(v[1].abs() < 0.5, "{v:?}");
            assert!(v[2] > 0.6 && v[2] < 1.5, "{v:?}");
            assert_ne!(e.values, t.values);
        }
        // (up to BN's ε in 1/√(1 + ε)).
        for (b, p) in b0.unit_inputs.iter().zip(&p0.unit_inputs) {
            for (x, y) in b.values.iter().zip(&p.values) {
                let (x, y) = (x.unwrap(), y.unwrap());
                assert!((x - y).abs() <= 1e-4 * y.abs().max(1e-3), "{x} vs {y}");
            }
        }
        // Every record has one effective rank per hidden layer, within [1, width].
        for r in bn.history.iter().chain(&plain.history) {
            assert_eq!(r.effective_rank.len(), 2);
            for (l, e) in r.effective_rank.iter().enumerate() {
                let e = e.unwrap();
                assert!(e >= 1.0 - 1e-9 && e <= [6.0, 5.0][l] + 1e-9, "{e}");
            }
        }
    }
}
