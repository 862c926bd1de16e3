//! A packing-free AVX-512 `f32` product for the training step's shapes: `B` and `C` with
//! contiguous rows (`B` is a weight matrix or a gradient of activations, `C` an activation
//! or a weight gradient), `A` with any strides (a batch, or its transpose).
//!
//! `C` is cut into tiles of up to [`MR`] rows by up to [`NV`] 16-lane vectors of columns (the
//! last vector of a row masked when the width is not a multiple of 16). When a block's width
//! is a multiple of 16 plus 1 to 4 (100 = 6 · 16 + 4, the hidden layers' width), tiles of
//! four rows put those rows' last columns together in one vector instead ([`tile_rem4`]).
//! A tile's sums stay in registers for the whole inner dimension: per step `q`, the tile's
//! row of `B` is loaded once, each of its `A` values is broadcast once, and one fused
//! multiply-add per accumulator adds the product. Nothing is packed or allocated; `B`'s rows are read where they lie.
//!
//! Every element of `C` is one chain of fused multiply-adds over `q = 0, 1, …, k − 1`, in that
//! order, then scaled by `alpha` (and `beta · c` added): the bits do not depend on the tile
//! shape, the thread or the call.

use std::arch::x86_64::*;

/// Rows of `C` per tile.
const MR: usize = 3;
/// 16-lane vectors of `C` columns per tile (112 columns).
const NV: usize = 7;

/// Operands of one product `C ← alpha · A · B + beta · C` (strides in elements).
pub(super) struct Product {
    /// Rows of `A` and `C`.
    pub m: usize,
    /// Columns of `B` and `C`.
    pub n: usize,
    /// Columns of `A`, rows of `B`.
    pub k: usize,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of the old `C` (zero: `C` is not read).
    pub beta: f32,
    /// `A[0, 0]`.
    pub a: *const f32,
    /// Row stride of `A`.
    pub rsa: isize,
    /// Column stride of `A`.
    pub csa: isize,
    /// `B[0, 0]`; `B`'s columns are contiguous.
    pub b: *const f32,
    /// Row stride of `B`.
    pub rsb: isize,
    /// `C[0, 0]`; `C`'s columns are contiguous.
    pub c: *mut f32,
    /// Row stride of `C`.
    pub rsc: isize,
}

/// One tile: rows `i0 .. i0 + R` and vectors `j0 .. j0 + 16 V` of `C`, the last vector
/// masked by `mask`.
///
/// # Safety
///
/// AVX-512F must be available; the rows and (masked) columns addressed must lie inside the
/// arrays `p` describes, and `C` must not overlap `A` or `B`.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn tile<const R: usize, const V: usize>(p: &Product, i0: usize, j0: usize, mask: __mmask16) {
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    // SAFETY (whole body): every offset stays inside the arrays, as the caller guarantees;
    // masked-off lanes are neither read nor written.
    unsafe {
        let a0 = p.a.offset(i0 as isize * p.rsa);
        let b0 = p.b.add(j0);
        for q in 0..p.k {
            let brow = b0.offset(q as isize * p.rsb);
            let mut bv = [_mm512_setzero_ps(); V];
            for (v, b) in bv.iter_mut().enumerate() {
                *b = if v + 1 == V {
                    _mm512_maskz_loadu_ps(mask, brow.add(16 * v))
                } else {
                    _mm512_loadu_ps(brow.add(16 * v))
                };
            }
            let arow = a0.offset(q as isize * p.csa);
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*arow.offset(r as isize * p.rsa));
                for (s, &b) in acc.iter_mut().zip(&bv) {
                    *s = _mm512_fmadd_ps(av, b, *s);
                }
            }
        }
        let alpha = _mm512_set1_ps(p.alpha);
        let beta = _mm512_set1_ps(p.beta);
        for (r, acc) in acc.iter().enumerate() {
            let crow = p.c.offset((i0 + r) as isize * p.rsc).add(j0);
            for (v, &s) in acc.iter().enumerate() {
                let m = if v + 1 == V { mask } else { 0xffff };
                let mut out = _mm512_mul_ps(alpha, s);
                if p.beta != 0.0 {
                    out = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(m, crow.add(16 * v)), out);
                }
                _mm512_mask_storeu_ps(crow.add(16 * v), m, out);
            }
        }
    }
}

/// Rows of `C` per tile of [`tile_rem4`] (with six full vectors, 24 + 1 accumulators).
const MR4: usize = 4;

