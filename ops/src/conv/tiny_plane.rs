//! Depthwise convolutions on tiny planes (at most [`MAX_PLANE`] input
//! positions), vectorised over channels instead of positions.
//!
//! The direct kernels of [`super::kernels`] vectorise along a plane's rows
//! in blocks of eight outputs and copy every plane into a padded scratch
//! first. The last stages of MobileNet-style networks run on 4x4, 2x2 and
//! 1x1 planes (FBNet, Wu et al. 2019, at 28x28 input: 184 and 352 channels
//! times an expansion of 6 at 1x1), where a row holds one to four outputs,
//! so most of each block and most of the copying is padding. Here the
//! planes are laid out channels-last (`n, position, c`), every output
//! position sums its in-plane taps as `y[o][..] += w_t[..] * x[i][..]`
//! over contiguous channels (a padded tap simply does not appear), and the
//! result is laid back out. Samples are independent tasks; the weight
//! gradient sums fixed runs of samples and adds the partial sums in order,
//! so no result depends on the thread count.

use super::dense::sum_in_order;
use super::epilogue::Epilogue;
use super::geom::ConvGeom;
use super::lanes::madd;
use crate::layout::{channels_first, channels_last};
use rayon::prelude::*;

/// The largest input plane handled here (4x4).
pub const MAX_PLANE: usize = 16;

/// Samples summed into one partial weight gradient (fixed, for
/// thread-count-independent sums).
const SAMPLES_PER_PARTIAL: usize = 8;

/// Whether a convolution runs here: depthwise with one output channel per
/// input channel, on a plane of at most [`MAX_PLANE`] positions.
pub fn applies(g: &ConvGeom) -> bool {
    g.groups == g.c_in && g.c_out == g.c_in && g.in_plane() <= MAX_PLANE && g.out_plane() > 0
}

/// `acc[..] += a[..] * b[..]`.
#[inline(always)]
fn add_products<const FMA: bool>(acc: &mut [f32], a: &[f32], b: &[f32]) {
    for ((acc, &a), &b) in acc.iter_mut().zip(a).zip(b) {
        *acc = madd::<FMA>(a, b, *acc);
    }
}

/// For each output position, the `(input position, tap)` pairs inside the
/// plane that reach it, taps in weight order.
fn reaches(g: &ConvGeom) -> Vec<Vec<(usize, usize)>> {
    let mut all = Vec::with_capacity(g.out_plane());
    for oh in 0..g.h_out {
        for ow in 0..g.w_out {
            let mut pairs = Vec::new();
            for kh in 0..g.k_h {
                for kw in 0..g.k_w {
                    let ih = (oh * g.stride + kh * g.dilation).checked_sub(g.padding);
                    let iw = (ow * g.stride + kw * g.dilation).checked_sub(g.padding);
                    if let (Some(ih), Some(iw)) = (ih, iw) {
                        if ih < g.h && iw < g.w {
                            pairs.push((ih * g.w + iw, kh * g.k_w + kw));
                        }
                    }
                }
            }
            all.push(pairs);
        }
    }
    all
}

/// Samples per task: enough work to outweigh scheduling.
fn samples_per_task(g: &ConvGeom) -> usize {
    (16_384 / (g.out_plane() * g.k_h * g.k_w * g.c_in).max(1)).max(1)
}

/// One sample's forward, channels-last.
fn forward_sample_impl<const FMA: bool>(
    reach: &[Vec<(usize, usize)>],
    c: usize,
    x: &[f32],
    w: &[f32],
    y: &mut [f32],
) {
    for (y_o, pairs) in y.chunks_exact_mut(c).zip(reach) {
        for &(i, t) in pairs {
            add_products::<FMA>(y_o, &w[t * c..][..c], &x[i * c..][..c]);
        }
    }
}

/// One sample's input gradient, channels-last.
fn input_grad_sample_impl<const FMA: bool>(
    reach: &[Vec<(usize, usize)>],
    c: usize,
    gy: &[f32],
    w: &[f32],
    gx: &mut [f32],
) {
    for (gy_o, pairs) in gy.chunks_exact(c).zip(reach) {
        for &(i, t) in pairs {
            add_products::<FMA>(&mut gx[i * c..][..c], &w[t * c..][..c], gy_o);
        }
    }
}

/// One sample's weight gradient added to `gw` (taps-major), channels-last.
fn weight_grad_sample_impl<const FMA: bool>(
    reach: &[Vec<(usize, usize)>],
    c: usize,
    x: &[f32],
    gy: &[f32],
    gw: &mut [f32],
) {
    for (gy_o, pairs) in gy.chunks_exact(c).zip(reach) {
        for &(i, t) in pairs {
            add_products::<FMA>(&mut gw[t * c..][..c], gy_o, &x[i * c..][..c]);
        }
    }
}

