//! Unfolding a convolution's input into patch rows (im2col) and folding
//! patch-row gradients back (col2im), whole or one panel of output
//! positions at a time, for the GEMM lowering of dense convolutions.
//!
//! Patch row `k = (c, ky, kx)` at output position `(oy, ox)` holds input
//! element `(c, oy * s + ky * d - pad, ox * s + kx * d - pad)`, or zero in
//! the padding. With stride 1 a run of positions along one output row
//! reads a contiguous window of one input row: those runs are planned once
//! per call ([`Plan`]) and replayed for every channel with masked vector
//! moves where the CPU has AVX-512; other strides go element by element.

use std::ops::Range;

use super::geom::ConvGeom;
#[cfg(target_arch = "x86_64")]
use super::moves::{Avx2, Avx512};
use super::moves::{MoveOps, Plan, Scalar};
use crate::matmul::NR;

/// Rows of the unfolded patch matrix (`c_in * k_h * k_w`).
pub(super) fn patch_len(g: &ConvGeom) -> usize {
    g.c_in * g.k_h * g.k_w
}

/// The input coordinate of output coordinate `o` at kernel tap `k`, or
/// `None` where it falls in the zero padding.
fn source(o: usize, k: usize, g: &ConvGeom, len: usize) -> Option<usize> {
    (o * g.stride + k * g.dilation)
        .checked_sub(g.padding)
        .filter(|&i| i < len)
}

/// The range of output columns whose tap `kx` lands inside the input row.
fn valid_columns(kx: usize, g: &ConvGeom) -> Range<usize> {
    let first = (0..g.w_out)
        .find(|&ox| source(ox, kx, g, g.w).is_some())
        .unwrap_or(g.w_out);
    let end = (first..g.w_out)
        .find(|&ox| source(ox, kx, g, g.w).is_none())
        .unwrap_or(g.w_out);
    first..end
}

/// A run of output positions `ox_start..ox_end` of output row `oy`, held
/// in panel columns from `j0` on.
#[derive(Clone, Copy, Default)]
struct Segment {
    oy: usize,
    ox_start: usize,
    ox_end: usize,
    j0: usize,
}

impl Segment {
    fn len(&self) -> usize {
        self.ox_end - self.ox_start
    }
}

/// The output-row segments of the panel of positions `p0..p0 + width`.
fn segments(g: &ConvGeom, p0: usize, width: usize) -> Vec<Segment> {
    let mut segs = Vec::new();
    let mut p = p0;
    while p < p0 + width {
        let (oy, ox) = (p / g.w_out, p % g.w_out);
        let len = (g.w_out - ox).min(p0 + width - p);
        segs.push(Segment {
            oy,
            ox_start: ox,
            ox_end: ox + len,
            j0: p - p0,
        });
        p += len;
    }
    segs
}

/// Runs `$body` with `$ops` bound to the [`MoveOps`] of the process's
/// path ([`crate::isa`]), the body compiled again with that path's
/// features enabled so that the moves inline into it.
macro_rules! with_row_ops {
    ($ops:ident, $body:expr) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            unsafe fn fast(f: impl FnOnce()) {
                f()
            }
            #[target_feature(enable = "avx2")]
            unsafe fn fast2(f: impl FnOnce()) {
                f()
            }
            match crate::isa::isa() {
                crate::isa::Isa::Avx512 => {
                    crate::isa::note(crate::isa::Isa::Avx512);
                    type $ops = Avx512;
                    let body = || $body;
                    // SAFETY: the AVX-512 path runs only where AVX-512F is.
                    return unsafe { fast(body) };
                }
                crate::isa::Isa::Avx2 => {
                    crate::isa::note(crate::isa::Isa::Avx2);
                    type $ops = Avx2;
                    let body = || $body;
                    // SAFETY: the AVX2 path runs only where AVX2 is.
                    return unsafe { fast2(body) };
                }
                _ => {}
            }
        }
        // What runs, for `isas_used`: NEON's path replays lane by lane too.
        let isa = crate::isa::isa();
        crate::isa::note(if isa == crate::isa::Isa::Neon {
            isa
        } else {
            crate::isa::Isa::Portable
        });
        type $ops = Scalar;
        $body
    }};
}

/// The unfolding of one convolution's input, with what does not depend on
/// the sample worked out once.
pub(super) struct Unfold<'g> {
    g: &'g ConvGeom,
    /// The valid output columns of every kernel column (strided path).
    valid: Vec<Range<usize>>,
    /// The channel, kernel row and kernel column of every patch row:
    /// three integer divisions per row and segment were the largest cost
    /// of unfolding.
    taps: Vec<(usize, usize, usize)>,
    /// The output-row segments of every panel of [`NR`] positions.
    panels: Vec<Vec<Segment>>,
    /// Stride 1: the moves of every (panel, kernel tap), indexed
    /// `q * taps + tap`, and of every kernel tap over a whole patch row.
    panel_plans: Vec<Plan>,
    row_plans: Vec<Plan>,
}

