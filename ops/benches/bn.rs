//! Fused batch norm + ReLU (training mode): this crate's op against
//! candle-nn's `BatchNorm::forward_train` followed by `relu`, forward and
//! forward + backward, at MBConv activation shapes (batch 128), and the
//! dense 1x1 convolution as a matmul against candle's `conv2d`. Run with
//! `cargo bench -p nasarena-ops --bench bn`.

// The same allocator as the nasarena binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use candle_core::{Device, Tensor, Var};
use criterion::{BenchmarkId, Criterion, SamplingMode};
use nasarena_core::Seed;
use nasarena_ops::{batch_norm_train, grouped_conv2d};
use rand::Rng;
use std::time::Duration;

/// `(name, channels, hw)` at batch 128.
const SHAPES: &[(&str, usize, usize)] =
    &[("c96_28", 96, 28), ("c16_32", 16, 32), ("c192_7", 192, 7)];

/// `(name, c_in, c_out, hw)` dense 1x1 convolutions at batch 128.
const POINTWISE: &[(&str, usize, usize, usize)] = &[
    ("1x1_c16to96_28", 16, 96, 28),
    ("1x1_c96to16_28", 96, 16, 28),
];

const BATCH: usize = 128;

fn random(seed: Seed, dims: &[usize], lo: f32, hi: f32) -> Tensor {
    let mut rng = seed.rng();
    let len: usize = dims.iter().product();
    let data: Vec<f32> = (0..len).map(|_| rng.random_range(lo..hi)).collect();
    Tensor::from_vec(data, dims, &Device::Cpu).expect("shape matches data")
}

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group
}

fn bench_bn(c: &mut Criterion) {
    let mut group = configure(c, "batch_norm_relu");
    for (i, &(name, ch, hw)) in SHAPES.iter().enumerate() {
        let seed = Seed(4).derive("ops-bn-bench", i as u64);
        let x = Var::from_tensor(&random(
            seed.derive("x", 0),
            &[BATCH, ch, hw, hw],
            -1.0,
            1.0,
        ))
        .expect("var");
        let g = Var::from_tensor(&random(seed.derive("g", 0), &[ch], 0.5, 1.5)).expect("var");
        let b = Var::from_tensor(&random(seed.derive("b", 0), &[ch], -0.5, 0.5)).expect("var");
        let zeros = Tensor::zeros(ch, candle_core::DType::F32, &Device::Cpu).expect("zeros");
        let ones = Tensor::ones(ch, candle_core::DType::F32, &Device::Cpu).expect("ones");
        let stock = candle_nn::BatchNorm::new_with_momentum(
            ch,
            zeros,
            ones,
            g.as_tensor().clone(),
            b.as_tensor().clone(),
            1e-5,
            0.1,
        )
        .expect("bn");
        let ours = || batch_norm_train(&x, &g, &b, 1e-5, true).expect("bn").0;
        let theirs = || stock.forward_train(&x).and_then(|y| y.relu()).expect("bn");
        let fs: [(&str, &dyn Fn() -> Tensor); 2] = [("ours", &ours), ("candle", &theirs)];
        for (label, f) in fs {
            group.bench_with_input(
                BenchmarkId::new(format!("fwd/{label}"), name),
                &(),
                |bch, _| bch.iter(f),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("fwd_bwd/{label}"), name),
                &(),
                |bch, _| bch.iter(|| f().sum_all().expect("sum").backward().expect("backward")),
            );
        }
    }
    group.finish();
}

fn bench_pointwise(c: &mut Criterion) {
    let mut group = configure(c, "dense_1x1");
    for (i, &(name, ci, co, hw)) in POINTWISE.iter().enumerate() {
        let seed = Seed(6).derive("ops-1x1-bench", i as u64);
        let x = Var::from_tensor(&random(
            seed.derive("x", 0),
            &[BATCH, ci, hw, hw],
            -1.0,
            1.0,
        ))
        .expect("var");
        let w = Var::from_tensor(&random(seed.derive("w", 0), &[co, ci, 1, 1], -1.0, 1.0))
            .expect("var");
        let ours = || grouped_conv2d(&x, &w, 1, 0, 1, 1).expect("conv");
        let theirs = || x.conv2d(&w, 0, 1, 1, 1).expect("conv");
        let fs: [(&str, &dyn Fn() -> Tensor); 2] = [("ours", &ours), ("candle", &theirs)];
        for (label, f) in fs {
            group.bench_with_input(
                BenchmarkId::new(format!("fwd/{label}"), name),
                &(),
                |bch, _| bch.iter(f),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("fwd_bwd/{label}"), name),
                &(),
                |bch, _| bch.iter(|| f().sum_all().expect("sum").backward().expect("backward")),
            );
        }
    }
    group.finish();
}

/// Every benchmark of this file (what `criterion_group!` expands to,
/// written out so that it can carry a doc comment: `missing_docs`).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench_bn(&mut c);
    bench_pointwise(&mut c);
}

/// Runs the benchmarks: what `criterion_main!` expands to, written out so
/// that `main` can carry a doc comment (`missing_docs`).
fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
