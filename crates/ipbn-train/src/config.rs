//! The configuration of one training run, read from JSON (unknown keys rejected) and checked
//! in one place, [`TrainConfig::validate`].

use crate::condition::Condition;
use crate::data::{self, Split};
use crate::error::{ConfigError, Result, TrainError};
use crate::init::Init;
use ipbn_math::Activation;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The largest synaptic or intrinsic learning rate a config accepts. Far beyond any rate that
/// trains (the `lr-stability` figure sweeps up to a few hundred), it exists so that values
/// like 1e308 are caught as typos rather than overflowing the first update.
pub const MAX_LR: f64 = 1e9;

/// Formats a number for an error message: plainly in the usual range, in scientific notation
/// when very large or small (so 1e308 is not printed as 309 digits).
pub(crate) fn show_number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || (1e-4..1e6).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Where a run's data comes from.
///
/// In JSON: `"shipped"`, `{"dir": "PATH"}`, `{"dataset": "NAME"}` or `{"synthetic": {...}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum DataSource {
    /// The MNIST subset shipped with the crate (8,000 training and 2,000 test images).
    #[default]
    Shipped,
    /// A folder with the standard MNIST IDX files (see [`crate::data::load_dir`]).
    Dir(PathBuf),
    /// A catalogued dataset (`mnist`, `fashion-mnist`, `kmnist`) in its cache folder, as
    /// `ipbn data fetch NAME` leaves it (see [`crate::data::load_named`]).
    Dataset(String),
    /// Gaussian clusters (see [`crate::data::synthetic::blobs_split`]); for tests and benches.
    Synthetic(SyntheticData),
}

impl DataSource {
    /// What a `--data` argument means: an existing folder is a folder of IDX files (as
    /// before); otherwise a catalogue name (`mnist`, `fashion-mnist`, `kmnist`) is that
    /// dataset in the cache, and `shipped` or `mnist-10k` the shipped subset; anything else
    /// is taken as a folder (and loading it reports that there is no such folder).
    pub fn from_arg(arg: &std::path::Path) -> DataSource {
        if !arg.is_dir() {
            match arg.to_str() {
                Some("shipped" | "mnist-10k") => return DataSource::Shipped,
                Some(name) if data::catalog::DATASET_NAMES.contains(&name) => {
                    return DataSource::Dataset(name.to_string())
                }
                _ => {}
            }
        }
        DataSource::Dir(arg.to_path_buf())
    }
}

/// Parameters of synthetic Gaussian-cluster data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticData {
    /// Training samples (≥ 1).
    pub train: usize,
    /// Test samples (≥ 1).
    pub test: usize,
    /// Input features (≥ 1).
    pub features: usize,
    /// Classes (2 to 256).
    pub classes: usize,
    /// Distance scale between cluster centres (finite, ≥ 0).
    pub separation: f32,
    /// Seed of the generator.
    pub seed: u64,
}

impl DataSource {
    /// Loads the data.
    pub fn load(&self) -> Result<Split> {
        Ok(match self {
            DataSource::Shipped => data::load_shipped()?,
            DataSource::Dir(dir) => data::load_dir(dir)?,
            DataSource::Dataset(name) => data::load_named(name)?,
            DataSource::Synthetic(s) => data::synthetic::blobs_split(
                s.train,
                s.test,
                s.features,
                s.classes,
                s.separation,
                s.seed,
            )?,
        })
    }
}

