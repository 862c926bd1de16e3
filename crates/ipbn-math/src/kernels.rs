//! Element-wise kernels of the training hot path, the kernel sets of the CPU and the kernel
//! mode, and the [`multiversion!`](crate::multiversion!) macro that compiles a loop for AVX-512,
//! AVX2 + FMA and the baseline target (with the `multiversion` crate) and picks the widest the
//! CPU runs.
//!
//! # Same results on every path
//!
//! The wide (AVX2, AVX-512) instances of a loop perform the same IEEE operations in the same
//! order as the baseline instance; only the number of values per instruction changes (Rust
//! never fuses a multiply and an add unless asked with `mul_add`). Reductions stay sequential
//! where their order matters. So switching paths does not change a single bit, with one
//! documented exception: the exponential inside the sigmoid kernels. Only the matrix products
//! ([`crate::gemm`]) give different bits on different kernel sets; [`kernel_mode`] pins them.
//!
//! # The exponential
//!
//! On the wide path, `f32` sigmoids take their `e^x` from [`exp_f32`], a vectorised
//! re-implementation of the algorithm of glibc's `expf` (Szabolcs Nagy's, from Arm's
//! optimized-routines) with the fused multiply-adds of glibc's FMA build. On x86-64 Linux with
//! glibc it returns exactly what `f32::exp` returns, for every one of the 2³² inputs (checked by
//! the ignored test `exp_f32_matches_libm_everywhere`; a sampled form runs with every `cargo
//! test`), so training results are bit-identical to the scalar code. With another C library
//! the two may differ in the last bit of a rare input; the wide path then still gives the
//! same results on every AVX2 machine. It runs four lanes per instruction on AVX2 and eight
//! on AVX-512 (with register permutes for the table instead of a gather), with the same
//! operations on each lane, so the two give the same bits (tested).

use crate::{Activation, Real};
use std::any::TypeId;

/// A set of vector kernels: what the CPU offers, and what the matrix products run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KernelSet {
    /// No AVX2 + FMA: the compiler's baseline code (SSE2 on x86-64).
    Baseline,
    /// 256-bit AVX2 with fused multiply-add.
    Avx2Fma,
    /// 512-bit AVX-512 (F, BW, DQ and VL), with AVX2 and FMA.
    Avx512,
}

impl KernelSet {
    /// The short name printed by `ipbn bench` (`baseline`, `avx2+fma`, `avx512`).
    pub fn name(self) -> &'static str {
        match self {
            KernelSet::Baseline => "baseline",
            KernelSet::Avx2Fma => "avx2+fma",
            KernelSet::Avx512 => "avx512",
        }
    }
}

impl std::fmt::Display for KernelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The widest kernel set this CPU runs (detected once per process).
pub fn detected_kernels() -> KernelSet {
    static DETECTED: std::sync::OnceLock<KernelSet> = std::sync::OnceLock::new();
    *DETECTED.get_or_init(detect)
}

fn detect() -> KernelSet {
    #[cfg(target_arch = "x86_64")]
    {
        use std::is_x86_feature_detected as has;
        let avx2 = has!("avx2") && has!("fma");
        if avx2 && has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") {
            return KernelSet::Avx512;
        }
        if avx2 {
            return KernelSet::Avx2Fma;
        }
    }
    KernelSet::Baseline
}

/// The environment variable that selects the kernel mode (`native` or `portable`).
pub const KERNELS_ENV: &str = "IPBN_KERNELS";

/// How the matrix products choose their kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelMode {
    /// The widest kernels the CPU has (the default): fastest, and the same bits for the same
    /// binary on the same CPU, but the last bits may differ between CPUs with different
    /// vector units.
    Native,
    /// At most AVX2 + FMA on every CPU: the same bits on every x86-64 CPU with AVX2 + FMA,
    /// which is how the committed `reports/` were made.
    Portable,
}

impl std::str::FromStr for KernelMode {
    type Err = crate::MathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "native" => Ok(KernelMode::Native),
            "portable" => Ok(KernelMode::Portable),
            other => Err(crate::MathError::BadKernelMode {
                value: other.to_string(),
            }),
        }
    }
}

/// The kernel mode from [`KERNELS_ENV`], read once per process. An unknown value is reported
/// on standard error once and runs [`KernelMode::Portable`], the mode that changes nothing.
pub fn kernel_mode() -> KernelMode {
    static MODE: std::sync::OnceLock<KernelMode> = std::sync::OnceLock::new();
    *MODE.get_or_init(|| {
        let v = std::env::var(KERNELS_ENV).unwrap_or_default();
        v.parse().unwrap_or_else(|e| {
            eprintln!("warning: {e}; using portable");
            KernelMode::Portable
        })
    })
}

