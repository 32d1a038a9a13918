//! nasarena-ops: fast custom candle ops for nasarena.
//!
//! [`grouped_conv2d`] is a drop-in for candle's `conv2d` with `groups > 1`
//! (depthwise and grouped convolution, any kernel, stride, dilation and
//! padding) whose CPU forward and backward are custom ops with vectorised,
//! multi-threaded direct kernels. Threads come from rayon's current pool:
//! `RAYON_NUM_THREADS`, or a pool the caller `install`s, sets the count.

mod conv;
mod error;

pub use conv::{
    conv_path, direct_conv2d, grouped_conv2d, pointwise_grouped, ConvGeom, ConvParams, ConvPath,
    GroupedConv2d, GroupedConv2dGradInput, GroupedConv2dGradWeight,
};
pub use error::{Error, Result};
