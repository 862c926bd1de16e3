//! Matrix products on the widest vector unit the CPU has: [`gemm`], a drop-in for
//! `ndarray::linalg::general_mat_mul` with the same argument list.
//!
//! # Which library computes a product
//!
//! | kernel set ([`product_kernels`]) | operands | code |
//! |---|---|---|
//! | `avx512` (native mode on an AVX-512 CPU) | `f32`, rows of `c` and rows or columns of `b` contiguous | this crate's packing-free AVX-512 kernel (`small`) |
//! | `avx512` | other `f32`, and `f64` | the `gemm` crate's AVX-512 kernels, one thread |
//! | `avx2+fma`, `baseline`, or portable mode | any | `ndarray`'s `general_mat_mul` (matrixmultiply) |
//!
//! The training step's products are small (a batch of 60 against layers of 100 units), so
//! copying operands into packed panels, as general-purpose libraries do, costs a large share
//! of each product. The `small` kernel reads `b` and `a` where they lie and keeps a tile of
//! `c` (3 rows by up to 112 columns, or 4 rows by 100) in registers for the whole inner
//! dimension. Forward products `X W` and weight gradients `Xᵀ G` run on it directly; for the
//! input gradients `G Wᵀ`, whose `b` is a transposed view, `W` is first transposed into a
//! per-thread scratch (16 × 16 blocks in registers), which costs a k-th of the product.
//!
//! matrixmultiply is built without its `avx512` feature (ndarray turns its default features
//! off), so on every CPU with AVX2 + FMA it runs the same AVX2 + FMA kernel and gives the same
//! bits: that is the portable mode (`IPBN_KERNELS=portable`, see [`crate::kernels::kernel_mode`]),
//! with which the committed figures were made. On an AVX-512 CPU the native mode runs the
//! AVX-512 kernels instead, measured faster on the step's products (see `ipbn bench`); their
//! sums are ordered differently, so results differ from the portable ones in the last bits. Both
//! are deterministic: the same binary on the same CPU gives the same bits on every call and
//! thread, since every product runs on the calling thread.

#[cfg(target_arch = "x86_64")]
mod small;

use crate::kernels::{product_kernels, KernelSet};
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayBase, Data, DataMut, Ix2, LinalgScalar};
use std::any::TypeId;

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// A row-major copy of a column-major `b` for the packing-free kernel, kept per thread so
    /// that steady-state training allocates nothing.
    static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `c ← alpha · a · b + beta · c`, with the arguments and panics of
/// `ndarray::linalg::general_mat_mul`, on the kernel set [`product_kernels`] names.
///
/// With `beta` zero, `c` is not read (NaN in `c` does not propagate).
///
/// # Panics
///
/// If the shapes do not match (`a` is m × k, `b` k × n and `c` m × n), as `general_mat_mul`.
///
/// ```
/// use ndarray::array;
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// let b = array![[1.0f32, 0.0], [0.0, 1.0]];
/// let mut c = ndarray::Array2::<f32>::zeros((2, 2));
/// ipbn_math::gemm(1.0, &a, &b, 0.0, &mut c);
/// assert_eq!(c, a);
/// ```
pub fn gemm<A, S1, S2, S3>(
    alpha: A,
    a: &ArrayBase<S1, Ix2>,
    b: &ArrayBase<S2, Ix2>,
    beta: A,
    c: &mut ArrayBase<S3, Ix2>,
) where
    A: LinalgScalar,
    S1: Data<Elem = A>,
    S2: Data<Elem = A>,
    S3: DataMut<Elem = A>,
{
    gemm_on(product_kernels(), alpha, a, b, beta, c)
}