/// The full configuration of one training run. Every field has a default (given in its
/// documentation), so a JSON config need only name what it changes; unknown keys are errors.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Widths of the hidden layers, input side first; each ≥ 1, at most 64 layers.
    /// Default: `[100, 100, 100]` (Ioffe & Szegedy's MNIST network).
    pub hidden: Vec<usize>,
    /// Hidden activation: `sigmoid`, `tanh` or `relu`. Default: `sigmoid`.
    pub activation: Activation,
    /// Hidden-layer condition: `plain`, `bn`, `ip:RULESPEC` or `ip+affine:RULESPEC`.
    /// Default: `plain`.
    pub condition: Condition,
    /// Weight initialisation: `gauss:STD`, `glorot` or `he`. Default: `gauss:0.1` (a "small
    /// random Gaussian", as in Ioffe & Szegedy, who give no value).
    pub init: Init,
    /// Mini-batch size, ≥ 1 (≥ 2 under `bn`), at most the training set size. Default: 60.
    pub batch: usize,
    /// Training steps (mini-batches), ≥ 1. Default: 3000.
    pub steps: usize,
    /// Synaptic learning rate of SGD, finite and > 0. Default: 0.5.
    pub lr: f64,
    /// SGD momentum in [0, 1) (PyTorch's form, `v ← m v + g`, `p ← p − lr v`). Default: 0.
    pub momentum: f64,
    /// Intrinsic learning rate η of the IP rule, finite and ≥ 0 (0 freezes α and k).
    /// Default: 0.001.
    pub ip_lr: f64,
    /// Record metrics every this many steps (and at step 0 and the last step), ≥ 1.
    /// Default: 100.
    pub eval_every: usize,
    /// Seed of the run: weights come from stream 0 of it, the mini-batch order from stream 1
    /// (`ipbn_math::derive_seed`). Default: 0.
    pub seed: u64,
    /// The data. Default: `"shipped"`.
    pub data: DataSource,
    /// Size of the probe batch (the first samples of the test set, run in inference mode)
    /// on which slopes, percentiles and correlations are measured; ≥ 2, capped at the test
    /// set size. Default: 500.
    pub probe_size: usize,
    /// Units of the last hidden layer whose activation inputs' percentiles are recorded; each
    /// below that layer's width. Default: `[0, 1, 2]`.
    pub probe_units: Vec<usize>,
    /// Which percentiles (in percent, each in [0, 100]) of those units' activation inputs to
    /// record. Default: `[15, 50, 85]` (Ioffe & Szegedy, Fig. 1).
    pub percentiles: Vec<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            hidden: vec![100, 100, 100],
            activation: Activation::Sigmoid,
            condition: Condition::Plain,
            init: Init::default(),
            batch: 60,
            steps: 3000,
            lr: 0.5,
            momentum: 0.0,
            ip_lr: 0.001,
            eval_every: 100,
            seed: 0,
            data: DataSource::Shipped,
            probe_size: 500,
            probe_units: vec![0, 1, 2],
            percentiles: vec![15.0, 50.0, 85.0],
        }
    }
}

/// Largest accepted hidden width, depth, batch and step count (guards against typos that
/// would allocate absurd amounts of memory).
const MAX_WIDTH: usize = 1 << 16;
const MAX_DEPTH: usize = 64;
const MAX_BATCH: usize = 1 << 20;

