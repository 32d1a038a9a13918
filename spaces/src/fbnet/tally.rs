//! Analytic cost accumulation shared by the layer-wise spaces (fbnet and
//! squeezenas): every convolution is described by its [`ConvSpec`] and the
//! spatial size of its input, so the counts here use exactly the geometry
//! the built network runs (see `crate::layers`).

use crate::geometry::{batch_norm_params, ConvSpec};
use crate::LayerCost;

/// Running totals for one part of a network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Multiply-accumulates, batch 1.
    pub macs: u64,
    /// Trainable parameters (weights, biases, BN affine).
    pub params: u64,
    /// Conv and linear weights only.
    pub weights: u64,
}

impl Tally {
    /// Adds a convolution applied to an `h x w` input; returns its output
    /// size so callers can chain layers.
    pub fn conv(&mut self, spec: &ConvSpec, h: usize, w: usize) -> (usize, usize) {
        self.macs += spec.macs(h, w);
        self.params += spec.params();
        self.weights += spec.weight_params();
        (spec.out_size(h), spec.out_size(w))
    }

    /// Adds a convolution followed by a batch norm (affine).
    pub fn conv_bn(&mut self, spec: &ConvSpec, h: usize, w: usize) -> (usize, usize) {
        self.params += batch_norm_params(spec.c_out);
        self.conv(spec, h, w)
    }

    /// Adds a fully connected layer with bias.
    pub fn linear(&mut self, c_in: usize, c_out: usize) {
        self.macs += (c_in * c_out) as u64;
        self.params += (c_in * c_out + c_out) as u64;
        self.weights += (c_in * c_out) as u64;
    }

    /// The tally as a named report row.
    pub fn row(&self, name: impl Into<String>, candidate: impl Into<String>) -> LayerCost {
        LayerCost {
            name: name.into(),
            candidate: candidate.into(),
            macs: self.macs,
            params: self.params,
        }
    }
}
