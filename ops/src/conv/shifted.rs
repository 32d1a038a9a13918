//! Stride-1 dense convolution as a sum of shifted views of one padded
//! image, with no unfolded patch matrix at all.
//!
//! With stride 1, output position `(y, x)` reads input position
//! `(y + i·d, x + j·d)` for tap `(i, j)`. Copy the input into a zero-padded
//! frame whose rows lie `W_p` apart and number positions `q = y·W_p + x`:
//! then tap `(i, j)` of channel `c` is the frame itself, shifted by
//! `c·plane + i·d·W_p + j·d`. The patch matrix of im2col (Chellapilla et
//! al. 2006) is therefore a set of `c_in·k_h·k_w` row views into one
//! buffer, and the GEMM kernels read them in place
//! ([`crate::matmul::shifted_product`]). The price is `W_p − W_out` junk
//! columns per output row (computed, never stored): 6 % at 32x32, 25 % at
//! 8x8, against the unfolding's gather and scatter passes.
//!
//! - forward: `y[o, q] = Σ_{c,i,j} W[o, c, i, j] · frame_x[tap(c, i, j) + q]`;
//! - input gradient: the same product of the transposed kernel
//!   (`Wᵀ[c, (o, i, j)] = W[o, c, i, j]`) with the output gradient padded by
//!   `d·(k − 1) − padding`, whose views are flipped (tap `(i, j)` shifted by
//!   `((k−1−i)·d, (k−1−j)·d)`);
//! - weight gradient: `dW[o, (c, i, j)] += Σ_q dy_wide[o, q] ·
//!   frame_x[tap(c, i, j) + q]`, where `dy_wide` is `dy` laid out with the
//!   frame's row length and zeros in the junk columns.
//!
//! The same trick underlies the "implicit GEMM" convolutions of GPU
//! libraries; it needs stride 1 and `padding <= d·(k − 1)`.

use std::mem::MaybeUninit;

use super::geom::ConvGeom;
use crate::matmul::{dot_accumulate_shifted, shifted_product, PackedA, PanelOut, NR};

/// Whether this module can run the (per-group) convolution `g`, and
/// should: stride 1, a kernel wider than one tap both ways, and padding
/// the flipped kernel can undo.
pub(super) fn applies(g: &ConvGeom) -> bool {
    g.stride == 1
        && g.k_h > 1
        && g.k_w > 1
        && g.padding <= g.dilation * (g.k_h - 1)
        && g.padding <= g.dilation * (g.k_w - 1)
}

/// A stack of zero-padded planes stored one after the other, then zero
/// slack so a full panel row may be read past the last position.
///
/// Rows are `width = cols + left` apart: each row starts with its `left`
/// zero columns and has no zeros of its own on the right, because a tap
/// reaching past the row's last column (by at most `left`, see
/// [`Shifted::new`]) lands in the next row's left zeros (or, past the last
/// row, in the zero rows below, the next plane's zero rows above or the
/// slack). Sharing the border halves the junk columns a product computes.
#[derive(Clone, Copy, Debug)]
struct Frame {
    channels: usize,
    height: usize,
    width: usize,
    top: usize,
    left: usize,
}

impl Frame {
    /// Frames `channels` planes of `h x w` with `pad_h` zero rows above
    /// and below and `pad_w` zero columns either side (shared).
    fn around(channels: usize, (h, w): (usize, usize), (pad_h, pad_w): (usize, usize)) -> Self {
        Frame {
            channels,
            height: h + 2 * pad_h,
            width: w + pad_w,
            top: pad_h,
            left: pad_w,
        }
    }

    fn plane(&self) -> usize {
        self.height * self.width
    }

    /// Values with the slack: a panel row read from the last position on,
    /// plus the last row's reach past its end.
    fn len(&self) -> usize {
        self.channels * self.plane() + NR + self.left
    }

    /// Writes every value of `dst` (`self.len()` long): `src`'s planes
    /// (`rows x cols` each, through a ReLU when `relu`) inside zero
    /// borders, then zero slack.
    fn fill(&self, src: &[f32], (rows, cols): (usize, usize), relu: bool, dst: &mut [f32]) {
        debug_assert_eq!(cols + self.left, self.width);
        let (dst, slack) = dst[..self.len()].split_at_mut(self.channels * self.plane());
        slack.fill(0.0);
        for (plane, src) in dst
            .chunks_exact_mut(self.plane())
            .zip(src.chunks_exact(rows * cols))
        {
            let (above, rest) = plane.split_at_mut(self.top * self.width);
            above.fill(0.0);
            let (body, below) = rest.split_at_mut(rows * self.width);
            below.fill(0.0);
            for (row, src_row) in body
                .chunks_exact_mut(self.width)
                .zip(src.chunks_exact(cols))
            {
                let (left, data) = row.split_at_mut(self.left);
                left.fill(0.0);
                if relu {
                    for (d, &v) in data.iter_mut().zip(src_row) {
                        *d = v.max(0.0);
                    }
                } else {
                    data.copy_from_slice(src_row);
                }
            }
        }
    }

