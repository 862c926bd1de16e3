//! # ipbn-reports
//!
//! One module per figure, the shared plotting style and the commands of the `ipbn` binary.

pub mod error;
