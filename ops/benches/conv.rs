//! Convolution: this crate's ops against candle's stock `conv2d`, forward
//! and forward + backward, on FBNet-like grouped/depthwise shapes and the
//! dense 3x3 shapes of the NAS-Bench-201 cell network (batch 128). Run with `cargo bench -p nasarena-ops --bench conv`.
//!
//! candle's stock depthwise forward + backward takes up to ~10 s per call at
//! these shapes on 2 cores, so a full run takes several minutes; filter with
//! e.g. `-- ours` to time only this crate's ops.

// The same allocator as the nasarena binary, which reuses large buffers
// instead of mapping fresh zeroed pages for every tensor.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use candle_core::{Device, Tensor, Var};
use criterion::{BenchmarkId, Criterion, SamplingMode};
use nasarena_core::Seed;
use nasarena_ops::grouped_conv2d;
use rand::Rng;
use std::time::Duration;

/// `(name, c_in, hw, c_out, k, stride, groups)` at batch 128.
const SHAPES: &[(&str, usize, usize, usize, usize, usize, usize)] = &[
    ("dw_k3_c96_28_s1", 96, 28, 96, 3, 1, 96),
    ("dw_k3_c96_28_s2", 96, 28, 96, 3, 2, 96),
    ("dw_k5_c96_28_s1", 96, 28, 96, 5, 1, 96),
    ("dw_k3_c192_14_s1", 192, 14, 192, 3, 1, 192),
    ("dw_k5_c192_14_s2", 192, 14, 192, 5, 2, 192),
    ("dw_k3_c16_28_s1", 16, 28, 16, 3, 1, 16),
    ("g2_1x1_c16to96_28", 16, 28, 96, 1, 1, 2),
    ("g2_1x1_c96to32_14", 96, 14, 32, 1, 1, 2),
    ("dense_k3_c16_32_s1", 16, 32, 16, 3, 1, 1),
    ("dense_k3_c32_16_s1", 32, 16, 32, 3, 1, 1),
    ("dense_k3_c64_8_s1", 64, 8, 64, 3, 1, 1),
    ("dense_k3_c16to32_32_s2", 16, 32, 32, 3, 2, 1),
];

const BATCH: usize = 128;

fn random(seed: Seed, dims: &[usize]) -> Tensor {
    let mut rng = seed.rng();
    let len: usize = dims.iter().product();
    let data: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Tensor::from_vec(data, dims, &Device::Cpu).expect("shape matches data")
}

type Conv = fn(&Tensor, &Tensor, usize, usize, usize) -> candle_core::Result<Tensor>;

fn ours(x: &Tensor, w: &Tensor, s: usize, p: usize, g: usize) -> candle_core::Result<Tensor> {
    grouped_conv2d(x, w, s, p, 1, g)
}

fn stock(x: &Tensor, w: &Tensor, s: usize, p: usize, g: usize) -> candle_core::Result<Tensor> {
    x.conv2d(w, p, s, 1, g)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("grouped_conv2d");
    // Flat sampling: calls take 2 ms to 10 s, so keep iteration counts small.
    group.sampling_mode(SamplingMode::Flat);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (i, &(name, ci, hw, co, k, s, g)) in SHAPES.iter().enumerate() {
        let seed = Seed(3).derive("ops-bench", i as u64);
        let x = Var::from_tensor(&random(seed.derive("x", 0), &[BATCH, ci, hw, hw])).expect("var");
        let w = Var::from_tensor(&random(seed.derive("w", 0), &[co, ci / g, k, k])).expect("var");
        let p = k / 2;
        for (label, f) in [("ours", ours as Conv), ("candle", stock as Conv)] {
            group.bench_with_input(
                BenchmarkId::new(format!("fwd/{label}"), name),
                &(),
                |b, _| b.iter(|| f(&x, &w, s, p, g).expect("conv")),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("fwd_bwd/{label}"), name),
                &(),
                |b, _| {
                    b.iter(|| {
                        let y = f(&x, &w, s, p, g).expect("conv");
                        y.sum_all().expect("sum").backward().expect("backward")
                    })
                },
            );
        }
    }
    group.finish();
}

/// Every benchmark of this file (what `criterion_group!` expands to,
/// written out so that it can carry a doc comment: `missing_docs`).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
}

/// Runs the benchmarks: what `criterion_main!` expands to, written out so
/// that `main` can carry a doc comment (`missing_docs`).
fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