    /// Offset of the view shifted by `(di, dj)` in plane `channel`.
    fn tap(&self, channel: usize, di: usize, dj: usize) -> usize {
        channel * self.plane() + di * self.width + dj
    }

    /// Positions a product over `rows x cols` outputs must cover: up to the
    /// last real one, `(rows - 1) * width + cols`.
    fn span(&self, (rows, cols): (usize, usize)) -> usize {
        (rows - 1) * self.width + cols
    }
}

/// What every sample of one convolution call shares: frame layouts and
/// the offsets of every tap's view.
pub(super) struct Shifted {
    geom: ConvGeom,
    /// Whether the convolution reads `relu(x)` (the ReLU fused into the
    /// frame's fill) instead of `x`.
    relu_input: bool,
    /// The input padded by `padding`.
    x_frame: Frame,
    /// The output gradient padded by `d·(k − 1) − padding`.
    gy_frame: Frame,
    /// View of patch row `(c, i, j)` in `x_frame`.
    x_taps: Vec<usize>,
    /// View of `Wᵀ`'s column `(o, i, j)` in `gy_frame` (flipped taps).
    gy_taps: Vec<usize>,
}

impl Shifted {
    /// Plans the per-group convolution `g` (which must satisfy
    /// [`applies`]) of the input, or of its ReLU when `relu_input`.
    pub(super) fn new(g: &ConvGeom, relu_input: bool) -> Self {
        assert!(
            applies(g),
            "shifted views need stride 1 and a flippable padding"
        );
        let d = g.dilation;
        let x_frame = Frame::around(g.c_in, (g.h, g.w), (g.padding, g.padding));
        let back = (d * (g.k_h - 1) - g.padding, d * (g.k_w - 1) - g.padding);
        let gy_frame = Frame::around(g.c_out, (g.h_out, g.w_out), back);
        let taps = |frame: &Frame, channels: usize, flip: bool| -> Vec<usize> {
            let mut taps = Vec::with_capacity(channels * g.k_h * g.k_w);
            for c in 0..channels {
                for i in 0..g.k_h {
                    for j in 0..g.k_w {
                        let (i, j) = if flip {
                            (g.k_h - 1 - i, g.k_w - 1 - j)
                        } else {
                            (i, j)
                        };
                        taps.push(frame.tap(c, i * d, j * d));
                    }
                }
            }
            taps
        };
        Shifted {
            geom: *g,
            relu_input,
            x_taps: taps(&x_frame, g.c_in, false),
            gy_taps: taps(&gy_frame, g.c_out, true),
            x_frame,
            gy_frame,
        }
    }

    /// Scratch values [`Self::forward`] and [`Self::weight_grad`] need for
    /// the padded input, and all three for their second buffer.
    pub(super) fn scratch_lens(&self) -> (usize, usize) {
        let g = &self.geom;
        let first = self.x_frame.len().max(self.gy_frame.len());
        let second =
            (g.c_out * g.h_out * self.x_frame.width).max(g.c_in * g.h * self.gy_frame.width);
        (first, second)
    }

    /// `Wᵀ` packed for [`Self::input_grad`]: row `c`, column `(o, i, j)`
    /// holds `W[o, c, i, j]` (the flip is in the taps' views).
    pub(super) fn pack_transposed(&self, w: &[f32]) -> PackedA {
        let g = &self.geom;
        let taps = g.k_h * g.k_w;
        PackedA::from_fn(g.c_in, g.c_out * taps, |c, col| {
            let (o, t) = (col / taps, col % taps);
            w[(o * g.c_in + c) * taps + t]
        })
    }

    /// One sample's forward: `y` (`c_out x h_out x w_out`, written whole)
    /// from `x` (`c_in x h x w`) and the weight packed by rows.
    pub(super) fn forward(
        &self,
        w: &PackedA,
        x: &[f32],
        y: &mut [MaybeUninit<f32>],
        (frame, wide): (&mut [f32], &mut [f32]),
    ) {
        let g = &self.geom;
        self.x_frame.fill(x, (g.h, g.w), self.relu_input, frame);
        let out = (g.h_out, g.w_out);
        product(w, (frame, &self.x_taps), self.x_frame, out, wide);
        narrow(wide, self.x_frame.width, out, y);
    }

