//! Pointwise (1x1, stride 1, unpadded, ungrouped) convolutions on small
//! planes, as products over many samples at once.
//!
//! [`super::dense`] multiplies one sample at a time: `y_i = W · x_i` with
//! `x_i` a `c_in x P` matrix. Its kernels fill output panels [`NR`]
//! positions wide, so a plane of `P < NR` positions leaves most of each
//! panel empty: 4x4 planes use half of it, the 1x1 planes at the end of
//! FBNet (Wu et al. 2019) at 28x28 input one 32nd, and the weight gradient
//! becomes one rank-`P` update of the whole `c_out x c_in` gradient per
//! sample. A pointwise convolution treats positions and samples alike, so
//! here the batch is regrouped into chunks of `S` samples laid side by
//! side (`c_in x S·P`, zero-padded at the end of the batch), the chunks
//! run through [`super::dense`] as samples of a `1 x S·P` plane, and the
//! output is laid back out per sample. `S` depends only on `P`, never on
//! the thread count, so the weight gradient's summation order (and every
//! bit of it) is the same on any pool.

use super::dense;
use super::epilogue::Epilogue;
use super::geom::ConvGeom;
use crate::matmul::NR;
use crate::simd::write_once;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Output positions per chunk: whole panels, at least two.
const CHUNK_POSITIONS: usize = 2 * NR;

/// Whether a convolution runs here: pointwise, ungrouped, and its plane
/// narrower than one panel.
pub fn applies(g: &ConvGeom) -> bool {
    g.groups == 1
        && g.k_h == 1
        && g.k_w == 1
        && g.stride == 1
        && g.padding == 0
        && g.out_plane() < NR
}

/// How the batch is regrouped.
struct Chunks {
    /// Samples in the batch.
    n: usize,
    /// Positions per sample.
    p: usize,
    /// Samples per chunk.
    per_chunk: usize,
}

impl Chunks {
    fn of(g: &ConvGeom) -> Self {
        let p = g.out_plane().max(1);
        Chunks {
            n: g.n,
            p,
            per_chunk: CHUNK_POSITIONS.div_ceil(p),
        }
    }

    fn count(&self) -> usize {
        self.n.div_ceil(self.per_chunk)
    }

    fn width(&self) -> usize {
        self.per_chunk * self.p
    }

    /// The convolution over chunks: `count` samples of a `1 x width` plane.
    fn geom(&self, g: &ConvGeom) -> ConvGeom {
        ConvGeom {
            n: self.count(),
            h: 1,
            w: self.width(),
            h_out: 1,
            w_out: self.width(),
            ..*g
        }
    }

    /// `(n, c, p)` per sample to `(chunks, c, per_chunk * p)`, the padding
    /// samples of the last chunk zero.
    fn gather(&self, src: &[f32], c: usize) -> Vec<f32> {
        let (p, width) = (self.p, self.width());
        let fill = |out: &mut [MaybeUninit<f32>]| {
            out.par_chunks_mut(c * width)
                .enumerate()
                .for_each(|(chunk, dst)| {
                    let first = chunk * self.per_chunk;
                    let present = self.n.min(first + self.per_chunk) - first;
                    for (ch, row) in dst.chunks_exact_mut(width).enumerate() {
                        for (i, slot) in row.chunks_exact_mut(p).enumerate() {
                            if i < present {
                                let from = ((first + i) * c + ch) * p;
                                copy_into(slot, &src[from..from + p]);
                            } else {
                                slot.fill(MaybeUninit::new(0.0));
                            }
                        }
                    }
                });
        };
        // SAFETY: every sample slot of every channel row is copied or zeroed.
        unsafe { write_once(self.count() * c * width, fill) }
    }

    /// The inverse of [`Chunks::gather`], dropping the padding samples.
    fn scatter(&self, src: &[f32], c: usize) -> Vec<f32> {
        let (p, width) = (self.p, self.width());
        let fill = |out: &mut [MaybeUninit<f32>]| {
            out.par_chunks_mut(c * p).enumerate().for_each(|(s, dst)| {
                let (chunk, at) = (s / self.per_chunk, (s % self.per_chunk) * p);
                for (ch, row) in dst.chunks_exact_mut(p).enumerate() {
                    let from = (chunk * c + ch) * width + at;
                    copy_into(row, &src[from..from + p]);
                }
            });
        };
        // SAFETY: every channel row of every sample is copied.
        unsafe { write_once(self.n * c * p, fill) }
    }
}

