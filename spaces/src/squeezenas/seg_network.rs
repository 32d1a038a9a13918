//! A SqueezeNAS network with its segmentation head (`head=segment`): the
//! stem, the searched layers, the small variant's 1x1 conv, and the
//! variant's decoder ([`super::seg_head`]) reading the deepest features and
//! the skip layer's output; logits are resized to the input
//! (bilinear, corners aligned, as the official code does), so the output
//! is N x classes x H x W, one score per class and pixel.

use super::layer::SqueezeLayer;
use super::seg_head::SegHead;
use crate::geometry::MacCounter;
use crate::layers::ConvBn;
use crate::layerwise::SearchedLayer;
use crate::resample::resize_bilinear;
use crate::Network;
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// A built segmentation network.
#[derive(Clone, Debug)]
pub struct SegmentationNetwork {
    stem: ConvBn,
    layers: Vec<SqueezeLayer>,
    last_conv: Option<ConvBn>,
    skip_layer: usize,
    head: SegHead,
}

/// What a [`SegmentationNetwork`] is made of, before its variables exist.
pub(super) struct SegParts<'a> {
    pub stem: crate::geometry::ConvSpec,
    pub last_conv: Option<crate::geometry::ConvSpec>,
    pub skip_layer: usize,
    pub head: (super::variants::HeadKind, &'a super::head::HeadInput),
}

impl SegmentationNetwork {
    /// Creates the network under `vb` (`stem.*`, `layers.{i}.*`,
    /// `last_conv.*`, `decoder.*`), its searched layers from `layer(i, vb)`.
    pub(super) fn new(
        parts: SegParts<'_>,
        count: usize,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
        mut layer: impl FnMut(usize, VarBuilder) -> Result<SqueezeLayer>,
    ) -> Result<Self> {
        let last_conv = match parts.last_conv {
            Some(spec) => Some(ConvBn::new(spec, vb.pp("last_conv"), counter)?),
            None => None,
        };
        Ok(SegmentationNetwork {
            stem: ConvBn::new(parts.stem, vb.pp("stem"), counter)?,
            layers: (0..count)
                .map(|i| layer(i, vb.pp(format!("layers.{i}"))))
                .collect::<Result<_>>()?,
            last_conv,
            skip_layer: parts.skip_layer,
            head: SegHead::new(parts.head.0, parts.head.1, vb.pp("decoder"), counter)?,
        })
    }
}

impl Network for SegmentationNetwork {
    fn forward_t(&self, input: &Tensor, train: bool) -> Result<Tensor> {
        let (_, _, h, w) = input.dims4()?;
        let mut x = self.stem.forward_relu(input, train)?;
        let mut skip = None;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward_t(&x, train)?;
            if i == self.skip_layer {
                skip = Some(x.clone());
            }
        }
        if let Some(conv) = &self.last_conv {
            x = conv.forward_relu(&x, train)?;
        }
        let skip = skip.unwrap_or_else(|| x.clone());
        resize_bilinear(&self.head.forward_t(&x, &skip, train)?, h, w, true)
    }
}
