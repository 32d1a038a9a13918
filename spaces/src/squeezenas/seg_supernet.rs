//! The SqueezeNAS segmentation supernet (Shaw et al. 2019, Sec. 3: the
//! encoder's every layer holds all 13 candidates, mixed by Gumbel-Softmax
//! samples, one per image, while the decoder is fixed): the fixed parts
//! of [`super::seg_network`] around layer-wise mixing
//! ([`crate::supernet::mix`]). Its output is N x classes x H x W, like
//! the built network's, so a one-shot search trains it with the same
//! per-pixel loss.

use super::layer::SqueezeLayer;
use super::seg_network::{SegEnds, SegParts};
use crate::geometry::MacCounter;
use crate::layerwise::supernet::{mixed_layer, run_alone};
use crate::supernet::Supernet;
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// A built segmentation supernet.
#[derive(Debug)]
pub struct SegmentationSupernet {
    space: &'static str,
    ends: SegEnds,
    /// `layers[i][o]`: candidate `o` of searched layer `i`.
    layers: Vec<Vec<SqueezeLayer>>,
    /// Input `(C, H, W)` of each searched layer.
    layer_inputs: Vec<[usize; 3]>,
}

impl SegmentationSupernet {
    /// Creates the fixed parts under `vb` and every candidate `o` (named
    /// `names[o]`) of every searched layer `i` with `build(i, o,
    /// vb.pp("layers.{i}.{name}"))`.
    pub(super) fn new(
        space: &'static str,
        parts: SegParts<'_>,
        layer_inputs: Vec<[usize; 3]>,
        names: &[&str],
        vb: VarBuilder,
        counter: Option<&MacCounter>,
        mut build: impl FnMut(usize, usize, VarBuilder) -> Result<SqueezeLayer>,
    ) -> Result<Self> {
        let ends = SegEnds::new(parts, &vb, counter)?;
        let layers = (0..layer_inputs.len())
            .map(|i| {
                let vb_layer = vb.pp(format!("layers.{i}"));
                names
                    .iter()
                    .enumerate()
                    .map(|(o, name)| build(i, o, vb_layer.pp(*name)))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SegmentationSupernet {
            space,
            ends,
            layers,
            layer_inputs,
        })
    }
}

impl Supernet for SegmentationSupernet {
    fn forward_mixed(&self, input: &Tensor, mixing: &[Tensor], hard: bool) -> Result<Tensor> {
        if mixing.len() != self.layers.len() {
            candle_core::bail!(
                "{} segmentation supernet: {} mixing tensors for {} layers",
                self.space,
                mixing.len(),
                self.layers.len()
            );
        }
        let (_, _, h, w) = input.dims4()?;
        let mut x = self.ends.stem(input, true)?;
        let mut skip = None;
        for (i, (candidates, weights)) in self.layers.iter().zip(mixing).enumerate() {
            x = mixed_layer(i, candidates, weights, x, hard)?;
            if i == self.ends.skip_layer {
                skip = Some(x.clone());
            }
        }
        let skip = skip.unwrap_or_else(|| x.clone());
        self.ends.decode(&x, &skip, (h, w), true)
    }

    fn candidate_sites(&self) -> Option<Vec<Vec<[usize; 3]>>> {
        Some(self.layer_inputs.iter().map(|&shape| vec![shape]).collect())
    }

    fn run_candidate(
        &self,
        decision: usize,
        site: usize,
        option: usize,
        x: &Tensor,
    ) -> Result<Option<Tensor>> {
        run_alone(self.space, &self.layers, (decision, site, option), x)
    }
}
