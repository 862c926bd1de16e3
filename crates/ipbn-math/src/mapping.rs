//! The mapping between batch normalisation (BN) and an intrinsic-plasticity (IP) unit's
//! gain `α` and bias `k` (models.md §1).
//!
//! An IP unit computes `u = α x + k`. BN in training mode computes
//! `γ (x − μ_B)/√(σ²_B + ε) + β`, which is the IP form with
//! `α_B = 1/√(σ²_B + ε)`, `k_B = −μ_B α_B` ([`bn_to_ip`]) followed by the affine step
//! `γ u + β`. An affine step after an IP unit is again an IP unit ([`compose`]), so BN at
//! inference, with running estimates `m`, `v`, is the single affine map `a x + b`
//! ([`bn_eval_affine`]).
//!
//! The scalar functions do not validate their input: they are called per feature in hot
//! loops. They give finite results whenever `var + eps > 0` and all inputs are finite;
//! otherwise the result is infinite or NaN. [`bn_to_ip_arrays`] checks this and reports a
//! typed error.

use crate::error::{MathError, Result};
use crate::float::Real;
use ndarray::{Array1, ArrayView1};

/// BN's normalisation as an IP unit: returns `(α, k)` with `α = 1/√(var + eps)` and
/// `k = −mean·α`, so that `α x + k = (x − mean)/√(var + eps)`.
///
/// Pass the batch's **biased** variance in training mode (BN's convention) or the running
/// variance at inference. Requires `var + eps > 0` for a finite result.
///
/// ```
/// use ipbn_math::mapping::bn_to_ip;
/// let (alpha, k) = bn_to_ip(3.0_f64, 4.0, 0.0);
/// assert_eq!((alpha, k), (0.5, -1.5));
/// ```
#[inline]
pub fn bn_to_ip<T: Real>(mean: T, var: T, eps: T) -> (T, T) {
    let alpha = T::one() / (var + eps).sqrt();
    (alpha, -mean * alpha)
}

/// Collapses an affine step after an IP unit into one IP unit: returns `(γα, γk + β)`,
/// since `γ(αx + k) + β = (γα)x + (γk + β)`.
///
/// ```
/// use ipbn_math::mapping::compose;
/// assert_eq!(compose(2.0_f64, 1.0, 0.5, -1.5), (1.0, -2.0));
/// ```
#[inline]
pub fn compose<T: Real>(gamma: T, beta: T, alpha: T, k: T) -> (T, T) {
    (gamma * alpha, gamma * k + beta)
}

/// BN at inference as one affine map `a x + b`: returns `(a, b)` with
/// `a = γ/√(running_var + eps)` and `b = β − a·running_mean`.
///
/// Equal (up to rounding) to `compose(γ, β, bn_to_ip(running_mean, running_var, eps))`.
/// Requires `running_var + eps > 0` for a finite result.
///
/// ```
/// use ipbn_math::mapping::bn_eval_affine;
/// assert_eq!(bn_eval_affine(2.0_f64, 1.0, 3.0, 4.0, 0.0), (1.0, -2.0));
/// ```
#[inline]
pub fn bn_eval_affine<T: Real>(
    gamma: T,
    beta: T,
    running_mean: T,
    running_var: T,
    eps: T,
) -> (T, T) {
    let a = gamma / (running_var + eps).sqrt();
    (a, beta - a * running_mean)
}