/// Copies `src` into the memory `dst` (as long).
fn copy_into(dst: &mut [MaybeUninit<f32>], src: &[f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        d.write(s);
    }
}

/// `y = conv2d(x, w)` of a convolution [`super::dense`] handles, regrouped
/// when [`applies`], `epilogue` applied to every output channel.
pub fn forward(g: &ConvGeom, x: &[f32], w: &[f32], epilogue: Option<Epilogue>) -> Vec<f32> {
    if !applies(g) {
        return dense::forward(g, x, w, false, epilogue);
    }
    let chunks = Chunks::of(g);
    // A chunk's output is laid out by channel like a sample's, so the
    // epilogue runs on it as it would on a sample (the zero padding
    // samples get mapped too, then dropped).
    let y = dense::forward(
        &chunks.geom(g),
        &chunks.gather(x, g.c_in),
        w,
        false,
        epilogue,
    );
    chunks.scatter(&y, g.c_out)
}

/// `dL/dx` from `dL/dy`, regrouped when [`applies`].
pub fn backward_input(g: &ConvGeom, gy: &[f32], w: &[f32]) -> Vec<f32> {
    if !applies(g) {
        return dense::backward_input(g, gy, w, None);
    }
    let chunks = Chunks::of(g);
    let gx = dense::backward_input(&chunks.geom(g), &chunks.gather(gy, g.c_out), w, None);
    chunks.scatter(&gx, g.c_in)
}

/// `dL/dw` from the input and `dL/dy`, regrouped when [`applies`].
pub fn backward_weight(g: &ConvGeom, x: &[f32], gy: &[f32]) -> Vec<f32> {
    if !applies(g) {
        return dense::backward_weight(g, x, gy, false);
    }
    let chunks = Chunks::of(g);
    dense::backward_weight(
        &chunks.geom(g),
        &chunks.gather(x, g.c_in),
        &chunks.gather(gy, g.c_out),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(n: usize, c_in: usize, c_out: usize, side: usize) -> ConvGeom {
        ConvGeom::new(
            "t",
            &[n, c_in, side, side],
            &[c_out, c_in, 1, 1],
            1,
            0,
            1,
            1,
        )
        .expect("geom")
    }

    #[test]
    fn regrouping_round_trips_with_a_padded_last_chunk() {
        // 2x2 planes: 16 samples per chunk, so 21 samples make two chunks.
        let g = geom(21, 3, 5, 2);
        assert!(applies(&g));
        let chunks = Chunks::of(&g);
        assert_eq!((chunks.count(), chunks.width()), (2, 64));
        let x: Vec<f32> = (0..21 * 3 * 4).map(|v| v as f32).collect();
        let grouped = chunks.gather(&x, 3);
        // Sample 17, channel 2, position 3 sits in chunk 1 at column
        // (17 - 16) * 4 + 3 of row 2.
        assert_eq!(grouped[(3 + 2) * 64 + 4 + 3], x[(17 * 3 + 2) * 4 + 3]);
        // Chunk 1 holds samples 16..21: columns 20.. of its rows pad.
        for row in grouped[3 * 64..].chunks_exact(64) {
            assert!(row[20..].iter().all(|&v| v == 0.0), "padding is zero");
        }
        assert_eq!(chunks.scatter(&grouped, 3), x);
    }

    #[test]
    fn every_run_length_round_trips() {
        // Runs of 1, 9 and 16 floats.
        for side in [1, 3, 4] {
            let g = geom(37, 3, 5, side);
            let chunks = Chunks::of(&g);
            let x: Vec<f32> = (0..37 * 3 * side * side).map(|v| v as f32 + 1.0).collect();
            let grouped = chunks.gather(&x, 3);
            let real = 37 * 3 * side * side;
            assert_eq!(
                grouped.iter().filter(|&&v| v != 0.0).count(),
                real,
                "side {side}"
            );
            assert_eq!(chunks.scatter(&grouped, 3), x, "side {side}");
        }
    }

    #[test]
    fn only_narrow_pointwise_planes_apply() {
        assert!(applies(&geom(8, 4, 4, 4)));
        assert!(!applies(&geom(8, 4, 4, 7)));
        let k3 = ConvGeom::new("t", &[8, 4, 2, 2], &[4, 4, 3, 3], 1, 1, 1, 1).expect("geom");
        assert!(!applies(&k3));
        let g2 = ConvGeom::new("t", &[8, 4, 2, 2], &[4, 2, 1, 1], 1, 0, 1, 2).expect("geom");
        assert!(!applies(&g2));
    }
}
