//! Per-feature batch statistics (mean, biased and unbiased variance).
//!
//! # Method
//!
//! Batch normalisation needs the variance of activations that can sit far from zero
//! (e.g. `1e6 + N(0, 1)`), where the one-pass formula `E[x²] − E[x]²` loses every
//! significant digit. Both routines here use the corrected two-pass algorithm
//! (Chan, Golub & LeVeque 1983, eq. 1.7):
//!
//! 1. `μ₀ = Σ xᵢ / n`;
//! 2. with `dᵢ = xᵢ − μ₀`: `M₂ = Σ dᵢ² − (Σ dᵢ)² / n`, `mean = μ₀ + Σ dᵢ / n`.
//!
//! The correction term `(Σ dᵢ)²/n` removes, to first order, the rounding error of `μ₀`.
//! All sums are accumulated in `f64` (also for `f32` input, whose values widen exactly) in
//! sample order, so results are deterministic and independent of thread count. The final
//! values are rounded once to `T`.
//!
//! # Edge cases
//!
//! * No samples: [`MathError::TooFewSamples`].
//! * One sample: the mean is that sample and the biased variance is 0. The unbiased
//!   variance (÷(n−1)) is undefined; [`BatchStats::var_unbiased`] holds 0 then (never
//!   NaN, so nothing downstream is poisoned) and [`BatchStats::checked_var_unbiased`]
//!   returns an error instead. Batch normalisation in training mode must reject `n = 1`
//!   itself (as PyTorch does).
//! * NaN or infinite input: [`MathError::NonFiniteMatrix`] / [`MathError::NonFinite`],
//!   naming the first offending position in sample order.

use crate::error::{MathError, Result};
use crate::float::Real;
use ndarray::{Array1, ArrayView1, ArrayView2};

/// Statistics of each column (feature) of a `(samples, features)` matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchStats<T> {
    /// Per-feature mean.
    pub mean: Array1<T>,
    /// Per-feature biased variance, `Σ (x − mean)² / n` (what BN normalises with).
    pub var_biased: Array1<T>,
    /// Per-feature unbiased variance, `Σ (x − mean)² / (n − 1)` (what BN stores in its
    /// running variance). Holds 0 when `count == 1`, where it is undefined; use
    /// [`BatchStats::checked_var_unbiased`] to get an error instead.
    pub var_unbiased: Array1<T>,
    /// Number of samples `n` the statistics were computed from (always ≥ 1).
    pub count: usize,
}

impl<T: Real> BatchStats<T> {
    /// The unbiased variance, or [`MathError::TooFewSamples`] when it is undefined
    /// (fewer than two samples).
    pub fn checked_var_unbiased(&self) -> Result<&Array1<T>> {
        if self.count < 2 {
            return Err(MathError::TooFewSamples {
                what: "unbiased variance",
                needed: 2,
                got: self.count,
            });
        }
        Ok(&self.var_unbiased)
    }

    /// Number of features (columns) described.
    pub fn features(&self) -> usize {
        self.mean.len()
    }
}

/// Finishes the corrected two-pass computation for one feature: returns
/// `(mean, biased var, unbiased var)` in `f64`.
#[inline]
fn finish(mu0: f64, sum_d: f64, sum_d2: f64, n: usize) -> (f64, f64, f64) {
    let nf = n as f64;
    // Cauchy–Schwarz gives Σd² ≥ (Σd)²/n exactly; clamp the rounding residue.
    let m2 = (sum_d2 - sum_d * sum_d / nf).max(0.0);
    let mean = mu0 + sum_d / nf;
    let var_b = m2 / nf;
    let var_u = if n > 1 { m2 / (nf - 1.0) } else { 0.0 };
    (mean, var_b, var_u)
}

