//! # ipbn-neurons
//!
//! Intrinsic-plasticity (IP) update rules behind one trait, their registry, the IP layer and a
//! batch-normalisation layer with PyTorch `BatchNorm1d` semantics, both behind one fallible
//! [`Layer`] trait.

pub mod batchnorm;
pub mod claims;
pub mod error;
pub mod ip_layer;
pub mod layer;
pub mod mode;
pub mod registry;
pub mod rule;
pub mod rules;
pub mod single_unit;
pub mod step;
pub mod template;

pub use batchnorm::BatchNorm;
pub use error::{NeuronError, Result};
pub use ip_layer::{IpLayer, IpLayerConfig};
pub use layer::Layer;
pub use mode::Mode;
pub use registry::{parse_spec, Registry, RuleSpec};
pub use rule::{Delta, IpRule, Objective, ParamInfo, Rule, RuleKind, TargetDensity};
pub use step::{StepKind, StepState};
