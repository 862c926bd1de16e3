//! The moment-matching rule on a stationary stream of fresh Gaussian batches: it converges to
//! BN's gain and bias, up to the documented O(1/n) bias of averaging the gain.

use ipbn_neurons::registry::parse_spec;
use ipbn_neurons::IpRule;
use ndarray::Array1;
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand_distr::{Distribution, Normal};
use rand_chacha::ChaCha8Rng;

/// Tail-averaged (α, k) after `steps` steps of size `eta` on batches of `batch` samples.
fn run(rule: &dyn IpRule, m: f64, s: f64, batch: usize, eta: f64, steps: usize) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let dist = Normal::new(m, s).unwrap();
    let (mut alpha, mut k) = (1.0, 0.0);
    let mut x = Array1::<f64>::zeros(batch);
    let (mut sa, mut sk, mut count) = (0.0, 0.0, 0.0);
    for t in 0..steps {
        x.mapv_inplace(|_| dist.sample(&mut rng));
        let d = rule.direction(x.view(), x.view(), alpha, k);
        alpha += eta * d.alpha;
        k += eta * d.k;
        if t >= steps / 2 {
            sa += alpha;
            sk += k;
            count += 1.0;
        }
    }
    (sa / count, sk / count)
}

#[test]
fn converges_to_bn_gain_and_bias() {
    let rule = parse_spec("moment").unwrap().rule;
    for (m, s) in [(0.0, 1.0), (2.0, 0.5), (-3.0, 3.0)] {
        let want = 1.0 / (s * s + 1e-5f64).sqrt();
        let (alpha, k) = run(rule.as_ref(), m, s, 256, 0.05, 3000);
        // Averaging α_B over batches of n overshoots by about 1.25/n (≈ 0.5 % here).
        let rel = alpha / want - 1.0;
        assert!(
            (0.0..0.01).contains(&rel),
            "m {m}, s {s}: alpha {alpha} vs {want}"
        );
        assert!(
            (k + m * alpha).abs() < 0.01 * (1.0 + m.abs() * alpha),
            "m {m}, s {s}: k {k} vs {}",
            -m * alpha
        );
    }
}

#[test]
fn small_batches_show_the_gain_averaging_bias() {
    // The rule averages α (not the variance): with 16 samples per batch E[α_B] exceeds
    // 1/√(var + ε) by about 8 %, as its documentation says.
    let rule = parse_spec("moment:eps=0").unwrap().rule;
    let (alpha, _) = run(rule.as_ref(), 0.0, 1.0, 16, 0.02, 20000);
    let rel = alpha - 1.0;
    assert!((0.05..0.12).contains(&rel), "alpha {alpha}");
}

#[test]
fn rho_scales_the_step() {
    let full = parse_spec("moment").unwrap().rule;
    let half = parse_spec("moment:rho=0.5").unwrap().rule;
    let x = Array1::from(vec![0.3, -1.2, 2.5, 0.1]);
    let a = full.direction(x.view(), x.view(), 0.7, 0.4);
    let b = half.direction(x.view(), x.view(), 0.7, 0.4);
    assert_eq!(b.alpha, 0.5 * a.alpha);
    assert_eq!(b.k, 0.5 * a.k);
}
