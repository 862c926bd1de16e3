//! A training step allocates nothing of its own once its workspace exists (checked with a
//! counting global allocator), for every condition. The only allocations left are the
//! packing buffers the matrix products take: with the portable kernels `matrixmultiply`
//! (ndarray's GEMM) takes one per product, 3·depth + 2 per step; the `gemm` crate, which runs
//! the products in native mode on an AVX-512 CPU, takes at most two per product.

use ipbn_train::config::TrainConfig;
use ipbn_train::trainer::build_network;
use ndarray::Array2;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn training_steps_do_not_allocate() {
    let mut report = Vec::new();
    for cond in [
        "plain",
        "bn",
        "ip:triesch",
        "ip+affine:infomax-logistic",
        "ip:infomax-logistic:opt=adam",
    ] {
        let cfg = TrainConfig {
            hidden: vec![32, 32],
            condition: cond.parse().unwrap(),
            ..TrainConfig::default()
        };
        let mut net = build_network(&cfg, 50, 10).unwrap();
        let mut ws = net.workspace(20, true);
        let x = Array2::from_shape_fn((20, 50), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0);
        let y: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
        // Warm-up: layers may size their caches on the first step.
        net.train_step(x.view(), &y, &mut ws, 0.1, 0.9).unwrap();
        let before = ALLOCS.load(Ordering::SeqCst);
        for _ in 0..10 {
            net.train_step(x.view(), &y, &mut ws, 0.1, 0.9).unwrap();
        }
        let n = ALLOCS.load(Ordering::SeqCst) - before;
        report.push(format!("{cond}: {n}"));
    }
    // depth 2: 3 forward products, 5 backward (dW ×3, input gradients ×2).
    let per_step_gemms = 3 * 2 + 2;
    if ipbn_math::kernels::product_kernels() == ipbn_math::kernels::KernelSet::Avx512 {
        // Every product runs on the packing-free kernel, which allocates nothing (the
        // transposed weights of the input gradients go to a per-thread scratch sized in the
        // warm-up step).
        assert!(
            report.iter().all(|r| r.ends_with(": 0")),
            "allocations in 10 steps (expected none): {report:?}"
        );
        return;
    }
    let expected = format!(": {}", 10 * per_step_gemms);
    assert!(
        report.iter().all(|r| r.ends_with(&expected)),
        "allocations in 10 steps (expected {} per step, one per GEMM): {report:?}",
        per_step_gemms
    );
}