/// The kernel set the matrix products run on: [`detected_kernels`], capped at
/// [`KernelSet::Avx2Fma`] in [`KernelMode::Portable`]. The element-wise kernels always run the
/// widest instance, which gives the same bits at every width (see the module documentation).
pub fn product_kernels() -> KernelSet {
    let set = detected_kernels();
    match kernel_mode() {
        KernelMode::Native => set,
        KernelMode::Portable => set.min(KernelSet::Avx2Fma),
    }
}

/// Whether the CPU runs the wide (AVX2 + FMA or wider) instances of the element-wise kernels.
#[inline]
pub fn wide_simd() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines a function whose body is compiled three times, by the `multiversion` crate: for
/// AVX-512 (F, BW, DQ, VL with AVX2 and FMA), for AVX2 + FMA and for the baseline target; the
/// widest instance the CPU runs is chosen at run time.
///
/// Inside the body the constant `WIDE: bool` is true in the AVX2 and AVX-512 instances, so a
/// body may call `#[target_feature(enable = "avx2,fma")]` functions when `WIDE` is true.
/// Generic parameters take at most one bound each.
///
/// ```
/// ipbn_math::multiversion! {
///     /// Adds `b` to every element of `a`.
///     pub fn add_all(a: &mut [f32], b: f32) {
///         let _ = WIDE;
///         for v in a.iter_mut() {
///             *v += b;
///         }
///     }
/// }
/// let mut a = [1.0f32, 2.0];
/// add_all(&mut a, 0.5);
/// assert_eq!(a, [1.5, 2.5]);
/// ```
#[macro_export]
macro_rules! multiversion {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident $(<$($gen:ident $(: $bound:path)?),+>)?
            ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)?
        $body:block
    ) => {
        $(#[$attr])*
        #[allow(clippy::too_many_arguments)]
        #[inline]
        $vis fn $name $(<$($gen $(: $bound)?),+>)? ( $($arg: $ty),* ) $(-> $ret)? {
            #[allow(unused_imports)]
            use $crate::kernels::__private::multiversion;

            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body<$($($gen $(: $bound)?,)+)? const WIDE: bool>( $($arg: $ty),* ) $(-> $ret)?
            $body

            #[multiversion::multiversion(targets(
                "x86_64+avx512f+avx512bw+avx512dq+avx512vl+avx2+fma",
                "x86_64+avx2+fma",
            ))]
            #[allow(clippy::too_many_arguments)]
            fn dispatch $(<$($gen $(: $bound)?),+>)? ( $($arg: $ty),* ) $(-> $ret)? {
                const WIDE: bool = multiversion::target::target_cfg_f!(all(
                    target_arch = "x86_64",
                    target_feature = "avx2",
                    target_feature = "fma"
                ));
                body::<$($($gen,)+)? WIDE>($($arg),*)
            }
            dispatch $(::<$($gen),+>)? ($($arg),*)
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use multiversion;
}

/// `s` as `&[f32]` when `T` is `f32`.
#[inline(always)]
pub fn as_f32<T: 'static>(s: &[T]) -> Option<&[f32]> {
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        // SAFETY: T is f32, so the slice is a slice of f32.
        Some(unsafe { &*(s as *const [T] as *const [f32]) })
    } else {
        None
    }
}

/// `s` as `&mut [f32]` when `T` is `f32`.
#[inline(always)]
pub fn as_f32_mut<T: 'static>(s: &mut [T]) -> Option<&mut [f32]> {
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        // SAFETY: T is f32, so the slice is a slice of f32.
        Some(unsafe { &mut *(s as *mut [T] as *mut [f32]) })
    } else {
        None
    }
}

