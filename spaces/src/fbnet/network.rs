//! The candle network of an FBNet architecture: stem (3x3 conv + BN +
//! ReLU), the 22 searched layers, head (1x1 conv + BN + ReLU), global
//! average pool and a linear classifier (Wu et al. 2019, Table 1).
//!
//! Variable names: `stem.{conv,bn}`, `layers.{i}.{pw,dw,pwl,proj}.{conv,bn}`,
//! `head.{conv,bn}`, `fc`.

use super::block::{Candidate, Layer};
use super::plan::Plan;
use crate::describe::{Graph, Node};
use crate::layers::{ConvBn, Linear, MacCounter};
use crate::Network;
use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// A built FBNet network.
#[derive(Clone, Debug)]
pub struct FbnetNetwork {
    input: [usize; 3],
    stem: ConvBn,
    layers: Vec<Layer>,
    head: ConvBn,
    fc: Linear,
}

impl FbnetNetwork {
    /// Creates every variable under `vb`; convolutions and the classifier
    /// add their MACs to `counter` on every forward pass.
    pub fn new(
        plan: &Plan,
        candidates: &[Candidate],
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<Self> {
        if candidates.len() != plan.slots.len() {
            candle_core::bail!(
                "fbnet: {} candidates for {} layers",
                candidates.len(),
                plan.slots.len()
            );
        }
        let stem = ConvBn::new(plan.stem, vb.pp("stem"), counter)?;
        let layers = plan
            .slots
            .iter()
            .zip(candidates)
            .enumerate()
            .map(|(i, (slot, &cand))| Layer::new(cand, slot, vb.pp(format!("layers.{i}")), counter))
            .collect::<Result<Vec<_>>>()?;
        let head = ConvBn::new(plan.head, vb.pp("head"), counter)?;
        let fc = Linear::new(plan.head.c_out, plan.classes, vb.pp("fc"), counter)?;
        Ok(FbnetNetwork {
            input: plan.input,
            stem,
            layers,
            head,
            fc,
        })
    }
}

impl Network for FbnetNetwork {
    fn forward_t(&self, input: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = self.stem.forward_relu(input, train)?;
        for layer in &self.layers {
            x = layer.forward_t(&x, train)?;
        }
        let x = self.head.forward_relu(&x, train)?;
        let pooled = x.mean((2, 3))?;
        self.fc.forward(&pooled)
    }

    fn describe(&self) -> Option<Graph> {
        let mut g = Graph::new(self.input);
        let stem = self.stem.describe(&mut g, 0);
        let mut x = g.relu(stem);
        for layer in &self.layers {
            x = layer.describe(&mut g, x);
        }
        let head = self.head.describe(&mut g, x);
        let x = g.relu(head);
        let pooled = g.push(Node::MeanHw { x });
        self.fc.describe(&mut g, pooled);
        Some(g)
    }
}