/// Per-feature mean and variances of `x`, whose rows are samples and columns features.
///
/// Needs at least one sample (see the module docs for `n = 1` and the method). A matrix
/// with zero columns gives empty arrays. Works for any memory layout; row-major
/// (the default) is the fast one.
///
/// # Errors
///
/// [`MathError::TooFewSamples`] for no rows, [`MathError::NonFiniteMatrix`] for a NaN or
/// infinite entry, [`MathError::Overflow`] if a result does not fit in `T`.
///
/// # Example
///
/// ```
/// use ipbn_math::stats::batch_stats;
/// use ndarray::array;
///
/// let x = array![[1.0_f64, 10.0], [3.0, 10.0]];
/// let s = batch_stats(x.view()).unwrap();
/// assert_eq!(s.mean, array![2.0, 10.0]);
/// assert_eq!(s.var_biased, array![1.0, 0.0]);
/// assert_eq!(s.var_unbiased, array![2.0, 0.0]);
/// ```
pub fn batch_stats<T: Real>(x: ArrayView2<T>) -> Result<BatchStats<T>> {
    const WHAT: &str = "batch_stats";
    let (n, f) = x.dim();
    if n == 0 {
        return Err(MathError::TooFewSamples {
            what: WHAT,
            needed: 1,
            got: 0,
        });
    }

    // Pass 1: column sums in sample order, checking finiteness on the way.
    let mut sum = vec![0.0_f64; f];
    for (i, row) in x.outer_iter().enumerate() {
        for (j, (&v, s)) in row.iter().zip(sum.iter_mut()).enumerate() {
            let v = v.to_f64_exact();
            if !v.is_finite() {
                return Err(MathError::NonFiniteMatrix {
                    what: WHAT,
                    sample: i,
                    feature: j,
                    value: v,
                });
            }
            *s += v;
        }
    }
    let nf = n as f64;
    let mu0: Vec<f64> = sum.iter().map(|s| s / nf).collect();

    // Pass 2: centred sums Σd and Σd², again in sample order.
    let mut sum_d = vec![0.0_f64; f];
    let mut sum_d2 = vec![0.0_f64; f];
    for row in x.outer_iter() {
        for (((&v, &m), sd), sd2) in row
            .iter()
            .zip(mu0.iter())
            .zip(sum_d.iter_mut())
            .zip(sum_d2.iter_mut())
        {
            let d = v.to_f64_exact() - m;
            *sd += d;
            *sd2 += d * d;
        }
    }

    let mut mean = Array1::<T>::zeros(f);
    let mut var_biased = Array1::<T>::zeros(f);
    let mut var_unbiased = Array1::<T>::zeros(f);
    for j in 0..f {
        let (m, vb, vu) = finish(mu0[j], sum_d[j], sum_d2[j], n);
        let (m, vb, vu) = (T::c(m), T::c(vb), T::c(vu));
        if !(m.is_finite() && vb.is_finite() && vu.is_finite()) {
            return Err(MathError::Overflow { what: WHAT });
        }
        mean[j] = m;
        var_biased[j] = vb;
        var_unbiased[j] = vu;
    }
    Ok(BatchStats {
        mean,
        var_biased,
        var_unbiased,
        count: n,
    })
}