/// [`gemm`] on a given kernel set (for tests and benchmarks that compare kernel sets in one
/// process). A set the CPU lacks, or an element type other than `f32` and `f64`, falls back to
/// `general_mat_mul`.
pub fn gemm_on<A, S1, S2, S3>(
    set: KernelSet,
    alpha: A,
    a: &ArrayBase<S1, Ix2>,
    b: &ArrayBase<S2, Ix2>,
    beta: A,
    c: &mut ArrayBase<S3, Ix2>,
) where
    A: LinalgScalar,
    S1: Data<Elem = A>,
    S2: Data<Elem = A>,
    S3: DataMut<Elem = A>,
{
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    let usable = set == KernelSet::Avx512
        && crate::kernels::detected_kernels() == KernelSet::Avx512
        && (TypeId::of::<A>() == TypeId::of::<f32>() || TypeId::of::<A>() == TypeId::of::<f64>())
        && k == k2
        && c.dim() == (m, n)
        && m > 0
        && n > 0
        && k > 0;
    if !usable {
        // Shape errors panic here, with ndarray's message; empty products are ndarray's too.
        general_mat_mul(alpha, a, b, beta, c);
        return;
    }
    let (rsa, csa) = (a.strides()[0], a.strides()[1]);
    let (rsb, csb) = (b.strides()[0], b.strides()[1]);
    let (rsc, csc) = (c.strides()[0], c.strides()[1]);
    let zero = beta.is_zero();
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<A>() == TypeId::of::<f32>()
        && (csc == 1 || n == 1)
        && (csb == 1 || rsb == 1 || n == 1)
    {
        // C's rows are contiguous: the packing-free kernel (see `small`). A `b` with
        // contiguous columns instead (a transposed weight matrix) is first transposed into
        // this thread's row-major scratch, k · n values, a k-th of the product's work.
        let f = |v: A| -> f32 {
            // SAFETY: A is f32 (checked above).
            unsafe { std::mem::transmute_copy::<A, f32>(&v) }
        };
        let cp = c.as_mut_ptr() as *mut f32;
        let run = |b: *const f32, rsb: isize| {
            let p = small::Product {
                m,
                n,
                k,
                alpha: f(alpha),
                beta: if zero { 0.0 } else { f(beta) },
                a: a.as_ptr() as *const f32,
                rsa,
                csa,
                b,
                rsb,
                c: cp,
                rsc,
            };
            // SAFETY: AVX-512 is present (checked above); the pointers and strides come from
            // live ndarray views of the stated shapes (or the row-major copy of `b`), B's and
            // C's rows are contiguous (or one column wide), and `c` is borrowed mutably, so it
            // overlaps neither `a` nor `b`.
            unsafe { small::sgemm(&p) };
        };
        if csb == 1 || n == 1 {
            run(b.as_ptr() as *const f32, rsb);
        } else {
            SCRATCH.with_borrow_mut(|scratch| {
                scratch.resize(k * n, 0.0);
                // SAFETY: AVX-512 is present; `b` is a live k × n view with unit row stride
                // and column stride csb; the scratch holds k · n values.
                unsafe { small::transpose_into(b.as_ptr() as *const f32, csb, k, n, scratch) };
                run(scratch.as_ptr(), n as isize);
            });
        }
        return;
    }
    // The `gemm` crate computes dst ← α·dst + β·lhs·rhs: its α is our β and its β our α.
    // SAFETY: the pointers and strides come from live ndarray views of the stated shapes, so
    // every index (i, p), (p, j), (i, j) in range addresses an element of its array; `c` is
    // borrowed mutably, so it aliases neither `a` nor `b`, and ndarray does not hand out a
    // mutable view whose elements overlap; `A` is `f32` or `f64` (checked above), which the
    // crate supports, and the products run on this thread only (`Parallelism::None`).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            csc,
            rsc,
            !zero,
            a.as_ptr(),
            csa,
            rsa,
            b.as_ptr(),
            csb,
            rsb,
            if zero { A::zero() } else { beta },
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2, ShapeBuilder};
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, r: usize, c: usize, col_major: bool) -> Array2<f64> {
        let v: Vec<f64> = (0..r * c)
            .map(|_| (rng.next_u32() as f64 / u32::MAX as f64) * 2.0 - 1.0)
            .collect();
        Array2::from_shape_vec((r, c).set_f(col_major), v).unwrap()
    }

    /// The scalar product, summed in `f64`.
    fn reference(
        alpha: f64,
        a: &Array2<f64>,
        b: &Array2<f64>,
        beta: f64,
        c: &Array2<f64>,
    ) -> Array2<f64> {
        let mut out = c * beta;
        for i in 0..a.nrows() {
            for j in 0..b.ncols() {
                let dot: f64 = (0..a.ncols()).map(|p| a[[i, p]] * b[[p, j]]).sum();
                out[[i, j]] += alpha * dot;
            }
        }
        out
    }

    /// Every kernel set against the scalar product, on random matrices whose sizes leave
    /// remainders in every vector width and block (1, 7, 15, 17, 33, 60, 101, 784), in row-
    /// and column-major layouts, transposed views, strided views, β zero (with NaN in `c`)
    /// and non-zero, for `f32` and `f64`.
    #[test]
    fn every_kernel_set_matches_the_scalar_product() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let dims = [
            (1, 1, 1),
            (7, 15, 17),
            (60, 784, 100),
            (33, 101, 10),
            (17, 1, 60),
            // The packing-free AVX-512 kernel: several column blocks (112 columns each), widths
            // that fill their last vector exactly, and every row remainder of its 3-row tiles.
            (5, 9, 130),
            (4, 3, 230),
            (2, 5, 16),
            (3, 7, 32),
            (8, 2, 113),
            // Its packed tiles (four rows, full vectors and 1 to 4 more columns), with and
            // without rows left over.
            (8, 5, 100),
            (9, 3, 20),
            (4, 2, 1),
            (5, 3, 34),
            (12, 7, 67),
            (4, 3, 116),
        ];
        for &(m, k, n) in &dims {
            for layout in 0..4 {
                let a = random(&mut rng, m, k, layout & 1 == 1);
                let b = random(&mut rng, k, n, layout & 2 == 2);
                let c0 = random(&mut rng, m, n, false);
                for &(alpha, beta) in &[(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25)] {
                    let want = reference(alpha, &a, &b, beta, &c0);
                    for set in [KernelSet::Baseline, KernelSet::Avx2Fma, KernelSet::Avx512] {
                        let mut c = if beta == 0.0 {
                            c0.mapv(|_| f64::NAN)
                        } else {
                            c0.clone()
                        };
                        gemm_on(set, alpha, &a, &b, beta, &mut c);
                        let err = (&c - &want).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
                        assert!(err <= 1e-12 * k as f64, "{set} f64 {m}x{k}x{n}: {err}");

                        let (a32, b32) = (a.mapv(|v| v as f32), b.mapv(|v| v as f32));
                        let mut c32 = if beta == 0.0 {
                            c0.mapv(|_| f32::NAN)
                        } else {
                            c0.mapv(|v| v as f32)
                        };
                        gemm_on(set, alpha as f32, &a32, &b32, beta as f32, &mut c32);
                        let err = (&c32.mapv(f64::from) - &want)
                            .mapv(f64::abs)
                            .fold(0.0f64, |m, &v| m.max(v));
                        assert!(err <= 1e-6 * k as f64, "{set} f32 {m}x{k}x{n}: {err}");
                    }
                }
            }
        }
        // Transposed and strided views.
        let a = random(&mut rng, 100, 60, false);
        let b = random(&mut rng, 100, 90, false);
        let want = reference(1.0, &a.t().to_owned(), &b, 0.0, &Array2::zeros((60, 90)));
        let mut big = Array2::<f64>::zeros((60, 180));
        let mut c = big.slice_mut(s![.., ..;2]);
        gemm_on(KernelSet::Avx512, 1.0, &a.t(), &b, 0.0, &mut c);
        let err = (&c - &want).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
        assert!(err <= 1e-12 * 100.0, "transposed, strided: {err}");
        assert!(big.slice(s![.., 1..;2]).iter().all(|&v| v == 0.0));
    }

    /// On AVX-512, an element's bits do not depend on which tile computed it: the rows of a
    /// product computed without its first row (shifting every row into another tile, some
    /// into the 3-row remainder tiles) and its first 96 columns alone (full vectors only)
    /// match the whole product's bit for bit.
    #[test]
    fn tiles_do_not_change_the_bits() {
        if crate::kernels::detected_kernels() != KernelSet::Avx512 {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let a = random(&mut rng, 60, 784, false).mapv(|v| v as f32);
        let b = random(&mut rng, 784, 100, false).mapv(|v| v as f32);
        let mut whole = Array2::<f32>::zeros((60, 100));
        gemm_on(KernelSet::Avx512, 1.0, &a, &b, 0.0, &mut whole);
        let mut shifted = Array2::<f32>::zeros((59, 100));
        gemm_on(
            KernelSet::Avx512,
            1.0,
            &a.slice(s![1.., ..]),
            &b,
            0.0,
            &mut shifted,
        );
        assert_eq!(shifted, whole.slice(s![1.., ..]));
        let mut left = Array2::<f32>::zeros((60, 96));
        gemm_on(
            KernelSet::Avx512,
            1.0,
            &a,
            &b.slice(s![.., ..96]),
            0.0,
            &mut left,
        );
        assert_eq!(left, whole.slice(s![.., ..96]));
    }

    /// The portable sets are `general_mat_mul` itself, bit for bit.
    #[test]
    fn portable_sets_are_general_mat_mul() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let a = random(&mut rng, 60, 784, false).mapv(|v| v as f32);
        let b = random(&mut rng, 784, 100, false).mapv(|v| v as f32);
        let mut want = Array2::<f32>::zeros((60, 100));
        general_mat_mul(1.0, &a, &b, 0.0, &mut want);
        for set in [KernelSet::Baseline, KernelSet::Avx2Fma] {
            let mut c = Array2::<f32>::zeros((60, 100));
            gemm_on(set, 1.0, &a, &b, 0.0, &mut c);
            assert_eq!(c, want);
        }
    }

    #[test]
    #[should_panic]
    fn shape_mismatch_panics_like_general_mat_mul() {
        let a = Array2::<f32>::zeros((2, 3));
        let b = Array2::<f32>::zeros((4, 2));
        let mut c = Array2::<f32>::zeros((2, 2));
        gemm_on(KernelSet::Avx512, 1.0, &a, &b, 0.0, &mut c);
    }

    #[test]
    fn empty_products_follow_general_mat_mul() {
        let a = Array2::<f32>::zeros((3, 0));
        let b = Array2::<f32>::zeros((0, 2));
        let mut c = Array2::<f32>::ones((3, 2));
        gemm(1.0, &a, &b, 0.5, &mut c);
        assert!(c.iter().all(|&v| v == 0.5));
    }
}
