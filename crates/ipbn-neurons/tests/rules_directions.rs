//! `IpRule::directions` (every unit of a batch at once, what the IP layer calls) equals
//! `IpRule::direction` on each unit's column bit for bit, for every registered rule, including
//! those a user adds with `ipbn rules new`. A KL rule that overrides `direction` breaks this.

use ipbn_neurons::registry;
use ndarray::Array2;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn batched_directions_equal_per_column(
        rows in 1usize..70,
        units in 1usize..24,
        seed in any::<u64>(),
        transposed in any::<bool>(),
    ) {
        use ndarray_rand::rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for rule in registry::default_rules() {
            let act = rule.activation();
            let x = Array2::from_shape_fn((rows, units), |_| rng.random_range(-4.0..4.0));
            let alpha: Vec<f64> = (0..units).map(|_| rng.random_range(0.1..5.0)).collect();
            let k: Vec<f64> = (0..units).map(|_| rng.random_range(-3.0..3.0)).collect();
            let y = Array2::from_shape_fn((rows, units), |(r, j)| act.f(alpha[j] * x[[r, j]] + k[j]));
            // Also a non-contiguous (column-major) layout, which takes the general path.
            let (xv, yv) = if transposed {
                (x.t().as_standard_layout().reversed_axes().to_owned(), y.t().as_standard_layout().reversed_axes().to_owned())
            } else {
                (x.clone(), y.clone())
            };
            let mut out = Vec::new();
            rule.directions(xv.view(), yv.view(), &alpha, &k, &mut out);
            prop_assert_eq!(out.len(), units);
            for j in 0..units {
                let d = rule.direction(x.column(j), y.column(j), alpha[j], k[j]);
                let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
                prop_assert!(
                    same(out[j].alpha, d.alpha) && same(out[j].k, d.k),
                    "{}: unit {} batched {:?} per column {:?}", rule.id(), j, out[j], d
                );
            }
        }
    }
}
