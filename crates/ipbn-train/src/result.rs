//! What a training run writes: [`RunResult`] (`result.json`) with its history of
//! [`Record`]s. Every number is finite: a value that is undefined or not finite is `null`.
//! No timing is stored, so a result file depends only on the configuration and the data.

use crate::config::TrainConfig;
use serde::{Deserialize, Serialize};

/// Turns a non-finite number into `None` (written as `null`).
pub fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Mean, minimum and maximum of a set of values (`null` when undefined).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Mean.
    pub mean: Option<f64>,
    /// Minimum.
    pub min: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
}

impl Summary {
    /// Summary of `values` (all `null` if empty or if any value is not finite).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let (mut n, mut sum, mut lo, mut hi) = (0usize, 0.0f64, f64::INFINITY, f64::NEG_INFINITY);
        let mut ok = true;
        for v in values {
            ok &= v.is_finite();
            n += 1;
            sum += v;
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if n == 0 || !ok {
            return Summary {
                mean: None,
                min: None,
                max: None,
            };
        }
        Summary {
            mean: finite(sum / n as f64),
            min: finite(lo),
            max: finite(hi),
        }
    }
}

/// Summary of one IP layer's intrinsic parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IpSummary {
    /// The gains α.
    pub alpha: Summary,
    /// The biases k.
    pub k: Summary,
}

/// Percentiles of one unit's activation input `u` over the probe batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitPercentiles {
    /// Unit index in the last hidden layer.
    pub unit: usize,
    /// One value per requested percentile (see [`ProbeInfo::percentiles`]).
    pub values: Vec<Option<f64>>,
}

/// The measurements taken at one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Training steps done when recorded (0 = before training).
    pub step: usize,
    /// Mean training-batch loss over the steps since the previous record (`null` at step 0).
    pub train_loss: Option<f64>,
    /// Accuracy on the whole test set in inference mode.
    pub test_accuracy: Option<f64>,
    /// Frobenius norm of each layer's weight gradient at the last step (hidden layers first,
    /// output last; `null` at step 0).
    pub grad_norms: Vec<Option<f64>>,
    /// Frobenius norm of each layer's weight matrix when recorded (hidden layers first,
    /// output last), so that a gradient can be read relative to the weights it changes.
    #[serde(default)]
    pub weight_norms: Vec<Option<f64>>,
    /// Per hidden layer, the mean activation slope θ′(u) over the probe batch and units.
    pub mean_slope: Vec<Option<f64>>,
    /// Per hidden layer, the mean absolute correlation between its units' outputs over the
    /// probe batch (pairs with a constant unit left out; `null` when no pair is left).
    pub correlation: Vec<Option<f64>>,
    /// Percentiles of the activation input of the probe units of the last hidden layer.
    pub unit_inputs: Vec<UnitPercentiles>,
    /// Per hidden layer, the summary of α and k if it is an IP layer (`null` otherwise).
    pub ip: Vec<Option<IpSummary>>,
    // Figures A's probe additions (kept together, after the original fields).
    /// Per hidden layer, the effective rank of its representation over the probe batch: the
    /// participation ratio (Σλ)²/Σλ² = (tr C)²/‖C‖²_F of the covariance C of its units'
    /// outputs, between 1 (every unit a multiple of one signal) and the width (uncorrelated
    /// units of equal variance); `null` when every unit is constant. Absent in older files.
    #[serde(default)]
    pub effective_rank: Vec<Option<f64>>,
    /// Under `bn` only (empty otherwise): the probe units' activation-input percentiles as the
    /// network sees them in training: the probe batch cut into whole mini-batches of the
    /// run's `batch` (the first ⌊probe/batch⌋·batch samples; all of them, as one batch, when
    /// the probe is smaller than a batch), each normalised with its own batch statistics
    /// rather than the running estimates, on a copy of the network so that training is not
    /// changed. For the other conditions
    /// training and inference forward passes agree, so [`Record::unit_inputs`] is that view.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unit_inputs_train: Vec<UnitPercentiles>,
}

/// How the probe measurements were taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// Number of probe samples: the first this many samples of the test set.
    pub samples: usize,
    /// Always `eval`: the probe runs in inference mode (BN running estimates, IP frozen).
    pub mode: String,
    /// Hidden layer (1-based) of the unit percentiles: the last one.
    pub layer: usize,
    /// Units of that layer whose activation-input percentiles are recorded.
    pub units: Vec<usize>,
    /// The percentiles recorded, in percent.
    pub percentiles: Vec<f64>,
}

/// The result of one run, written as `result.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    /// The full resolved configuration.
    pub config: TrainConfig,
    /// Test accuracy at the end (`null` if the run diverged).
    pub final_test_accuracy: Option<f64>,
    /// Mean training loss over the last recording interval (`null` if the run diverged).
    pub final_train_loss: Option<f64>,
    /// Whether a loss or a parameter became non-finite.
    pub diverged: bool,
    /// The step at which that was seen (`null` if it never was).
    pub diverged_at_step: Option<usize>,
    /// Steps completed with finite loss and parameters.
    pub steps_completed: usize,
    /// Layer names in the order of `grad_norms`: `hidden1`, ..., `output`.
    pub layers: Vec<String>,
    /// Training samples.
    pub train_samples: usize,
    /// Test samples.
    pub test_samples: usize,
    /// Where the data came from (paths with checksums, or the generator).
    pub data_files: Vec<String>,
    /// How the probe measurements were taken.
    pub probe: ProbeInfo,
    /// The records, in step order.
    pub history: Vec<Record>,
}
