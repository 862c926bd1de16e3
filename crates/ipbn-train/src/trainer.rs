//! The training loop: one run of one configuration on one dataset, single-threaded and
//! deterministic (its only randomness is two ChaCha streams derived from the run's seed).
//!
//! ```no_run
//! use ipbn_train::{config::TrainConfig, trainer};
//! let cfg = TrainConfig { condition: "bn".parse().unwrap(), steps: 500, ..Default::default() };
//! let data = cfg.data.load().unwrap();
//! let result = trainer::run(&cfg, &data, &mut |_| {}).unwrap();
//! println!("{:?}", result.final_test_accuracy);
//! ```

use crate::config::{CheckedConfig, ParamGuard, TrainConfig};
use crate::data::{Dataset, Split};
use crate::error::{Result, TrainError};
use crate::mlp::{Mlp, MlpSpec};
use crate::record::Recorder;
use crate::result::{finite, ProbeInfo, RunResult};
use ipbn_math::seed::stream_rng;
use ndarray::Array2;
use ndarray_rand::rand::RngCore;
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicBool, Ordering};

/// Seed stream of the initial weights.
pub const STREAM_WEIGHTS: u64 = 0;
/// Seed stream of the mini-batch order.
pub const STREAM_BATCHES: u64 = 1;

/// Where a run is, passed to the progress callback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Steps done.
    pub step: usize,
    /// Steps in the run.
    pub steps: usize,
    /// Mean training loss since the last record (`None` before the first step).
    pub train_loss: Option<f64>,
    /// Test accuracy at the latest record.
    pub test_accuracy: Option<f64>,
}

/// Draws mini-batches without replacement, reshuffling the training set at each epoch
/// (Fisher–Yates on the run's batch stream).
struct Sampler {
    order: Vec<usize>,
    pos: usize,
    rng: ChaCha8Rng,
}

/// A uniform integer in `0..n` from one 64-bit draw (Lemire's multiply-shift; the bias is
/// below n/2⁶⁴, negligible for any dataset). Written out so the batch order does not depend
/// on the `rand` version's sampling algorithms.
fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

impl Sampler {
    fn new(n: usize, rng: ChaCha8Rng) -> Self {
        let mut s = Sampler {
            order: (0..n).collect(),
            pos: 0,
            rng,
        };
        s.shuffle();
        s
    }

    fn shuffle(&mut self) {
        for i in (1..self.order.len()).rev() {
            let j = below(&mut self.rng, i + 1);
            self.order.swap(i, j);
        }
        self.pos = 0;
    }

    fn fill(&mut self, data: &Dataset, x: &mut Array2<f32>, y: &mut [u8]) {
        let src = data
            .inputs
            .as_slice()
            .expect("dataset inputs are in standard layout");
        let f = data.inputs.ncols();
        let dst = x
            .as_slice_mut()
            .expect("batch buffer is in standard layout");
        for (r, label) in y.iter_mut().enumerate() {
            if self.pos == self.order.len() {
                self.shuffle();
            }
            let i = self.order[self.pos];
            self.pos += 1;
            dst[r * f..(r + 1) * f].copy_from_slice(&src[i * f..(i + 1) * f]);
            *label = data.labels[i];
        }
    }
}

/// Builds the f32 network a config describes for data with `inputs` features and `classes`
/// classes, drawing its weights from the config's weight stream.
pub fn build_network(cfg: &TrainConfig, inputs: usize, classes: usize) -> Result<Mlp<f32>> {
    let spec = MlpSpec {
        inputs,
        hidden: cfg.hidden.clone(),
        classes,
        activation: cfg.activation,
        kind: cfg.condition.layer_kind(cfg.ip_lr),
        init: cfg.init,
    };
    Mlp::new(&spec, &mut stream_rng(cfg.seed, STREAM_WEIGHTS))
}