impl TrainConfig {
    /// Checks every value; the error names the key and the accepted range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.hidden.len() > MAX_DEPTH {
            return Err(ConfigError::new(
                "hidden",
                format!(
                    "{} hidden layers; at most {MAX_DEPTH} are accepted",
                    self.hidden.len()
                ),
            ));
        }
        if let Some((i, &w)) = self
            .hidden
            .iter()
            .enumerate()
            .find(|(_, &w)| w == 0 || w > MAX_WIDTH)
        {
            return Err(ConfigError::new(
                "hidden",
                format!(
                    "layer {} has width {w}; each width must be in 1..={MAX_WIDTH}",
                    i + 1
                ),
            ));
        }
        check_hidden_activation("activation", self.activation)?;
        self.condition.check_activation(self.activation)?;
        self.init.validate()?;
        if self.batch == 0 || self.batch > MAX_BATCH {
            return Err(ConfigError::new(
                "batch",
                format!("must be in 1..={MAX_BATCH}, got {}", self.batch),
            ));
        }
        if self.condition.is_bn() && self.batch < 2 {
            return Err(ConfigError::new(
                "batch",
                "batch normalisation needs a batch of at least 2 (it normalises with the batch's own statistics); \
                 use batch >= 2 or an ip condition",
            ));
        }
        if self.steps == 0 {
            return Err(ConfigError::new("steps", "must be ≥ 1, got 0"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= MAX_LR) {
            return Err(ConfigError::new(
                "lr",
                format!(
                    "must be finite and > 0 and at most {MAX_LR:e}, got {}",
                    show_number(self.lr)
                ),
            ));
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return Err(ConfigError::new(
                "momentum",
                format!("must be in [0, 1), got {}", self.momentum),
            ));
        }
        if !(self.ip_lr.is_finite() && self.ip_lr >= 0.0 && self.ip_lr <= MAX_LR) {
            return Err(ConfigError::new(
                "ip_lr",
                format!(
                    "must be finite and ≥ 0 and at most {MAX_LR:e}, got {}",
                    show_number(self.ip_lr)
                ),
            ));
        }
        if self.eval_every == 0 {
            return Err(ConfigError::new("eval_every", "must be ≥ 1, got 0"));
        }
        if self.probe_size < 2 {
            return Err(ConfigError::new(
                "probe_size",
                format!("must be ≥ 2, got {}", self.probe_size),
            ));
        }
        if let Some(&last) = self.hidden.last() {
            if let Some(&u) = self.probe_units.iter().find(|&&u| u >= last) {
                return Err(ConfigError::new(
                    "probe_units",
                    format!("unit {u} does not exist: the last hidden layer has {last} units (0..{last})"),
                ));
            }
        }
        if let Some(&p) = self
            .percentiles
            .iter()
            .find(|p| !(p.is_finite() && (0.0..=100.0).contains(*p)))
        {
            return Err(ConfigError::new(
                "percentiles",
                format!("each percentile must be in [0, 100], got {p}"),
            ));
        }
        if let DataSource::Synthetic(s) = &self.data {
            if s.train == 0 || s.test == 0 || s.features == 0 {
                return Err(ConfigError::new(
                    "data.synthetic",
                    "train, test and features must all be ≥ 1",
                ));
            }
            if !(2..=256).contains(&s.classes) {
                return Err(ConfigError::new(
                    "data.synthetic.classes",
                    format!("must be in 2..=256, got {}", s.classes),
                ));
            }
            if !(s.separation.is_finite() && s.separation >= 0.0) {
                return Err(ConfigError::new(
                    "data.synthetic.separation",
                    format!("must be finite and ≥ 0, got {}", s.separation),
                ));
            }
        }
        Ok(())
    }

    /// Checks the config against the data it will train on (feature count, batch size, classes).
    pub fn validate_for(&self, data: &Split) -> Result<(), ConfigError> {
        self.validate()?;
        self.check_data(data)
    }

    /// The data-dependent part of [`TrainConfig::validate_for`].
    fn check_data(&self, data: &Split) -> Result<(), ConfigError> {
        if self.batch > data.train.len() {
            return Err(ConfigError::new(
                "batch",
                format!(
                    "{} exceeds the {} training samples of `{}`",
                    self.batch,
                    data.train.len(),
                    data.train.name
                ),
            ));
        }
        if data.test.is_empty() {
            return Err(ConfigError::new(
                "data",
                format!("the test set `{}` is empty", data.test.name),
            ));
        }
        if data.train.features() != data.test.features() {
            return Err(ConfigError::new(
                "data",
                format!(
                    "training inputs have {} features, test inputs {}",
                    data.train.features(),
                    data.test.features()
                ),
            ));
        }
        if data.train.classes < 2 {
            return Err(ConfigError::new(
                "data",
                "the data needs at least 2 classes",
            ));
        }
        Ok(())
    }

    /// Parses and validates a JSON config. Keys left out take their defaults.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let cfg: TrainConfig = parse_json_naming_key(text, "", |_| 1)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads, parses and validates a JSON config file.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        Ok(Self::from_json(&text)
            .map_err(|e| ConfigError::new(e.key, format!("{}: {}", path.display(), e.message)))?)
    }
}

/// Checking a configuration once into a type that cannot hold an invalid value (linfa's
/// `ParamGuard`): the unchecked form is what JSON and flags give, the checked form is what
/// the trainer runs.
pub trait ParamGuard {
    /// The checked form.
    type Checked;
    /// Why a value is invalid.
    type Error;
    /// Checks the value in place.
    ///
    /// # Errors
    /// The first invalid setting.
    fn check_ref(&self) -> Result<(), Self::Error>;
    /// Checks the value and turns it into its checked form.
    ///
    /// # Errors
    /// The first invalid setting.
    fn check(self) -> Result<Self::Checked, Self::Error>;
}

impl ParamGuard for TrainConfig {
    type Checked = CheckedConfig;
    type Error = ConfigError;

    fn check_ref(&self) -> Result<(), ConfigError> {
        self.validate()
    }

    fn check(self) -> Result<CheckedConfig, ConfigError> {
        self.validate()?;
        Ok(CheckedConfig(self))
    }
}

/// A [`TrainConfig`] that passed [`TrainConfig::validate`]: the only form
/// [`crate::trainer::run_checked`] takes. Built by [`ParamGuard::check`] (or decoded from
/// JSON, which checks it); read it through `Deref`. Serialises as the plain config.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "TrainConfig", into = "TrainConfig")]
pub struct CheckedConfig(TrainConfig);

impl CheckedConfig {
    /// The checked settings.
    pub fn config(&self) -> &TrainConfig {
        &self.0
    }

