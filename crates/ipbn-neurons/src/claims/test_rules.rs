//! Deliberately wrong rules, for the tests that show each rule claim fails on them.

use super::ClaimReport;
use crate::rules::{kl_direction, targets::Uniform, ParamDef, Params};
use crate::{Delta, Objective, Result, Rule};
use ipbn_math::Activation;
use ndarray::ArrayView1;

/// Cases per claim in the unit tests.
pub(super) const CASES: u32 = 96;
/// Seed of the unit tests.
pub(super) const SEED: u64 = 7;

/// Asserts that a claim holds, within its tolerance, on at least one case.
pub(super) fn assert_holds(r: &ClaimReport) {
    assert!(r.holds, "{} fails: {}", r.id, r.detail);
    assert!(r.cases > 0 && r.worst_error <= r.tolerance, "{r:?}");
}

/// Asserts that a claim fails, with a minimal case in its report.
pub(super) fn assert_fails(r: &ClaimReport) {
    assert!(!r.holds, "{} should fail: {r:?}", r.id);
    assert!(r.worst_error > r.tolerance);
    assert!(!r.detail.is_empty());
}

/// A KL rule for tanh with a configurable mistake: h = sign·(−2y) + bias, and Δα using
/// x + shift in place of x.
#[derive(Clone, Copy, Debug)]
pub(super) struct Wrong<const V: u8>;

impl<const V: u8> Wrong<V> {
    fn h(y: f64) -> f64 {
        match V {
            0 => 2.0 * y,         // wrong sign
            1 => -2.0 * y + 0.05, // spurious bias
            _ => -2.0 * y,
        }
    }
}

impl<const V: u8> Rule for Wrong<V> {
    const ID: &'static str = "wrong";
    const SOURCE: &'static str = "test";
    const PARAMS: &'static [ParamDef] = &[];
    fn build(_: Params) -> Result<Self> {
        Ok(Wrong)
    }
    fn params(&self) -> &Params {
        Params::none()
    }
    fn activation(&self) -> Activation {
        Activation::Tanh
    }
    fn objective(&self) -> Objective<'_> {
        Objective::Kl(&Uniform::SYMMETRIC_UNIT)
    }
    fn direction(&self, x: ArrayView1<'_, f64>, y: ArrayView1<'_, f64>, a: f64, _k: f64) -> Delta {
        let d = kl_direction(x, y, a, Self::h);
        if V == 2 {
            // Δα = 1/α + E[(x + 1) h]: not covariant.
            Delta {
                alpha: d.alpha + d.k,
                k: d.k,
            }
        } else {
            d
        }
    }
}

/// Moment matching with the unbiased variance (÷(n − 1)), or forgetting α in k_B.
#[derive(Clone, Copy, Debug)]
pub(super) struct WrongMoment<const V: u8>;

impl<const V: u8> Rule for WrongMoment<V> {
    const ID: &'static str = "wrong-moment";
    const SOURCE: &'static str = "test";
    const PARAMS: &'static [ParamDef] = &[];
    fn build(_: Params) -> Result<Self> {
        Ok(WrongMoment)
    }
    fn params(&self) -> &Params {
        Params::none()
    }
    fn activation(&self) -> Activation {
        Activation::Identity
    }
    fn objective(&self) -> Objective<'_> {
        Objective::BatchMoments
    }
    fn direction(&self, x: ArrayView1<'_, f64>, _y: ArrayView1<'_, f64>, a: f64, k: f64) -> Delta {
        let n = x.len() as f64;
        let mean = x.sum() / n;
        let ss = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
        let (ab, kb) = if V == 0 {
            let ab = 1.0 / (ss / (n - 1.0) + 1e-5).sqrt();
            (ab, -mean * ab)
        } else {
            (1.0 / (ss / n).sqrt(), -mean)
        };
        Delta {
            alpha: ab - a,
            k: kb - k,
        }
    }
}
