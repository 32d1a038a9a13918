//! Zero-padded, phase-split scratch copies of the planes a kernel reads.
//!
//! Padding the source once per task removes every border test from the
//! inner loops. Splitting each padded row into `stride` phases (column `c`
//! goes to phase `c % stride`, position `c / stride`) makes a strided
//! convolution read contiguous runs too: tap offset `t` of output column
//! `o` is input column `o * stride + t`, i.e. phase `t % stride`, position
//! `o + t / stride`. Each row gets `LANES` of slack so whole register blocks
//! can be read past the last real output.

use super::geom::ConvGeom;
use super::lanes::LANES;

fn ceil_div(a: usize, b: usize) -> usize {
    a.div_ceil(b)
}

fn round_up(a: usize) -> usize {
    ceil_div(a, LANES) * LANES
}

/// Makes `dst` hold `len` floats, zeroing it only if its length changes.
/// A scratch buffer is only ever reused with one layout per kernel call
/// (see `kernels.rs`), so its zero border survives between fills.
fn zero_on_resize(dst: &mut Vec<f32>, len: usize) {
    if dst.len() != len {
        dst.clear();
        dst.resize(len, 0.0);
    }
}

/// Layout of the padded input planes read by the forward and weight-gradient kernels.
#[derive(Clone, Copy, Debug)]
pub struct InputPad {
    /// Length of one phase of one padded row.
    pub len: usize,
    /// Floats between consecutive padded rows (`stride * len`).
    pub row: usize,
    /// Floats per padded plane.
    pub plane: usize,
}

impl InputPad {
    pub fn new(g: &ConvGeom) -> Self {
        let s = g.stride;
        let reach = (g.k_w - 1) * g.dilation / s;
        let len = ceil_div(g.w + 2 * g.padding, s).max(round_up(g.w_out) + reach);
        let row = s * len;
        InputPad {
            len,
            row,
            plane: (g.h + 2 * g.padding) * row,
        }
    }

    /// Offset of tap `(ci, kh, kw)` from the start of output row 0.
    pub fn tap(&self, g: &ConvGeom, ci: usize, kh: usize, kw: usize) -> usize {
        let t = kw * g.dilation;
        ci * self.plane + kh * g.dilation * self.row + (t % g.stride) * self.len + t / g.stride
    }

    /// Offset of output row `oh` (taps are relative to it).
    pub fn out_row(&self, g: &ConvGeom, oh: usize) -> usize {
        oh * g.stride * self.row
    }

    /// Copies the planes `x` (`planes` of them) into `dst`, padded and
    /// phase-split. Every call with one layout writes the same positions, so
    /// the zero border is only written when `dst` changes size.
    pub fn fill(&self, g: &ConvGeom, x: &[f32], planes: usize, dst: &mut Vec<f32>) {
        zero_on_resize(dst, planes * self.plane);
        let (s, p) = (g.stride, g.padding);
        for ci in 0..planes {
            let plane = &mut dst[ci * self.plane..(ci + 1) * self.plane];
            let rows = |ih: usize| {
                let src = &x[(ci * g.h + ih) * g.w..][..g.w];
                (src, (ih + p) * self.row)
            };
            if s == 1 {
                for ih in 0..g.h {
                    let (src, at) = rows(ih);
                    crate::simd::copy_row(&mut plane[at + p..][..g.w], src);
                }
                continue;
            }
            // Phase r holds the columns iw with (iw + p) % s == r, in
            // order. Where each phase starts is worked out once per plane:
            // per row (and through `step_by`) the divisions cost more than
            // the copy.
            for r in 0..s {
                let first = (r + s - p % s) % s;
                let count = g.w.saturating_sub(first).div_ceil(s);
                let start = r * self.len + (first + p) / s;
                for ih in 0..g.h {
                    let (src, at) = rows(ih);
                    let dst = &mut plane[at + start..][..count];
                    for (j, d) in dst.iter_mut().enumerate() {
                        *d = src[first + j * s];
                    }
                }
            }
        }
    }
}

/// Layout of the padded output-gradient planes read by the input-gradient
/// kernel, which gathers, for input phase `(ry, rx)` and position
/// `(jy, jx)`, the outputs `(jy + qy, jx + qx)` with
/// `qy = (ry + padding - kh * dilation) / stride` for the taps that divide.
#[derive(Clone, Copy, Debug)]
pub struct GradPad {
    /// Rows and columns added before the gradient so that `jy + qy >= 0`.
    pub top: usize,
    pub left: usize,
    /// Padded rows and row length.
    pub rows: usize,
    pub len: usize,
}

impl GradPad {
    pub fn new(g: &ConvGeom) -> Self {
        let s = g.stride;
        let top = ceil_div((g.k_h - 1) * g.dilation, s);
        let left = ceil_div((g.k_w - 1) * g.dilation, s);
        let below = g.padding.div_ceil(s) + 1;
        let rows = ceil_div(g.h, s) + below + top;
        let len = round_up(ceil_div(g.w, s)) + below + left;
        GradPad {
            top,
            left,
            rows,
            len,
        }
    }

    /// Floats per padded plane.
    pub fn plane(&self) -> usize {
        self.rows * self.len
    }

    /// The shift `q` of tap `k` for input phase `r`, if the tap reaches that phase.
    pub fn shift(g: &ConvGeom, r: usize, k: usize) -> Option<isize> {
        let t = (r + g.padding) as isize - (k * g.dilation) as isize;
        let s = g.stride as isize;
        (t.rem_euclid(s) == 0).then(|| t.div_euclid(s))
    }

    /// Copies the gradient planes `gy` (`planes` of them) into `dst`. Rows
    /// and columns that no input position reads fall outside and are dropped.
    pub fn fill(&self, g: &ConvGeom, gy: &[f32], planes: usize, dst: &mut Vec<f32>) {
        zero_on_resize(dst, planes * self.plane());
        let cols = g.w_out.min(self.len - self.left);
        for co in 0..planes {
            let plane = &mut dst[co * self.plane()..(co + 1) * self.plane()];
            for oh in 0..g.h_out.min(self.rows - self.top) {
                let src = &gy[(co * g.h_out + oh) * g.w_out..][..cols];
                plane[(oh + self.top) * self.len + self.left..][..cols].copy_from_slice(src);
            }
        }
    }
}
