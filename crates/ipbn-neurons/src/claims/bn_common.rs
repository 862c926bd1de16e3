//! What the batch-normalisation claims share: the random batch they draw, reference
//! statistics, a frozen IP layer, and the runner.
//!
//! Every BN claim draws a random batch: `m` samples (2 to 32; 2 to 16 for the finite-difference
//! claim) of `n` features (1 to 8; 1 to 3), `x = offset + scale · z` with `z ~ N(0, 1)`,
//! `scale = 10^s` for `s` in [−3, 3] and an offset that is 0, uniform in ±1e3, or ±10^e for
//! `e` in [−3, 3]. The batch itself comes from a ChaCha8 generator seeded by a `u64` drawn by
//! proptest, so a reported minimal case can be replayed exactly.
//!
//! # Measuring error honestly
//!
//! A batch with offset c and spread σ is only known to about `ε_mach · |c|/σ` after
//! centring, whatever the algorithm: `x − μ` loses the leading digits. Rather than exclude such
//! batches, the element-wise claims divide each difference by the size of the terms that are
//! added or subtracted to form the value (for the IP form `γ(α x + k) + β` that is
//! `|γ|(|α x| + |k|) + |β|`), so the tolerance bounds the error *relative to the unavoidable
//! rounding*. For a batch without offset this is an ordinary relative error. Each claim's
//! `statement` names its measure.

use super::{run_property, ClaimReport};
use crate::{Delta, IpLayer, IpLayerConfig, Mode};
use ipbn_math::Activation;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use ndarray_rand::rand::{Rng, SeedableRng};
use ndarray_rand::rand_distr::StandardNormal;
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// Smallest denominator used in relative errors (keeps 0/0 at 0).
pub(super) const TINY: f64 = f64::MIN_POSITIVE;

/// One random batch: its size, scale and offset, and the seed of everything else.
#[derive(Clone, Debug)]
pub(super) struct Case {
    /// Samples.
    pub(super) m: usize,
    /// Features.
    pub(super) n: usize,
    /// log10 of the spread of x.
    pub(super) log10_scale: f64,
    /// Common offset of x.
    pub(super) offset: f64,
    /// Seed of the ChaCha8 generator that draws x and the layer parameters.
    pub(super) seed: u64,
}

impl Case {
    pub(super) fn scale(&self) -> f64 {
        10f64.powf(self.log10_scale)
    }

    pub(super) fn rng(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.seed)
    }

    /// `x = offset + scale · z`, `z ~ N(0, 1)`, shape `(m, n)`.
    pub(super) fn data(&self, rng: &mut ChaCha8Rng) -> Array2<f64> {
        let s = self.scale();
        Array2::from_shape_fn((self.m, self.n), |_| {
            self.offset + s * rng.sample::<f64, _>(StandardNormal)
        })
    }
}

fn cases(max_m: usize, max_n: usize) -> impl Strategy<Value = Case> {
    let offset = prop_oneof![
        Just(0.0),
        -1e3..1e3f64,
        (-3.0..3.0f64, any::<bool>()).prop_map(|(e, neg)| {
            let v = 10f64.powf(e);
            if neg {
                -v
            } else {
                v
            }
        }),
    ];
    (2..=max_m, 1..=max_n, -3.0..=3.0f64, offset, any::<u64>()).prop_map(
        |(m, n, log10_scale, offset, seed)| Case {
            m,
            n,
            log10_scale,
            offset,
            seed,
        },
    )
}

/// ±10^U(lo, hi).
pub(super) fn signed_log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    let v = 10f64.powf(rng.random_range(lo..hi));
    if rng.random::<bool>() {
        v
    } else {
        -v
    }
}

