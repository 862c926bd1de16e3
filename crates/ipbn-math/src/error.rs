//! The error type of this crate.
//!
//! Every fallible routine in `ipbn-math` returns [`Result`]. Each variant names the routine
//! (`what`) or the offending value, and its message says how to fix the call.

use thiserror::Error;

/// What went wrong in an `ipbn-math` routine.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MathError {
    /// The input holds no values at all.
    #[error("{what}: the input is empty; pass at least one value")]
    Empty {
        /// The routine that was called.
        what: &'static str,
    },
    /// The input holds fewer samples than the statistic needs.
    #[error("{what}: needs at least {needed} sample(s) but got {got}; use a larger batch")]
    TooFewSamples {
        /// The routine or quantity that was asked for.
        what: &'static str,
        /// The smallest sample count that works.
        needed: usize,
        /// The sample count that was passed.
        got: usize,
    },
    /// A value of a 1-D input is NaN or infinite.
    #[error(
        "{what}: value {value} at index {index} is not finite; remove or clip NaN/infinite \
         values first (a non-finite input usually means training diverged)"
    )]
    NonFinite {
        /// The routine that was called.
        what: &'static str,
        /// Position of the first non-finite value.
        index: usize,
        /// The offending value, widened to `f64`.
        value: f64,
    },
    /// A value of a `(samples, features)` matrix is NaN or infinite.
    #[error(
        "{what}: value {value} at sample {sample}, feature {feature} is not finite; remove or \
         clip NaN/infinite values first (a non-finite input usually means training diverged)"
    )]
    NonFiniteMatrix {
        /// The routine that was called.
        what: &'static str,
        /// Row (sample) of the first non-finite value.
        sample: usize,
        /// Column (feature) of the first non-finite value.
        feature: usize,
        /// The offending value, widened to `f64`.
        value: f64,
    },
    /// Finite inputs produced a result too large for the float type.
    #[error("{what}: the result overflowed the float type; rescale the input to smaller values")]
    Overflow {
        /// The routine that was called.
        what: &'static str,
    },
    /// A histogram was asked for with zero bins.
    #[error("histogram needs at least one bin, got {bins}; pass bins >= 1")]
    BadBinCount {
        /// The bin count that was passed.
        bins: usize,
    },
    /// A histogram range is not a finite interval with `lo < hi`.
    #[error("histogram range [{lo}, {hi}] is invalid; both ends must be finite with lo < hi")]
    BadRange {
        /// Lower edge that was passed.
        lo: f64,
        /// Upper edge that was passed.
        hi: f64,
    },
    /// A percentile lies outside `[0, 100]` or is NaN.
    #[error(
        "percentile {p} is outside [0, 100]; percentiles are given in percent \
         (50 is the median)"
    )]
    BadPercentile {
        /// The percentile that was passed.
        p: f64,
    },
    /// A kernel width is not a finite positive number.
    #[error(
        "kernel width {sigma} must be finite and > 0; silverman_bandwidth(y) gives a \
         reasonable default"
    )]
    BadKernelWidth {
        /// The width that was passed.
        sigma: f64,
    },
    /// Two per-feature arrays have different lengths.
    #[error("{what}: lengths differ ({left} vs {right}); pass one entry per feature in each")]
    LengthMismatch {
        /// The routine that was called.
        what: &'static str,
        /// Length of the first array.
        left: usize,
        /// Length of the second array.
        right: usize,
    },
    /// `var + eps` is not a finite positive number, so `1/√(var + eps)` does not exist.
    #[error(
        "feature {index}: var + eps = {var} + {eps} must be finite and > 0; variances are \
         never negative and eps is usually 1e-5"
    )]
    BadVariance {
        /// Feature whose variance is invalid.
        index: usize,
        /// The variance, widened to `f64`.
        var: f64,
        /// The eps, widened to `f64`.
        eps: f64,
    },
    /// The kernel mode (environment variable `IPBN_KERNELS`) is not one of the accepted values.
    #[error("IPBN_KERNELS={value:?} is not a kernel mode; accepted: native, portable")]
    BadKernelMode {
        /// The value that was given.
        value: String,
    },
}

/// Shorthand for `std::result::Result<T, MathError>`.
pub type Result<T> = std::result::Result<T, MathError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_clone() {
        fn check<E: Send + Sync + Clone + std::error::Error + 'static>() {}
        check::<MathError>();
    }

    #[test]
    fn messages_name_the_problem_and_fix() {
        let e = MathError::TooFewSamples {
            what: "batch_stats",
            needed: 2,
            got: 1,
        };
        assert_eq!(
            e.to_string(),
            "batch_stats: needs at least 2 sample(s) but got 1; use a larger batch"
        );
        let e = MathError::BadPercentile { p: 150.0 };
        assert!(e.to_string().contains("150"));
        assert!(e.to_string().contains("[0, 100]"));
        let e = MathError::BadRange { lo: 1.0, hi: 0.0 };
        assert!(e.to_string().contains("lo < hi"));
    }
}