multiversion!(forward_sample, forward_sample_fast, forward_sample_impl,
    (reach: &[Vec<(usize, usize)>], c: usize, x: &[f32], w: &[f32], y: &mut [f32]));
multiversion!(input_grad_sample, input_grad_sample_fast, input_grad_sample_impl,
    (reach: &[Vec<(usize, usize)>], c: usize, gy: &[f32], w: &[f32], gx: &mut [f32]));
multiversion!(weight_grad_sample, weight_grad_sample_fast, weight_grad_sample_impl,
    (reach: &[Vec<(usize, usize)>], c: usize, x: &[f32], gy: &[f32], gw: &mut [f32]));

/// Forward: `y = conv(x, w)`, `x` NCHW, `w` `(c, 1, kh, kw)`, each
/// sample's output mapped by `epilogue` while it is channels-last.
pub fn forward(g: &ConvGeom, x: &[f32], w: &[f32], epilogue: Option<Epilogue>) -> Vec<f32> {
    let (c, reach) = (g.c_in, reaches(g));
    let (x, w) = (
        channels_last(x, c, g.in_plane()),
        // The weight `(c, 1, kh, kw)` as one row of channels per tap.
        channels_last(w, c, g.k_h * g.k_w),
    );
    let mut y = vec![0.0f32; g.n * g.out_plane() * c];
    y.par_chunks_mut(g.out_plane() * c)
        .zip(x.par_chunks(g.in_plane() * c))
        .with_min_len(samples_per_task(g))
        .for_each(|(y_n, x_n)| {
            forward_sample(&reach, c, x_n, &w, y_n);
            if let Some(e) = epilogue {
                e.apply_channels_last(y_n);
            }
        });
    channels_first(y, c, g.out_plane())
}

/// Input gradient, shaped like the input.
pub fn backward_input(g: &ConvGeom, gy: &[f32], w: &[f32]) -> Vec<f32> {
    let (c, reach) = (g.c_in, reaches(g));
    let (gy, w) = (
        channels_last(gy, c, g.out_plane()),
        // The weight `(c, 1, kh, kw)` as one row of channels per tap.
        channels_last(w, c, g.k_h * g.k_w),
    );
    let mut gx = vec![0.0f32; g.n * g.in_plane() * c];
    gx.par_chunks_mut(g.in_plane() * c)
        .zip(gy.par_chunks(g.out_plane() * c))
        .with_min_len(samples_per_task(g))
        .for_each(|(gx_n, gy_n)| input_grad_sample(&reach, c, gy_n, &w, gx_n));
    channels_first(gx, c, g.in_plane())
}

/// Weight gradient `Σ_batch gy ⋆ x`, shaped like the weight.
pub fn backward_weight(g: &ConvGeom, x: &[f32], gy: &[f32]) -> Vec<f32> {
    let (c, taps, reach) = (g.c_in, g.k_h * g.k_w, reaches(g));
    let x = channels_last(x, c, g.in_plane());
    let gy = channels_last(gy, c, g.out_plane());
    let (x_len, y_len) = (g.in_plane() * c, g.out_plane() * c);
    let partials: Vec<Vec<f32>> = x
        .par_chunks(x_len * SAMPLES_PER_PARTIAL)
        .zip(gy.par_chunks(y_len * SAMPLES_PER_PARTIAL))
        .map(|(xs, gys)| {
            let mut gw = vec![0.0f32; taps * c];
            for (x_n, gy_n) in xs.chunks_exact(x_len).zip(gys.chunks_exact(y_len)) {
                weight_grad_sample(&reach, c, x_n, gy_n, &mut gw);
            }
            gw
        })
        .collect();
    // Summed in sample order, then taps-major back to `(c, 1, kh, kw)`.
    channels_first(sum_in_order(partials, taps * c), c, taps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_taps_are_left_out() {
        // 3x3, padding 1 on a 2x2 plane: each output sees the 4 inputs.
        let g = ConvGeom::new("t", &[1, 3, 2, 2], &[3, 1, 3, 3], 1, 1, 1, 3).expect("geom");
        assert!(applies(&g));
        let r = reaches(&g);
        assert_eq!(r.len(), 4);
        assert!(r.iter().all(|pairs| pairs.len() == 4));
        // Output (0, 0) reads input (1, 1) through the centre's lower
        // right neighbour, tap (2, 2) = 8.
        assert!(r[0].contains(&(3, 8)));
        // Stride 2 on a 3x3 plane, padding 1: output (0, 0) reads the
        // top-left 2x2 of the input.
        let g = ConvGeom::new("t", &[1, 2, 3, 3], &[2, 1, 3, 3], 2, 1, 1, 2).expect("geom");
        assert_eq!(reaches(&g)[0], vec![(0, 4), (1, 5), (3, 7), (4, 8)]);
    }
}
