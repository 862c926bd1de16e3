//! Percentiles with linear interpolation between closest ranks (NumPy's default
//! `method="linear"`, Hyndman & Fan type 7).
//!
//! For `n` values sorted as `x₀ ≤ … ≤ x_{n−1}` and a percentile `p ∈ [0, 100]`, let
//! `h = (n − 1)·p/100`, `i = ⌊h⌋`, `t = h − i`. The result is `x_i + t (x_{i+1} − x_i)`
//! (just `x_i` when `i = n − 1`). The interpolation is evaluated as NumPy's `_lerp` does
//! (from the upper end when `t ≥ 0.5`), so results match NumPy to the last bit in the
//! usual cases and are monotone in `p`.
//!
//! Inputs must be finite: a NaN has no rank, and an infinity makes interpolation
//! undefined. Percentiles are in percent (`50.0` is the median).

use crate::error::{MathError, Result};

fn check_values(values: &[f64], what: &'static str) -> Result<()> {
    if values.is_empty() {
        return Err(MathError::Empty { what });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(MathError::NonFinite { what, index, value });
    }
    Ok(())
}

fn check_p(p: f64) -> Result<()> {
    if (0.0..=100.0).contains(&p) {
        Ok(())
    } else {
        Err(MathError::BadPercentile { p })
    }
}

/// Splits a percentile into the lower rank `i` and the fraction `t` towards rank `i + 1`.
#[inline]
fn rank(n: usize, p: f64) -> (usize, f64) {
    let h = (n - 1) as f64 * (p / 100.0);
    let i = (h.floor() as usize).min(n - 1);
    (i, h - i as f64)
}

/// NumPy's `_lerp`: `a + t (b − a)`, evaluated from `b` when `t ≥ 0.5`.
#[inline]
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 && a != b {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// The `p`-th percentile (in percent) of `values`, which need not be sorted.
///
/// Runs in O(n) time on a copy (selection, not a full sort). For several percentiles of
/// the same data use [`percentiles`], which sorts once.
///
/// # Errors
///
/// [`MathError::Empty`], [`MathError::NonFinite`] (NaN or infinite value),
/// [`MathError::BadPercentile`] (`p` outside `[0, 100]` or NaN).
///
/// ```
/// use ipbn_math::percentile::percentile;
/// assert_eq!(percentile(&[4.0, 1.0, 3.0, 2.0], 50.0).unwrap(), 2.5);
/// ```
pub fn percentile(values: &[f64], p: f64) -> Result<f64> {
    check_values(values, "percentile")?;
    check_p(p)?;
    let mut v = values.to_vec();
    let (i, t) = rank(v.len(), p);
    let (_, lo, upper) = v.select_nth_unstable_by(i, f64::total_cmp);
    let lo = *lo;
    if t == 0.0 || upper.is_empty() {
        return Ok(lo);
    }
    let hi = upper.iter().copied().fold(
        f64::INFINITY,
        |m, x| if x.total_cmp(&m).is_lt() { x } else { m },
    );
    Ok(lerp(lo, hi, t))
}

/// The percentiles `ps` (in percent) of `values`, in the order of `ps`; sorts a copy of
/// `values` once (by `f64::total_cmp`).
///
/// # Errors
///
/// As [`percentile`]; every entry of `ps` is checked before any work is done.
///
/// ```
/// use ipbn_math::percentile::percentiles;
/// let q = percentiles(&[1.0, 2.0, 3.0, 4.0], &[0.0, 50.0, 100.0]).unwrap();
/// assert_eq!(q, vec![1.0, 2.5, 4.0]);
/// ```
pub fn percentiles(values: &[f64], ps: &[f64]) -> Result<Vec<f64>> {
    check_values(values, "percentiles")?;
    for &p in ps {
        check_p(p)?;
    }
    let mut v = values.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    Ok(ps.iter().map(|&p| percentile_of_sorted(&v, p)).collect())
}

/// Percentile of already sorted, finite, non-empty data (no checks).
fn percentile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    let (i, t) = rank(sorted.len(), p);
    if t == 0.0 || i + 1 >= sorted.len() {
        sorted[i]
    } else {
        lerp(sorted[i], sorted[i + 1], t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::rng;
    use ndarray_rand::rand::Rng;

    #[test]
    fn hand_values() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&x, 50.0).unwrap(), 2.5);
        assert!((percentile(&x, 15.0).unwrap() - 1.45).abs() <= 1e-15);
        assert_eq!(percentile(&x, 0.0).unwrap(), 1.0);
        assert_eq!(percentile(&x, 100.0).unwrap(), 4.0);
        // h = 3·0.85 = 2.55 → 3 + 0.55·(4 − 3)
        assert!((percentile(&x, 85.0).unwrap() - 3.55).abs() <= 1e-15);
        // Unsorted input, with a tie.
        let y = [10.0, -1.0, 3.0, 3.0, 7.0];
        // Sorted: −1, 3, 3, 7, 10. p = 50 → rank 2 exactly → 3. p = 90 → h = 3.6 → 8.8.
        assert_eq!(percentile(&y, 50.0).unwrap(), 3.0);
        assert!((percentile(&y, 90.0).unwrap() - 8.8).abs() <= 1e-14);
        assert_eq!(percentile(&[5.0], 37.0).unwrap(), 5.0);
    }

    #[test]
    fn numpy_reference_values() {
        // NumPy's linear method on [0.5, -2, 8, 3.25, 1, 6] at [15, 50, 85], worked by hand:
        // (sorted: −2, 0.5, 1, 3.25, 6, 8; h = 0.75, 2.5, 4.25).
        let x = [0.5, -2.0, 8.0, 3.25, 1.0, 6.0];
        let q = percentiles(&x, &[15.0, 50.0, 85.0]).unwrap();
        assert_eq!(q, vec![-0.125, 2.125, 6.5]);
    }

    #[test]
    fn single_and_batch_agree_and_are_monotone() {
        let mut r = rng(17);
        let x: Vec<f64> = (0..501).map(|_| r.random_range(-5.0..5.0)).collect();
        let ps: Vec<f64> = (0..=200).map(|i| i as f64 * 0.5).collect();
        let q = percentiles(&x, &ps).unwrap();
        for (k, &p) in ps.iter().enumerate() {
            assert_eq!(q[k], percentile(&x, p).unwrap(), "p = {p}");
            if k > 0 {
                assert!(q[k] >= q[k - 1]);
            }
        }
        let mn = x.iter().copied().fold(f64::INFINITY, f64::min);
        let mx = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(q[0], mn);
        assert_eq!(q[200], mx);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            percentile(&[], 50.0),
            Err(MathError::Empty { .. })
        ));
        assert!(matches!(
            percentile(&[1.0], 100.5),
            Err(MathError::BadPercentile { .. })
        ));
        assert!(matches!(
            percentile(&[1.0], f64::NAN),
            Err(MathError::BadPercentile { .. })
        ));
        assert!(matches!(
            percentiles(&[1.0, 2.0], &[10.0, -1.0]),
            Err(MathError::BadPercentile { .. })
        ));
        assert!(matches!(
            percentiles(&[1.0, f64::NAN], &[10.0]),
            Err(MathError::NonFinite { index: 1, .. })
        ));
        assert_eq!(percentiles(&[1.0], &[]).unwrap(), Vec::<f64>::new());
    }
}
