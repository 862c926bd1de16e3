//! # ipbn-neurons
//!
//! Intrinsic-plasticity (IP) update rules behind one trait, their registry, the IP layer and a
//! batch-normalisation layer with PyTorch `BatchNorm1d` semantics.

pub mod batchnorm;
pub mod claims;
pub mod error;
pub mod ip_layer;
pub mod mode;
pub mod registry;
pub mod rule;
pub mod rules;
pub mod step;

pub use batchnorm::BatchNorm;
pub use error::{NeuronError, Result};
pub use ip_layer::{IpLayer, IpLayerConfig};
pub use mode::Mode;
pub use registry::{parse_spec, RuleSpec};
pub use rule::{Delta, IpRule, ParamInfo, RuleKind, TargetDensity};
pub use step::{StepKind, StepState};
