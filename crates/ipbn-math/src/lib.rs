//! # ipbn-math
//!
//! The numerical core of the ipbn workspace: activation functions and their derivatives,
//! per-feature batch statistics, the mapping between batch normalisation and an
//! intrinsic-plasticity unit's gain and bias, entropy estimators and seeding helpers.
//! Nothing here knows about networks.

pub mod activation;
pub mod float;

pub use activation::{Activation, UnknownActivation, ALL_ACTIVATIONS};
pub use float::Real;
