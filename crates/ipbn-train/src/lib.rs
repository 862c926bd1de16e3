//! # ipbn-train
//!
//! Multilayer perceptrons under every normalisation condition, backprop, optimisers, datasets
//! (MNIST IDX and synthetic), the trainer, its metrics recorder and seeded parallel sweeps.
//!
//! * [`mlp`]: the network ([`Mlp`]), its forward/backward passes and SGD.
//! * [`config`]: [`TrainConfig`], one run's settings, and [`condition::Condition`].
//! * [`trainer`]: [`trainer::run`], one run → [`RunResult`].
//! * [`sweep`]: grids of runs in parallel, resumable and shardable.
//! * [`claims`]: every claim of claims.md as a runnable property, including the
//!   network-level ones (whole-network gradients, determinism across thread counts).

#![warn(missing_docs)]

pub mod bench;
pub mod claims;
pub mod condition;
pub mod config;
pub mod data;
pub mod error;
pub mod init;
pub mod io;
pub mod mlp;
mod record;
pub mod result;
pub mod sweep;
pub mod trainer;

pub use condition::Condition;
pub use config::{CheckedConfig, DataSource, ParamGuard, TrainConfig};
pub use error::{ConfigError, TrainError};
pub use init::Init;
pub use io::write_json_atomic;
pub use mlp::{LayerKind, Mlp, MlpSpec, StepOutcome, Workspace};
pub use result::{Record, RunResult};
pub use sweep::{run_sweep, run_sweep_with_data, Shard, SweepConfig, SweepOptions, SweepSummary};
pub use trainer::{run, run_cancellable, run_checked, Progress};
