//! Depthwise convolutions in which every output reaches every input of its
//! plane: FBNet's last stages at 28x28 input (Wu et al. 2019), 3x3 and 5x5
//! kernels on 2x2 planes (stride 1, and stride 2 down to 1x1) and on 1x1
//! planes. There a channel's convolution is a small dense matrix `M` with
//! `y[o] = Σ_i M[o][i] · x[i]`, `M[o][i]` the tap joining input `i` to
//! output `o`.
//!
//! [`super::tiny_plane`] handles these planes too, but lays the whole
//! batch out channels-last and back around a loop over tap lists; on a
//! 2x2 plane those two transposes and the list walking cost five times
//! the arithmetic (0.83 ms for 128 x 672 channels on a 2-core AVX2 host).
//! Here each channel's four (or one) values are read in place, NCHW.
//!
//! Bits: every output sums its taps from zero in tap order, as
//! [`super::tiny_plane`] does, and as the taps increase in `(kh, kw)`
//! order their inputs increase in row-major order, so summing over `i`
//! upwards is the same order. The epilogue is the same mul-then-add and
//! ReLU as [`super::epilogue::Epilogue::apply_channels_last`].

use super::epilogue::Epilogue;
use super::geom::ConvGeom;
use super::lanes::madd;
use rayon::prelude::*;

/// Input and output positions of the shapes handled here: `(4, 4)` for a
/// 2x2 plane at stride 1, `(4, 1)` for stride 2, `(1, 1)` for 1x1.
const SHAPES: [(usize, usize); 3] = [(4, 4), (4, 1), (1, 1)];

/// Samples per rayon task: enough work to outweigh scheduling.
fn samples_per_task(g: &ConvGeom) -> usize {
    (16_384 / (g.in_plane() * g.out_plane() * g.c_in).max(1)).max(1)
}

/// Each channel's matrix, `M[c][i][o]` (input-major), when every output of
/// `g` reaches every input through exactly one tap and the plane shape is
/// one of [`SHAPES`]; `None` otherwise.
pub fn matrices(g: &ConvGeom, w: &[f32]) -> Option<Vec<f32>> {
    let (pi, po) = (g.in_plane(), g.out_plane());
    let depthwise = g.groups == g.c_in && g.c_out == g.c_in;
    if !depthwise || !SHAPES.contains(&(pi, po)) {
        return None;
    }
    let taps = g.k_h * g.k_w;
    let mut tap_of = vec![0usize; pi * po];
    for o in 0..po {
        let (oh, ow) = (o / g.w_out, o % g.w_out);
        let mut reached = 0;
        for t in 0..taps {
            let ih = (oh * g.stride + (t / g.k_w) * g.dilation).checked_sub(g.padding);
            let iw = (ow * g.stride + (t % g.k_w) * g.dilation).checked_sub(g.padding);
            let (Some(ih), Some(iw)) = (ih, iw) else {
                continue;
            };
            if ih < g.h && iw < g.w {
                // Inputs must come in row-major order as the taps go on.
                if ih * g.w + iw != reached {
                    return None;
                }
                tap_of[reached * po + o] = t;
                reached += 1;
            }
        }
        if reached != pi {
            return None;
        }
    }
    let mut m = Vec::with_capacity(g.c_in * pi * po);
    for w_c in w.chunks_exact(taps) {
        m.extend(tap_of.iter().map(|&t| w_c[t]));
    }
    Some(m)
}

/// One channel: `y[o] = Σ_i m[i][o] · x[i]`, from zero, `i` upwards,
/// then `map` (scale, shift, ReLU) when there is one.
#[inline(always)]
fn channel<const FMA: bool, const PI: usize, const PO: usize>(
    m: &[f32],
    x: &[f32],
    map: Option<(f32, f32, bool)>,
    y: &mut [f32],
) {
    let mut acc = [0.0f32; PO];
    for (i, &x_i) in x[..PI].iter().enumerate() {
        for (o, acc) in acc.iter_mut().enumerate() {
            *acc = madd::<FMA>(m[i * PO + o], x_i, *acc);
        }
    }
    if let Some((scale, shift, relu)) = map {
        for v in &mut acc {
            let t = *v * scale + shift;
            *v = if !relu || t > 0.0 { t } else { 0.0 };
        }
    }
    y[..PO].copy_from_slice(&acc);
}

