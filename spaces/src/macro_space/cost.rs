//! Shapes and exact MACs/parameters of a `macro` network (Zoph & Le 2017):
//! one rectangular conv + BN per layer, global pooling and a linear layer
//! over the outputs no later layer reads.

use super::space::{Layer, MacroSpace};
use crate::geometry::batch_norm_params;
use crate::layers::Linear;
use crate::{CostReport, LayerCost};

/// Where a layer sits: its input channels and size, and its output size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Input channels (sum over the layers read, or the image's).
    pub c_in: usize,
    /// Input height and width (the largest of the inputs).
    pub h_in: usize,
    /// See `h_in`.
    pub w_in: usize,
    /// Output height and width.
    pub h_out: usize,
    /// See `h_out`.
    pub w_out: usize,
}

impl Geometry {
    /// Conv MACs `H_out * W_out * C_out * C_in * kh * kw` of `layer`.
    pub fn macs(&self, layer: &Layer) -> u64 {
        (self.h_out * self.w_out * layer.filters * self.c_in * layer.kh * layer.kw) as u64
    }

    /// Conv weight count of `layer`.
    pub fn weights(&self, layer: &Layer) -> u64 {
        (layer.filters * self.c_in * layer.kh * layer.kw) as u64
    }
}

/// Per-layer geometry; "same" padding with an odd kernel gives
/// `out = (in - 1) / stride + 1`.
pub fn geometry(space: &MacroSpace, layers: &[Layer]) -> Vec<Geometry> {
    let [c, h, w] = space.input;
    let mut out: Vec<Geometry> = Vec::with_capacity(layers.len());
    for layer in layers {
        let (c_in, h_in, w_in) = if layer.inputs.is_empty() {
            (c, h, w)
        } else {
            layer.inputs.iter().fold((0, 0, 0), |(cc, hh, ww), &j| {
                (
                    cc + layers[j].filters,
                    hh.max(out[j].h_out),
                    ww.max(out[j].w_out),
                )
            })
        };
        out.push(Geometry {
            c_in,
            h_in,
            w_in,
            h_out: (h_in - 1) / layer.stride + 1,
            w_out: (w_in - 1) / layer.stride + 1,
        });
    }
    out
}

/// Layers whose output no later layer reads, increasing (the last layer is
/// always among them).
pub fn unused(layers: &[Layer]) -> Vec<usize> {
    (0..layers.len())
        .filter(|&j| !layers.iter().any(|l| l.inputs.contains(&j)))
        .collect()
}

/// The exact cost report.
pub fn cost(space: &MacroSpace, layers: &[Layer]) -> CostReport {
    let geometry = geometry(space, layers);
    let mut parts = Vec::with_capacity(layers.len() + 1);
    let mut weights = 0;
    for (i, (layer, g)) in layers.iter().zip(&geometry).enumerate() {
        weights += g.weights(layer);
        parts.push(LayerCost {
            name: format!("layer{i}"),
            candidate: super::genotype::format_layer(layer, space.max_stride > 1),
            macs: g.macs(layer),
            params: g.weights(layer) + batch_norm_params(layer.filters),
        });
    }
    let features: usize = unused(layers).iter().map(|&j| layers[j].filters).sum();
    weights += (features * space.classes) as u64;
    parts.push(LayerCost {
        name: "head".into(),
        candidate: "gap+linear".into(),
        macs: (features * space.classes) as u64,
        params: Linear::params(features, space.classes),
    });
    CostReport::from_layers(parts, weights)
}
