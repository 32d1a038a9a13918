//! 3x3 average pooling at stride 1 with one cell of zero padding, padded
//! cells not counted: PyTorch's `AvgPool2d(3, 1, 1,
//! count_include_pad=False)`, NAS-Bench-201's `avg_pool_3x3` edge (Dong &
//! Yang 2020).
//!
//! candle's `avg_pool2d` has no backward when the kernel differs from the
//! stride, so the pooling used to be composed from a padded copy, nine
//! shifted views, eight adds and two scalings, all on the calling thread,
//! with as many steps again in the backward: a cell with pooling edges
//! trained at about half PyTorch's speed. Here the forward is a separable
//! box sum (three-wide along rows, then along columns) scaled by one over
//! the number of real cells in each window, planes spread over rayon's
//! pool. The backward is the adjoint, the same box sum of the output
//! gradient scaled first: a window is symmetric, so input cell `(i, j)` is
//! in the window of output `(h, w)` exactly when `(h, w)` is in the window
//! of `(i, j)`.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;
use std::mem::MaybeUninit;

use crate::error::Error;
use crate::operand::operand_f32;
use crate::simd::write_once;

/// Planes per rayon task (one row-sum scratch buffer per task).
const PLANES_PER_TASK: usize = 16;

/// The pooling of an NCHW tensor; differentiable. Off the CPU, for other
/// dtypes, or with the custom ops switched off, [`avg_pool_3x3_composed`].
pub fn avg_pool_3x3(x: &Tensor) -> candle_core::Result<Tensor> {
    let fused =
        crate::custom_ops() && x.device().is_cpu() && x.dtype() == DType::F32 && x.rank() == 4;
    if !fused {
        return avg_pool_3x3_composed(x);
    }
    x.contiguous()?.apply_op1(AvgPool3x3)
}

/// The same pooling from stock candle ops, on any device: the zero-padded
/// window sum from nine shifted views, rescaled per position.
pub fn avg_pool_3x3_composed(x: &Tensor) -> candle_core::Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let padded = x.pad_with_zeros(2, 1, 1)?.pad_with_zeros(3, 1, 1)?;
    let mut sum = padded.narrow(2, 0, h)?.narrow(3, 0, w)?;
    for (dy, dx) in (0..3).flat_map(|dy| (0..3).map(move |dx| (dy, dx))).skip(1) {
        sum = (sum + padded.narrow(2, dy, h)?.narrow(3, dx, w)?)?;
    }
    let inv = Tensor::from_vec(inverse_counts(h, w), (1, 1, h, w), x.device())?;
    sum.broadcast_mul(&inv.to_dtype(x.dtype())?)
}

/// Real cells of the window centred at `i` along an axis of `n` cells.
fn span(i: usize, n: usize) -> usize {
    1 + usize::from(i > 0) + usize::from(i + 1 < n)
}

/// One over the number of real cells in each position's window, row-major.
fn inverse_counts(h: usize, w: usize) -> Vec<f32> {
    (0..h * w)
        .map(|k| 1.0 / (span(k / w, h) * span(k % w, w)) as f32)
        .collect()
}

/// Writes the clipped 3x3 box sum of `src` (one `h x w` plane, each cell
/// multiplied by `scale_in` first when given) into `out`, each sum
/// multiplied by `scale_out` when given; `rows` is scratch of `h * w`.
fn box_sum(
    src: &[f32],
    (h, w): (usize, usize),
    (scale_in, scale_out): (Option<&[f32]>, Option<&[f32]>),
    rows: &mut [f32],
    out: &mut [MaybeUninit<f32>],
) {
    let at = |k: usize| scale_in.map_or(src[k], |s| src[k] * s[k]);
    // Three-wide sums along each row.
    for r in 0..h {
        for c in 0..w {
            let k = r * w + c;
            let mut s = at(k);
            if c > 0 {
                s += at(k - 1);
            }
            if c + 1 < w {
                s += at(k + 1);
            }
            rows[k] = s;
        }
    }
    // Three-high sums of those along each column, written row by row.
    for r in 0..h {
        for c in 0..w {
            let k = r * w + c;
            let mut s = rows[k];
            if r > 0 {
                s += rows[k - w];
            }
            if r + 1 < h {
                s += rows[k + w];
            }
            out[k].write(scale_out.map_or(s, |f| s * f[k]));
        }
    }
}

/// Applies [`box_sum`] to every `h x w` plane of `src` in parallel.
fn box_sum_planes(
    src: &[f32],
    hw: (usize, usize),
    scales: (Option<&[f32]>, Option<&[f32]>),
) -> Vec<f32> {
    let plane = (hw.0 * hw.1).max(1);
    let fill = |out: &mut [MaybeUninit<f32>]| {
        out.par_chunks_mut(plane * PLANES_PER_TASK)
            .zip(src.par_chunks(plane * PLANES_PER_TASK))
            .for_each(|(outs, srcs)| {
                let mut rows = vec![0.0f32; plane];
                for (out, src) in outs.chunks_mut(plane).zip(srcs.chunks(plane)) {
                    box_sum(src, hw, scales, &mut rows, out);
                }
            });
    };
    // SAFETY: the chunks cover the output, and `box_sum` writes every cell
    // of each plane it is given.
    unsafe { write_once(src.len(), fill) }
}

/// `(h, w)` of a 4-D layout, or an error naming the op.
fn plane_dims(op: &'static str, l: &Layout) -> Result<(usize, usize), Error> {
    match l.dims() {
        &[_, _, h, w] => Ok((h, w)),
        d => Err(Error::BadOperands {
            op,
            reason: format!("expects a 4-D NCHW tensor, got {d:?}"),
        }),
    }
}

struct AvgPool3x3;

impl CustomOp1 for AvgPool3x3 {
    fn name(&self) -> &'static str {
        "avg-pool-3x3"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (h, w) = plane_dims(self.name(), l)?;
        let x = operand_f32(self.name(), s, l)?;
        let inv = inverse_counts(h, w);
        let y = box_sum_planes(x, (h, w), (None, Some(&inv)));
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, gy: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(gy.contiguous()?.apply_op2_no_bwd(x, &AvgPool3x3Grad)?))
    }
}

/// The input gradient for arguments `(gy, x)` (`x` only for its shape).
struct AvgPool3x3Grad;

impl CustomOp2 for AvgPool3x3Grad {
    fn name(&self) -> &'static str {
        "avg-pool-3x3-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        _s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        if l1.dims() != l2.dims() {
            let reason = format!("gradient {:?} and input {:?} differ", l1.dims(), l2.dims());
            return Err(Error::BadOperands {
                op: self.name(),
                reason,
            }
            .into());
        }
        let (h, w) = plane_dims(self.name(), l1)?;
        let gy = operand_f32(self.name(), s1, l1)?;
        let inv = inverse_counts(h, w);
        let gx = box_sum_planes(gy, (h, w), (Some(&inv), None));
        Ok((CpuStorage::F32(gx), l1.shape().clone()))
    }
}
