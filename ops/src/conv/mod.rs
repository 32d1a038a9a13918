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

/// Defines `$name`, which runs `$imp` compiled for AVX2 + FMA on the AVX2
/// and AVX-512 paths (the direct kernels' 8-wide register blocks fit 16
/// registers; they have no 16-lane version), with fused multiply-add on
/// NEON (aarch64's baseline has it), and the portable build otherwise.
/// Defined before the modules so that `kernels` and `tiny_plane` share it.
macro_rules! multiversion {
    ($name:ident, $fast:ident, $imp:ident, ($($arg:ident: $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn $fast($($arg: $ty),*) {
            $imp::<true>($($arg),*)
        }

        fn $name($($arg: $ty),*) {
            use crate::isa::{note, Isa};
            let isa = crate::isa::isa();
            #[cfg(target_arch = "x86_64")]
            if matches!(isa, Isa::Avx2 | Isa::Avx512) {
                note(isa);
                // SAFETY: both x86 paths that pick these kernels were
                // checked to have AVX2 and FMA when they were selected
                // (`Isa::supported`), the only requirement of `$fast`.
                return unsafe { $fast($($arg),*) };
            }
            #[cfg(target_arch = "aarch64")]
            if isa == Isa::Neon {
                note(isa);
                return $imp::<true>($($arg),*);
            }
            // Noted as what runs, so a path that fell through to here
            // shows up in `isas_used`.
            let _ = isa;
            note(Isa::Portable);
            $imp::<false>($($arg),*)
        }
    };
}

mod bn_eval;
mod chain;
mod dense;
mod epilogue;
mod geom;
mod kernels;
mod lanes;
mod moves;
mod op;
mod padded;
mod relu_conv_bn;
mod shifted;
mod small_plane;
mod tiny_plane;
mod unfold;
mod whole_plane;

use candle_core::{DType, Tensor};

pub use bn_eval::ConvBnEval;
pub use chain::{channel_shuffle, conv_bn_chain_train, ChainUnit, ConvBnChainTrain};
pub use geom::ConvGeom;
pub use op::{
    relu_conv_fuses, ConvParams, GroupedConv2d, GroupedConv2dGradInput, GroupedConv2dGradWeight,
    ReluConv2d,
};
pub use relu_conv_bn::{ConvBnTrain, ReluConvBnTrain};

/// Which implementation [`grouped_conv2d`] picks for a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPath {
    /// candle's own `conv2d` (non-CPU devices, non-f32).
    Candle,
    /// Dense convolution as im2col + GEMM, forward and both gradients
    /// ([`GroupedConv2d`]); also grouped convolutions with more than one
    /// input channel per group (FBNet's `g2`), one group at a time.
    Gemm,
    /// The direct kernels of this crate ([`GroupedConv2d`]).
    Direct,
}

/// The path [`grouped_conv2d`] takes for these arguments.
pub fn conv_path(x: &Tensor, w: &Tensor, groups: usize) -> ConvPath {
    let cpu_f32 = x.device().is_cpu() && x.dtype() == DType::F32 && w.dtype() == DType::F32;
    if !cpu_f32 || !crate::custom_ops() {
        return ConvPath::Candle;
    }
    match w.dims() {
        // Dense or grouped with several channels per group: im2col + GEMM
        // in one custom op, forward and both gradients.
        &[_, cin_g, _, _] if groups <= 1 || cin_g > 1 => ConvPath::Gemm,
        // Depthwise: nothing to multiply, direct kernels.
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
    match conv_path(x, w, groups) {
        ConvPath::Candle => x.conv2d(w, padding, stride, dilation, groups),
        ConvPath::Direct | ConvPath::Gemm => direct_conv2d(x, w, stride, padding, dilation, groups),
    }
}

/// Always this crate's custom op on the CPU (f32), whatever the shape: the
/// direct kernels for depthwise convolutions, im2col + GEMM for the others;
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

/// `conv2d(relu(x), w)`, with the ReLU fused into the convolution
/// ([`ReluConv2d`]) where the CPU path can (dense or grouped stride-1
/// convolutions), and as `relu` then [`grouped_conv2d`] elsewhere.
/// Gradients flow to both `x` and `w`.
pub fn relu_conv2d(
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    padding: usize,
    dilation: usize,
    groups: usize,
) -> candle_core::Result<Tensor> {
    let params = ConvParams {
        stride,
        padding,
        dilation,
        groups,
    };
    if conv_path(x, w, groups) == ConvPath::Gemm && relu_conv_fuses(&params, x.dims(), w.dims()) {
        return x
            .contiguous()?
            .apply_op2(&w.contiguous()?, ReluConv2d(params));
    }
    grouped_conv2d(&crate::relu(x)?, w, stride, padding, dilation, groups)
}

/// Inference-mode `act(batch_norm(conv2d(x, w)))` (of `relu(x)` when
/// `relu_input`) with per-channel `scale = gamma / sqrt(running_var + eps)`
/// and `shift = beta - running_mean * scale`, the ReLU `act` when `relu`:
/// one op ([`ConvBnEval`]) on the CPU path, the convolution then
/// [`crate::batch_norm_eval`] elsewhere; the same result either way.
/// Gradients flow to `x` and `w` (the coefficients are constants, as in
/// [`crate::batch_norm_eval`]).
pub fn conv_bn_eval(
    x: &Tensor,
    w: &Tensor,
    params: ConvParams,
    (scale, shift): (Vec<f32>, Vec<f32>),
    relu: bool,
    relu_input: bool,
) -> candle_core::Result<Tensor> {
    let fuses = conv_path(x, w, params.groups) != ConvPath::Candle
        && (!relu_input || relu_conv_fuses(&params, x.dims(), w.dims()));
    if !fuses {
        let conv = unfused_conv(x, w, params, relu_input)?;
        return crate::batch_norm_eval(&conv, scale, shift, relu);
    }
    let op = ConvBnEval {
        params,
        scale,
        shift,
        relu,
        relu_input,
    };
    x.contiguous()?.apply_op2(&w.contiguous()?, op)
}

/// Training-mode `act(batch_norm(conv2d(x, w)))` with batch statistics,
/// `act` a ReLU when `relu`: the conv-BN pairs of FBNet's blocks. One op
/// ([`ConvBnTrain`]) on the CPU path, [`grouped_conv2d`] then
/// [`crate::batch_norm_train`] elsewhere; bit-identical either way.
/// Returns the output and the batch statistics (for the running
/// averages). Gradients flow to `x`, `w`, `gamma` and `beta`.
pub fn conv_bn_train(
    x: &Tensor,
    w: &Tensor,
    params: ConvParams,
    gamma_beta: [&Tensor; 2],
    eps: f64,
    relu: bool,
) -> candle_core::Result<(Tensor, crate::BnStats)> {
    train_conv_bn(x, w, params, gamma_beta, eps, (false, relu))
}

/// Training-mode `batch_norm(conv2d(relu(x), w))` with batch statistics,
/// the unit of NAS-Bench-201's and DARTS's convolution edges: one fused op
/// ([`ReluConvBnTrain`]) where [`relu_conv2d`] fuses its ReLU, and
/// [`relu_conv2d`] then [`crate::batch_norm_train`] elsewhere. Returns the
/// output and the batch statistics (for the running averages). Gradients
/// flow to `x`, `w`, `gamma` and `beta`.
pub fn relu_conv_bn_train(
    x: &Tensor,
    w: &Tensor,
    params: ConvParams,
    gamma_beta: [&Tensor; 2],
    eps: f64,
) -> candle_core::Result<(Tensor, crate::BnStats)> {
    train_conv_bn(x, w, params, gamma_beta, eps, (true, false))
}

/// [`conv_bn_train`] and [`relu_conv_bn_train`]: `(relu_input, relu)`.
fn train_conv_bn(
    x: &Tensor,
    w: &Tensor,
    params: ConvParams,
    [gamma, beta]: [&Tensor; 2],
    eps: f64,
    (relu_input, relu): (bool, bool),
) -> candle_core::Result<(Tensor, crate::BnStats)> {
    let fuses = conv_path(x, w, params.groups) != ConvPath::Candle
        && (!relu_input || relu_conv_fuses(&params, x.dims(), w.dims()))
        && gamma.dtype() == DType::F32
        && beta.dtype() == DType::F32;
    if !fuses {
        let conv = unfused_conv(x, w, params, relu_input)?;
        return crate::batch_norm_train(&conv, gamma, beta, eps, relu);
    }
    let affine = Tensor::cat(&[gamma, beta], 0)?;
    let op = ConvBnTrain::with_relus(params, eps, relu_input, relu);
    let y = x
        .contiguous()?
        .apply_op3(&w.contiguous()?, &affine, op.clone())?;
    Ok((y, op.stats()?))
}

/// The convolution a fused conv-BN op replaces, on its own:
/// [`relu_conv2d`] when `relu_input`, [`grouped_conv2d`] otherwise.
fn unfused_conv(
    x: &Tensor,
    w: &Tensor,
    params: ConvParams,
    relu_input: bool,
) -> candle_core::Result<Tensor> {
    let ConvParams {
        stride,
        padding,
        dilation,
        groups,
    } = params;
    if relu_input {
        relu_conv2d(x, w, stride, padding, dilation, groups)
    } else {
        grouped_conv2d(x, w, stride, padding, dilation, groups)
    }
}
