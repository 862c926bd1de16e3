//! Property tests for batch statistics, the BN<->IP mapping, percentiles and entropy.

use ipbn_math::entropy::{histogram_entropy, information_potential};
use ipbn_math::mapping::{bn_eval_affine, bn_to_ip, compose};
use ipbn_math::percentile::{percentile, percentiles};
use ipbn_math::stats::{batch_stats, mean_var};
use ndarray::{Array2, ArrayView1};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(64)
}

/// Dyadic values k·2⁻¹⁰ with |k| < 2²⁰, so that adding a shift c = j·2⁻¹⁰ with
/// |j| < 2⁴⁰ is exact in f64 and shift invariance can be tested tightly.
fn dyadic_vec() -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(-(1_i64 << 20)..(1_i64 << 20), 1..80)
        .prop_map(|ks| ks.into_iter().map(|k| k as f64 / 1024.0).collect())
}

fn dyadic_shift() -> impl Strategy<Value = f64> {
    (-(1_i64 << 40)..(1_i64 << 40)).prop_map(|j| j as f64 / 1024.0)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn variance_is_shift_invariant(x in dyadic_vec(), c in dyadic_shift()) {
        let (m, v) = mean_var(ArrayView1::from(&x)).unwrap();
        let shifted: Vec<f64> = x.iter().map(|xi| xi + c).collect();
        let (ms, vs) = mean_var(ArrayView1::from(&shifted)).unwrap();
        // The shifted data are exact, so only the algorithm's rounding remains.
        prop_assert!((vs - v).abs() <= 1e-12 * v + 1e-300, "var {} vs {} (c = {})", vs, v, c);
        prop_assert!((ms - (m + c)).abs() <= 4.0 * f64::EPSILON * (m + c).abs().max(1.0));
    }

    #[test]
    fn batch_stats_columns_agree_with_mean_var(
        rows in 1_usize..40,
        cols in 1_usize..6,
        seed in any::<u64>(),
        c in -1e6_f64..1e6,
    ) {
        use ndarray_rand::rand::Rng;
        let mut r = ipbn_math::seed::rng(seed);
        let x = Array2::from_shape_fn((rows, cols), |_| c + r.random_range(-3.0..3.0));
        let s = batch_stats(x.view()).unwrap();
        prop_assert_eq!(s.count, rows);
        for j in 0..cols {
            let (m, v) = mean_var(x.column(j)).unwrap();
            prop_assert_eq!(m, s.mean[j]);
            prop_assert_eq!(v, s.var_biased[j]);
            prop_assert!(s.var_biased[j] >= 0.0);
            if rows > 1 {
                let ratio = s.var_unbiased[j] * (rows as f64 - 1.0) / rows as f64;
                prop_assert!((ratio - v).abs() <= 1e-15 * v.max(1e-300));
            }
        }
    }

    #[test]
    fn variance_scales_quadratically(x in dyadic_vec(), p in -10_i32..10) {
        // Scaling by a power of two is exact.
        let a = 2f64.powi(p);
        let (m, v) = mean_var(ArrayView1::from(&x)).unwrap();
        let scaled: Vec<f64> = x.iter().map(|xi| a * xi).collect();
        let (ms, vs) = mean_var(ArrayView1::from(&scaled)).unwrap();
        prop_assert_eq!(ms, a * m);
        prop_assert_eq!(vs, a * a * v);
    }

    #[test]
    fn f32_stats_match_f64_of_same_values(
        x in proptest::collection::vec(-1e4_f32..1e4, 2..60),
        c in -1e5_f32..1e5,
    ) {
        let xs: Vec<f32> = x.iter().map(|v| v + c).collect();
        let wide: Vec<f64> = xs.iter().map(|&v| v as f64).collect();
        let (m32, v32) = mean_var(ArrayView1::from(&xs)).unwrap();
        let (m64, v64) = mean_var(ArrayView1::from(&wide)).unwrap();
        // Computed in f64 and rounded once: within half an f32 ulp (plus f64 noise).
        prop_assert!((m32 as f64 - m64).abs() <= 1e-7 * m64.abs().max(1e-30));
        prop_assert!((v32 as f64 - v64).abs() <= 1e-7 * v64 + 1e-30);
    }

    #[test]
    fn bn_to_ip_normalises(
        x in proptest::collection::vec(-1e3_f64..1e3, 2..64),
        c in -1e6_f64..1e6,
        eps in prop_oneof![Just(0.0), 1e-8_f64..1e-3],
    ) {
        let xs: Vec<f64> = x.iter().map(|v| v + c).collect();
        let (m, v) = mean_var(ArrayView1::from(&xs)).unwrap();
        prop_assume!(v > 1e-6);
        let (alpha, k) = bn_to_ip(m, v, eps);
        let u: Vec<f64> = xs.iter().map(|&xi| alpha * xi + k).collect();
        let (mu, vu) = mean_var(ArrayView1::from(&u)).unwrap();
        // α x + k cancels terms of size α|x|: each uᵢ carries an absolute rounding
        // error of a few ulps of that size, and uᵢ itself is O(1).
        let scale = alpha * (c.abs() + 1e3);
        prop_assert!(mu.abs() <= 1e-14 * scale + 1e-13, "mean {} (scale {})", mu, scale);
        let target = v / (v + eps);
        prop_assert!((vu - target).abs() <= 1e-14 * scale + 1e-13, "var {} vs {}", vu, target);
    }

    #[test]
    fn composition_and_eval_affine(
        gamma in -5.0_f64..5.0,
        beta in -5.0_f64..5.0,
        mean in -100.0_f64..100.0,
        var in 0.0_f64..100.0,
        x in -1e3_f64..1e3,
    ) {
        let eps = 1e-5;
        let (alpha, k) = bn_to_ip(mean, var, eps);
        let (ga, gb) = compose(gamma, beta, alpha, k);
        let two_step = gamma * (alpha * x + k) + beta;
        let one_step = ga * x + gb;
        let size = (gamma * alpha * x).abs() + (gamma * k).abs() + beta.abs();
        prop_assert!((two_step - one_step).abs() <= 1e-14 * size.max(1e-300));
        let (a, b) = bn_eval_affine(gamma, beta, mean, var, eps);
        let bn = gamma * (x - mean) / (var + eps).sqrt() + beta;
        prop_assert!((a * x + b - bn).abs() <= 1e-14 * size.max(1e-300));
    }

    #[test]
    fn percentiles_are_ordered_and_bounded(
        x in proptest::collection::vec(-1e6_f64..1e6, 1..100),
        mut ps in proptest::collection::vec(0.0_f64..=100.0, 1..10),
    ) {
        ps.sort_by(f64::total_cmp);
        let q = percentiles(&x, &ps).unwrap();
        let mn = x.iter().copied().fold(f64::INFINITY, f64::min);
        let mx = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for i in 0..q.len() {
            prop_assert!(q[i] >= mn && q[i] <= mx);
            prop_assert_eq!(q[i], percentile(&x, ps[i]).unwrap());
            if i > 0 {
                prop_assert!(q[i] >= q[i - 1]);
            }
        }
    }

    #[test]
    fn entropy_bounds(
        y in proptest::collection::vec(-2.0_f64..2.0, 1..200),
        bins in 1_usize..50,
        sigma in 0.01_f64..2.0,
    ) {
        let h = histogram_entropy(&y, bins, -1.0, 1.0).unwrap();
        prop_assert!(h >= 0.0 && h <= (bins as f64).ln() + 1e-12);
        // Each kernel term is at most G(0), and the diagonal alone gives G(0)/N.
        let g0 = 1.0 / (2.0 * sigma * std::f64::consts::PI.sqrt());
        let v = information_potential(&y, sigma).unwrap();
        let n = y.len() as f64;
        prop_assert!(v <= g0 * (1.0 + 1e-12) && v >= g0 / n * (1.0 - 1e-12));
        let mut rev = y.clone();
        rev.reverse();
        prop_assert_eq!(information_potential(&rev, sigma).unwrap(), v);
    }
}
