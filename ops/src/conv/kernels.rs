//! Direct grouped-convolution kernels over contiguous NCHW f32 buffers:
//! forward, input gradient and weight gradient.
//!
//! Depthwise convolution (MobileNetV2, Sandler et al. 2018; the MBConv
//! blocks of FBNet, Wu et al. 2019) does about k² multiply-adds per output,
//! far too little work for the im2col + GEMM route (and candle runs one
//! GEMM per group). Here each task copies the planes it reads into a
//! padded, phase-split scratch ([`padded`](super::padded)) and then builds
//! its output from register-blocked tap sums ([`lanes`](super::lanes)).
//! The input gradient uses the same gather form per input phase, so
//! strided convolutions need no scatter. Work is spread over rayon's current
//! pool: one task per output plane (forward), input plane (input gradient)
//! or output channel (weight gradient), so no two tasks write the same
//! memory and the result does not depend on the thread count.
//!
//! Every task body is compiled twice: generic, and with AVX2 + FMA for the
//! AVX2 and AVX-512 paths ([`crate::isa`]). Depthwise convolutions on
//! planes of at most 4x4 run channels-last instead ([`super::tiny_plane`]).

use rayon::prelude::*;
use std::mem::MaybeUninit;

use super::epilogue::Epilogue;
use super::geom::ConvGeom;
use super::lanes::{correlate_rows, correlate_square, dot_taps_plane, Affine, LANES};
use super::padded::{GradPad, InputPad};
use super::{tiny_plane, whole_plane};
use crate::simd::{prefetch, write_once};

/// Per-task scratch, reused across the tasks a rayon worker runs.
#[derive(Default)]
struct Scratch {
    pad: Vec<f32>,
    taps: Vec<(usize, f32)>,
    offs: Vec<usize>,
    row: Vec<MaybeUninit<f32>>,
    acc: Vec<f32>,
}

/// The offsets of the taps `(ci, kh, kw)`, in weight order, in the padded
/// input of `lay` (the same for every plane of a call).
fn tap_offsets(g: &ConvGeom, lay: &InputPad) -> Vec<usize> {
    let mut offs = Vec::with_capacity(g.cin_g() * g.k_h * g.k_w);
    for ci in 0..g.cin_g() {
        for kh in 0..g.k_h {
            for kw in 0..g.k_w {
                offs.push(lay.tap(g, ci, kh, kw));
            }
        }
    }
    offs
}

/// One output plane from the group's `cin_g` input planes `x` and the
/// output channel's weight `w` (`[cin_g, k_h, k_w]`), whose taps lie at
/// `offs` ([`tap_offsets`]) in the padded input laid out as `lay`; the
/// outputs go through `affine` (the channel's epilogue) as they are stored.
#[inline(always)]
fn fwd_plane_impl<const FMA: bool>(
    (g, lay): (&ConvGeom, &InputPad),
    x: &[f32],
    (w, offs): (&[f32], &[usize]),
    (y, affine): (&mut [MaybeUninit<f32>], Option<Affine>),
    sc: &mut Scratch,
) {
    lay.fill(g, x, g.cin_g(), &mut sc.pad);
    sc.taps.clear();
    sc.taps.extend(offs.iter().copied().zip(w.iter().copied()));
    let source = (sc.pad.as_slice(), lay.out_row(g, 1));
    correlate_rows::<FMA>(y, g.w_out, source, &sc.taps, affine);
}

