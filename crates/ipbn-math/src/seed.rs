//! Seeding: one explicitly seeded ChaCha generator per unit of work.
//!
//! A sweep has one base seed; each run (or unit, or worker task) gets its own seed from
//! [`derive_seed`]`(base, index)` and its own generator from [`rng`]. Results then depend
//! only on the seeds, never on thread count or scheduling. ChaCha8 is used because its
//! output stream is specified and portable, unlike `StdRng`.
//!
//! The value-stability tests below pin the first outputs for fixed seeds, so any change to
//! seeding (a new mixing function, a rand upgrade that changes `seed_from_u64`) is seen.

use ndarray_rand::rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The SplitMix64 increment (2⁶⁴ divided by the golden ratio, made odd).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser (Stafford's "Mix13"): a bijection on `u64` with strong
/// avalanche (each input bit flips about half the output bits).
#[inline]
const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A ChaCha8 generator seeded from `seed` (via `SeedableRng::seed_from_u64`).
///
/// ```
/// use ipbn_math::seed::rng;
/// use ndarray_rand::rand::RngCore;
/// assert_eq!(rng(1).next_u64(), rng(1).next_u64());
/// ```
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A seed for stream `stream` (a run index, unit index, ...) of a sweep seeded with `base`.
///
/// Computed as `mix64(mix64(base + γ) + (stream + 1)·γ)` with SplitMix64's increment γ and
/// finaliser, all arithmetic wrapping. For a fixed `base` distinct streams always get
/// distinct seeds (the map is a bijection in `stream`), and likewise for a fixed `stream`
/// and distinct bases. Mixing `base` before adding the stream term means nearby pairs such
/// as `(b, s + 1)` and `(b + 1, s)` give unrelated seeds. The value is a pure function of
/// its arguments, stable across platforms and versions of this crate (pinned by tests).
///
/// ```
/// use ipbn_math::seed::derive_seed;
/// assert_ne!(derive_seed(42, 0), derive_seed(42, 1));
/// assert_eq!(derive_seed(42, 3), derive_seed(42, 3));
/// ```
pub const fn derive_seed(base: u64, stream: u64) -> u64 {
    let b = mix64(base.wrapping_add(GOLDEN_GAMMA));
    mix64(b.wrapping_add(stream.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA)))
}

/// Shorthand for `rng(derive_seed(base, stream))`: the generator of one stream of a sweep.
pub fn stream_rng(base: u64, stream: u64) -> ChaCha8Rng {
    rng(derive_seed(base, stream))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray_rand::rand::{Rng, RngCore};
    use ndarray_rand::rand_distr::{Distribution, StandardNormal};
    use std::collections::HashSet;

    #[test]
    fn mix64_matches_splitmix64_reference() {
        // SplitMix64 seeded with 0: first output is mix64(γ) (Vigna's reference code).
        assert_eq!(mix64(GOLDEN_GAMMA), 0xE220_A839_7B1D_CDAF);
        assert_eq!(mix64(GOLDEN_GAMMA.wrapping_mul(2)), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn value_stability_rng() {
        let mut r = rng(42);
        let got: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(got, PINNED_RNG_42);
        let mut r = rng(42);
        let u: f64 = r.random();
        let z: f64 = StandardNormal.sample(&mut r);
        assert_eq!((u.to_bits(), z.to_bits()), PINNED_U_Z_42);
    }

    #[test]
    fn value_stability_derive_seed() {
        let got = [
            derive_seed(0, 0),
            derive_seed(0, 1),
            derive_seed(42, 0),
            derive_seed(42, 7),
            derive_seed(u64::MAX, u64::MAX),
        ];
        assert_eq!(got, PINNED_DERIVED);
    }

    #[test]
    fn derived_seeds_are_distinct_and_spread() {
        let mut seen = HashSet::new();
        for base in 0..64_u64 {
            for stream in 0..64_u64 {
                assert!(seen.insert(derive_seed(base, stream)), "collision");
            }
        }
        // Neighbouring streams differ in about half their bits.
        let mut total = 0_u32;
        for s in 0..1000_u64 {
            total += (derive_seed(9, s) ^ derive_seed(9, s + 1)).count_ones();
        }
        let mean = total as f64 / 1000.0;
        assert!((mean - 32.0).abs() < 1.0, "mean flipped bits {mean}");
        // The first draws of neighbouring streams are not correlated.
        let n = 2000;
        let (mut sxy, mut sx, mut sy, mut sxx, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for s in 0..n {
            let x: f64 = stream_rng(1, s).random();
            let y: f64 = stream_rng(1, s + 1).random();
            sx += x;
            sy += y;
            sxy += x * y;
            sxx += x * x;
            syy += y * y;
        }
        let nf = n as f64;
        let cov = sxy / nf - sx * sy / nf / nf;
        let corr = cov / ((sxx / nf - (sx / nf).powi(2)) * (syy / nf - (sy / nf).powi(2))).sqrt();
        assert!(corr.abs() < 0.1, "corr {corr}");
    }

    #[test]
    fn stream_rng_is_rng_of_derived_seed() {
        let mut a = stream_rng(5, 3);
        let mut b = rng(derive_seed(5, 3));
        assert_eq!(a.next_u64(), b.next_u64());
    }

    const PINNED_RNG_42: [u64; 3] = [
        12578764544318200737,
        17529487244874322312,
        7886285670807131020,
    ];
    const PINNED_U_Z_42: (u64, u64) = (4604317194420431787, 4608686939075772812);
    const PINNED_DERIVED: [u64; 5] = [
        12035550249420947055,
        12935080325729570654,
        6332618229526065668,
        13553200262973777806,
        4922461756044938104,
    ];
}
