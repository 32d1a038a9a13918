//! nasarena-ops: fast custom candle ops for nasarena.
//!
//! [`grouped_conv2d`] is a drop-in for candle's `conv2d` with `groups > 1`
//! (depthwise and grouped convolution, any kernel, stride, dilation and
//! padding) whose CPU forward and backward are custom ops with vectorised,
//! multi-threaded direct kernels. [`batch_norm_train`] and
//! [`batch_norm_eval`] are batch norm fused with an optional ReLU, forward
//! and backward in a few passes. [`relu_conv2d`] fuses a preceding ReLU
//! into a convolution, [`relu_conv_bn_train`] runs NAS-Bench-201's whole
//! ReLU-conv-BN unit in training as one op, [`conv_bn_train`] and
//! [`conv_bn_eval`] run any convolution with the batch norm (+ ReLU) after
//! it as one op in training and in inference, and [`add_n`] sums
//! activations on all threads. Off the CPU (CUDA) every entry point
//! computes the same thing with stock candle ops. Threads come from rayon's current pool:
//! `RAYON_NUM_THREADS`, or a pool the caller `install`s, sets the count.
//! The kernels run one instruction-set path per process ([`isa`]: AVX-512,
//! AVX2 + FMA, NEON or portable), the fastest this CPU has unless
//! `NASARENA_ISA` forces another.

mod bn;
mod conv;
mod error;
mod isa;
mod layout;
mod matmul;
mod operand;
mod pool;
mod relu;
mod scale;
mod scratch;
mod simd;
mod sum;

use std::sync::atomic::{AtomicBool, Ordering};

static CUSTOM_OPS: AtomicBool = AtomicBool::new(true);

/// Turns this crate's fast paths on (the default) or off for the whole
/// process; off, every entry point falls back to candle's stock ops. For
/// measuring what the custom ops buy (`nasarena bench train --stock`).
pub fn set_custom_ops(enabled: bool) {
    CUSTOM_OPS.store(enabled, Ordering::Relaxed);
}

/// Whether the fast paths are on (see [`set_custom_ops`]).
pub fn custom_ops() -> bool {
    CUSTOM_OPS.load(Ordering::Relaxed)
}

pub use bn::{
    batch_norm_eval, batch_norm_eval_composed, batch_norm_train, batch_norm_train_composed,
    BatchNormEval, BatchNormGrad, BatchNormTrain, BnStats,
};
pub use conv::{
    channel_shuffle, conv_bn_chain_train, conv_bn_eval, conv_bn_train, conv_path, direct_conv2d,
    grouped_conv2d, relu_conv2d, relu_conv_bn_train, relu_conv_fuses, ChainUnit, ConvBnChainTrain,
    ConvBnEval, ConvBnTrain, ConvGeom, ConvParams, ConvPath, GroupedConv2d, GroupedConv2dGradInput,
    GroupedConv2dGradWeight, ReluConv2d, ReluConvBnTrain,
};
pub use error::{Error, Result};

/// Single-thread rates of the GEMM kernels, for tuning their blocking
/// (the `kernel_rates` example); not part of the ops' interface.
#[doc(hidden)]
pub mod kernel_probe {
    pub use crate::matmul::probe::{dot_rate, panel_rate};
}
pub use isa::{init_isa, isa, isas_used, Isa, ISA_ENV};
pub use pool::{avg_pool_3x3, avg_pool_3x3_composed};
pub use relu::relu;
pub use scale::scale_by;
pub use sum::add_n;
