//! Training throughput (samples per second) of the Ioffe & Szegedy network
//! (784-100-100-100-10 sigmoid, batch 60, f32, one thread) under each condition, and of a
//! sweep of independent short runs on 1 and 2 threads. Data: synthetic 784-feature clusters.
//!
//! Run with `cargo bench -p ipbn-train`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ipbn_train::config::{DataSource, SyntheticData, TrainConfig};
use ipbn_train::data::synthetic::blobs_split;
use ipbn_train::sweep::{run_sweep_with_data, SweepConfig, SweepOptions};
use ipbn_train::trainer::build_network;
use ndarray::s;
use std::time::Duration;

const BATCH: usize = 60;
const CONDITIONS: [&str; 4] = ["plain", "bn", "ip:triesch", "ip+affine:infomax-logistic"];

fn train_step(c: &mut Criterion) {
    let data = blobs_split(6000, 60, 784, 10, 2.0, 1).expect("synthetic data");
    let batches = data.train.len() / BATCH;
    let mut group = c.benchmark_group("train_step");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for cond in CONDITIONS {
        let cfg = TrainConfig {
            condition: cond.parse().expect("condition"),
            ..TrainConfig::default()
        };
        let mut net = build_network(&cfg, 784, 10).expect("network");
        let mut ws = net.workspace(BATCH, true);
        let mut i = 0;
        group.bench_function(cond, |b| {
            b.iter(|| {
                let rows = s![i * BATCH..(i + 1) * BATCH, ..];
                let x = data.train.inputs.slice(rows);
                let y = &data.train.labels[i * BATCH..(i + 1) * BATCH];
                i = (i + 1) % batches;
                net.train_step(x, y, &mut ws, 0.1, 0.0).expect("step")
            })
        });
    }
    group.finish();
}

fn sweep(c: &mut Criterion) {
    let synthetic = SyntheticData {
        train: 2000,
        test: 200,
        features: 784,
        classes: 10,
        separation: 2.0,
        seed: 3,
    };
    let (runs, steps) = (4usize, 100usize);
    let sweep = SweepConfig {
        name: "bench".into(),
        base: TrainConfig {
            steps,
            eval_every: steps,
            probe_size: 100,
            lr: 0.1,
            data: DataSource::Synthetic(synthetic.clone()),
            ..TrainConfig::default()
        },
        grid: ipbn_train::sweep::Grid {
            seeds: (0..runs as u64).collect(),
            ..Default::default()
        },
        ..SweepConfig::default()
    };
    let data = sweep.base.data.load().expect("data");
    let mut group = c.benchmark_group("sweep");
    group.throughput(Throughput::Elements((runs * steps * BATCH) as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        group.bench_function(format!("{runs}x{steps}steps_{threads}threads"), |b| {
            b.iter_batched(
                || tempfile::tempdir().expect("tempdir"),
                |dir| {
                    pool.install(|| {
                        run_sweep_with_data(
                            &sweep,
                            &data,
                            dir.path(),
                            SweepOptions::default(),
                            &|_| {},
                        )
                        .expect("sweep")
                    })
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, train_step, sweep);
criterion_main!(benches);
