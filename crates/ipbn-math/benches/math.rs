//! Benchmarks of the per-batch and per-unit routines, on data from a seeded generator.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ipbn_math::entropy::{histogram_entropy, information_potential};
use ipbn_math::percentile::percentiles;
use ipbn_math::seed::rng;
use ipbn_math::stats::batch_stats;
use ndarray::Array2;
use ndarray_rand::rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;

fn gaussian(n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    (0..n).map(|_| StandardNormal.sample(&mut r)).collect()
}

fn bench_batch_stats(c: &mut Criterion) {
    let mut g = c.benchmark_group("batch_stats_f32");
    for &(rows, cols) in &[(60_usize, 100_usize), (256, 512)] {
        let mut r = rng(1);
        let x = Array2::from_shape_fn((rows, cols), |_| {
            let z: f32 = StandardNormal.sample(&mut r);
            z
        });
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("{rows}x{cols}")),
            &x,
            |b, x| b.iter(|| batch_stats(black_box(x.view())).unwrap()),
        );
    }
    g.finish();
}

fn bench_entropy(c: &mut Criterion) {
    let mut g = c.benchmark_group("information_potential");
    for &n in &[1_000_usize, 4_000] {
        let y = gaussian(n, 2);
        g.bench_with_input(BenchmarkId::from_parameter(n), &y, |b, y| {
            b.iter(|| information_potential(black_box(y), 0.25).unwrap())
        });
    }
    g.finish();
    let y = gaussian(10_000, 3);
    c.bench_function("histogram_entropy_10k_100bins", |b| {
        b.iter(|| histogram_entropy(black_box(&y), 100, -4.0, 4.0).unwrap())
    });
}

fn bench_percentiles(c: &mut Criterion) {
    let y = gaussian(10_000, 4);
    c.bench_function("percentiles_10k_3", |b| {
        b.iter(|| percentiles(black_box(&y), &[15.0, 50.0, 85.0]).unwrap())
    });
}

criterion_group!(benches, bench_batch_stats, bench_entropy, bench_percentiles);
criterion_main!(benches);