/// One tile of [`MR4`] rows from `i0`, whose columns are `V` full vectors from `j0` and `rem`
/// (1 to 4) more: those rows' last `rem` columns share one vector, lane `4r + c` holding row
/// `r`, column `c`. For widths such as 100 (six vectors and four columns) a tile of four rows
/// takes 25 multiply-adds per step, with no idle lane, where a masked seventh vector per row
/// would take 28 and leave 12 of each row's last 16 lanes idle.
///
/// Each element is the same chain of fused multiply-adds as in [`tile`], so the bits are the
/// same.
///
/// # Safety
///
/// As [`tile`]; `rem` is 1 to 4 and columns `j0 .. j0 + 16 V + rem` lie inside `C` and `B`.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
// One vector of `B` at a time, used by the four rows before the next is loaded: with 25
// accumulators, holding a whole row of `B` in registers (as `tile` does) spills, measured
// 25 % slower.
#[allow(clippy::needless_range_loop)]
unsafe fn tile_rem4<const V: usize>(p: &Product, i0: usize, j0: usize, rem: usize) {
    let mut acc = [[_mm512_setzero_ps(); V]; MR4];
    let mut packed = _mm512_setzero_ps();
    let mask4: __mmask8 = (1u8 << rem) - 1;
    // SAFETY (whole body): every offset stays inside the arrays, as the caller guarantees;
    // masked-off lanes are neither read nor written.
    unsafe {
        let a0 = p.a.offset(i0 as isize * p.rsa);
        let b0 = p.b.add(j0);
        for q in 0..p.k {
            let brow = b0.offset(q as isize * p.rsb);
            let arow = a0.offset(q as isize * p.csa);
            let mut av = [_mm512_setzero_ps(); MR4];
            for (r, a) in av.iter_mut().enumerate() {
                *a = _mm512_set1_ps(*arow.offset(r as isize * p.rsa));
            }
            for v in 0..V {
                let b = _mm512_loadu_ps(brow.add(16 * v));
                for r in 0..MR4 {
                    acc[r][v] = _mm512_fmadd_ps(av[r], b, acc[r][v]);
                }
            }
            let b4 = _mm512_broadcast_f32x4(_mm_maskz_loadu_ps(mask4, brow.add(16 * V)));
            let mut ap = av[0];
            for (r, &a) in av.iter().enumerate().skip(1) {
                ap = _mm512_mask_mov_ps(ap, 0xffffu16 << (4 * r), a);
            }
            packed = _mm512_fmadd_ps(ap, b4, packed);
        }
        let alpha = _mm512_set1_ps(p.alpha);
        let beta = _mm512_set1_ps(p.beta);
        for (r, acc) in acc.iter().enumerate() {
            let crow = p.c.offset((i0 + r) as isize * p.rsc).add(j0);
            for (v, &s) in acc.iter().enumerate() {
                let mut out = _mm512_mul_ps(alpha, s);
                if p.beta != 0.0 {
                    out = _mm512_fmadd_ps(beta, _mm512_loadu_ps(crow.add(16 * v)), out);
                }
                _mm512_storeu_ps(crow.add(16 * v), out);
            }
        }
        // The packed vector: gather the old values the same way, then scatter.
        let mut old = [0.0f32; 16];
        if p.beta != 0.0 {
            for r in 0..MR4 {
                let crow = p.c.offset((i0 + r) as isize * p.rsc).add(j0 + 16 * V);
                for c in 0..rem {
                    old[4 * r + c] = *crow.add(c);
                }
            }
        }
        let mut out = _mm512_mul_ps(alpha, packed);
        if p.beta != 0.0 {
            out = _mm512_fmadd_ps(beta, _mm512_loadu_ps(old.as_ptr()), out);
        }
        let mut vals = [0.0f32; 16];
        _mm512_storeu_ps(vals.as_mut_ptr(), out);
        for r in 0..MR4 {
            let crow = p.c.offset((i0 + r) as isize * p.rsc).add(j0 + 16 * V);
            for c in 0..rem {
                *crow.add(c) = vals[4 * r + c];
            }
        }
    }
}

/// Calls `tile::<R, V>` for a run-time `v` in `1..=NV`.
macro_rules! by_width {
    ($r:literal, $v:expr, $($args:expr),*) => {
        match $v {
            1 => tile::<$r, 1>($($args),*),
            2 => tile::<$r, 2>($($args),*),
            3 => tile::<$r, 3>($($args),*),
            4 => tile::<$r, 4>($($args),*),
            5 => tile::<$r, 5>($($args),*),
            6 => tile::<$r, 6>($($args),*),
            _ => tile::<$r, 7>($($args),*),
        }
    };
}

