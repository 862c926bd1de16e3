//! # ipbn-math
//!
//! The numerical core of the ipbn workspace: activation functions and their derivatives,
//! per-feature batch statistics, the mapping between batch normalisation and an
//! intrinsic-plasticity unit's gain and bias, entropy estimators, seeding helpers, the vectorised element-wise kernels and the matrix
//! products ([`gemm`]) on the widest vector unit the CPU has.
//! Nothing here knows about networks.

pub mod activation;
pub mod entropy;
pub mod error;
pub mod float;
pub mod gemm;
pub mod kernels;
pub mod mapping;
pub mod numeric;
pub mod peak;
pub mod percentile;
pub mod seed;
pub mod stats;

pub use activation::{Activation, UnknownActivation, ALL_ACTIVATIONS};
pub use entropy::{
    differential_entropy_hist, histogram, histogram_entropy, information_potential,
    renyi_quadratic_entropy, silverman_bandwidth,
};
pub use error::MathError;
pub use float::Real;
pub use gemm::gemm;
pub use mapping::{bn_eval_affine, bn_to_ip, bn_to_ip_arrays, compose};
pub use percentile::{percentile, percentiles};
pub use seed::{derive_seed, rng, stream_rng};
pub use stats::{batch_stats, mean_var, BatchStats};
