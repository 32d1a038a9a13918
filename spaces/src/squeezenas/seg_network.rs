//! A SqueezeNAS network with its segmentation head (`head=segment`): the
//! stem, the searched layers, the small variant's 1x1 conv, and the
//! variant's decoder ([`super::seg_head`]) reading the deepest features and
//! the skip layer's output; logits are resized to the input
//! (bilinear, corners aligned, as the official code does), so the output
//! is N x classes x H x W, one score per class and pixel. The fixed parts
//! ([`SegEnds`]) are shared with the segmentation supernet
//! ([`super::seg_supernet`]).

use super::layer::SqueezeLayer;
use super::seg_head::SegHead;
use crate::geometry::MacCounter;
use crate::layers::ConvBn;
use crate::layerwise::SearchedLayer;
use crate::resample::resize_bilinear;
use crate::Network;
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// What the fixed parts are made of, before their variables exist.
pub(super) struct SegParts<'a> {
    pub stem: crate::geometry::ConvSpec,
    pub last_conv: Option<crate::geometry::ConvSpec>,
    pub skip_layer: usize,
    pub head: (super::variants::HeadKind, &'a super::head::HeadInput),
}

/// The fixed parts around the searched layers: stem, the small variant's
/// 1x1 conv, and the decoder.
#[derive(Clone, Debug)]
pub(super) struct SegEnds {
    stem: ConvBn,
    last_conv: Option<ConvBn>,
    /// The searched layer whose output is the decoder's skip input.
    pub skip_layer: usize,
    head: SegHead,
}

impl SegEnds {
    /// Creates the parts under `vb` (`stem.*`, `last_conv.*`, `decoder.*`).
    pub fn new(parts: SegParts<'_>, vb: &VarBuilder, counter: Option<&MacCounter>) -> Result<Self> {
        let last_conv = match parts.last_conv {
            Some(spec) => Some(ConvBn::new(spec, vb.pp("last_conv"), counter)?),
            None => None,
        };
        Ok(SegEnds {
            stem: ConvBn::new(parts.stem, vb.pp("stem"), counter)?,
            last_conv,
            skip_layer: parts.skip_layer,
            head: SegHead::new(parts.head.0, parts.head.1, vb.pp("decoder"), counter)?,
        })
    }

    /// The stem's output.
    pub fn stem(&self, input: &Tensor, train: bool) -> Result<Tensor> {
        self.stem.forward_relu(input, train)
    }

    /// Logits at `(h, w)` from the last searched layer's output and the
    /// skip layer's.
    pub fn decode(
        &self,
        deep: &Tensor,
        skip: &Tensor,
        (h, w): (usize, usize),
        train: bool,
    ) -> Result<Tensor> {
        let deep = match &self.last_conv {
            Some(conv) => conv.forward_relu(deep, train)?,
            None => deep.clone(),
        };
        resize_bilinear(&self.head.forward_t(&deep, skip, train)?, h, w, true)
    }
}

/// A built segmentation network.
#[derive(Clone, Debug)]
pub struct SegmentationNetwork {
    ends: SegEnds,
    layers: Vec<SqueezeLayer>,
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
        let ends = SegEnds::new(parts, &vb, counter)?;
        Ok(SegmentationNetwork {
            ends,
            layers: (0..count)
                .map(|i| layer(i, vb.pp(format!("layers.{i}"))))
                .collect::<Result<_>>()?,
        })
    }
}

impl Network for SegmentationNetwork {
    fn forward_t(&self, input: &Tensor, train: bool) -> Result<Tensor> {
        let (_, _, h, w) = input.dims4()?;
        let mut x = self.ends.stem(input, train)?;
        let mut skip = None;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward_t(&x, train)?;
            if i == self.ends.skip_layer {
                skip = Some(x.clone());
            }
        }
        let skip = skip.unwrap_or_else(|| x.clone());
        self.ends.decode(&x, &skip, (h, w), train)
    }
}