/// One channel's input gradient: `gx[i] = Σ_o m[i][o] · gy[o]`, from
/// zero, `o` upwards (the order in which [`super::tiny_plane`] visits the
/// outputs).
#[inline(always)]
fn channel_grad<const FMA: bool, const PI: usize, const PO: usize>(
    m: &[f32],
    gy: &[f32],
    gx: &mut [f32],
) {
    let mut acc = [0.0f32; PI];
    for (o, &gy_o) in gy[..PO].iter().enumerate() {
        for (i, acc) in acc.iter_mut().enumerate() {
            *acc = madd::<FMA>(m[i * PO + o], gy_o, *acc);
        }
    }
    gx[..PI].copy_from_slice(&acc);
}

/// Input gradients of samples: `gy` (`c` channels of `PO` values) to `gx`.
fn grad_samples_impl<const FMA: bool, const PI: usize, const PO: usize>(
    m: &[f32],
    c: usize,
    gy: &[f32],
    gx: &mut [f32],
) {
    let (gy_n, gx_n) = (gy.chunks_exact(c * PO), gx.chunks_exact_mut(c * PI));
    for (gy_n, gx_n) in gy_n.zip(gx_n) {
        let (m_c, gy_c) = (m.chunks_exact(PI * PO), gy_n.chunks_exact(PO));
        for ((m_c, gy_c), gx_c) in m_c.zip(gy_c).zip(gx_n.chunks_exact_mut(PI)) {
            channel_grad::<FMA, PI, PO>(m_c, gy_c, gx_c);
        }
    }
}

fn grad_samples_any_impl<const FMA: bool>(
    shape: (usize, usize),
    m: &[f32],
    c: usize,
    gy: &[f32],
    gx: &mut [f32],
) {
    match shape {
        (4, 4) => grad_samples_impl::<FMA, 4, 4>(m, c, gy, gx),
        (4, 1) => grad_samples_impl::<FMA, 4, 1>(m, c, gy, gx),
        _ => grad_samples_impl::<FMA, 1, 1>(m, c, gy, gx),
    }
}

multiversion!(grad_samples, grad_samples_fast, grad_samples_any_impl,
    (shape: (usize, usize), m: &[f32], c: usize, gy: &[f32], gx: &mut [f32]));

/// Samples `x` (NCHW, `c` channels of `PI` values) to `y`.
fn samples_impl<const FMA: bool, const PI: usize, const PO: usize>(
    m: &[f32],
    c: usize,
    x: &[f32],
    epilogue: Option<Epilogue>,
    y: &mut [f32],
) {
    let (x_n, y_n) = (x.chunks_exact(c * PI), y.chunks_exact_mut(c * PO));
    for (x_n, y_n) in x_n.zip(y_n) {
        let (m_c, x_c) = (m.chunks_exact(PI * PO), x_n.chunks_exact(PI));
        for (ch, ((m_c, x_c), y_c)) in m_c.zip(x_c).zip(y_n.chunks_exact_mut(PO)).enumerate() {
            let map = epilogue.map(|e| (e.scale[ch], e.shift[ch], e.relu));
            channel::<FMA, PI, PO>(m_c, x_c, map, y_c);
        }
    }
}

fn samples_any_impl<const FMA: bool>(
    shape: (usize, usize),
    m: &[f32],
    c: usize,
    x: &[f32],
    epilogue: Option<Epilogue>,
    y: &mut [f32],
) {
    match shape {
        (4, 4) => samples_impl::<FMA, 4, 4>(m, c, x, epilogue, y),
        (4, 1) => samples_impl::<FMA, 4, 1>(m, c, x, epilogue, y),
        _ => samples_impl::<FMA, 1, 1>(m, c, x, epilogue, y),
    }
}

