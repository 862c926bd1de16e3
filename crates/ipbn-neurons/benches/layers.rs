//! Layer throughput on one mini-batch of the MNIST figure's shape: 60 samples × 100 units, f32.

use criterion::{criterion_group, criterion_main, Criterion};
use ipbn_math::Activation;
use ipbn_neurons::rules::InfomaxLogistic;
use ipbn_neurons::{BatchNorm, IpLayer, IpLayerConfig, Layer, Mode, StepKind};
use ndarray::Array2;
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand_distr::Normal;
use ndarray_rand::RandomExt;
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::sync::Arc;

const BATCH: usize = 60;
const UNITS: usize = 100;

fn inputs() -> (Array2<f32>, Array2<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = Array2::random_using((BATCH, UNITS), Normal::new(0.5f32, 2.0).unwrap(), &mut rng);
    let g = Array2::random_using((BATCH, UNITS), Normal::new(0.0f32, 1.0).unwrap(), &mut rng);
    (x, g)
}

fn batchnorm(c: &mut Criterion) {
    let (x, g) = inputs();
    let mut bn = BatchNorm::<f32>::new(UNITS);
    let mut out = Array2::zeros((BATCH, UNITS));
    let mut gx = Array2::zeros((BATCH, UNITS));
    c.bench_function("batchnorm forward+backward 60x100 f32", |b| {
        b.iter(|| {
            bn.forward_into(black_box(x.view()), Mode::Train, out.view_mut())
                .unwrap();
            bn.backward_into(black_box(g.view()), gx.view_mut())
                .unwrap();
            black_box(gx[[0, 0]])
        })
    });
}

fn ip_layer(c: &mut Criterion) {
    let (x, g) = inputs();
    for (name, step, affine) in [
        ("sgd", StepKind::Sgd, false),
        ("adam+affine", StepKind::adam(), true),
    ] {
        let cfg = IpLayerConfig {
            eta: 1e-3,
            step,
            affine,
            ..IpLayerConfig::default()
        };
        let mut ip =
            IpLayer::<f32>::new(UNITS, Activation::Sigmoid, Arc::new(InfomaxLogistic), cfg)
                .unwrap();
        let mut out = Array2::zeros((BATCH, UNITS));
        let mut gx = Array2::zeros((BATCH, UNITS));
        c.bench_function(
            &format!("ip layer forward+backward+adapt 60x100 f32 ({name})"),
            |b| {
                b.iter(|| {
                    ip.forward_into(black_box(x.view()), Mode::Train, out.view_mut())
                        .unwrap();
                    ip.backward_into(black_box(g.view()), gx.view_mut())
                        .unwrap();
                    ip.adapt();
                    black_box(gx[[0, 0]])
                })
            },
        );
    }
}

criterion_group!(benches, batchnorm, ip_layer);
criterion_main!(benches);
