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
use std::ops::Range;

use super::kernels::GradCoefs;
use crate::layout::{channels_first, channels_last};
use crate::simd::WIDTH;

/// Channels per task: each task walks all rows over its block.
const BLOCK: usize = 64;

/// Whether a plane of `plane` positions runs here.
pub fn applies(plane: usize) -> bool {
    plane < WIDTH
}

/// `K` per-channel sums in f64, channel blocks in parallel: `add_row(r,
/// channels, acc)` adds row `r`'s values of the block's `channels` to the
/// block's accumulators (`acc[k][j]` for sum `k` of channel `first + j`),
/// rows in order. The loops over a row's contiguous channels vectorise
/// (the f32 to f64 conversions too), where a closure per element did not.
fn channel_sums<const K: usize>(
    rows: usize,
    c: usize,
    add_row: impl Fn(usize, Range<usize>, &mut [[f64; BLOCK]; K]) + Sync,
) -> [Vec<f64>; K] {
    let blocks: Vec<[[f64; BLOCK]; K]> = (0..c.div_ceil(BLOCK))
        .into_par_iter()
        .map(|block| {
            let channels = block * BLOCK..(block * BLOCK + BLOCK).min(c);
            let mut acc = [[0.0f64; BLOCK]; K];
            for r in 0..rows {
                add_row(r, channels.clone(), &mut acc);
            }
            acc
        })
        .collect();
    std::array::from_fn(|k| {
        let mut sums: Vec<f64> = blocks.iter().flat_map(|acc| acc[k]).collect();
        sums.truncate(c);
        sums
    })
}

/// `out[r] = f(r, row)` over rows of `c` channels, rows in parallel:
/// `fill(r, out_row)` writes one row.
fn map_rows(rows: usize, c: usize, fill: impl Fn(usize, &mut [f32]) + Sync) -> Vec<f32> {
    let mut out = vec![0.0f32; rows * c];
    out.par_chunks_mut(c.max(1))
        .enumerate()
        .with_min_len(64)
        .for_each(|(r, row)| fill(r, row));
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
    let row = |r: usize, channels: Range<usize>| &xl[r * c..][channels];
    let [sums] = channel_sums(rows, c, |r, channels, [acc]| {
        for (a, &v) in acc.iter_mut().zip(row(r, channels)) {
            *a += f64::from(v);
        }
    });
    let mean: Vec<f32> = sums.iter().map(|s| (s / count) as f32).collect();
    let [squares] = channel_sums(rows, c, |r, channels, [acc]| {
        let m = &mean[channels.clone()];
        for ((a, &v), &m) in acc.iter_mut().zip(row(r, channels)).zip(m) {
            let d = v - m;
            *a += f64::from(d * d);
        }
    });
    let var: Vec<f64> = squares.iter().map(|s| s / count).collect();
    let invstd: Vec<f32> = var
        .iter()
        .map(|v| (1.0 / (v + eps).sqrt()) as f32)
        .collect();
    let scale: Vec<f32> = gamma.iter().zip(&invstd).map(|(g, s)| g * s).collect();
    let shift: Vec<f32> = (0..c).map(|ch| beta[ch] - mean[ch] * scale[ch]).collect();
    let y = map_rows(rows, c, |r, out| {
        let coefs = scale.iter().zip(&shift);
        for ((o, &v), (&a, &b)) in out.iter_mut().zip(row(r, 0..c)).zip(coefs) {
            *o = act(v * a + b, relu);
        }
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
    let rows_of = |r: usize, channels: Range<usize>| {
        let at = r * c;
        (
            &xl[at..][channels.clone()],
            &yl[at..][channels.clone()],
            &gl[at..][channels],
        )
    };
    // The output gradient through the ReLU: zero where `y` is not positive.
    let masked = |g: f32, y: f32| if !relu || y > 0.0 { g } else { 0.0 };
    let [sum_g, sum_gx] = channel_sums(rows, c, |r, channels, [ag, agx]| {
        let m = &mean[channels.clone()];
        let (xs, ys, gs) = rows_of(r, channels);
        let values = xs.iter().zip(ys).zip(gs).zip(m);
        for ((((&x, &y), &g), &m), (ag, agx)) in values.zip(ag.iter_mut().zip(agx.iter_mut())) {
            let gv = masked(g, y);
            *ag += f64::from(gv);
            *agx += f64::from(gv * (x - m));
        }
    });
    let k: Vec<_> = (0..c).map(|ch| coefs(ch, sum_g[ch], sum_gx[ch])).collect();
    // The input-gradient constants as one vector each, for the row loop.
    let field = |f: fn(&GradCoefs) -> f32| -> Vec<f32> { k.iter().map(|(_, co)| f(co)).collect() };
    let (kk, kb, km, ka) = (
        field(|co| co.k),
        field(|co| co.b),
        field(|co| co.mean),
        field(|co| co.a),
    );
    let gx = map_rows(rows, c, |r, out| {
        let (xs, ys, gs) = rows_of(r, 0..c);
        let coefs = kk.iter().zip(&kb).zip(&km).zip(&ka);
        let values = xs.iter().zip(ys).zip(gs);
        for ((o, ((&x, &y), &g)), (((&k, &b), &m), &a)) in out.iter_mut().zip(values).zip(coefs) {
            *o = k * masked(g, y) - b - (x - m) * a;
        }
    });
    let sums = k.iter().map(|(sums, _)| *sums).collect();
    (sums, channels_first(gx, c, p))
}