multiversion!(samples, samples_fast, samples_any_impl,
    (shape: (usize, usize), m: &[f32], c: usize, x: &[f32], epilogue: Option<Epilogue>,
     y: &mut [f32]));

/// Forward: `y = conv(x, w)` with `m` from [`matrices`], `x` NCHW, each
/// output mapped by `epilogue`.
pub fn forward(g: &ConvGeom, m: &[f32], x: &[f32], epilogue: Option<Epilogue>) -> Vec<f32> {
    let (c, pi, po) = (g.c_in, g.in_plane(), g.out_plane());
    let mut y = vec![0.0f32; g.n * c * po];
    y.par_chunks_mut(c * po)
        .zip(x.par_chunks(c * pi))
        .with_min_len(samples_per_task(g))
        .for_each(|(y_n, x_n)| samples((pi, po), m, c, x_n, epilogue, y_n));
    y
}

/// Input gradient, shaped like the input, with `m` from [`matrices`].
pub fn backward_input(g: &ConvGeom, m: &[f32], gy: &[f32]) -> Vec<f32> {
    let (c, pi, po) = (g.c_in, g.in_plane(), g.out_plane());
    let mut gx = vec![0.0f32; g.n * c * pi];
    gx.par_chunks_mut(c * pi)
        .zip(gy.par_chunks(c * po))
        .with_min_len(samples_per_task(g))
        .for_each(|(gx_n, gy_n)| grad_samples((pi, po), m, c, gy_n, gx_n));
    gx
}

#[cfg(test)]
mod tests {
    use super::super::tiny_plane;
    use super::*;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        // A fixed, sign-mixed sequence; exact values do not matter.
        (0..len)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761) ^ seed) as f32 / u32::MAX as f32 - 0.5)
            .collect()
    }

    #[test]
    fn every_shape_gives_the_tiny_plane_bits_forward_and_backward() {
        // (size, kernel, stride, padding): 2x2 at stride 1 and 2, 1x1.
        let cases = [
            (2, 3, 1, 1),
            (2, 5, 1, 2),
            (2, 3, 2, 1),
            (1, 3, 1, 1),
            (1, 5, 1, 2),
        ];
        for (i, &(size, k, stride, pad)) in cases.iter().enumerate() {
            let (n, c) = (3, 13);
            let g = ConvGeom::new("t", &[n, c, size, size], &[c, 1, k, k], stride, pad, 1, c)
                .expect("geom");
            let x = values(n * c * size * size, i as u32);
            let w = values(c * k * k, 99 + i as u32);
            let (scale, shift) = (values(c, 7), values(c, 8));
            let m = matrices(&g, &w).expect("a whole-plane shape");
            let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
            for epilogue in [None, Some(false), Some(true)] {
                let e = epilogue.map(|relu| Epilogue {
                    scale: &scale,
                    shift: &shift,
                    relu,
                });
                assert_eq!(
                    bits(forward(&g, &m, &x, e)),
                    bits(tiny_plane::forward(&g, &x, &w, e)),
                    "case {i}, epilogue {epilogue:?}"
                );
            }
            let gy = values(n * c * g.out_plane(), 5 + i as u32);
            assert_eq!(
                bits(backward_input(&g, &m, &gy)),
                bits(tiny_plane::backward_input(&g, &gy, &w)),
                "input gradient, case {i}"
            );
        }
    }

    #[test]
    fn planes_where_some_output_misses_an_input_are_left_to_tiny_plane() {
        // A 4x4 plane (not one of the shapes), and a 1x1 kernel on a 2x2
        // plane (each output reaches one input of four).
        for (size, k, pad) in [(4, 3, 1), (2, 1, 0)] {
            let g =
                ConvGeom::new("t", &[1, 2, size, size], &[2, 1, k, k], 1, pad, 1, 2).expect("geom");
            assert!(matrices(&g, &values(2 * k * k, 0)).is_none(), "{size} {k}");
        }
    }
}