/// `2^(i/32)` rounded to the nearest `f64`, minus `i · 2^47` in its bit pattern: adding
/// `k << 47` to entry `k mod 32` gives the bits of `2^(k/32)` for any integer `k` in range.
const EXP2_TAB: [u64; 32] = [
    0x3ff0000000000000,
    0x3fefd9b0d3158574,
    0x3fefb5586cf9890f,
    0x3fef9301d0125b51,
    0x3fef72b83c7d517b,
    0x3fef54873168b9aa,
    0x3fef387a6e756238,
    0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715,
    0x3feef1a7373aa9cb,
    0x3feedea64c123422,
    0x3feece086061892d,
    0x3feebfdad5362a27,
    0x3feeb42b569d4f82,
    0x3feeab07dd485429,
    0x3feea47eb03a5585,
    0x3feea09e667f3bcd,
    0x3fee9f75e8ec5f74,
    0x3feea11473eb0187,
    0x3feea589994cce13,
    0x3feeace5422aa0db,
    0x3feeb737b0cdc5e5,
    0x3feec49182a3f090,
    0x3feed503b23e255d,
    0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47,
    0x3fef199bdd85529c,
    0x3fef3720dcef9069,
    0x3fef5818dcfba487,
    0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da,
    0x3fefd0765b6e4540,
];
/// 32/ln 2, rounded to `f64`.
const EXP_INV_LN2_32: f64 = f64::from_bits(0x40471547652b82fe);
/// 1.5 · 2^52: adding it rounds a double of magnitude below 2^51 to an integer, which then
/// sits in the low bits of the sum.
const EXP_SHIFT: f64 = f64::from_bits(0x4338000000000000);
/// The cubic for `2^(r/32)`, `r` in [−1/2, 1/2]: `1 + C2 r + C1 r² + C0 r³` (glibc's
/// coefficients).
const EXP_C0: f64 = f64::from_bits(0x3ebc6af84b912394);
const EXP_C1: f64 = f64::from_bits(0x3f2ebfce50fac4f3);
const EXP_C2: f64 = f64::from_bits(0x3f962e42ff0c52d6);
/// `|x|` bit patterns from here up (|x| ≥ 88, infinities, NaN) go to the C library.
const EXP_SPECIAL: u32 = 0x42b0_0000;

