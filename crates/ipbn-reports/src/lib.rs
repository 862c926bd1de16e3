//! # ipbn-reports
//!
//! One module per figure, the shared plotting style and the commands of the `ipbn` binary.

pub mod cmd_bench;
pub mod cmd_claims;
pub mod cmd_data;
pub mod cmd_reproduce;
pub mod cmd_rules;
pub mod cmd_sweep;
pub mod cmd_train;
pub mod error;
pub mod figure;
pub mod figures;
pub mod plot;
pub mod protocol;
pub mod runs;
pub mod stats;
pub mod tidy;