/// Mean and **biased** variance (÷n) of one unit's values, by the same corrected
/// two-pass method as [`batch_stats`].
///
/// # Errors
///
/// [`MathError::Empty`] for no values, [`MathError::NonFinite`] for a NaN or infinite
/// value, [`MathError::Overflow`] if a result does not fit in `T`.
///
/// # Example
///
/// ```
/// use ipbn_math::stats::mean_var;
/// use ndarray::ArrayView1;
///
/// let (m, v) = mean_var(ArrayView1::from(&[1.0_f32, 2.0, 3.0, 4.0])).unwrap();
/// assert_eq!((m, v), (2.5, 1.25));
/// ```
pub fn mean_var<T: Real>(x: ArrayView1<T>) -> Result<(T, T)> {
    const WHAT: &str = "mean_var";
    let n = x.len();
    if n == 0 {
        return Err(MathError::Empty { what: WHAT });
    }
    let mut sum = 0.0_f64;
    for (i, &v) in x.iter().enumerate() {
        let v = v.to_f64_exact();
        if !v.is_finite() {
            return Err(MathError::NonFinite {
                what: WHAT,
                index: i,
                value: v,
            });
        }
        sum += v;
    }
    let mu0 = sum / n as f64;
    let (mut sd, mut sd2) = (0.0_f64, 0.0_f64);
    for &v in x.iter() {
        let d = v.to_f64_exact() - mu0;
        sd += d;
        sd2 += d * d;
    }
    let (m, vb, _) = finish(mu0, sd, sd2, n);
    let (m, vb) = (T::c(m), T::c(vb));
    if !(m.is_finite() && vb.is_finite()) {
        return Err(MathError::Overflow { what: WHAT });
    }
    Ok((m, vb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::rng;
    use ndarray::{array, Array2};
    use ndarray_rand::rand_distr::{Distribution, StandardNormal};

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    /// Values `offset + k/8` for k = −K..=K: mean `offset`, biased variance
    /// `K(K+1)/(3·64)`, all exactly representable in f64.
    fn dyadic_grid(offset: f64, k_max: i64) -> (Vec<f64>, f64, f64) {
        let v: Vec<f64> = (-k_max..=k_max).map(|k| offset + k as f64 / 8.0).collect();
        let kk = k_max as f64;
        let var_b = kk * (kk + 1.0) / 3.0 / 64.0;
        let n = (2 * k_max + 1) as f64;
        (v, var_b, var_b * n / (n - 1.0))
    }

    #[test]
    fn exact_small_values() {
        let x = array![[1.0_f64, -2.0], [2.0, 0.0], [3.0, 2.0], [6.0, 4.0]];
        let s = batch_stats(x.view()).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.mean, array![3.0, 1.0]);
        // Column 0: deviations −2, −1, 0, 3 → Σd² = 14.
        assert_eq!(s.var_biased, array![3.5, 5.0]);
        assert_eq!(s.var_unbiased[0], 14.0 / 3.0);
        assert_eq!(s.var_unbiased[1], 20.0 / 3.0);
        assert_eq!(s.features(), 2);
    }

    #[test]
    fn large_offset_exact_closed_form() {
        for &offset in &[0.0, 1e6, -1e6, 1e9] {
            let (v, vb, vu) = dyadic_grid(offset, 500);
            let x = Array2::from_shape_vec((v.len(), 1), v.clone()).unwrap();
            let s = batch_stats(x.view()).unwrap();
            assert_eq!(s.mean[0], offset, "offset {offset}");
            assert!(rel(s.var_biased[0], vb) <= 1e-13, "offset {offset}");
            assert!(rel(s.var_unbiased[0], vu) <= 1e-13, "offset {offset}");
            let (m1, v1) = mean_var(ArrayView1::from(&v)).unwrap();
            assert_eq!(m1, offset);
            assert!(rel(v1, vb) <= 1e-13);
        }
    }

    #[test]
    fn large_offset_gaussian_f64() {
        // 1e6 + N(0,1): compare with the same data centred exactly (x − 1e6 is exact
        // by Sterbenz's lemma), where no cancellation occurs.
        let mut r = rng(7);
        let n = 10_000;
        let x: Vec<f64> = (0..n)
            .map(|_| 1e6 + Distribution::<f64>::sample(&StandardNormal, &mut r))
            .collect();
        let z: Vec<f64> = x.iter().map(|v| v - 1e6).collect();
        let (mz, vz) = mean_var(ArrayView1::from(&z)).unwrap();
        let (mx, vx) = mean_var(ArrayView1::from(&x)).unwrap();
        assert!(rel(vx, vz) <= 1e-9, "rel err {}", rel(vx, vz));
        assert!((mx - (1e6 + mz)).abs() <= 1e-9);
        // The naive formula fails here; make sure the test data would expose it.
        let naive = x.iter().map(|v| v * v).sum::<f64>() / n as f64 - mx * mx;
        assert!(
            rel(naive, vz) > 1e-6,
            "test data too easy: naive rel err small"
        );
        let xm = Array2::from_shape_vec((n, 1), x).unwrap();
        let s = batch_stats(xm.view()).unwrap();
        assert!(rel(s.var_biased[0], vz) <= 1e-9);
    }

    #[test]
    fn large_offset_f32() {
        // f32 input 1e6 + N(0,1) (spacing 1/16 at 1e6): the stats must match the f64
        // stats of the same (widened) values to f32 rounding.
        let mut r = rng(11);
        let n = 4096;
        let f = 3;
        let x = Array2::from_shape_fn((n, f), |(_, j)| {
            let z: f64 = StandardNormal.sample(&mut r);
            (1e6 * (j as f64 + 1.0) + z) as f32
        });
        let s32 = batch_stats(x.view()).unwrap();
        let s64 = batch_stats(x.mapv(|v| v as f64).view()).unwrap();
        for j in 0..f {
            assert!(rel(s32.var_biased[j] as f64, s64.var_biased[j]) <= 1e-6);
            assert!(rel(s32.var_unbiased[j] as f64, s64.var_unbiased[j]) <= 1e-6);
            assert!(rel(s32.mean[j] as f64, s64.mean[j]) <= 1e-7);
            // N(0,1) plus f32 rounding noise (spacing ≤ 1/4 here, variance ≤ 0.0052).
            assert!(
                (s64.var_biased[j] - 1.0).abs() < 0.1,
                "{}",
                s64.var_biased[j]
            );
        }
    }

    #[test]
    fn one_sample_and_errors() {
        let x = array![[5.0_f64, -1.0]];
        let s = batch_stats(x.view()).unwrap();
        assert_eq!(s.mean, array![5.0, -1.0]);
        assert_eq!(s.var_biased, array![0.0, 0.0]);
        assert_eq!(s.var_unbiased, array![0.0, 0.0]);
        assert!(matches!(
            s.checked_var_unbiased(),
            Err(MathError::TooFewSamples {
                needed: 2,
                got: 1,
                ..
            })
        ));

        let empty = Array2::<f64>::zeros((0, 3));
        assert!(matches!(
            batch_stats(empty.view()),
            Err(MathError::TooFewSamples { got: 0, .. })
        ));
        assert!(matches!(
            mean_var(ArrayView1::<f32>::from(&[])),
            Err(MathError::Empty { .. })
        ));

        let bad = array![[1.0_f32, 2.0], [3.0, f32::NAN]];
        assert!(matches!(
            batch_stats(bad.view()),
            Err(MathError::NonFiniteMatrix {
                sample: 1,
                feature: 1,
                ..
            })
        ));
        assert!(matches!(
            mean_var(ArrayView1::from(&[0.0, f64::INFINITY])),
            Err(MathError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            mean_var(ArrayView1::from(&[1e308_f64, 1e308, -1e308])),
            Err(MathError::Overflow { .. })
        ));
    }

    #[test]
    fn layout_independent_and_deterministic() {
        let mut r = rng(3);
        let x = Array2::from_shape_fn((37, 5), |_| StandardNormal.sample(&mut r));
        let a: BatchStats<f64> = batch_stats(x.view()).unwrap();
        let xt = x.t().to_owned(); // features × samples, then view transposed
        let b = batch_stats(xt.t()).unwrap();
        assert_eq!(a, b);
        let c = batch_stats(x.view()).unwrap();
        assert_eq!(a, c);
        for j in 0..5 {
            let (m, v) = mean_var(x.column(j)).unwrap();
            assert_eq!(m, a.mean[j]);
            assert_eq!(v, a.var_biased[j]);
        }
    }

    #[test]
    fn zero_features() {
        let x = Array2::<f64>::zeros((4, 0));
        let s = batch_stats(x.view()).unwrap();
        assert_eq!(s.features(), 0);
        assert_eq!(s.count, 4);
    }
}