/// Trains one network as configured on `data` and returns its result. `progress` is called
/// about 200 times over the run and at every record. A run that diverges is a result (with
/// `diverged: true`), not an error.
pub fn run(
    cfg: &TrainConfig,
    data: &Split,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunResult> {
    run_cancellable(cfg, data, progress, &AtomicBool::new(false))
}

/// As [`run`], but checks `cancel` before every step and returns [`TrainError::Cancelled`]
/// once it is set.
pub fn run_cancellable(
    cfg: &TrainConfig,
    data: &Split,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
) -> Result<RunResult> {
    let checked = cfg.clone().check()?;
    run_checked(&checked, data, progress, cancel)
}

/// The trainer itself, on a [`CheckedConfig`] (so it cannot be handed invalid settings):
/// checks the settings against `data`, then trains as [`run_cancellable`] describes.
pub fn run_checked(
    cfg: &CheckedConfig,
    data: &Split,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
) -> Result<RunResult> {
    cfg.check_data(data)?;
    let cfg: &TrainConfig = cfg;
    let features = data.train.features();
    let classes = data.train.classes.max(data.test.classes);
    let mut net = build_network(cfg, features, classes)?;
    let mut ws = net.workspace(cfg.batch, true);
    let mut recorder = Recorder::new(&net, data, cfg);
    let mut sampler = Sampler::new(data.train.len(), stream_rng(cfg.seed, STREAM_BATCHES));
    let mut xb = Array2::<f32>::zeros((cfg.batch, features));
    let mut yb = vec![0u8; cfg.batch];
    let lr = cfg.lr as f32;
    let momentum = cfg.momentum as f32;

    let mut history = vec![recorder.record(&mut net, data, 0, None, false)?];
    let mut last_acc = history[0].test_accuracy;
    let (mut loss_sum, mut loss_n) = (0.0f64, 0usize);
    let mut completed = 0;
    let mut diverged_at = None;
    let report_every = (cfg.steps / 200).max(1);
    progress(&Progress {
        step: 0,
        steps: cfg.steps,
        train_loss: None,
        test_accuracy: last_acc,
    });
    for step in 1..=cfg.steps {
        if cancel.load(Ordering::Relaxed) {
            return Err(TrainError::Cancelled);
        }
        sampler.fill(&data.train, &mut xb, &mut yb);
        let out = net.train_step(xb.view(), &yb, &mut ws, lr, momentum)?;
        if !(out.loss.is_finite() && out.finite) {
            diverged_at = Some(step);
            break;
        }
        loss_sum += out.loss;
        loss_n += 1;
        let is_record = step % cfg.eval_every == 0 || step == cfg.steps;
        if is_record {
            if !net.is_finite() {
                diverged_at = Some(step);
                break;
            }
            let rec =
                recorder.record(&mut net, data, step, finite(loss_sum / loss_n as f64), true)?;
            last_acc = rec.test_accuracy;
            history.push(rec);
            loss_sum = 0.0;
            loss_n = 0;
        }
        completed = step;
        if is_record || step % report_every == 0 {
            progress(&Progress {
                step,
                steps: cfg.steps,
                train_loss: if loss_n > 0 {
                    finite(loss_sum / loss_n as f64)
                } else {
                    history.last().and_then(|r| r.train_loss)
                },
                test_accuracy: last_acc,
            });
        }
    }
    let diverged = diverged_at.is_some();
    let last = history.last().expect("the step-0 record exists");
    let (final_test_accuracy, final_train_loss) = if diverged {
        (None, None)
    } else {
        (last.test_accuracy, last.train_loss)
    };
    let depth = cfg.hidden.len();
    Ok(RunResult {
        config: cfg.clone(),
        final_test_accuracy,
        final_train_loss,
        diverged,
        diverged_at_step: diverged_at,
        steps_completed: completed,
        layers: (1..=depth)
            .map(|l| format!("hidden{l}"))
            .chain(std::iter::once("output".to_string()))
            .collect(),
        train_samples: data.train.len(),
        test_samples: data.test.len(),
        data_files: data.files.clone(),
        probe: ProbeInfo {
            samples: recorder.probe_samples(),
            mode: "eval".into(),
            layer: depth,
            units: if depth > 0 {
                cfg.probe_units.clone()
            } else {
                Vec::new()
            },
            percentiles: cfg.percentiles.clone(),
        },
        history,
    })
}