impl<'g> Unfold<'g> {
    pub(super) fn new(g: &'g ConvGeom) -> Self {
        let valid = (0..g.k_w).map(|kx| valid_columns(kx, g)).collect();
        let taps = (0..patch_len(g))
            .map(|k| (k / (g.k_h * g.k_w), k / g.k_w % g.k_h, k % g.k_w))
            .collect();
        let p = g.out_plane();
        let panels = (0..p)
            .step_by(NR)
            .map(|p0| segments(g, p0, NR.min(p - p0)))
            .collect();
        let mut unfold = Unfold {
            g,
            valid,
            taps,
            panels,
            panel_plans: Vec::new(),
            row_plans: Vec::new(),
        };
        if g.stride == 1 {
            unfold.plan();
        }
        unfold
    }

    /// Panels of [`NR`] output positions (the last one may be narrower).
    pub(super) fn panel_count(&self) -> usize {
        self.panels.len()
    }

    /// Kernel taps (`k_h * k_w`): patch rows per input channel.
    fn tap_count(&self) -> usize {
        self.g.k_h * self.g.k_w
    }

    /// Works out the stride-1 moves: for tap `(ky, kx)`, the segment of
    /// output row `oy` from `ox_start` reads input row `oy + ky * d - pad`
    /// from column `ox_start + kx * d - pad` on, where that lies inside.
    fn plan(&mut self) {
        let g = *self.g;
        let add_segment = |plan: &mut Plan, tap: usize, s: &Segment, dst: usize| {
            let (ky, kx) = (tap / g.k_w, tap % g.k_w);
            let iy = (s.oy + ky * g.dilation) as isize - g.padding as isize;
            let ix = (s.ox_start + kx * g.dilation) as isize - g.padding as isize;
            let valid = if (0..g.h as isize).contains(&iy) {
                let lo = (-ix).clamp(0, s.len() as isize) as usize;
                lo..(g.w as isize - ix).clamp(lo as isize, s.len() as isize) as usize
            } else {
                0..0
            };
            plan.push_run(dst, s.len(), iy * g.w as isize + ix, valid);
        };
        let taps = self.tap_count();
        for segs in &self.panels {
            for tap in 0..taps {
                let mut plan = Plan::default();
                for s in segs {
                    add_segment(&mut plan, tap, s, s.j0);
                }
                self.panel_plans.push(plan);
            }
        }
        for tap in 0..taps {
            let mut plan = Plan::default();
            for oy in 0..g.h_out {
                let whole_row = Segment {
                    oy,
                    ox_start: 0,
                    ox_end: g.w_out,
                    j0: 0,
                };
                add_segment(&mut plan, tap, &whole_row, oy * g.w_out);
            }
            self.row_plans.push(plan);
        }
    }

    pub(super) fn geom(&self) -> &ConvGeom {
        self.g
    }

    /// Patch row `k` over segment `s`: the offset of its input row in the
    /// sample (`None` in a padding row), and the input column of the
    /// segment's first position (negative in the left padding).
    fn row_start(&self, k: usize, s: &Segment) -> Option<(usize, isize)> {
        let g = self.g;
        let (c, ky, kx) = self.taps[k];
        let iy = source(s.oy, ky, g, g.h)?;
        let ix = (s.ox_start * g.stride + kx * g.dilation) as isize - g.padding as isize;
        Some((c * g.in_plane() + iy * g.w, ix))
    }

    /// The segment's valid output columns (clipped to it) for patch row `k`.
    fn valid_in(&self, k: usize, s: &Segment) -> Range<usize> {
        let valid = &self.valid[self.taps[k].2];
        let start = valid.start.clamp(s.ox_start, s.ox_end);
        start..valid.end.clamp(start, s.ox_end)
    }

    /// `out[j] = x[row][ix + j * stride]` over the segment, zero in the
    /// padding (the strided path).
    fn read(&self, x: &[f32], k: usize, s: &Segment, out: &mut [f32]) {
        out.fill(0.0);
        let Some((row, ix)) = self.row_start(k, s) else {
            return;
        };
        let cols = self.valid_in(k, s);
        let lead = cols.start - s.ox_start;
        let first = ix + (lead * self.g.stride) as isize;
        for (o, v) in out[lead..lead + cols.len()].iter_mut().enumerate() {
            *v = x[row + first as usize + o * self.g.stride];
        }
    }