/// A run of depthwise output planes (one input plane per output plane,
/// so the run's input planes `x` are consecutive too), the first of
/// output channel `co`: all input planes are padded first, then each
/// output plane is computed. Padding each plane right before reading it
/// was 20% slower on 7x7 planes (bench/README.md), most likely because the
/// vector loads waited on the narrower stores that had just written the
/// plane; a run apart, those have reached the cache.
#[inline(always)]
fn fwd_depthwise_run_impl<const FMA: bool>(
    (g, lay): (&ConvGeom, &InputPad),
    x: &[f32],
    (w, offs): (&[f32], &[usize]),
    (ys, co, epilogue): (&mut [MaybeUninit<f32>], usize, Option<Epilogue>),
    sc: &mut Scratch,
) {
    let planes = ys.len() / g.out_plane().max(1);
    lay.fill(g, x, planes, &mut sc.pad);
    let per_co = g.k_h * g.k_w;
    // Stride 1, undilated: the taps lie at `kh * pitch + kw`.
    let square = g.stride == 1 && g.dilation == 1 && g.k_h == g.k_w;
    let mut co = co;
    for (j, y) in ys.chunks_exact_mut(g.out_plane().max(1)).enumerate() {
        sc.taps.clear();
        sc.taps.extend(
            offs.iter()
                .copied()
                .zip(w[co * per_co..][..per_co].iter().copied()),
        );
        let source = (&sc.pad[j * lay.plane..], lay.out_row(g, 1));
        let affine = epilogue.map(|e| e.channel(co));
        if square {
            let kernel = (&w[co * per_co..][..per_co], g.k_h, sc.taps.as_slice());
            correlate_square::<FMA>(y, g.w_out, source, kernel, affine);
        } else {
            correlate_rows::<FMA>(y, g.w_out, source, &sc.taps, affine);
        }
        co = if co + 1 == g.c_out { 0 } else { co + 1 };
    }
}

/// Per input phase `(ry, rx)` (index `ry * stride + rx`), the taps that
/// reach it: their offset in the padded gradient ([`GradPad`]) and their
/// weight index in a group's `[cout_g, cin_g, k_h, k_w]` weight for input
/// channel 0 (add `ci_l * k_h * k_w` for channel `ci_l`). The same for
/// every plane of a call, so computed once.
fn phase_taps(g: &ConvGeom, lay: &GradPad) -> Vec<Vec<(usize, usize)>> {
    let s = g.stride;
    let mut phases = vec![Vec::new(); s * s];
    for ry in 0..s.min(g.h) {
        for rx in 0..s.min(g.w) {
            let taps = &mut phases[ry * s + rx];
            for co in 0..g.cout_g() {
                for kh in 0..g.k_h {
                    let Some(qy) = GradPad::shift(g, ry, kh) else {
                        continue;
                    };
                    for kw in 0..g.k_w {
                        let Some(qx) = GradPad::shift(g, rx, kw) else {
                            continue;
                        };
                        let off = (co * lay.plane()) as isize
                            + (qy + lay.top as isize) * lay.len as isize
                            + qx
                            + lay.left as isize;
                        // `off >= 0` by the choice of `top` and `left`.
                        let wi = (co * g.cin_g() * g.k_h + kh) * g.k_w + kw;
                        taps.push((off as usize, wi));
                    }
                }
            }
        }
    }
    phases
}

/// One input-gradient plane (`ci_l` within its group) from the group's
/// `cout_g` output-gradient planes `gy` and weights `w` (`[cout_g, cin_g,
/// k_h, k_w]`), with the taps of each input phase from [`phase_taps`].
#[inline(always)]
fn bwd_input_plane_impl<const FMA: bool>(
    (g, lay): (&ConvGeom, &GradPad),
    gy: &[f32],
    w: &[f32],
    phases: &[Vec<(usize, usize)>],
    ci_l: usize,
    gx: &mut [MaybeUninit<f32>],
    sc: &mut Scratch,
) {
    lay.fill(g, gy, g.cout_g(), &mut sc.pad);
    let s = g.stride;
    for ry in 0..s.min(g.h) {
        for rx in 0..s.min(g.w) {
            let khw = g.k_h * g.k_w;
            sc.taps.clear();
            sc.taps.extend(
                phases[ry * s + rx]
                    .iter()
                    .map(|&(off, wi)| (off, w[wi + ci_l * khw])),
            );
            let (rows, cols) = ((g.h - ry).div_ceil(s), (g.w - rx).div_ceil(s));
            if s == 1 {
                correlate_rows::<FMA>(gx, g.w, (&sc.pad, lay.len), &sc.taps, None);
                continue;
            }
            // Strided: the phase's rows into scratch, then scattered.
            sc.row.resize(rows * cols, MaybeUninit::uninit());
            correlate_rows::<FMA>(&mut sc.row, cols, (&sc.pad, lay.len), &sc.taps, None);
            for (jy, src) in sc.row.chunks(cols.max(1)).enumerate() {
                let dst = &mut gx[(jy * s + ry) * g.w..][..g.w];
                for (d, v) in dst[rx..].iter_mut().step_by(s).zip(src) {
                    // SAFETY: `correlate_rows` just wrote all of `sc.row`.
                    d.write(unsafe { v.assume_init() });
                }
            }
        }
    }
}