    /// Back to the unchecked form (to change a setting and check again).
    pub fn into_inner(self) -> TrainConfig {
        self.0
    }

    /// Checks the settings against the data they will train on (feature count, batch size,
    /// classes); the settings themselves were checked when this value was made.
    ///
    /// # Errors
    /// A [`ConfigError`] naming `batch` or `data`.
    pub fn check_data(&self, data: &Split) -> Result<(), ConfigError> {
        self.0.check_data(data)
    }
}

impl std::ops::Deref for CheckedConfig {
    type Target = TrainConfig;
    fn deref(&self) -> &TrainConfig {
        &self.0
    }
}

impl TryFrom<TrainConfig> for CheckedConfig {
    type Error = ConfigError;
    fn try_from(cfg: TrainConfig) -> Result<Self, ConfigError> {
        cfg.check()
    }
}

impl From<CheckedConfig> for TrainConfig {
    fn from(cfg: CheckedConfig) -> Self {
        cfg.0
    }
}

/// Deserialises `text` as a `T` with `serde_path_to_error`, so a failure names the key at
/// fault: the first `depth(first_key)` object keys of the error's path, joined by `.` and
/// after `prefix` (e.g. `lr`, or `base.steps` for a sweep). Errors that no key explains
/// (invalid JSON, a duplicate key, a value that is not an object) name `<file>`, or the
/// prefix without its dot. Decoding the text directly (not through `serde_json::Value`)
/// rejects duplicate keys, which a `Value` would silently merge (last one winning).
pub(crate) fn parse_json_naming_key<T: DeserializeOwned>(
    text: &str,
    prefix: &str,
    depth: impl Fn(&str) -> usize,
) -> Result<T, ConfigError> {
    let whole = if prefix.is_empty() {
        "<file>".to_string()
    } else {
        prefix.trim_end_matches('.').to_string()
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let err = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => match de.end() {
            Ok(()) => return Ok(v),
            Err(e) => return Err(ConfigError::new(whole, format!("not valid JSON: {e}"))),
        },
        Err(e) => e,
    };
    let path = err.path().clone();
    let inner = err.into_inner();
    if !inner.is_data() {
        return Err(ConfigError::new(whole, format!("not valid JSON: {inner}")));
    }
    let keys: Vec<&str> = path
        .iter()
        .map_while(|seg| match seg {
            serde_path_to_error::Segment::Map { key } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    match keys.first() {
        Some(first) => {
            let n = depth(first).clamp(1, keys.len());
            Err(ConfigError::new(
                format!("{prefix}{}", keys[..n].join(".")),
                inner.to_string(),
            ))
        }
        None if !text.trim_start().starts_with('{') => Err(ConfigError::new(
            whole,
            "expected a JSON object of settings, e.g. {\"steps\": 1000}",
        )),
        None => Err(ConfigError::new(whole, inner.to_string())),
    }
}

/// The activations hidden layers support: every one but the identity (a network of identity
/// units is linear).
pub const HIDDEN_ACTIVATIONS: [Activation; 4] = [
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::Softplus,
];

/// [`ConfigError`] under `key` unless `a` is one of [`HIDDEN_ACTIVATIONS`].
pub fn check_hidden_activation(key: &str, a: Activation) -> Result<(), ConfigError> {
    if HIDDEN_ACTIVATIONS.contains(&a) {
        Ok(())
    } else {
        Err(ConfigError::new(
            key,
            format!(
                "`{a}` is not supported for hidden layers; use sigmoid, tanh, relu or softplus"
            ),
        ))
    }
}

#[cfg(test)]
mod checked_tests {
    use super::*;

    #[test]
    fn only_valid_configs_become_checked() {
        let ok = TrainConfig::default().check().unwrap();
        let json = |c: &TrainConfig| serde_json::to_value(c).unwrap();
        assert_eq!(json(ok.config()), json(&TrainConfig::default()));
        let bad = TrainConfig {
            lr: 0.0,
            ..TrainConfig::default()
        };
        assert_eq!(bad.check_ref().unwrap_err().key, "lr");
        assert_eq!(bad.check().unwrap_err().key, "lr");
        // Decoding JSON into the checked form checks it.
        let e = serde_json::from_str::<CheckedConfig>(r#"{"lr": 0}"#).unwrap_err();
        assert!(e.to_string().contains("lr"), "{e}");
        let c: CheckedConfig = serde_json::from_str(r#"{"lr": 0.25}"#).unwrap();
        assert_eq!(c.lr, 0.25);
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::to_value(c.into_inner()).unwrap()
        );
    }
}
