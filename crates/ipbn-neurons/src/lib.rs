//! # ipbn-neurons
//!
//! Intrinsic-plasticity (IP) update rules behind one trait, their registry, the IP layer and a
//! batch-normalisation layer with PyTorch `BatchNorm1d` semantics.

pub mod rule;

pub use rule::{Delta, IpRule, ParamInfo, RuleKind, TargetDensity};
