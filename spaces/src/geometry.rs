//! The geometry of the layers every space builds, without candle: a
//! convolution's shape ([`ConvSpec`]), the exact MAC and parameter formulas
//! (DESIGN.md, "MACs": conv and linear multiply-accumulates at batch 1, the
//! FBNet/MobileNet/SqueezeNAS convention), and the [`MacCounter`] that the
//! built layers add to while they run. The analytic cost tables, the
//! framework-neutral description ([`crate::describe`]) and the candle layers
//! ([`crate::layers`]) all read this module; it reads none of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts multiply-accumulates per input image while a network runs.
#[derive(Clone, Debug, Default)]
pub struct MacCounter(Arc<AtomicU64>);

impl MacCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `macs` (per image); for layers built outside this module,
    /// e.g. the rectangular convolutions of the `macro` space.
    pub fn add(&self, macs: u64) {
        self.0.fetch_add(macs, Ordering::Relaxed);
    }

    /// MACs counted so far (per image).
    pub fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Geometry of a 2-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Square kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Dilation.
    pub dilation: usize,
    /// Groups (c_in for depthwise).
    pub groups: usize,
    /// Whether the convolution has a bias.
    pub bias: bool,
}

impl ConvSpec {
    /// A `k x k` convolution with "same" padding for stride 1 and no bias
    /// (it is followed by BN).
    pub fn new(c_in: usize, c_out: usize, kernel: usize, stride: usize) -> Self {
        ConvSpec {
            c_in,
            c_out,
            kernel,
            stride,
            padding: kernel / 2,
            dilation: 1,
            groups: 1,
            bias: false,
        }
    }

    /// The same convolution with `groups` groups.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// The same convolution with dilation `d` (padding keeps "same" size).
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = d;
        self.padding = d * (self.kernel - 1) / 2;
        self
    }

    /// The same convolution with a bias.
    pub fn with_bias(mut self) -> Self {
        self.bias = true;
        self
    }

    /// Output spatial size for an input size.
    pub fn out_size(&self, size: usize) -> usize {
        (size + 2 * self.padding - self.dilation * (self.kernel - 1) - 1) / self.stride + 1
    }

    /// MACs for one image of spatial size `h x w` (the paper convention).
    pub fn macs(&self, h: usize, w: usize) -> u64 {
        let (ho, wo) = (self.out_size(h), self.out_size(w));
        (ho * wo * self.c_out * (self.c_in / self.groups) * self.kernel * self.kernel) as u64
    }

    /// Trainable parameters (weight and bias).
    pub fn params(&self) -> u64 {
        let weight = self.c_out * (self.c_in / self.groups) * self.kernel * self.kernel;
        (weight + if self.bias { self.c_out } else { 0 }) as u64
    }

    /// Weight parameters only.
    pub fn weight_params(&self) -> u64 {
        (self.c_out * (self.c_in / self.groups) * self.kernel * self.kernel) as u64
    }
}

/// Trainable parameters of a batch norm over `channels` (gamma and beta).
pub fn batch_norm_params(channels: usize) -> u64 {
    2 * channels as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_spec_matches_reference_oracle() {
        // FBNet k3_e1 block at 28x28, 32 channels: 1x1 32->32, dw 3x3, 1x1.
        let pw = ConvSpec::new(32, 32, 1, 1);
        let dw = ConvSpec::new(32, 32, 3, 1).groups(32);
        assert_eq!(pw.macs(28, 28) * 2 + dw.macs(28, 28), 1_831_424);
        assert_eq!(ConvSpec::new(8, 8, 3, 1).dilation(2).out_size(16), 16);
        assert_eq!(ConvSpec::new(8, 8, 3, 2).out_size(28), 14);
    }
}