pub(super) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// Random γ (±10^[−2, 2]) and β (N(0, 1)·10^[−2, 2]) for `n` features.
pub(super) fn random_affine(rng: &mut ChaCha8Rng, n: usize) -> (Array1<f64>, Array1<f64>) {
    let g = Array1::from_shape_fn(n, |_| signed_log_uniform(rng, -2.0, 2.0));
    let b = Array1::from_shape_fn(n, |_| normal(rng) * 10f64.powf(rng.random_range(-2.0..2.0)));
    (g, b)
}

/// Mean and biased variance of one column, computed differently from the layer: two passes
/// over the deviations from the column's first value.
pub(super) fn ref_stats(col: ArrayView1<'_, f64>) -> (f64, f64) {
    let m = col.len() as f64;
    let x0 = col[0];
    let md = col.iter().map(|&v| v - x0).sum::<f64>() / m;
    let var = col.iter().map(|&v| (v - x0 - md).powi(2)).sum::<f64>() / m;
    (x0 + md, var)
}

pub(super) fn max_abs(col: ArrayView1<'_, f64>) -> f64 {
    col.iter().fold(0.0, |a, &v| a.max(v.abs()))
}

/// A rule that never moves α or k: the claims set them by hand.
#[derive(Clone, Debug)]
pub(super) struct Frozen;

impl crate::Rule for Frozen {
    const ID: &'static str = "frozen";
    const SOURCE: &'static str = "the claims suite (a fixed IP unit)";
    const PARAMS: &'static [crate::rules::ParamDef] = &[];
    fn build(_: crate::rules::Params) -> crate::Result<Self> {
        Ok(Frozen)
    }
    fn params(&self) -> &crate::rules::Params {
        crate::rules::Params::none()
    }
    fn activation(&self) -> Activation {
        Activation::Identity
    }
    fn objective(&self) -> crate::Objective<'_> {
        crate::Objective::Other
    }
    /// α and k stay where they are set.
    fn direction(
        &self,
        _x: ArrayView1<'_, f64>,
        _y: ArrayView1<'_, f64>,
        _alpha: f64,
        _k: f64,
    ) -> Delta {
        Delta { alpha: 0.0, k: 0.0 }
    }
}

/// An IP layer with frozen α, k, or `None` if it cannot be built (never for valid input).
pub(super) fn frozen_layer(n: usize, act: Activation, affine: bool) -> Option<IpLayer<f64>> {
    let config = IpLayerConfig {
        eta: 0.0,
        affine,
        ..IpLayerConfig::default()
    };
    IpLayer::new(n, act, Arc::new(Frozen), config).ok()
}

pub(super) fn ratio(num: f64, den: f64) -> f64 {
    num.abs() / den.max(TINY)
}

/// Inference-mode forward of an IP layer, as a `Result`.
pub(super) fn check_forward(
    ip: &mut IpLayer<f64>,
    x: ArrayView2<'_, f64>,
) -> Result<Array2<f64>, ()> {
    ip.forward(x, Mode::Eval).map_err(|_| ())
}

/// Gains and biases that bring a batch with this case's offset and scale to u = O(1).
pub(super) fn fitted_gain_bias(c: &Case, rng: &mut ChaCha8Rng) -> (Array1<f64>, Array1<f64>) {
    let s = c.scale();
    let a = Array1::from_shape_fn(c.n, |_| 10f64.powf(rng.random_range(-0.5..0.5)) / s);
    let k = Array1::from_shape_fn(c.n, |j| -a[j] * c.offset + normal(rng));
    (a, k)
}

/// Runs a BN claim: `error` on `cases_n` random batches (see the module documentation) of 2 to
/// `max_m` samples and 1 to `max_n` features, drawn from `seed`, held to `tolerance`.
pub(super) fn run_batches(
    id: &str,
    tolerance: f64,
    (max_m, max_n): (usize, usize),
    cases_n: u32,
    seed: u64,
    error: fn(&Case) -> f64,
) -> ClaimReport {
    run_property(id, tolerance, cases_n, seed, cases(max_m, max_n), error)
}
