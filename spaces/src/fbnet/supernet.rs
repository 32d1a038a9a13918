//! The FBNet supernet (Wu et al. 2019, Sec. 3.3 and Fig. 2): the fixed stem
//! and head of [`super::network`], and in each of the 22 searched layers all
//! nine candidates with their own weights, mixed by the strategy's weights.
//!
//! Variable names: `stem.*`, `layers.{i}.{candidate}.*`, `head.*`, `fc`.

use super::block::{Candidate, Layer, CANDIDATES};
use super::plan::Plan;
use crate::layers::{ConvBn, Linear, MacCounter};
use crate::supernet::{candidate_at, check_mixing, mix, Supernet};
use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// A built FBNet supernet.
#[derive(Debug)]
pub struct FbnetSupernet {
    stem: ConvBn,
    /// `layers[i][o]`: candidate `o` of searched layer `i`.
    layers: Vec<Vec<Layer>>,
    /// Input `(C, H, W)` of each searched layer.
    layer_inputs: Vec<[usize; 3]>,
    head: ConvBn,
    fc: Linear,
}

impl FbnetSupernet {
    /// Creates every candidate's variables under `vb`; `counter` adds the
    /// MACs of whatever runs (for checking that hard mixing skips).
    pub fn new(plan: &Plan, vb: VarBuilder, counter: Option<&MacCounter>) -> Result<Self> {
        let stem = ConvBn::new(plan.stem, vb.pp("stem"), counter)?;
        let mut layers = Vec::with_capacity(plan.slots.len());
        for (i, slot) in plan.slots.iter().enumerate() {
            let vb_layer = vb.pp(format!("layers.{i}"));
            let candidates = CANDIDATES
                .iter()
                .enumerate()
                .map(|(o, name)| {
                    let cand = Candidate::from_index(o)
                        .ok_or_else(|| candle_core::Error::Msg(format!("candidate {o}")))?;
                    Layer::new(cand, slot, vb_layer.pp(*name), counter)
                })
                .collect::<Result<Vec<_>>>()?;
            layers.push(candidates);
        }
        let head = ConvBn::new(plan.head, vb.pp("head"), counter)?;
        let fc = Linear::new(plan.head.c_out, plan.classes, vb.pp("fc"), counter)?;
        let layer_inputs = plan.slots.iter().map(|s| [s.c_in, s.h, s.w]).collect();
        Ok(FbnetSupernet {
            stem,
            layers,
            layer_inputs,
            head,
            fc,
        })
    }
}

impl Supernet for FbnetSupernet {
    fn forward_mixed(&self, input: &Tensor, mixing: &[Tensor], hard: bool) -> Result<Tensor> {
        if mixing.len() != self.layers.len() {
            candle_core::bail!(
                "fbnet supernet: {} mixing tensors for {} layers",
                mixing.len(),
                self.layers.len()
            );
        }
        let batch = input.dim(0)?;
        let mut x = self.stem.forward_t(input, true)?.relu()?;
        for (i, (candidates, weights)) in self.layers.iter().zip(mixing).enumerate() {
            check_mixing(i, weights, candidates.len(), batch)?;
            let input = x;
            x = mix(weights, hard, |o| {
                candidates[o].forward_t(&input, true).map(Some)
            })?
            .ok_or_else(|| candle_core::Error::Msg(format!("layer {i}: nothing selected")))?;
        }
        let x = self.head.forward_t(&x, true)?.relu()?;
        self.fc.forward(&x.mean((2, 3))?)
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
        let Some(candidates) = self.layers.get(decision) else {
            candle_core::bail!("fbnet supernet: no layer {decision}");
        };
        if site != 0 {
            candle_core::bail!("fbnet supernet: layer {decision} has one site, not {site}");
        }
        candidate_at(candidates, decision, option)?
            .forward_t(x, false)
            .map(Some)
    }
}
