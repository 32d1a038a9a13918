//! The fused batch norm on planes shorter than one vector (fewer than
//! [`WIDTH`] positions: the 4x4, 2x2 and 1x1 maps at the end of
//! MobileNet-style networks on small inputs), channels-last.
//!
//! The per-channel passes of [`super::kernels`] vectorise inside a plane,
//! so a plane of one to fifteen values runs entirely in their scalar tail,
//! one plane (and one f64 conversion) at a time. Here the batch is laid
//! out as rows of channels (`n * H * W` rows of `c` values; no copy for
//! 1x1 planes), each pass runs along the rows over contiguous channels,
//! and the output is laid back out. Every channel's sums add its elements
//! one by one in f64 in row order, whatever the thread count.

use rayon::prelude::*;

use super::kernels::GradCoefs;
use crate::layout::{channels_first, channels_last};
use crate::simd::WIDTH;

/// Channels per task: each task walks all rows over its block.
const BLOCK: usize = 64;

/// Whether a plane of `plane` positions runs here.
pub fn applies(plane: usize) -> bool {
    plane < WIDTH
}

/// Per-channel sums `Σ f(row, ch)` in f64, channel blocks in parallel,
/// rows in order.
fn channel_sums<T: Copy + Default + Send>(
    rows: usize,
    c: usize,
    add: impl Fn(usize, usize, &mut T) + Sync,
) -> Vec<T> {
    let mut sums = vec![T::default(); c];
    sums.par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(block, acc)| {
            let first = block * BLOCK;
            for r in 0..rows {
                for (j, a) in acc.iter_mut().enumerate() {
                    add(r, first + j, a);
                }
            }
        });
    sums
}

/// `out[r][ch] = f(r, ch)` over rows of `c` channels, rows in parallel.
fn map_rows(rows: usize, c: usize, f: impl Fn(usize, usize) -> f32 + Sync) -> Vec<f32> {
    let mut out = vec![0.0f32; rows * c];
    out.par_chunks_mut(c.max(1))
        .enumerate()
        .with_min_len(64)
        .for_each(|(r, row)| {
            for (ch, o) in row.iter_mut().enumerate() {
                *o = f(r, ch);
            }
        });
    out
}

fn act(v: f32, relu: bool) -> f32 {
    if relu && v <= 0.0 {
        0.0
    } else {
        v
    }
}

/// Per-channel statistics of a training-mode forward.
pub(super) struct Moments {
    pub mean: Vec<f32>,
    /// Biased variance.
    pub var: Vec<f32>,
    pub invstd: Vec<f32>,
}

/// Training-mode forward (see [`super::train_forward`]): the output and
/// the batch statistics it was normalised with.
pub(super) fn train_forward(
    x: &[f32],
    (n, c, p): (usize, usize, usize),
    gamma: &[f32],
    beta: &[f32],
    eps: f64,
    relu: bool,
) -> (Vec<f32>, Moments) {
    let (rows, count) = (n * p, (n * p).max(1) as f64);
    let xl = channels_last(x, c, p);
    let at = |r: usize, ch: usize| xl[r * c + ch];
    let sums = channel_sums(rows, c, |r, ch, s: &mut f64| *s += f64::from(at(r, ch)));
    let mean: Vec<f32> = sums.iter().map(|s| (s / count) as f32).collect();
    let squares = channel_sums(rows, c, |r, ch, s: &mut f64| {
        let d = at(r, ch) - mean[ch];
        *s += f64::from(d * d);
    });
    let var: Vec<f64> = squares.iter().map(|s| s / count).collect();
    let invstd: Vec<f32> = var
        .iter()
        .map(|v| (1.0 / (v + eps).sqrt()) as f32)
        .collect();
    let scale: Vec<f32> = gamma.iter().zip(&invstd).map(|(g, s)| g * s).collect();
    let shift: Vec<f32> = (0..c).map(|ch| beta[ch] - mean[ch] * scale[ch]).collect();
    let y = map_rows(rows, c, |r, ch| {
        act(at(r, ch) * scale[ch] + shift[ch], relu)
    });
    let moments = Moments {
        mean,
        var: var.iter().map(|&v| v as f32).collect(),
        invstd,
    };
    (channels_first(y, c, p), moments)
}

/// Input gradient and per-channel `(sum g, sum g * xhat)` of the
/// training-mode op (see [`super::BatchNormGrad`]); `coefs(ch, sum g, sum
/// g * (x - mean))` gives a channel's `(sum g, sum g * xhat)` and its
/// input-gradient constants.
pub(super) fn backward(
    (x, y, gy): (&[f32], &[f32], &[f32]),
    (n, c, p): (usize, usize, usize),
    mean: &[f32],
    relu: bool,
    coefs: &(impl Fn(usize, f64, f64) -> ((f32, f32), GradCoefs) + Sync),
) -> (Vec<(f32, f32)>, Vec<f32>) {
    let rows = n * p;
    let (xl, yl, gl) = (
        channels_last(x, c, p),
        channels_last(y, c, p),
        channels_last(gy, c, p),
    );
    let g = |r: usize, ch: usize| {
        let i = r * c + ch;
        if !relu || yl[i] > 0.0 {
            gl[i]
        } else {
            0.0
        }
    };
    let sums = channel_sums(rows, c, |r, ch, s: &mut (f64, f64)| {
        let gv = g(r, ch);
        s.0 += f64::from(gv);
        s.1 += f64::from(gv * (xl[r * c + ch] - mean[ch]));
    });
    let k: Vec<_> = sums
        .iter()
        .enumerate()
        .map(|(ch, &(sg, sgx))| coefs(ch, sg, sgx))
        .collect();
    let gx = map_rows(rows, c, |r, ch| {
        let co = k[ch].1;
        co.k * g(r, ch) - co.b - (xl[r * c + ch] - co.mean) * co.a
    });
    let sums = k.iter().map(|(sums, _)| *sums).collect();
    (sums, channels_first(gx, c, p))
}