/// [`bn_to_ip`] for every feature: returns the arrays `(α, k)`.
///
/// # Errors
///
/// [`MathError::LengthMismatch`] if `mean` and `var` differ in length;
/// [`MathError::BadVariance`] if some `var + eps` is not finite and positive;
/// [`MathError::NonFinite`] if some mean is not finite.
pub fn bn_to_ip_arrays<T: Real>(
    mean: ArrayView1<T>,
    var: ArrayView1<T>,
    eps: T,
) -> Result<(Array1<T>, Array1<T>)> {
    if mean.len() != var.len() {
        return Err(MathError::LengthMismatch {
            what: "bn_to_ip_arrays (mean, var)",
            left: mean.len(),
            right: var.len(),
        });
    }
    let n = mean.len();
    let mut alpha = Array1::<T>::zeros(n);
    let mut k = Array1::<T>::zeros(n);
    for (i, (&m, &v)) in mean.iter().zip(var.iter()).enumerate() {
        let s = v + eps;
        if !(s.is_finite() && s > T::zero()) {
            return Err(MathError::BadVariance {
                index: i,
                var: v.to_f64_exact(),
                eps: eps.to_f64_exact(),
            });
        }
        if !m.is_finite() {
            return Err(MathError::NonFinite {
                what: "bn_to_ip_arrays (mean)",
                index: i,
                value: m.to_f64_exact(),
            });
        }
        let (a, b) = bn_to_ip(m, v, eps);
        alpha[i] = a;
        k[i] = b;
    }
    Ok((alpha, k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::rng;
    use crate::stats::mean_var;
    use ndarray::array;
    use ndarray_rand::rand::Rng;

    #[test]
    fn closed_form_values() {
        let (a, k) = bn_to_ip(1.0_f64, 0.25, 0.0);
        assert_eq!((a, k), (2.0, -2.0));
        let (a, k) = bn_to_ip(-2.0_f32, 1.0 - 1e-5, 1e-5);
        assert!((a - 1.0).abs() <= 1e-6);
        assert!((k - 2.0).abs() <= 2e-6);
        assert_eq!(compose(3.0_f64, -1.0, 2.0, -2.0), (6.0, -7.0));
        assert_eq!(bn_eval_affine(3.0_f64, -1.0, 1.0, 0.25, 0.0), (6.0, -7.0));
    }

    #[test]
    fn eval_affine_is_compose_of_bn_to_ip() {
        let mut r = rng(5);
        for _ in 0..1000 {
            let g: f64 = r.random_range(-3.0..3.0);
            let b: f64 = r.random_range(-3.0..3.0);
            let m: f64 = r.random_range(-100.0..100.0);
            let v: f64 = r.random_range(0.0..50.0);
            let (a1, b1) = bn_eval_affine(g, b, m, v, 1e-5);
            let (al, k) = bn_to_ip(m, v, 1e-5);
            let (a2, b2) = compose(g, b, al, k);
            assert!((a1 - a2).abs() <= 1e-15 * a1.abs().max(1e-300));
            // b = β − a m can cancel; compare against the size of its parts.
            assert!((b1 - b2).abs() <= 1e-14 * (b.abs() + (a1 * m).abs()));
        }
    }

    #[test]
    fn normalises_a_batch() {
        let x = [2.0_f64, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]; // mean 5, var 4
        let (m, v) = mean_var(ndarray::ArrayView1::from(&x)).unwrap();
        let (a, k) = bn_to_ip(m, v, 0.0);
        let u: Vec<f64> = x.iter().map(|&xi| a * xi + k).collect();
        let (mu, vu) = mean_var(ndarray::ArrayView1::from(&u)).unwrap();
        assert!(mu.abs() <= 1e-15);
        assert!((vu - 1.0).abs() <= 1e-15);
    }

    #[test]
    fn arrays_match_scalars_and_validate() {
        let mean = array![0.0_f64, 1.0, -3.0];
        let var = array![1.0, 4.0, 0.0];
        let (a, k) = bn_to_ip_arrays(mean.view(), var.view(), 1e-5).unwrap();
        for i in 0..3 {
            assert_eq!((a[i], k[i]), bn_to_ip(mean[i], var[i], 1e-5));
        }
        assert!(matches!(
            bn_to_ip_arrays(mean.view(), array![1.0, 2.0].view(), 1e-5),
            Err(MathError::LengthMismatch {
                left: 3,
                right: 2,
                ..
            })
        ));
        assert!(matches!(
            bn_to_ip_arrays(mean.view(), var.view(), 0.0),
            Err(MathError::BadVariance { index: 2, .. })
        ));
        assert!(matches!(
            bn_to_ip_arrays(array![f64::NAN].view(), array![1.0].view(), 0.0),
            Err(MathError::NonFinite { index: 0, .. })
        ));
    }
}
