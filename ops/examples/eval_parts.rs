//! Times inference-mode conv + BN + ReLU ([`nasarena_ops::conv_bn_eval`])
//! on the layer shapes of FBNet's blocks at 28x28 input (the expansion,
//! depthwise and projection convolutions of `fbnet` at 14x14, 7x7, 2x2 and
//! 1x1, and of `fbnet-28`'s widest block at 28x28), batch 128 (or
//! `EVAL_BATCH`), on the current rayon pool: where an eval forward's time
//! goes, per layer, in GMAC/s.
//! `cargo run --release -p nasarena-ops --example eval_parts [INDEX]`
//! (INDEX: one shape only, timed longer, for a profiler).

// The same allocator as the nasarena binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use candle_core::{Device, Tensor};
use nasarena_core::Seed;
use nasarena_ops::{conv_bn_eval, ConvParams};
use rand::Rng;
use std::time::Instant;

/// `(c_in, c_out, h = w, kernel, groups)`, stride 1, padding `kernel / 2`.
const SHAPES: &[(usize, usize, usize, usize, usize)] = &[
    (16, 96, 14, 1, 1),
    (96, 96, 14, 3, 96),
    (96, 16, 14, 1, 1),
    (24, 144, 7, 1, 1),
    (144, 144, 7, 3, 144),
    (144, 24, 7, 1, 1),
    (112, 672, 2, 1, 1),
    (672, 672, 2, 3, 672),
    (672, 112, 2, 1, 1),
    (184, 1104, 1, 1, 1),
    (1104, 1104, 1, 3, 1104),
    (1104, 184, 1, 1, 1),
    (16, 96, 28, 1, 1),
    (96, 96, 28, 5, 96),
    (96, 16, 28, 1, 1),
];

/// The batch: 128, or `EVAL_BATCH` (a small batch keeps the activations
/// in cache, to tell a kernel's own rate from the memory traffic).
fn batch() -> usize {
    std::env::var("EVAL_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(128)
}

fn random(seed: Seed, dims: &[usize]) -> candle_core::Result<Tensor> {
    let mut rng = seed.rng();
    let len: usize = dims.iter().product();
    let data: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Tensor::from_vec(data, dims, &Device::Cpu)
}

fn main() -> candle_core::Result<()> {
    let only: Option<usize> = std::env::args().nth(1).and_then(|a| a.parse().ok());
    let reps = if only.is_some() { 600 } else { 30 };
    for (i, &(ci, co, hw, k, groups)) in SHAPES.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let x = random(Seed(1), &[batch(), ci, hw, hw])?;
        let w = random(Seed(2), &[co, ci / groups, k, k])?;
        let params = ConvParams {
            stride: 1,
            padding: k / 2,
            dilation: 1,
            groups,
        };
        let coefficients = (vec![0.9f32; co], vec![0.1f32; co]);
        // Best of `reps` after one warm-up: the least disturbed run.
        conv_bn_eval(&x, &w, params, coefficients.clone(), true, false)?;
        let mut best = f64::INFINITY;
        for _ in 0..reps {
            let t = Instant::now();
            conv_bn_eval(&x, &w, params, coefficients.clone(), true, false)?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        let macs = batch() * co * hw * hw * (ci / groups) * k * k;
        println!(
            "{i:>2} c{ci}->c{co} {hw}x{hw} k{k} g{groups}: {:7.3} ms, {:5.1} GMAC/s",
            best * 1e3,
            macs as f64 / best / 1e9
        );
    }
    Ok(())
}