    /// `gx[row][ix + j * stride] += grads[j]` over the segment, skipping
    /// the padding (the strided path).
    fn write_back(&self, grads: &[f32], k: usize, s: &Segment, gx: &mut [f32]) {
        let Some((row, ix)) = self.row_start(k, s) else {
            return;
        };
        let cols = self.valid_in(k, s);
        let lead = cols.start - s.ox_start;
        let first = ix + (lead * self.g.stride) as isize;
        for (o, v) in grads[lead..lead + cols.len()].iter().enumerate() {
            gx[row + first as usize + o * self.g.stride] += v;
        }
    }

    /// Unfolds sample `x` into every panel: `panels[(q * K + k) * NR + j]
    /// = col[k][q * NR + j]`. Patch rows outermost, so that the input is
    /// read channel by channel: panel by panel, a 1x1 convolution's input
    /// is read as one short piece of every channel at a time, more streams
    /// than the prefetchers follow (measured six times slower).
    pub(super) fn gather(&self, x: &[f32], panels: &mut [f32]) {
        let (k_len, plane) = (patch_len(self.g), self.g.in_plane());
        if self.g.stride != 1 {
            for k in 0..k_len {
                let panels = self.panels.iter().zip(panels.chunks_exact_mut(k_len * NR));
                for (segs, panel) in panels {
                    let row = &mut panel[k * NR..(k + 1) * NR];
                    for s in segs {
                        self.read(x, k, s, &mut row[s.j0..s.j0 + s.len()]);
                    }
                }
            }
            return;
        }
        let taps = self.tap_count();
        with_row_ops!(Ops, {
            for k in 0..k_len {
                let (c, tap) = (k / taps, k % taps);
                let channel = &x[c * plane..(c + 1) * plane];
                let panels = panels.chunks_exact_mut(k_len * NR);
                for (q, panel) in panels.enumerate() {
                    let plan = &self.panel_plans[q * taps + tap];
                    // SAFETY: compiled with Ops' features.
                    unsafe { Ops::copy(plan, channel, &mut panel[k * NR..(k + 1) * NR]) };
                }
            }
        })
    }

    /// Adds every panel back onto the input gradient `gx` of one sample:
    /// the transpose of [`Unfold::gather`], in the same order.
    pub(super) fn scatter(&self, panels: &[f32], gx: &mut [f32]) {
        let (k_len, plane) = (patch_len(self.g), self.g.in_plane());
        if self.g.stride != 1 {
            for k in 0..k_len {
                for (segs, panel) in self.panels.iter().zip(panels.chunks_exact(k_len * NR)) {
                    let row = &panel[k * NR..(k + 1) * NR];
                    for s in segs {
                        self.write_back(&row[s.j0..s.j0 + s.len()], k, s, gx);
                    }
                }
            }
            return;
        }
        let taps = self.tap_count();
        with_row_ops!(Ops, {
            for k in 0..k_len {
                let (c, tap) = (k / taps, k % taps);
                let channel = &mut gx[c * plane..(c + 1) * plane];
                for (q, panel) in panels.chunks_exact(k_len * NR).enumerate() {
                    let plan = &self.panel_plans[q * taps + tap];
                    // SAFETY: compiled with Ops' features.
                    unsafe { Ops::add(plan, &panel[k * NR..(k + 1) * NR], channel) };
                }
            }
        })
    }

    /// Unfolds one sample `x` into the row-major patch matrix `col`
    /// (`K x P`).
    pub(super) fn im2col(&self, x: &[f32], col: &mut [f32]) {
        let (w_out, p, plane) = (self.g.w_out, self.g.out_plane(), self.g.in_plane());
        if self.g.stride != 1 {
            for (k, col_row) in col.chunks_exact_mut(p).enumerate() {
                for (oy, out) in col_row.chunks_exact_mut(w_out).enumerate() {
                    let whole_row = Segment {
                        oy,
                        ox_start: 0,
                        ox_end: w_out,
                        j0: 0,
                    };
                    self.read(x, k, &whole_row, out);
                }
            }
            return;
        }
        let taps = self.tap_count();
        with_row_ops!(Ops, {
            for (k, col_row) in col.chunks_exact_mut(p).enumerate() {
                let (c, tap) = (k / taps, k % taps);
                let channel = &x[c * plane..(c + 1) * plane];
                // SAFETY: compiled with Ops' features.
                unsafe { Ops::copy(&self.row_plans[tap], channel, col_row) };
            }
        })
    }
}