/// `e^x` for `f32`, by glibc's algorithm: `x · 32/ln 2 = k + r` with integer `k` and
/// `|r| ≤ 1/2`, `e^x = 2^(k/32) · 2^(r/32)` with `2^(k/32)` from a 32-entry table and the
/// exponent bits, and a cubic for `2^(r/32)`, all in `f64` and rounded to `f32` once. Inputs
/// with `|x| ≥ 88` (overflow and underflow regions), infinities and NaN go to `f32::exp`.
///
/// Without hardware FMA the `mul_add`s here are slow library calls; the kernels use this only
/// on the wide path, where they are single instructions.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    if x.to_bits() & 0x7fff_ffff >= EXP_SPECIAL {
        return x.exp();
    }
    let xd = x as f64;
    let kds = EXP_INV_LN2_32.mul_add(xd, EXP_SHIFT);
    let ki = kds.to_bits();
    let kd = kds - EXP_SHIFT;
    let r = EXP_INV_LN2_32.mul_add(xd, -kd);
    let s = f64::from_bits(EXP2_TAB[(ki & 31) as usize].wrapping_add(ki << 47));
    let z = EXP_C0.mul_add(r, EXP_C1);
    let r2 = r * r;
    let y = r.mul_add(EXP_C2, 1.0);
    let y = z.mul_add(r2, y);
    (y * s) as f32
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use std::arch::x86_64::*;

    /// [`exp_f32`] of four lanes (special inputs give unspecified lanes; see `exp_into`).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn exp4(x: __m128) -> __m128 {
        let xd = _mm256_cvtps_pd(x);
        let inv = _mm256_set1_pd(EXP_INV_LN2_32);
        let shift = _mm256_set1_pd(EXP_SHIFT);
        let kds = _mm256_fmadd_pd(inv, xd, shift);
        let ki = _mm256_castpd_si256(kds);
        let kd = _mm256_sub_pd(kds, shift);
        let r = _mm256_fmsub_pd(inv, xd, kd);
        let idx = _mm256_and_si256(ki, _mm256_set1_epi64x(31));
        // SAFETY: every index is masked to 0..32, inside the 32-entry table.
        let tab = unsafe { _mm256_i64gather_epi64::<8>(EXP2_TAB.as_ptr() as *const i64, idx) };
        let s = _mm256_castsi256_pd(_mm256_add_epi64(tab, _mm256_slli_epi64::<47>(ki)));
        let z = _mm256_fmadd_pd(_mm256_set1_pd(EXP_C0), r, _mm256_set1_pd(EXP_C1));
        let r2 = _mm256_mul_pd(r, r);
        let y = _mm256_fmadd_pd(r, _mm256_set1_pd(EXP_C2), _mm256_set1_pd(1.0));
        let y = _mm256_fmadd_pd(z, r2, y);
        _mm256_cvtpd_ps(_mm256_mul_pd(y, s))
    }

    /// Lanes of `v` whose `|x|` needs the C library, as a mask.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn special4(v: __m128) -> __m128i {
        let abs = _mm_and_si128(_mm_castps_si128(v), _mm_set1_epi32(0x7fff_ffff));
        _mm_cmpgt_epi32(abs, _mm_set1_epi32(EXP_SPECIAL as i32 - 1))
    }

    /// [`exp4`] on eight lanes in 512-bit registers: the same operations on each lane, so the
    /// same bits.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
    unsafe fn exp8(x: __m256) -> __m256 {
        let xd = _mm512_cvtps_pd(x);
        let inv = _mm512_set1_pd(EXP_INV_LN2_32);
        let shift = _mm512_set1_pd(EXP_SHIFT);
        let kds = _mm512_fmadd_pd(inv, xd, shift);
        let ki = _mm512_castpd_si512(kds);
        let kd = _mm512_sub_pd(kds, shift);
        let r = _mm512_fmsub_pd(inv, xd, kd);
        let idx = _mm512_and_si512(ki, _mm512_set1_epi64(31));
        // The table lookup as two two-register permutes and a blend (a gather is slower).
        // SAFETY: each load reads 8 of the table's 32 entries.
        let t = |j: usize| unsafe { _mm512_loadu_si512(EXP2_TAB.as_ptr().add(8 * j).cast()) };
        let lo = _mm512_permutex2var_epi64(t(0), idx, t(1));
        let hi = _mm512_permutex2var_epi64(t(2), idx, t(3));
        let upper = _mm512_test_epi64_mask(idx, _mm512_set1_epi64(16));
        let tab = _mm512_mask_blend_epi64(upper, lo, hi);
        let s = _mm512_castsi512_pd(_mm512_add_epi64(tab, _mm512_slli_epi64::<47>(ki)));
        let z = _mm512_fmadd_pd(_mm512_set1_pd(EXP_C0), r, _mm512_set1_pd(EXP_C1));
        let r2 = _mm512_mul_pd(r, r);
        let y = _mm512_fmadd_pd(r, _mm512_set1_pd(EXP_C2), _mm512_set1_pd(1.0));
        let y = _mm512_fmadd_pd(z, r2, y);
        _mm512_cvtpd_ps(_mm512_mul_pd(y, s))
    }

    /// [`exp_into`] with eight lanes per instruction (AVX-512): the same bits.
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
    pub(super) unsafe fn exp_into_512<const NEG_ABS: bool>(x: &[f32], out: &mut [f32]) {
        let n = x.len().min(out.len());
        let sign = _mm256_set1_ps(-0.0);
        let special = _mm256_set1_epi32(EXP_SPECIAL as i32 - 1);
        let abs = _mm256_set1_epi32(0x7fff_ffff);
        let mut any = _mm256_setzero_si256();
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n <= x.len(), out.len().
            let v = unsafe { _mm256_loadu_ps(x.as_ptr().add(i)) };
            let v = if NEG_ABS { _mm256_or_ps(v, sign) } else { v };
            // SAFETY: as above; this function runs only on AVX-512.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(i), exp8(v)) };
            let bits = _mm256_and_si256(_mm256_castps_si256(v), abs);
            any = _mm256_or_si256(any, _mm256_cmpgt_epi32(bits, special));
            i += 8;
        }
        // SAFETY: this function runs only on AVX2 + FMA (and more); the rest is exp_into's.
        unsafe { exp_into::<NEG_ABS>(&x[i..n], &mut out[i..n]) };
        if _mm256_movemask_epi8(any) != 0 {
            redo_special::<NEG_ABS>(&x[..i], &mut out[..i]);
        }
    }

    /// `out[i] = exp_f32(sign · |x[i]|)` with `sign` −1 (`NEG_ABS`) or the identity.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn exp_into<const NEG_ABS: bool>(x: &[f32], out: &mut [f32]) {
        let n = x.len().min(out.len());
        let sign = _mm_set1_ps(-0.0);
        let load = |i: usize| {
            // SAFETY: callers pass i + 4 <= n.
            let v = unsafe { _mm_loadu_ps(x.as_ptr().add(i)) };
            if NEG_ABS {
                _mm_or_ps(v, sign)
            } else {
                v
            }
        };
        let mut any = _mm_setzero_si128();
        let mut i = 0;
        while i + 8 <= n {
            let (a, b) = (load(i), load(i + 4));
            // SAFETY: i + 8 <= n <= out.len().
            unsafe {
                _mm_storeu_ps(out.as_mut_ptr().add(i), exp4(a));
                _mm_storeu_ps(out.as_mut_ptr().add(i + 4), exp4(b));
            }
            // SAFETY: this function runs only on AVX2 + FMA.
            any = _mm_or_si128(any, unsafe { _mm_or_si128(special4(a), special4(b)) });
            i += 8;
        }
        while i + 4 <= n {
            let a = load(i);
            // SAFETY: i + 4 <= n <= out.len().
            unsafe { _mm_storeu_ps(out.as_mut_ptr().add(i), exp4(a)) };
            // SAFETY: this function runs only on AVX2 + FMA.
            any = _mm_or_si128(any, unsafe { special4(a) });
            i += 4;
        }
        let arg = |v: f32| if NEG_ABS { -v.abs() } else { v };
        for j in i..n {
            out[j] = exp_f32(arg(x[j]));
        }
        if _mm_movemask_epi8(any) != 0 {
            redo_special::<NEG_ABS>(&x[..i], &mut out[..i]);
        }
    }

    /// The lanes of a vectorised pass whose `|x|` is special (overflow, underflow, ∞, NaN),
    /// recomputed with the C library, as [`exp_f32`] does.
    fn redo_special<const NEG_ABS: bool>(x: &[f32], out: &mut [f32]) {
        for (o, &v) in out.iter_mut().zip(x) {
            if v.to_bits() & 0x7fff_ffff >= EXP_SPECIAL {
                *o = if NEG_ABS { -v.abs() } else { v }.exp();
            }
        }
    }
}