/// `C ← alpha · A · B + beta · C` for the operands `p` describes (with `beta` zero, `C` is
/// not read).
///
/// # Safety
///
/// AVX-512F must be available; `A` is `m × k` with strides `rsa`, `csa`, `B` is `k × n` with
/// row stride `rsb` and contiguous rows, `C` is `m × n` with row stride `rsc` and contiguous
/// rows, all in live allocations, and `C` overlaps neither `A` nor `B`.
#[target_feature(enable = "avx512f,avx512vl")]
pub(super) unsafe fn sgemm(p: &Product) {
    let mut j0 = 0;
    while j0 < p.n {
        let cols = (p.n - j0).min(16 * NV);
        let v = cols.div_ceil(16);
        let rem = cols - 16 * (v - 1);
        let mask: __mmask16 = if rem == 16 { 0xffff } else { (1u16 << rem) - 1 };
        let mut i0 = 0;
        // SAFETY: each tile stays inside rows i0..i0 + R ≤ m and columns j0..j0 + cols ≤ n.
        unsafe {
            let (full, tail) = (cols / 16, cols % 16);
            if (1..=4).contains(&tail) && full < NV {
                while i0 + MR4 <= p.m {
                    match full {
                        0 => tile_rem4::<0>(p, i0, j0, tail),
                        1 => tile_rem4::<1>(p, i0, j0, tail),
                        2 => tile_rem4::<2>(p, i0, j0, tail),
                        3 => tile_rem4::<3>(p, i0, j0, tail),
                        4 => tile_rem4::<4>(p, i0, j0, tail),
                        5 => tile_rem4::<5>(p, i0, j0, tail),
                        _ => tile_rem4::<6>(p, i0, j0, tail),
                    }
                    i0 += MR4;
                }
            }
            while i0 + MR <= p.m {
                by_width!(3, v, p, i0, j0, mask);
                i0 += MR;
            }
            match p.m - i0 {
                2 => by_width!(2, v, p, i0, j0, mask),
                1 => by_width!(1, v, p, i0, j0, mask),
                _ => {}
            }
        }
        j0 += cols;
    }
}

/// Copies the `k × n` matrix `B` whose columns are contiguous (`B[q, j]` at `b + q + j·csb`:
/// a transposed row-major matrix) into `out`, row-major (`out[q·n + j]`), a 16 × 16 block at
/// a time transposed in registers.
///
/// # Safety
///
/// AVX-512F must be available; `b` addresses a live `k × n` matrix with those strides and
/// `out` holds at least `k · n` values.
#[target_feature(enable = "avx512f,avx512vl")]
pub(super) unsafe fn transpose_into(
    b: *const f32,
    csb: isize,
    k: usize,
    n: usize,
    out: &mut [f32],
) {
    debug_assert!(out.len() >= k * n);
    let mut j0 = 0;
    while j0 < n {
        let rows = (n - j0).min(16);
        let mut q0 = 0;
        while q0 < k {
            let cols = (k - q0).min(16);
            let qmask: __mmask16 = if cols == 16 {
                0xffff
            } else {
                (1u16 << cols) - 1
            };
            let mut r = [_mm512_setzero_ps(); 16];
            for (i, r) in r.iter_mut().enumerate().take(rows) {
                // SAFETY: column j0 + i < n of B, rows q0 .. q0 + cols ≤ k (masked).
                *r = unsafe {
                    _mm512_maskz_loadu_ps(qmask, b.offset((j0 + i) as isize * csb).add(q0))
                };
            }
            let t = transpose16(r);
            let jmask: __mmask16 = if rows == 16 {
                0xffff
            } else {
                (1u16 << rows) - 1
            };
            for (q, t) in t.iter().enumerate().take(cols) {
                // SAFETY: row q0 + q < k of the k × n output, columns j0 .. j0 + rows ≤ n.
                unsafe {
                    _mm512_mask_storeu_ps(out.as_mut_ptr().add((q0 + q) * n + j0), jmask, *t)
                };
            }
            q0 += 16;
        }
        j0 += 16;
    }
}

/// The transpose of the 16 × 16 matrix whose rows are `r`: four rounds of shuffles
/// (32-bit and 64-bit interleaves within 128-bit lanes, then two of 128-bit lanes).
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
    let mut t = [_mm512_setzero_ps(); 16];
    for i in 0..8 {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4g + c], 128-bit lane l: element 4l + c of rows 4g .. 4g + 4.
    let mut u = [_mm512_setzero_ps(); 16];
    for g in 0..4 {
        let (a, b) = (_mm512_castps_pd(t[4 * g]), _mm512_castps_pd(t[4 * g + 1]));
        let (c, d) = (
            _mm512_castps_pd(t[4 * g + 2]),
            _mm512_castps_pd(t[4 * g + 3]),
        );
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    let mut out = [_mm512_setzero_ps(); 16];
    for c in 0..4 {
        let v0 = _mm512_shuffle_f32x4::<0x44>(u[c], u[4 + c]);
        let v1 = _mm512_shuffle_f32x4::<0xee>(u[c], u[4 + c]);
        let v2 = _mm512_shuffle_f32x4::<0x44>(u[8 + c], u[12 + c]);
        let v3 = _mm512_shuffle_f32x4::<0xee>(u[8 + c], u[12 + c]);
        out[c] = _mm512_shuffle_f32x4::<0x88>(v0, v2);
        out[4 + c] = _mm512_shuffle_f32x4::<0xdd>(v0, v2);
        out[8 + c] = _mm512_shuffle_f32x4::<0x88>(v1, v3);
        out[12 + c] = _mm512_shuffle_f32x4::<0xdd>(v1, v3);
    }
    out
}
