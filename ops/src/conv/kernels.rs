//! Direct grouped-convolution kernels over contiguous NCHW f32 buffers:
//! forward, input gradient and weight gradient.
//!
//! Depthwise convolution (MobileNetV2, Sandler et al. 2018; the MBConv
//! blocks of FBNet, Wu et al. 2019) does about nine multiply-adds per
//! output, far too little work for the im2col + GEMM route (and candle runs
//! one GEMM per group). Here each output plane is built from per-tap
//! multiply-adds over contiguous row segments ([`rows`](super::rows)), with
//! padding handled by clipping each tap to its valid segment
//! ([`ConvGeom::valid`]). Work is spread over rayon's current pool, one task
//! per output plane (forward), input plane (input gradient) or output
//! channel (weight gradient), so no two tasks write the same memory.
//!
//! Every plane kernel is compiled twice: generic, and with AVX2 + FMA for
//! the CPUs that have them (picked at run time, as candle's own gemm does).

use rayon::prelude::*;

use super::geom::ConvGeom;
use super::rows::{axpy, mul_acc, scatter};

/// Accumulates one output plane from the `cin_g` input planes `x` of its
/// group and its weight `w` (`[cin_g, k_h, k_w]`). `y` must start zeroed.
#[inline(always)]
fn fwd_plane_impl<const FMA: bool>(g: &ConvGeom, x: &[f32], w: &[f32], y: &mut [f32]) {
    let (s, wo, kk) = (g.stride, g.w_out, g.k_h * g.k_w);
    for ci in 0..g.cin_g() {
        let xp = &x[ci * g.in_plane()..][..g.in_plane()];
        for kw in 0..g.k_w {
            let offw = g.tap_offset(kw);
            let (lo, hi) = g.valid(offw, g.w, wo);
            if lo >= hi {
                continue;
            }
            let start = (lo * s) as isize + offw;
            for kh in 0..g.k_h {
                let a = w[ci * kk + kh * g.k_w + kw];
                let offh = g.tap_offset(kh);
                let (oh_lo, oh_hi) = g.valid(offh, g.h, g.h_out);
                for oh in oh_lo..oh_hi {
                    let ih = ((oh * s) as isize + offh) as usize;
                    let in_row = &xp[ih * g.w + start as usize..(ih + 1) * g.w];
                    axpy::<FMA>(&mut y[oh * wo + lo..oh * wo + hi], in_row, a, s);
                }
            }
        }
    }
}

/// Accumulates the gradient of input plane `ci_l` (index within its group)
/// from the `cout_g` output-gradient planes `gy` of its group and the
/// group's weight `w` (`[cout_g, cin_g, k_h, k_w]`). `gx` must start zeroed.
#[inline(always)]
fn bwd_input_plane_impl<const FMA: bool>(
    g: &ConvGeom,
    gy: &[f32],
    w: &[f32],
    ci_l: usize,
    gx: &mut [f32],
) {
    let (s, wo, kk) = (g.stride, g.w_out, g.k_h * g.k_w);
    for co in 0..g.cout_g() {
        let gyp = &gy[co * g.out_plane()..][..g.out_plane()];
        let wk = &w[(co * g.cin_g() + ci_l) * kk..][..kk];
        for kw in 0..g.k_w {
            let offw = g.tap_offset(kw);
            let (lo, hi) = g.valid(offw, g.w, wo);
            if lo >= hi {
                continue;
            }
            let start = ((lo * s) as isize + offw) as usize;
            for kh in 0..g.k_h {
                let a = wk[kh * g.k_w + kw];
                let offh = g.tap_offset(kh);
                let (oh_lo, oh_hi) = g.valid(offh, g.h, g.h_out);
                for oh in oh_lo..oh_hi {
                    let ih = ((oh * s) as isize + offh) as usize;
                    let out_row = &mut gx[ih * g.w + start..(ih + 1) * g.w];
                    scatter::<FMA>(out_row, &gyp[oh * wo + lo..oh * wo + hi], a, s);
                }
            }
        }
    }
}

/// Sums, lane-wise into `acc` (`[cin_g, k_h, k_w, w_out]`), the products
/// behind the weight gradient of output channel `co` over the whole batch.
#[inline(always)]
fn bwd_weight_acc_impl<const FMA: bool>(
    g: &ConvGeom,
    x: &[f32],
    gy: &[f32],
    co: usize,
    acc: &mut [f32],
) {
    let (s, wo) = (g.stride, g.w_out);
    let first_ci = (co / g.cout_g()) * g.cin_g();
    for n in 0..g.n {
        let gyp = &gy[(n * g.c_out + co) * g.out_plane()..][..g.out_plane()];
        for ci_l in 0..g.cin_g() {
            let xp = &x[(n * g.c_in + first_ci + ci_l) * g.in_plane()..][..g.in_plane()];
            for kw in 0..g.k_w {
                let offw = g.tap_offset(kw);
                let (lo, hi) = g.valid(offw, g.w, wo);
                if lo >= hi {
                    continue;
                }
                let start = ((lo * s) as isize + offw) as usize;
                for kh in 0..g.k_h {
                    let tap = (ci_l * g.k_h + kh) * g.k_w + kw;
                    let row = &mut acc[tap * wo + lo..tap * wo + hi];
                    let offh = g.tap_offset(kh);
                    let (oh_lo, oh_hi) = g.valid(offh, g.h, g.h_out);
                    for oh in oh_lo..oh_hi {
                        let ih = ((oh * s) as isize + offh) as usize;
                        let x_row = &xp[ih * g.w + start..(ih + 1) * g.w];
                        mul_acc::<FMA>(row, &gyp[oh * wo + lo..oh * wo + hi], x_row, s);
                    }
                }
            }
        }
    }
}