/// The weight gradient of output channel `co`, summed over the batch.
#[inline(always)]
fn bwd_weight_impl<const FMA: bool>(
    g: &ConvGeom,
    x: &[f32],
    gy: &[f32],
    co: usize,
    gw: &mut [f32],
    sc: &mut Scratch,
) {
    let lay = InputPad::new(g);
    sc.offs.clear();
    sc.offs.extend(tap_offsets(g, &lay));
    sc.acc.clear();
    sc.acc.resize(sc.offs.len() * LANES, 0.0);
    let group_in = g.cin_g() * g.in_plane();
    let first = (co / g.cout_g()) * group_in;
    let sample_x = |n: usize| &x[n * g.c_in * g.in_plane() + first..][..group_in];
    let sample_gy = |n: usize| &gy[(n * g.c_out + co) * g.out_plane()..][..g.out_plane()];
    for n in 0..g.n {
        // This channel's planes are a sample apart: fetch the next ones
        // early (the hardware prefetcher does not follow such jumps).
        if n + 1 < g.n {
            prefetch(sample_x(n + 1));
            prefetch(sample_gy(n + 1));
        }
        lay.fill(g, sample_x(n), g.cin_g(), &mut sc.pad);
        let pitch = lay.out_row(g, 1);
        dot_taps_plane::<FMA>(&mut sc.acc, &sc.pad, pitch, &sc.offs, sample_gy(n), g.w_out);
    }
    for (dst, lanes) in gw.iter_mut().zip(sc.acc.chunks_exact(LANES)) {
        *dst = lanes.iter().sum();
    }
}

multiversion!(fwd_plane, fwd_plane_fast, fwd_plane_impl,
    (geom: (&ConvGeom, &InputPad), x: &[f32], w: (&[f32], &[usize]),
     y: (&mut [MaybeUninit<f32>], Option<Affine>), sc: &mut Scratch));
multiversion!(fwd_depthwise_run, fwd_depthwise_run_fast, fwd_depthwise_run_impl,
    (geom: (&ConvGeom, &InputPad), x: &[f32], w: (&[f32], &[usize]),
     y: (&mut [MaybeUninit<f32>], usize, Option<Epilogue>), sc: &mut Scratch));
multiversion!(bwd_input_plane, bwd_input_plane_fast, bwd_input_plane_impl,
    (geom: (&ConvGeom, &GradPad), gy: &[f32], w: &[f32], phases: &[Vec<(usize, usize)>], ci_l: usize,
     gx: &mut [MaybeUninit<f32>], sc: &mut Scratch));
multiversion!(bwd_weight, bwd_weight_fast, bwd_weight_impl,
    (g: &ConvGeom, x: &[f32], gy: &[f32], co: usize, gw: &mut [f32], sc: &mut Scratch));

/// Planes per rayon task, so that a task does at least ~16k multiply-adds.
fn min_planes(macs_per_plane: usize) -> usize {
    (16_384 / macs_per_plane.max(1)).max(1)
}

/// Forward: `y = conv(x, w)`, `x` NCHW, `w` OIHW, both contiguous;
/// `epilogue` maps each output plane as soon as it is written.
pub fn forward(g: &ConvGeom, x: &[f32], w: &[f32], epilogue: Option<Epilogue>) -> Vec<f32> {
    if let Some(m) = whole_plane::matrices(g, w) {
        return whole_plane::forward(g, &m, x, epilogue);
    }
    if tiny_plane::applies(g) {
        return tiny_plane::forward(g, x, w, epilogue);
    }
    let per_co = g.cin_g() * g.k_h * g.k_w;
    let group_in = g.cin_g() * g.in_plane();
    let lay = InputPad::new(g);
    let offs = tap_offsets(g, &lay);
    if g.cin_g() == 1 && g.cout_g() == 1 {
        return forward_depthwise(g, x, w, (&lay, &offs), epilogue);
    }
    let fill = |y: &mut [MaybeUninit<f32>]| {
        y.par_chunks_mut(g.out_plane().max(1))
            .enumerate()
            .with_min_len(min_planes(g.out_plane() * per_co))
            .for_each_init(Scratch::default, |sc, (p, yp)| {
                let (n, co) = (p / g.c_out, p % g.c_out);
                let first = (n * g.c_in + (co / g.cout_g()) * g.cin_g()) * g.in_plane();
                let affine = epilogue.map(|e| e.channel(co));
                fwd_plane(
                    (g, &lay),
                    &x[first..][..group_in],
                    (&w[co * per_co..][..per_co], &offs),
                    (yp, affine),
                    sc,
                );
            });
    };
    // SAFETY: the chunks cover the output and `correlate_rows` writes
    // every element of each plane.
    unsafe { write_once(g.n * g.c_out * g.out_plane(), fill) }
}