/// `out[i] = e^(x[i])` (or `e^(−|x[i]|)` with `NEG_ABS`) over the common length; the wide path
/// must only be taken when `WIDE` is true, i.e. inside the AVX2 instance of a multiversioned
/// function.
#[inline(always)]
fn exp_slice<T: Real, const WIDE: bool, const NEG_ABS: bool>(x: &[T], out: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if WIDE {
        if let (Some(xf), Some(of)) = (as_f32(x), as_f32_mut(out)) {
            if detected_kernels() == KernelSet::Avx512 {
                // SAFETY: the CPU has AVX-512 (F, DQ, VL) with AVX2 and FMA.
                unsafe { x86::exp_into_512::<NEG_ABS>(xf, of) };
            } else {
                // SAFETY: WIDE is true only in the instance compiled for, and run on, AVX2 + FMA.
                unsafe { x86::exp_into::<NEG_ABS>(xf, of) };
            }
            return;
        }
    }
    for (o, &v) in out.iter_mut().zip(x) {
        *o = if NEG_ABS { -v.abs() } else { v }.exp();
    }
}

/// Runs `$body` with `$a` bound to the activation as a constant of each variant, so the
/// per-element `match` inside [`Activation`]'s methods folds away in loops.
macro_rules! each_act {
    ($act:expr, $a:ident => $body:expr) => {
        match $act {
            Activation::Sigmoid => {
                const $a: Activation = Activation::Sigmoid;
                $body
            }
            Activation::Tanh => {
                const $a: Activation = Activation::Tanh;
                $body
            }
            Activation::Relu => {
                const $a: Activation = Activation::Relu;
                $body
            }
            Activation::Softplus => {
                const $a: Activation = Activation::Softplus;
                $body
            }
            Activation::Identity => {
                const $a: Activation = Activation::Identity;
                $body
            }
        }
    };
}

/// Values handled per block by the sigmoid kernels (their scratch lives on the stack).
const BLOCK: usize = 128;

/// The sigmoid from `u` and `e = e^(−|u|)`, formed as [`Activation::f`] forms it.
#[inline(always)]
fn sigmoid_from<T: Real>(u: T, e: T) -> T {
    let num = if u >= T::zero() { T::one() } else { e };
    num / (T::one() + e)
}