/// Whether the AVX2 + FMA versions can run here (cached by std).
#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// Defines `$name`, which runs `$imp` compiled for AVX2 + FMA when the CPU
/// has them and the portable build of `$imp` otherwise.
macro_rules! multiversion {
    ($name:ident, $fast:ident, $imp:ident, ($($arg:ident: $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn $fast($($arg: $ty),*) {
            $imp::<true>($($arg),*)
        }

        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if has_avx2_fma() {
                // SAFETY: the CPU was just checked to support AVX2 and FMA,
                // the only requirement of the target-feature function.
                return unsafe { $fast($($arg),*) };
            }
            $imp::<false>($($arg),*)
        }
    };
}

multiversion!(fwd_plane, fwd_plane_fast, fwd_plane_impl, (g: &ConvGeom, x: &[f32], w: &[f32], y: &mut [f32]));
multiversion!(
    bwd_input_plane,
    bwd_input_plane_fast,
    bwd_input_plane_impl,
    (g: &ConvGeom, gy: &[f32], w: &[f32], ci_l: usize, gx: &mut [f32])
);
multiversion!(
    bwd_weight_acc,
    bwd_weight_acc_fast,
    bwd_weight_acc_impl,
    (g: &ConvGeom, x: &[f32], gy: &[f32], co: usize, acc: &mut [f32])
);

/// Planes per rayon task, so that a task does at least ~16k multiply-adds.
fn min_planes(macs_per_plane: usize) -> usize {
    (16_384 / macs_per_plane.max(1)).max(1)
}

/// Forward: `y = conv(x, w)`, `x` NCHW, `w` OIHW, both contiguous.
pub fn forward(g: &ConvGeom, x: &[f32], w: &[f32]) -> Vec<f32> {
    let mut y = vec![0f32; g.n * g.c_out * g.out_plane()];
    let per_co = g.cin_g() * g.k_h * g.k_w;
    let group_in = g.cin_g() * g.in_plane();
    y.par_chunks_mut(g.out_plane().max(1))
        .enumerate()
        .with_min_len(min_planes(g.out_plane() * per_co))
        .for_each(|(p, yp)| {
            let (n, co) = (p / g.c_out, p % g.c_out);
            let first = (n * g.c_in + (co / g.cout_g()) * g.cin_g()) * g.in_plane();
            fwd_plane(g, &x[first..][..group_in], &w[co * per_co..][..per_co], yp);
        });
    y
}

/// Input gradient: `gx = conv(x, w)ᵀ gy`, shaped like the input.
pub fn backward_input(g: &ConvGeom, gy: &[f32], w: &[f32]) -> Vec<f32> {
    let mut gx = vec![0f32; g.n * g.c_in * g.in_plane()];
    let group_w = g.cout_g() * g.cin_g() * g.k_h * g.k_w;
    let group_out = g.cout_g() * g.out_plane();
    gx.par_chunks_mut(g.in_plane().max(1))
        .enumerate()
        .with_min_len(min_planes(g.out_plane() * g.cout_g() * g.k_h * g.k_w))
        .for_each(|(p, gxp)| {
            let (n, ci) = (p / g.c_in, p % g.c_in);
            let grp = ci / g.cin_g();
            let gys = &gy[(n * g.c_out + grp * g.cout_g()) * g.out_plane()..][..group_out];
            bwd_input_plane(g, gys, &w[grp * group_w..][..group_w], ci % g.cin_g(), gxp);
        });
    gx
}

/// Weight gradient: `gw = Σ_batch gy ⋆ x`, shaped like the weight.
pub fn backward_weight(g: &ConvGeom, x: &[f32], gy: &[f32]) -> Vec<f32> {
    let per_co = g.cin_g() * g.k_h * g.k_w;
    let mut gw = vec![0f32; g.c_out * per_co];
    gw.par_chunks_mut(per_co.max(1)).enumerate().for_each_init(
        || vec![0f32; per_co * g.w_out],
        |acc, (co, gw_co)| {
            acc.fill(0.0);
            bwd_weight_acc(g, x, gy, co, acc);
            for (dst, lanes) in gw_co.iter_mut().zip(acc.chunks_exact(g.w_out.max(1))) {
                *dst = lanes.iter().sum();
            }
        },
    );
    gw
}
