//! Stochastic equilibria: the rules, stepped with plain SGD on fresh mini-batches from a fixed
//! input distribution, settle at the fixed points of models.md §3. The estimate is the time
//! average of (α, k) over the second half of the run.

use ipbn_neurons::registry::parse_spec;
use ipbn_neurons::IpRule;
use ndarray::Array1;
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand_distr::{Distribution, Normal};
use rand_chacha::ChaCha8Rng;

/// Runs `steps` SGD steps with learning rate `eta` on batches of `batch` samples of
/// N(m, s²), starting from (α, k) = (1/s, −m/s), and returns the tail average.
fn run(rule: &dyn IpRule, m: f64, s: f64, eta: f64, steps: usize, seed: u64) -> (f64, f64) {
    let batch = 128;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dist = Normal::new(m, s).unwrap();
    let act = rule.activation();
    let (mut alpha, mut k) = (1.0 / s, -m / s);
    let mut x = Array1::<f64>::zeros(batch);
    let mut y = Array1::<f64>::zeros(batch);
    let (mut sa, mut sk, mut count) = (0.0, 0.0, 0.0);
    for t in 0..steps {
        x.mapv_inplace(|_| dist.sample(&mut rng));
        y.zip_mut_with(&x, |yi, &xi| *yi = act.f(alpha * xi + k));
        let d = rule.direction(x.view(), y.view(), alpha, k);
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
fn infomax_tanh_standardises_gaussian_input() {
    let rule = parse_spec("infomax-tanh").unwrap().rule;
    for (i, &(m, s)) in [(0.0, 1.0), (1.5, 2.0), (-0.7, 0.5), (3.0, 4.0)]
        .iter()
        .enumerate()
    {
        // The field's curvature grows like E[x²] = m² + s²: scale the step to it.
        let eta = 0.05 / (m * m + s * s);
        let (alpha, k) = run(rule.as_ref(), m, s, eta, 6000, 100 + i as u64);
        let gain = alpha * s;
        assert!(
            (gain / 0.8744 - 1.0).abs() < 0.02,
            "m {m}, s {s}: alpha*s = {gain}, want 0.8744 within 2 %"
        );
        assert!(
            (k + alpha * m).abs() < 0.02,
            "m {m}, s {s}: k = {k}, want -alpha*m = {} within 0.02",
            -alpha * m
        );
    }
}

#[test]
fn triesch_reaches_its_gaussian_fixed_point() {
    let rule = parse_spec("triesch:mu=0.1").unwrap().rule;
    let (alpha, k) = run(rule.as_ref(), 0.0, 1.0, 0.02, 20000, 7);
    assert!(
        (alpha / 1.2383 - 1.0).abs() < 0.02,
        "alpha = {alpha}, want 1.2383"
    );
    assert!((k / -2.7024 - 1.0).abs() < 0.02, "k = {k}, want -2.7024");
}

#[test]
fn infomax_logistic_gain_is_twice_the_tanh_gain() {
    let rule = parse_spec("infomax-logistic").unwrap().rule;
    let (alpha, k) = run(rule.as_ref(), 0.5, 1.0, 0.02, 8000, 3);
    assert!(
        (alpha / 1.7488 - 1.0).abs() < 0.02,
        "alpha = {alpha}, want 1.7488"
    );
    assert!(
        (k + alpha * 0.5).abs() < 0.04,
        "k = {k}, want {}",
        -alpha * 0.5
    );
}