multiversion! {
    /// `y = θ(u)` element-wise (over the common length), with the same values as
    /// [`Activation::f`] (see the [module documentation](self) for the exponential).
    pub fn activate<T: Real>(act: Activation, u: &[T], y: &mut [T]) {
        if act != Activation::Sigmoid {
            each_act!(act, A => {
                for (y, &u) in y.iter_mut().zip(u) {
                    *y = A.f(u);
                }
            });
            return;
        }
        let mut e = [T::zero(); BLOCK];
        for (uc, yc) in u.chunks(BLOCK).zip(y.chunks_mut(BLOCK)) {
            let e = &mut e[..uc.len()];
            exp_slice::<T, WIDE, true>(uc, e);
            for ((y, &u), &e) in yc.iter_mut().zip(uc).zip(e.iter()) {
                *y = sigmoid_from(u, e);
            }
        }
    }
}

multiversion! {
    /// `y = θ(u)` and `dy = θ′(u)` element-wise (over the common length), with the same values
    /// as [`Activation::f_df`] (see the [module documentation](self) for the exponential).
    pub fn activate_with_slope<T: Real>(act: Activation, u: &[T], y: &mut [T], dy: &mut [T]) {
        if act != Activation::Sigmoid {
            each_act!(act, A => {
                for ((y, dy), &u) in y.iter_mut().zip(dy.iter_mut()).zip(u) {
                    (*y, *dy) = A.f_df(u);
                }
            });
            return;
        }
        let mut e = [T::zero(); BLOCK];
        for ((uc, yc), dc) in u.chunks(BLOCK).zip(y.chunks_mut(BLOCK)).zip(dy.chunks_mut(BLOCK)) {
            let e = &mut e[..uc.len()];
            exp_slice::<T, WIDE, true>(uc, e);
            for (((y, dy), &u), &e) in yc.iter_mut().zip(dc.iter_mut()).zip(uc).zip(e.iter()) {
                let d = T::one() + e;
                *y = sigmoid_from(u, e);
                *dy = e / (d * d);
            }
        }
    }
}

multiversion! {
    /// `uy = θ(uy)` element-wise, in place, as [`activate`] computes it.
    pub fn activate_in_place<T: Real>(act: Activation, uy: &mut [T]) {
        let mut u = [T::zero(); BLOCK];
        for yc in uy.chunks_mut(BLOCK) {
            let u = &mut u[..yc.len()];
            u.copy_from_slice(yc);
            activate(act, u, yc);
        }
    }
}

multiversion! {
    /// `uy = θ(uy)` in place and `dy = θ′(uy)` (over the common length), as
    /// [`activate_with_slope`] computes them.
    pub fn activate_with_slope_in_place<T: Real>(act: Activation, uy: &mut [T], dy: &mut [T]) {
        let mut u = [T::zero(); BLOCK];
        for (yc, dc) in uy.chunks_mut(BLOCK).zip(dy.chunks_mut(BLOCK)) {
            let u = &mut u[..yc.len()];
            u.copy_from_slice(yc);
            activate_with_slope(act, u, yc, dc);
        }
    }
}

multiversion! {
    /// `out = e^x` element-wise (over the common length); for `f32` on the wide path through
    /// [`exp_f32`], otherwise through the C library.
    pub fn exp<T: Real>(x: &[T], out: &mut [T]) {
        exp_slice::<T, WIDE, false>(x, out);
    }
}

multiversion! {
    /// `x = e^x` element-wise, in place, as [`exp`] computes it.
    pub fn exp_in_place<T: Real>(x: &mut [T]) {
        let mut tmp = [T::zero(); BLOCK];
        for xc in x.chunks_mut(BLOCK) {
            let tmp = &mut tmp[..xc.len()];
            tmp.copy_from_slice(xc);
            exp_slice::<T, WIDE, false>(tmp, xc);
        }
    }
}

multiversion! {
    /// `y = θ′(u)·g` from the outputs `y = θ(u)` (with [`Activation::df_from_output`]), over
    /// the common length: the back-propagation through the activation.
    pub fn slope_times<T: Real>(act: Activation, y: &[T], g: &[T], out: &mut [T]) {
        each_act!(act, A => {
            for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
                *o = g * A.df_from_output(y);
            }
        });
    }
}

multiversion! {
    /// `g = g·θ′(u)` in place from the outputs `y = θ(u)` (see [`slope_times`]).
    pub fn scale_by_slope<T: Real>(act: Activation, y: &[T], g: &mut [T]) {
        each_act!(act, A => {
            for (g, &y) in g.iter_mut().zip(y) {
                *g *= A.df_from_output(y);
            }
        });
    }
}

