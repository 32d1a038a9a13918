//! The NAS-Bench-201 edge unit, ReLU-conv-BN in training mode, forward +
//! backward at the cell network's three 3x3 shapes (batch 128): the fused
//! op (`relu_conv_bn_train`), the pair it replaces (`relu_conv2d` then
//! `batch_norm_train`) and stock candle (`relu`, `conv2d`, candle-nn's
//! `BatchNorm`). Run with `cargo bench -p nasarena-ops --bench relu_conv_bn`.

// The same allocator as the nasarena binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use candle_core::{DType, Device, ModuleT, Tensor, Var};
use criterion::{BenchmarkId, Criterion, SamplingMode};
use nasarena_core::Seed;
use nasarena_ops::{batch_norm_train, relu_conv2d, relu_conv_bn_train, ConvParams};
use rand::Rng;
use std::time::Duration;

/// `(name, channels, hw)` at batch 128: the cell network's three stages.
const SHAPES: &[(&str, usize, usize)] = &[
    ("c16_32x32", 16, 32),
    ("c32_16x16", 32, 16),
    ("c64_8x8", 64, 8),
];

const BATCH: usize = 128;
const EPS: f64 = 1e-5;
const SAME_3X3: ConvParams = ConvParams {
    stride: 1,
    padding: 1,
    dilation: 1,
    groups: 1,
};

fn random(seed: Seed, dims: &[usize]) -> Tensor {
    let mut rng = seed.rng();
    let len: usize = dims.iter().product();
    let data: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Tensor::from_vec(data, dims, &Device::Cpu).expect("shape matches data")
}

/// `(x, w, gamma, beta)` as variables.
type Inputs = [Var; 4];
type Unit = fn(&Inputs) -> candle_core::Result<Tensor>;

fn fused(v: &Inputs) -> candle_core::Result<Tensor> {
    let gb = [v[2].as_tensor(), v[3].as_tensor()];
    Ok(relu_conv_bn_train(v[0].as_tensor(), v[1].as_tensor(), SAME_3X3, gb, EPS)?.0)
}

fn pair(v: &Inputs) -> candle_core::Result<Tensor> {
    let conv = relu_conv2d(v[0].as_tensor(), v[1].as_tensor(), 1, 1, 1, 1)?;
    Ok(batch_norm_train(&conv, v[2].as_tensor(), v[3].as_tensor(), EPS, false)?.0)
}

fn stock(v: &Inputs) -> candle_core::Result<Tensor> {
    let c = v[1].dim(0)?;
    let bn = candle_nn::BatchNorm::new(
        c,
        Tensor::zeros(c, DType::F32, &Device::Cpu)?,
        Tensor::ones(c, DType::F32, &Device::Cpu)?,
        v[2].as_tensor().clone(),
        v[3].as_tensor().clone(),
        EPS,
    )?;
    let conv = v[0]
        .as_tensor()
        .relu()?
        .conv2d(v[1].as_tensor(), 1, 1, 1, 1)?;
    bn.forward_t(&conv, true)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("relu_conv_bn_train");
    group.sampling_mode(SamplingMode::Flat);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (i, &(name, ch, hw)) in SHAPES.iter().enumerate() {
        let seed = Seed(5).derive("ops-bench-relu-conv-bn", i as u64);
        let var = |what: &str, dims: &[usize]| {
            Var::from_tensor(&random(seed.derive(what, 0), dims)).expect("var")
        };
        let inputs: Inputs = [
            var("x", &[BATCH, ch, hw, hw]),
            var("w", &[ch, ch, 3, 3]),
            var("gamma", &[ch]),
            var("beta", &[ch]),
        ];
        let r = random(seed.derive("r", 0), &[BATCH, ch, hw, hw]);
        for (label, unit) in [("fused", fused as Unit), ("pair", pair), ("candle", stock)] {
            group.bench_with_input(
                BenchmarkId::new(format!("fwd_bwd/{label}"), name),
                &(),
                |b, _| {
                    b.iter(|| {
                        let y = unit(&inputs).expect("forward");
                        let loss = (y * &r).expect("mul").sum_all().expect("sum");
                        loss.backward().expect("backward")
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
