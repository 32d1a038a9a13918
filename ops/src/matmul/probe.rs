//! Single-thread rates of the matrix kernels on one shape, for tuning the
//! register blocking (`cargo run --release -p nasarena-ops --example
//! kernel_rates`). Not a benchmark against a peer: it says how close a
//! kernel runs to the core's FMA peak, and which row blocking suits a
//! shape.

use std::time::Instant;

use super::{dot_accumulate, isa, strided_product, PackedA, PanelOut, NR};

/// Multiply-adds per timed run: long enough to swamp the timer.
const MACS_PER_RUN: f64 = 3e8;

/// GFLOP/s of `Y (rows x p) = A (rows x depth) · X (depth x p)` through
/// the panel kernel, `A` in blocks of `mr` rows (`None`: the path's own
/// choice); useful flops only, so padded rows count as lost time.
pub fn panel_rate(rows: usize, depth: usize, p: usize, mr: Option<usize>) -> f64 {
    let a: Vec<f32> = (0..rows * depth).map(|i| (i % 7) as f32 * 0.1).collect();
    let x: Vec<f32> = (0..depth * p + NR).map(|i| (i % 5) as f32 * 0.1).collect();
    let packed = match mr {
        Some(mr) => PackedA::pack_in_blocks(isa(), mr, rows, depth, |r, k| a[r * depth + k]),
        None => PackedA::rows(&a, rows, depth),
    };
    let mut y = vec![0.0f32; rows * p];
    let mut run = || {
        for blocks in packed.block_runs() {
            for p0 in (0..p).step_by(NR) {
                let out = PanelOut::new(&mut y, p, p0, NR.min(p - p0));
                strided_product(&packed, blocks.clone(), (&x, p), p0, out, false);
            }
        }
    };
    rate((rows * depth * p) as f64, &mut run)
}

/// GFLOP/s of `C (m x n) += A (m x len) · Bᵀ` through the dot kernel.
pub fn dot_rate(m: usize, n: usize, len: usize) -> f64 {
    let a: Vec<f32> = (0..m * len).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..n * len).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0.0f32; m * n];
    rate((m * n * len) as f64, &mut || {
        dot_accumulate(&a, m, &b, n, len, &mut c)
    })
}

/// `2 * macs` flops per call of `run`, once untimed, then over enough
/// calls for [`MACS_PER_RUN`].
fn rate(macs: f64, run: &mut dyn FnMut()) -> f64 {
    run();
    let calls = (MACS_PER_RUN / macs.max(1.0)).ceil() as usize;
    let start = Instant::now();
    for _ in 0..calls {
        run();
    }
    2.0 * macs * calls as f64 / start.elapsed().as_secs_f64() / 1e9
}
