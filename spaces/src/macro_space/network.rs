//! The candle network of a `macro` architecture (Zoph & Le 2017).

use super::cost::{geometry, unused, Geometry};
use super::space::{Layer, MacroSpace};
use crate::describe::{Graph, Node};
use crate::geometry::MacCounter;
use crate::layers::{batch_norm, BatchNorm, Linear};
use crate::{Network, Realize};
use candle_core::{DType, Module, Result, Tensor};
use candle_nn::VarBuilder;

/// A `kh x kw` convolution without bias, "same" padding; the shared
/// [`crate::layers::Conv`] is square-only.
#[derive(Clone, Debug)]
struct RectConv {
    weight: Tensor,
    layer: Layer,
    geometry: Geometry,
    counter: Option<MacCounter>,
}

impl RectConv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (ph, pw) = (self.layer.kh / 2, self.layer.kw / 2);
        // candle pads symmetrically with one value; pad each axis by hand.
        let x = x.pad_with_zeros(2, ph, ph)?.pad_with_zeros(3, pw, pw)?;
        // Drop the trailing rows/columns no window reaches: the result is
        // the same, and candle's conv2d backward mis-sizes the input
        // gradient when `(size - kernel) % stride != 0`.
        let (g, s) = (&self.geometry, self.layer.stride);
        let x = x.narrow(2, 0, (g.h_out - 1) * s + self.layer.kh)?.narrow(
            3,
            0,
            (g.w_out - 1) * s + self.layer.kw,
        )?;
        // nasarena-ops' dense kernels take rectangular kernels (candle's
        // own conv2d is several times slower, its backward much more).
        let y = nasarena_ops::grouped_conv2d(&x, &self.weight, s, 0, 1, 1)?;
        if let Some(counter) = &self.counter {
            counter.add(self.geometry.macs(&self.layer));
        }
        Ok(y)
    }
}

#[derive(Clone, Debug)]
struct MacroLayer {
    conv: RectConv,
    bn: BatchNorm,
}

/// The whole network.
#[derive(Clone, Debug)]
pub struct MacroNetwork {
    input: [usize; 3],
    layers: Vec<MacroLayer>,
    unused: Vec<usize>,
    classifier: Linear,
}

impl MacroNetwork {
    /// Builds the network; `counter` counts MACs while it runs.
    pub fn new(
        space: &MacroSpace,
        layers: &[Layer],
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<Self> {
        let geometry = geometry(space, layers);
        let mut built = Vec::with_capacity(layers.len());
        for (i, (layer, g)) in layers.iter().zip(geometry).enumerate() {
            let vb = vb.pp(format!("layers.{i}"));
            let shape = (layer.filters, g.c_in, layer.kh, layer.kw);
            let weight = vb.pp("conv").get_with_hints(
                shape,
                "weight",
                candle_nn::init::DEFAULT_KAIMING_NORMAL,
            )?;
            built.push(MacroLayer {
                conv: RectConv {
                    weight,
                    layer: layer.clone(),
                    geometry: g,
                    counter: counter.cloned(),
                },
                bn: batch_norm(layer.filters, vb.pp("bn"))?,
            });
        }
        let unused = unused(layers);
        let features = unused.iter().map(|&j| layers[j].filters).sum();
        Ok(MacroNetwork {
            input: space.input_shape(),
            layers: built,
            unused,
            classifier: Linear::new(features, space.classes, vb.pp("classifier"), counter)?,
        })
    }
}

/// Zero-pads `x` at the bottom and right to `h x w`.
fn pad_to(x: &Tensor, h: usize, w: usize) -> Result<Tensor> {
    let (_, _, xh, xw) = x.dims4()?;
    x.pad_with_zeros(2, 0, h - xh)?.pad_with_zeros(3, 0, w - xw)
}

impl Network for MacroNetwork {
    fn forward_t(&self, input: &Tensor, train: bool) -> Result<Tensor> {
        let image = input.to_dtype(DType::F32)?;
        let mut outputs: Vec<Tensor> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let spec = &layer.conv.layer;
            let x = if spec.inputs.is_empty() {
                image.clone()
            } else {
                let g = &layer.conv.geometry;
                let parts = spec
                    .inputs
                    .iter()
                    .map(|&j| pad_to(&outputs[j], g.h_in, g.w_in))
                    .collect::<Result<Vec<_>>>()?;
                Tensor::cat(&parts, 1)?
            };
            let y = layer
                .bn
                .forward_act(&layer.conv.forward(&x)?, train, true)?;
            outputs.push(y);
        }
        let pooled = self
            .unused
            .iter()
            .map(|&j| outputs[j].mean((2, 3)))
            .collect::<Result<Vec<_>>>()?;
        self.classifier.forward(&Tensor::cat(&pooled, 1)?)
    }

    fn describe(&self) -> Option<Graph> {
        let mut g = Graph::new(self.input);
        let mut outputs: Vec<usize> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let (spec, geo) = (&layer.conv.layer, &layer.conv.geometry);
            let x = if spec.inputs.is_empty() {
                0
            } else {
                let parts: Vec<usize> = spec
                    .inputs
                    .iter()
                    .map(|&j| {
                        g.push(Node::PadTo {
                            x: outputs[j],
                            h: geo.h_in,
                            w: geo.w_in,
                        })
                    })
                    .collect();
                g.push(Node::Cat { xs: parts })
            };
            let conv = g.push(Node::Conv {
                x,
                c_in: geo.c_in,
                c_out: spec.filters,
                kh: spec.kh,
                kw: spec.kw,
                stride: spec.stride,
                pad_h: spec.kh / 2,
                pad_w: spec.kw / 2,
                dilation: 1,
                groups: 1,
                bias: false,
            });
            g.tensor(conv, "weight", &layer.conv.weight);
            let bn = layer.bn.describe(&mut g, conv);
            outputs.push(g.relu(bn));
        }
        let pooled: Vec<usize> = self
            .unused
            .iter()
            .map(|&j| g.push(Node::MeanHw { x: outputs[j] }))
            .collect();
        let features = g.push(Node::Cat { xs: pooled });
        self.classifier.describe(&mut g, features);
        Some(g)
    }
}