/// [`forward`] of a depthwise convolution (one input channel per output
/// channel): runs of planes per rayon task ([`fwd_depthwise_run`]).
fn forward_depthwise(
    g: &ConvGeom,
    x: &[f32],
    w: &[f32],
    (lay, offs): (&InputPad, &[usize]),
    epilogue: Option<Epilogue>,
) -> Vec<f32> {
    let run = min_planes(g.out_plane() * g.k_h * g.k_w);
    let fill = |y: &mut [MaybeUninit<f32>]| {
        y.par_chunks_mut(run * g.out_plane().max(1))
            .enumerate()
            .for_each_init(Scratch::default, |sc, (t, ys)| {
                let (first, planes) = (t * run, ys.len() / g.out_plane().max(1));
                let xs = &x[first * g.in_plane()..][..planes * g.in_plane()];
                let y = (ys, first % g.c_out, epilogue);
                fwd_depthwise_run((g, lay), xs, (w, offs), y, sc);
            });
    };
    // SAFETY: the runs cover the output and `correlate_rows` writes every
    // element of each of their planes.
    unsafe { write_once(g.n * g.c_out * g.out_plane(), fill) }
}

/// Input gradient: `gx = conv(·, w)ᵀ gy`, shaped like the input.
pub fn backward_input(g: &ConvGeom, gy: &[f32], w: &[f32]) -> Vec<f32> {
    if let Some(m) = whole_plane::matrices(g, w) {
        return whole_plane::backward_input(g, &m, gy);
    }
    if tiny_plane::applies(g) {
        return tiny_plane::backward_input(g, gy, w);
    }
    let group_w = g.cout_g() * g.cin_g() * g.k_h * g.k_w;
    let group_out = g.cout_g() * g.out_plane();
    let lay = GradPad::new(g);
    let phases = phase_taps(g, &lay);
    let fill = |gx: &mut [MaybeUninit<f32>]| {
        gx.par_chunks_mut(g.in_plane().max(1))
            .enumerate()
            .with_min_len(min_planes(g.out_plane() * g.cout_g() * g.k_h * g.k_w))
            .for_each_init(Scratch::default, |sc, (p, gxp)| {
                let (n, ci) = (p / g.c_in, p % g.c_in);
                let grp = ci / g.cin_g();
                let gys = &gy[(n * g.c_out + grp * g.cout_g()) * g.out_plane()..][..group_out];
                bwd_input_plane(
                    (g, &lay),
                    gys,
                    &w[grp * group_w..][..group_w],
                    &phases,
                    ci % g.cin_g(),
                    gxp,
                    sc,
                );
            });
    };
    // SAFETY: the chunks cover the input gradient, and every position of a
    // plane lies in exactly one phase `(ry, rx)`, whose rows and columns
    // `correlate_rows` (stride 1) or the scatter (strided) all write.
    unsafe { write_once(g.n * g.c_in * g.in_plane(), fill) }
}

/// Weight gradient: `gw = Σ_batch gy ⋆ x`, shaped like the weight.
pub fn backward_weight(g: &ConvGeom, x: &[f32], gy: &[f32]) -> Vec<f32> {
    if tiny_plane::applies(g) {
        return tiny_plane::backward_weight(g, x, gy);
    }
    let per_co = g.cin_g() * g.k_h * g.k_w;
    let mut gw = vec![0f32; g.c_out * per_co];
    gw.par_chunks_mut(per_co.max(1))
        .enumerate()
        .for_each_init(Scratch::default, |sc, (co, gw_co)| {
            bwd_weight(g, x, gy, co, gw_co, sc)
        });
    gw
}
