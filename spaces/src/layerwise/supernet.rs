//! A layer-wise supernet (FBNet, Wu et al. 2019, Sec. 3.3 and Fig. 2;
//! SqueezeNAS, Shaw et al. 2019): the fixed [`super::Frame`] parts and, in
//! each searched layer, every candidate with its own weights, mixed by the
//! strategy's weights (see [`crate::supernet`]).

use super::{Ends, Frame, SearchedLayer};
use crate::geometry::MacCounter;
use crate::supernet::{candidate_at, check_mixing, mix, Supernet};
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// A built layer-wise supernet.
#[derive(Debug)]
pub struct LayerwiseSupernet<L> {
    /// The space's name, for error messages.
    space: &'static str,
    ends: Ends,
    /// `layers[i][o]`: candidate `o` of searched layer `i`.
    layers: Vec<Vec<L>>,
    /// Input `(C, H, W)` of each searched layer.
    layer_inputs: Vec<[usize; 3]>,
}

impl<L: SearchedLayer> LayerwiseSupernet<L> {
    /// Creates the fixed parts under `vb` and, for each searched layer `i`
    /// (its input shape `layer_inputs[i]`), every candidate `o` named
    /// `names[o]` with `build(i, o,
    /// vb.pp("layers.{i}.{name}"))`; `counter` adds the MACs of whatever
    /// runs (for checking that hard mixing skips the rest).
    pub fn new(
        space: &'static str,
        frame: &Frame,
        layer_inputs: Vec<[usize; 3]>,
        names: &[&str],
        vb: VarBuilder,
        counter: Option<&MacCounter>,
        mut build: impl FnMut(usize, usize, VarBuilder) -> Result<L>,
    ) -> Result<Self> {
        let ends = Ends::new(frame, &vb, counter)?;
        let mut layers = Vec::with_capacity(layer_inputs.len());
        for i in 0..layer_inputs.len() {
            let vb_layer = vb.pp(format!("layers.{i}"));
            let candidates = names
                .iter()
                .enumerate()
                .map(|(o, name)| build(i, o, vb_layer.pp(*name)))
                .collect::<Result<Vec<_>>>()?;
            layers.push(candidates);
        }
        Ok(LayerwiseSupernet {
            space,
            ends,
            layers,
            layer_inputs,
        })
    }
}

impl<L: SearchedLayer> Supernet for LayerwiseSupernet<L> {
    fn forward_mixed(&self, input: &Tensor, mixing: &[Tensor], hard: bool) -> Result<Tensor> {
        if mixing.len() != self.layers.len() {
            candle_core::bail!(
                "{} supernet: {} mixing tensors for {} layers",
                self.space,
                mixing.len(),
                self.layers.len()
            );
        }
        let mut x = self.ends.stem(input, true)?;
        for (i, (candidates, weights)) in self.layers.iter().zip(mixing).enumerate() {
            x = mixed_layer(i, candidates, weights, x, hard)?;
        }
        self.ends.classify(&x, true)
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

/// Searched layer `i` of a layer-wise supernet on `x`: every active
/// candidate's output mixed by `weights` ([`mix`]), plus `x` itself when
/// the layer is residual.
pub(crate) fn mixed_layer<L: SearchedLayer>(
    i: usize,
    candidates: &[L],
    weights: &Tensor,
    x: Tensor,
    hard: bool,
) -> Result<Tensor> {
    check_mixing(i, weights, candidates.len(), x.dim(0)?)?;
    let mixed = mix(weights, hard, |o| {
        candidates[o].branch_t(&x, true).map(Some)
    })?
    .ok_or_else(|| candle_core::Error::Msg(format!("layer {i}: nothing selected")))?;
    if candidates[0].residual() {
        x + mixed
    } else {
        Ok(mixed)
    }
}

/// [`Supernet::run_candidate`] of a layer-wise supernet whose layer `d`
/// holds `layers[d]` (one site each): candidate `option` alone, in
/// inference mode.
pub(crate) fn run_alone<L: SearchedLayer>(
    space: &str,
    layers: &[Vec<L>],
    (decision, site, option): (usize, usize, usize),
    x: &Tensor,
) -> Result<Option<Tensor>> {
    let Some(candidates) = layers.get(decision) else {
        candle_core::bail!("{space} supernet: no layer {decision}");
    };
    if site != 0 {
        candle_core::bail!("{space} supernet: layer {decision} has one site, not {site}");
    }
    candidate_at(candidates, decision, option)?
        .forward_t(x, false)
        .map(Some)
}