    /// One sample's input gradient: `gx` (`c_in x h x w`, written whole)
    /// from `gy` and the weight packed by [`Self::pack_transposed`]; zero
    /// where `relu_input` (the sample's `x`, when a ReLU was in front) is
    /// not positive.
    pub(super) fn input_grad(
        &self,
        w_t: &PackedA,
        gy: &[f32],
        (gx, relu_input): (&mut [MaybeUninit<f32>], Option<&[f32]>),
        (frame, wide): (&mut [f32], &mut [f32]),
    ) {
        let g = &self.geom;
        self.gy_frame.fill(gy, (g.h_out, g.w_out), false, frame);
        let out = (g.h, g.w);
        product(w_t, (frame, &self.gy_taps), self.gy_frame, out, wide);
        match relu_input {
            Some(x) => narrow_masked(wide, self.gy_frame.width, out, x, gx),
            None => narrow(wide, self.gy_frame.width, out, gx),
        }
    }

    /// Adds one sample's weight gradient (`c_out x c_in·k_h·k_w`) to `gw`.
    pub(super) fn weight_grad(
        &self,
        x: &[f32],
        gy: &[f32],
        gw: &mut [f32],
        (frame, gy_wide): (&mut [f32], &mut [f32]),
    ) {
        let g = &self.geom;
        self.x_frame.fill(x, (g.h, g.w), self.relu_input, frame);
        let span = self.x_frame.span((g.h_out, g.w_out));
        let gy_wide = &mut gy_wide[..g.c_out * span];
        widen(gy, (g.h_out, g.w_out), self.x_frame.width, span, gy_wide);
        dot_accumulate_shifted(gy_wide, g.c_out, (frame, &self.x_taps), span, gw);
    }
}

/// `wide[o, q] = Σ_k a[o, k] · frame[taps[k] + q]` for the positions `q`
/// of `out` (`rows x cols`) laid out with the frame's row length; each
/// output channel takes `rows * frame.width` values of `wide`.
fn product(
    a: &PackedA,
    (frame, taps): (&[f32], &[usize]),
    layout: Frame,
    out: (usize, usize),
    wide: &mut [f32],
) {
    let stride = out.0 * layout.width;
    let span = layout.span(out);
    for blocks in a.block_runs() {
        for col in (0..span).step_by(NR) {
            let dst = PanelOut::new(wide, stride, col, NR.min(span - col));
            shifted_product(a, blocks.clone(), (frame, taps), col, dst, false);
        }
    }
}

/// Copies the real positions of `wide` (channels `rows * width` apart,
/// rows `width` apart) into the dense `dst` (`rows x cols` per channel).
fn narrow(wide: &[f32], width: usize, (rows, cols): (usize, usize), dst: &mut [MaybeUninit<f32>]) {
    for (dst, src) in dst
        .chunks_exact_mut(rows * cols)
        .zip(wide.chunks_exact(rows * width))
    {
        for (d, s) in dst.chunks_exact_mut(cols).zip(src.chunks_exact(width)) {
            for (d, &s) in d.iter_mut().zip(&s[..cols]) {
                d.write(s);
            }
        }
    }
}

/// [`narrow`], zero where `mask` (dense like `dst`) is not positive: the
/// gradient through a ReLU whose input was `mask`.
fn narrow_masked(
    wide: &[f32],
    width: usize,
    (rows, cols): (usize, usize),
    mask: &[f32],
    dst: &mut [MaybeUninit<f32>],
) {
    let wide_rows = wide
        .chunks_exact(rows * width)
        .flat_map(|c| c.chunks_exact(width));
    for ((d, m), s) in dst
        .chunks_exact_mut(cols)
        .zip(mask.chunks_exact(cols))
        .zip(wide_rows)
    {
        for ((d, &m), &s) in d.iter_mut().zip(m).zip(&s[..cols]) {
            d.write(if m > 0.0 { s } else { 0.0 });
        }
    }
}

/// Lays the dense `src` (`rows x cols` per channel) out with rows `width`
/// apart and channels `span` apart, zero in the columns between.
fn widen(src: &[f32], (rows, cols): (usize, usize), width: usize, span: usize, dst: &mut [f32]) {
    for (dst, src) in dst
        .chunks_exact_mut(span)
        .zip(src.chunks_exact(rows * cols))
    {
        for (r, row) in src.chunks_exact(cols).enumerate() {
            let at = r * width;
            dst[at..at + cols].copy_from_slice(row);
            let end = (at + width).min(span);
            dst[at + cols..end].fill(0.0);
        }
    }
}
