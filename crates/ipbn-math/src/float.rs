//! The floating-point bound shared by every generic routine in the workspace.

use ndarray::{NdFloat, ScalarOperand};
use num_traits::FromPrimitive;

/// A real scalar type the workspace computes in: `f32` for fast training, `f64` for
/// gradient checks and the claims suite.
///
/// It bundles ndarray's [`NdFloat`] with conversion from `f64`/`usize` so generic code can
/// write constants as `T::from_f64(0.5).unwrap()` or use [`Real::c`].
pub trait Real:
    NdFloat + ScalarOperand + FromPrimitive + Default + Send + Sync + serde::Serialize + 'static
{
    /// Converts an `f64` constant to this type (rounding for `f32`).
    fn c(v: f64) -> Self;
    /// Widens this value to `f64` exactly.
    fn to_f64_exact(self) -> f64;
}

impl Real for f32 {
    #[inline(always)]
    fn c(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn to_f64_exact(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    #[inline(always)]
    fn c(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn to_f64_exact(self) -> f64 {
        self
    }
}