multiversion! {
    /// Adds `b` to every row of the row-major matrix `z` (`b.len()` columns).
    pub fn add_rows<T: Real>(z: &mut [T], b: &[T]) {
        if b.is_empty() {
            return;
        }
        for row in z.chunks_exact_mut(b.len()) {
            for (z, &b) in row.iter_mut().zip(b) {
                *z += b;
            }
        }
    }
}

multiversion! {
    /// `out[j] = Σ_i g[i, j]` over the rows of the row-major matrix `g` (`out.len()` columns),
    /// summed in row order.
    pub fn column_sums<T: Real>(g: &[T], out: &mut [T]) {
        out.fill(T::zero());
        if out.is_empty() {
            return;
        }
        for row in g.chunks_exact(out.len()) {
            for (o, &v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    /// Whether this platform's `f32::exp` is glibc's FMA build, which `exp_f32` reproduces.
    fn libm_is_glibc_fma() -> bool {
        cfg!(all(
            target_os = "linux",
            target_env = "gnu",
            target_arch = "x86_64"
        )) && wide_simd()
    }

    fn check_range(bits: impl Iterator<Item = u32>) -> (usize, u32) {
        let xs: Vec<f32> = bits.map(f32::from_bits).collect();
        let mut out = vec![0.0f32; xs.len()];
        exp(&xs, &mut out);
        let mut mismatches = 0;
        let mut worst = 0;
        for (&x, &e) in xs.iter().zip(&out) {
            let want = x.exp();
            if want.is_nan() {
                assert!(e.is_nan(), "exp({x:e}) = {e:e}, want NaN");
            } else if want.to_bits() != e.to_bits() {
                mismatches += 1;
                worst = worst.max(ulps(want, e));
            }
        }
        (mismatches, worst)
    }

    #[test]
    fn exp_f32_matches_libm_on_a_sample() {
        // Every 997th bit pattern (all signs, exponents, NaN and infinities), plus the
        // boundaries of the special region.
        let edges = [
            0x42af_ffff,
            0x42b0_0000,
            0xc2af_ffff,
            0xc2b0_0000,
            0xc2cf_f1b5,
        ];
        let (bad, worst) = check_range(
            (0..u32::MAX / 997)
                .map(|i| i * 997)
                .chain(edges.iter().copied()),
        );
        if libm_is_glibc_fma() {
            assert_eq!(
                bad, 0,
                "{bad} values differ from glibc's expf (worst {worst} ulp)"
            );
        } else {
            assert!(worst <= 1, "worst difference {worst} ulp");
        }
        let mut one = [0.0f32];
        exp(&[f32::NEG_INFINITY], &mut one);
        assert_eq!(one[0], 0.0);
        exp(&[1.0f32], &mut one);
        assert_eq!(one[0], 1.0f32.exp());
    }

    /// The AVX-512 exponential gives the AVX2 one's bits (every 257th bit pattern, both signs
    /// of the argument), including the tails that do not fill a vector.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn exp_avx512_matches_exp_avx2_bit_for_bit() {
        if detected_kernels() != KernelSet::Avx512 {
            return;
        }
        let xs: Vec<f32> = (0..u32::MAX / 257)
            .map(|i| f32::from_bits(i * 257))
            .collect();
        for len in [xs.len(), 13, 7, 1] {
            let x = &xs[..len];
            let (mut a, mut b) = (vec![0.0f32; len], vec![0.0f32; len]);
            // SAFETY: the CPU has AVX-512 (checked above), hence AVX2 and FMA.
            unsafe {
                super::x86::exp_into::<false>(x, &mut a);
                super::x86::exp_into_512::<false>(x, &mut b);
            }
            assert!(a.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits()));
            // SAFETY: as above.
            unsafe {
                super::x86::exp_into::<true>(x, &mut a);
                super::x86::exp_into_512::<true>(x, &mut b);
            }
            assert!(a.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    /// All 2³² inputs (about half a minute in release).
    #[test]
    #[ignore]
    fn exp_f32_matches_libm_everywhere() {
        let (mut bad, mut worst) = (0, 0);
        for hi in 0u32..1 << 12 {
            let (b, w) = check_range((0..1u32 << 20).map(|lo| hi << 20 | lo));
            bad += b;
            worst = worst.max(w);
        }
        if libm_is_glibc_fma() {
            assert_eq!(
                bad, 0,
                "{bad} values differ from glibc's expf (worst {worst} ulp)"
            );
        } else {
            assert!(worst <= 1, "worst difference {worst} ulp");
        }
    }

    fn inputs() -> Vec<f64> {
        let mut v: Vec<f64> = (-2000..=2000).map(|i| i as f64 * 0.0577 + 0.001).collect();
        v.extend([
            0.0, -0.0, 1e-30, -1e-30, 87.9, 88.0, 88.5, -88.0, -103.5, -104.0, 150.0, -150.0, 1e30,
            -1e30,
        ]);
        v
    }

    #[test]
    fn sigmoid_kernels_agree_with_the_activation() {
        let u64s = inputs();
        let u32s: Vec<f32> = u64s.iter().map(|&v| v as f32).collect();
        let mut y = vec![0.0f32; u32s.len()];
        let (mut y2, mut d2) = (vec![0.0f32; u32s.len()], vec![0.0f32; u32s.len()]);
        for act in crate::ALL_ACTIVATIONS {
            activate(act, &u32s, &mut y);
            activate_with_slope(act, &u32s, &mut y2, &mut d2);
            for (((&u, &y), &y2), &d2) in u32s.iter().zip(&y).zip(&y2).zip(&d2) {
                let (fy, fd) = act.f_df(u);
                let close = |a: f32, b: f32| {
                    a.to_bits() == b.to_bits() || (!libm_is_glibc_fma() && ulps(a, b) <= 2)
                };
                assert!(close(y, act.f(u)), "{act} f({u})");
                assert!(close(y2, fy) && close(d2, fd), "{act} f_df({u})");
            }
            let mut y64 = vec![0.0f64; u64s.len()];
            let mut d64 = vec![0.0f64; u64s.len()];
            activate_with_slope(act, &u64s, &mut y64, &mut d64);
            for ((&u, &y), &dd) in u64s.iter().zip(&y64).zip(&d64) {
                assert_eq!((y.to_bits(), dd.to_bits()), {
                    let (a, b) = act.f_df(u);
                    (a.to_bits(), b.to_bits())
                });
            }
        }
    }

    #[test]
    fn helpers_compute_what_they_say() {
        let mut z = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        add_rows(&mut z, &[0.5, -1.0, 0.0]);
        assert_eq!(z, [1.5, 1.0, 3.0, 4.5, 4.0, 6.0]);
        let mut sums = [0.0f32; 3];
        column_sums(&z, &mut sums);
        assert_eq!(sums, [6.0, 5.0, 9.0]);
        let y = [0.5f64, 0.25];
        let mut out = [0.0f64; 2];
        slope_times(Activation::Sigmoid, &y, &[2.0, 4.0], &mut out);
        assert_eq!(out, [0.5, 0.75]);
        let mut g = [2.0f64, 4.0];
        scale_by_slope(Activation::Tanh, &y, &mut g);
        assert_eq!(g, [1.5, 3.75]);
        let u: Vec<f32> = (0..300).map(|i| i as f32 * 0.07 - 10.0).collect();
        let (mut y, mut d) = (vec![0.0f32; 300], vec![0.0f32; 300]);
        activate_with_slope(Activation::Sigmoid, &u, &mut y, &mut d);
        let (mut y2, mut d2) = (u.clone(), vec![0.0f32; 300]);
        activate_with_slope_in_place(Activation::Sigmoid, &mut y2, &mut d2);
        assert_eq!((&y, &d), (&y2, &d2));
        let mut y3 = u.clone();
        activate_in_place(Activation::Sigmoid, &mut y3);
        assert_eq!(y, y3);
        let mut x: Vec<f32> = (0..300).map(|i| i as f32 * 0.01 - 1.0).collect();
        let want: Vec<f32> = x.iter().map(|v| v.exp()).collect();
        exp_in_place(&mut x);
        for (a, b) in x.iter().zip(&want) {
            assert!(ulps(*a, *b) <= u32::from(!libm_is_glibc_fma()));
        }
    }

    #[test]
    fn nan_stays_nan() {
        let mut y = [0.0f32; 9];
        let mut d = [0.0f32; 9];
        let u = [f32::NAN; 9];
        activate_with_slope(Activation::Sigmoid, &u, &mut y, &mut d);
        assert!(y.iter().chain(&d).all(|v| v.is_nan()));
    }

    #[test]
    fn f32_views() {
        let mut a = [1.0f32, 2.0];
        assert_eq!(as_f32(&a[..]), Some(&[1.0f32, 2.0][..]));
        as_f32_mut(&mut a[..]).unwrap()[0] = 3.0;
        assert_eq!(a[0], 3.0);
        assert!(as_f32(&[1.0f64][..]).is_none());
    }
}
