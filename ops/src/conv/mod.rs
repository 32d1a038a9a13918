//! Grouped and depthwise 2-D convolution that is fast on the CPU, forward
//! and backward.
//!
//! Grouped convolution comes from AlexNet (Krizhevsky et al. 2012) and
//! ResNeXt; its depthwise extreme (groups = channels) from MobileNets
//! (Howard et al. 2017). FBNet (Wu et al. 2019) uses both: depthwise k3/k5
//! convolutions in every MBConv block and `g2` blocks whose 1x1
//! convolutions have two groups. Stock candle runs such a convolution as
//! one convolution per group and differentiates it with a transposed
//! convolution, which is what made training slow.

mod dense;
mod geom;
mod kernels;
mod lanes;
mod op;
mod padded;

use candle_core::{DType, Tensor};

pub use geom::ConvGeom;
pub use op::{ConvParams, GroupedConv2d, GroupedConv2dGradInput, GroupedConv2dGradWeight};

/// Which implementation [`grouped_conv2d`] picks for a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPath {
    /// candle's own `conv2d` (non-CPU devices, non-f32).
    Candle,
    /// Dense convolution (`groups == 1`) as im2col + GEMM, forward and
    /// both gradients ([`GroupedConv2d`] with one group).
    Gemm,
    /// Grouped 1x1 convolution as one batched matmul over the groups.
    PointwiseMatmul,
    /// The direct kernels of this crate ([`GroupedConv2d`]).
    Direct,
}

/// The path [`grouped_conv2d`] takes for these arguments.
pub fn conv_path(x: &Tensor, w: &Tensor, stride: usize, padding: usize, groups: usize) -> ConvPath {
    let cpu_f32 = x.device().is_cpu() && x.dtype() == DType::F32 && w.dtype() == DType::F32;
    if !cpu_f32 || !crate::custom_ops() {
        return ConvPath::Candle;
    }
    match w.dims() {
        // Dense: im2col + GEMM in one custom op (for 1x1 stride 1, GEMM on
        // the input itself), forward and both gradients.
        _ if groups <= 1 => ConvPath::Gemm,
        // Grouped 1x1, stride 1: a batched matmul, whose backward is two
        // matmuls (candle's conv2d backward would use its slow transposed
        // convolution).
        &[_, cin_g, 1, 1] if stride == 1 && padding == 0 && cin_g > 1 => ConvPath::PointwiseMatmul,
        _ => ConvPath::Direct,
    }
}

/// `conv2d(x, w)` with `groups` channel groups (1 included): `x` is `[n, c_in, h, w]`,
/// `w` is `[c_out, c_in / groups, k_h, k_w]`, the result
/// `[n, c_out, h_out, w_out]`; any kernel size, stride, dilation and
/// padding. Picks the fast path on the CPU and falls back to candle's
/// `conv2d` elsewhere (CUDA, other dtypes), so callers never
/// need to care. Gradients flow to both `x` and `w`.
pub fn grouped_conv2d(
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    padding: usize,
    dilation: usize,
    groups: usize,
) -> candle_core::Result<Tensor> {
    match conv_path(x, w, stride, padding, groups) {
        ConvPath::Candle => x.conv2d(w, padding, stride, dilation, groups),
        ConvPath::PointwiseMatmul => pointwise_grouped(x, w, groups),
        ConvPath::Direct | ConvPath::Gemm => direct_conv2d(x, w, stride, padding, dilation, groups),
    }
}

/// Always this crate's custom op on the CPU (f32), whatever the shape: the
/// direct kernels for grouped convolutions, im2col + GEMM for dense ones;
/// candle's `conv2d` on other devices (CUDA), which have neither.
pub fn direct_conv2d(
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    padding: usize,
    dilation: usize,
    groups: usize,
) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return x.conv2d(w, padding, stride, dilation, groups);
    }
    let params = ConvParams {
        stride,
        padding,
        dilation,
        groups,
    };
    x.contiguous()?
        .apply_op2(&w.contiguous()?, GroupedConv2d(params))
}

/// A grouped 1x1, stride-1 convolution as one batched matmul over
/// (batch, group): `[n, g, cout_g, cin_g] x [n, g, cin_g, h*w]`, whose
/// backward is two more matmuls (candle's GEMM) instead of a transposed
/// convolution. Measured on 2 cores this beat both the direct kernels and
/// one zero-stride broadcast matmul per group (see bench/README.md).
pub fn pointwise_grouped(x: &Tensor, w: &Tensor, groups: usize) -> candle_core::Result<Tensor> {
    let (n, _, h, wd) = x.dims4()?;
    // Validates channels and groups with a message naming the problem.
    let g = ConvGeom::new("grouped-conv2d-1x1", x.dims(), w.dims(), 1, 0, 1, groups)?;
    let (cin_g, cout_g) = (g.cin_g(), g.cout_g());
    let xs = x.reshape((n, groups, cin_g, h * wd))?;
    // The weight is tiny next to the activations: copying it per sample
    // keeps every matmul batch contiguous, which candle's GEMM requires.
    let ws = w
        .reshape((1, groups, cout_g, cin_g))?
        .broadcast_as((n, groups, cout_g, cin_g))?
        .contiguous()?;
    ws.matmul(&xs)?.reshape((n, g.c_out, h, wd))
}
