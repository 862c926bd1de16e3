//! The register-only fused multiply-add peak of one core: the most `f32` FLOP/s any product
//! could reach on the vector unit at hand, measured rather than taken from a data sheet (clocks
//! differ between machines and with the load).
//!
//! Twelve independent accumulators each run `acc = acc · a + b` on the widest vector the CPU
//! has (16 lanes with AVX-512, 8 with AVX2 + FMA; 4 without, using separate multiplies and adds
//! on SSE2); twelve cover the latency × throughput of the FMA units of current x86 cores (at
//! most 4 cycles × 2 per cycle). Nothing touches memory inside the loop.

use crate::kernels::{detected_kernels, KernelSet};
use std::hint::black_box;
use std::time::Instant;

/// Independent accumulators per loop.
const ACC: usize = 12;

/// Lanes per vector on a kernel set.
fn lanes(set: KernelSet) -> usize {
    match set {
        KernelSet::Avx512 => 16,
        KernelSet::Avx2Fma => 8,
        KernelSet::Baseline => 4,
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::ACC;
    use std::arch::x86_64::*;

    /// `iters` rounds of [`ACC`] 16-lane FMAs; returns a lane of the sum so nothing is dropped.
    #[target_feature(enable = "avx512f")]
    pub(super) fn fma512(iters: u64, a: f32, b: f32) -> f32 {
        let (va, vb) = (_mm512_set1_ps(a), _mm512_set1_ps(b));
        let mut acc = [_mm512_setzero_ps(); ACC];
        for _ in 0..iters {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, va, vb);
            }
        }
        let s = acc
            .iter()
            .fold(_mm512_setzero_ps(), |s, &v| _mm512_add_ps(s, v));
        _mm512_reduce_add_ps(s)
    }

    /// `iters` rounds of [`ACC`] 8-lane FMAs.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn fma256(iters: u64, a: f32, b: f32) -> f32 {
        let (va, vb) = (_mm256_set1_ps(a), _mm256_set1_ps(b));
        let mut acc = [_mm256_setzero_ps(); ACC];
        for _ in 0..iters {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, va, vb);
            }
        }
        let s = acc
            .iter()
            .fold(_mm256_setzero_ps(), |s, &v| _mm256_add_ps(s, v));
        let mut out = [0.0f32; 8];
        // SAFETY: `out` holds 8 floats, the width of one unaligned store.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
        out.iter().sum()
    }
}

/// `iters` rounds of [`ACC`] 4-lane multiply-adds in portable code (two operations each).
fn fma_baseline(iters: u64, a: f32, b: f32) -> f32 {
    let mut acc = [[0.0f32; 4]; ACC];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            for x in v.iter_mut() {
                *x = *x * a + b;
            }
        }
    }
    acc.iter().flatten().sum()
}

/// Runs `iters` rounds on `set` and returns the seconds taken.
fn run(set: KernelSet, iters: u64) -> f64 {
    let (a, b) = (black_box(0.999_9f32), black_box(1e-4f32));
    let t = Instant::now();
    let r = match set {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `measure_fma_peak` passes only sets `detected_kernels` found on this CPU.
        KernelSet::Avx512 => unsafe { x86::fma512(iters, a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above; AVX2 + FMA is present.
        KernelSet::Avx2Fma => unsafe { x86::fma256(iters, a, b) },
        _ => fma_baseline(iters, a, b),
    };
    black_box(r);
    t.elapsed().as_secs_f64()
}

/// The FMA peak of one core on a kernel set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FmaPeak {
    /// The kernel set measured.
    pub kernels: KernelSet,
    /// `f32` GFLOP/s (an FMA counts two FLOPs), the best of the repetitions.
    pub gflops: f64,
}

/// Measures the register-only `f32` FMA peak of the calling thread's core on the widest
/// kernel set the CPU has, as the best of `reps` (≥ 1) runs of about `seconds` each.
///
/// Short runs and many of them (e.g. 2 ms × 100) find the peak even on a busy machine: the
/// best run is one that kept the core throughout.
pub fn measure_fma_peak(seconds: f64, reps: usize) -> FmaPeak {
    measure_fma_peak_on(detected_kernels(), seconds, reps)
}

/// [`measure_fma_peak`] on a given kernel set, capped at what the CPU has.
pub fn measure_fma_peak_on(set: KernelSet, seconds: f64, reps: usize) -> FmaPeak {
    let set = set.min(detected_kernels());
    let flops_per_iter = (ACC * lanes(set) * 2) as f64;
    // Calibrate: grow the count until one run takes a tenth of the target.
    let mut iters = 1u64 << 12;
    while run(set, iters) < seconds.max(1e-4) / 10.0 && iters < 1 << 40 {
        iters *= 2;
    }
    let secs_per_iter = run(set, iters) / iters as f64;
    let iters = ((seconds / secs_per_iter.max(1e-15)) as u64).max(1);
    let best = (0..reps.max(1))
        .map(|_| run(set, iters))
        .fold(f64::INFINITY, f64::min);
    FmaPeak {
        kernels: set,
        gflops: iters as f64 * flops_per_iter / best / 1e9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_positive_and_wider_is_not_slower_per_instruction() {
        let p = measure_fma_peak(0.01, 2);
        assert_eq!(p.kernels, detected_kernels());
        assert!(p.gflops.is_finite() && p.gflops > 0.1, "{p:?}");
        let base = measure_fma_peak_on(KernelSet::Baseline, 0.01, 2);
        assert_eq!(base.kernels, KernelSet::Baseline);
        assert!(base.gflops > 0.0);
    }

    #[test]
    fn every_width_computes_the_same_recurrence() {
        // Each lane runs the same recurrence, so the sums differ only by the lane count and
        // the rounding of the final additions.
        let per_lane = |v: f32, n: usize| v / n as f32;
        let b = fma_baseline(100, 0.5, 1.0);
        assert!((per_lane(b, 4 * ACC) - 2.0).abs() < 1e-5, "{b}");
        #[cfg(target_arch = "x86_64")]
        {
            if detected_kernels() >= KernelSet::Avx2Fma {
                // SAFETY: AVX2 + FMA is present.
                let v = unsafe { x86::fma256(100, 0.5, 1.0) };
                assert!((per_lane(v, 8 * ACC) - 2.0).abs() < 1e-5, "{v}");
            }
            if detected_kernels() == KernelSet::Avx512 {
                // SAFETY: AVX-512 F is present.
                let v = unsafe { x86::fma512(100, 0.5, 1.0) };
                assert!((per_lane(v, 16 * ACC) - 2.0).abs() < 1e-5, "{v}");
            }
        }
    }
}
