//! Turning architectures into numbers (MACs, parameters) and networks.
//!
//! MAC convention (FBNet, MobileNet and SqueezeNAS papers): multiply-
//! accumulates of convolution and linear layers for one input (batch 1);
//! `H_out * W_out * C_out * (C_in / groups) * kh * kw` per conv and
//! `in * out` per linear layer. BN, activations, pooling, residual adds and
//! upsampling are not counted; dilation does not change the count.

use crate::supernet::Supernet;
use crate::Result;
use candle_core::Tensor;
use candle_nn::VarBuilder;
use nasarena_core::{Arch, CostTable, SearchSpace, Seed};
use serde::{Deserialize, Serialize};

/// The cost of one part of a network (a searched layer, the stem, a head).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerCost {
    /// Where in the network, e.g. `stem`, `layer3`, `edge2<-0`, `head`.
    pub name: String,
    /// The chosen candidate, or the fixed block's kind.
    pub candidate: String,
    /// Multiply-accumulates, batch 1.
    pub macs: u64,
    /// Trainable parameters (weights, biases, BN affine).
    pub params: u64,
}

/// Exact analytic cost of an architecture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostReport {
    /// Total multiply-accumulates, batch 1.
    pub macs: u64,
    /// Every trainable parameter, as PyTorch's `sum(p.numel())` counts them.
    pub params: u64,
    /// Conv and linear weights only (no biases, no BN affine).
    pub weight_params: u64,
    /// Per-part breakdown in network order; sums to `macs` and `params`.
    pub layers: Vec<LayerCost>,
}

impl CostReport {
    /// A report whose totals are the sums of its layers.
    pub fn from_layers(layers: Vec<LayerCost>, weight_params: u64) -> Self {
        CostReport {
            macs: layers.iter().map(|l| l.macs).sum(),
            params: layers.iter().map(|l| l.params).sum(),
            weight_params,
            layers,
        }
    }
}

/// A trainable network built from an architecture.
pub trait Network: Send + Sync + std::fmt::Debug {
    /// Logits for a batch `(N, C, H, W)`; `train` selects batch statistics
    /// for BN (and updates running statistics).
    fn forward_t(&self, input: &Tensor, train: bool) -> candle_core::Result<Tensor>;

    /// A framework-neutral description of the network (see
    /// [`crate::describe`]), for rebuilding it elsewhere; `None` where a
    /// space cannot describe its networks yet.
    fn describe(&self) -> Option<crate::describe::Graph> {
        None
    }
}

/// What a space's networks predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// One class per image: logits `(N, classes)`, scored by accuracy.
    Classification,
    /// One class per pixel: logits `(N, classes, H, W)`, scored by mean
    /// IoU.
    Segmentation,
}

/// A search space whose architectures can be counted and built.
pub trait Realize: SearchSpace {
    /// What the built networks (and supernets) predict.
    fn task(&self) -> Task {
        Task::Classification
    }

    /// Input shape `(C, H, W)` the networks expect.
    fn input_shape(&self) -> [usize; 3];

    /// Number of output classes.
    fn classes(&self) -> usize;

    /// Exact analytic MACs and parameters of an architecture.
    fn cost(&self, arch: &Arch) -> Result<CostReport>;

    /// MACs of every candidate of every decision in its position: the table
    /// MAC-aware search losses use. `table[d][o]` = MACs of option `o` of
    /// decision `d`.
    fn candidate_macs(&self) -> Result<Vec<Vec<u64>>>;

    /// The per-candidate MAC table in the form MAC-aware losses use (an
    /// architecture's MACs are `fixed + sum_d per_decision[d][choice_d]`),
    /// or `None` when the space's MACs are not additive over decisions.
    /// The fixed part is read off one seeded sample: what its MACs exceed
    /// the sum of its chosen candidates by.
    fn cost_table(&self) -> Option<CostTable> {
        let per_decision = self.candidate_macs().ok()?;
        let probe = self.sample(&mut Seed(0).rng());
        let total = self.cost(&probe).ok()?.macs;
        let chosen: u64 = probe
            .choices()
            .iter()
            .zip(&per_decision)
            .map(|(&c, row)| row.get(c as usize).copied().unwrap_or(0))
            .sum();
        Some(CostTable {
            fixed: total.checked_sub(chosen)?,
            per_decision,
        })
    }

    /// A trainable network for the architecture; weights are created
    /// through `vb` (use [`crate::init::SeededInit`] for reproducible init).
    fn build(&self, arch: &Arch, vb: VarBuilder) -> Result<Box<dyn Network>>;

    /// A weight-sharing supernet holding every candidate of every decision
    /// (see [`crate::supernet`]); spaces without one say so.
    fn build_supernet(&self, vb: VarBuilder) -> Result<Box<dyn Supernet>> {
        let _ = vb;
        Err(crate::Error::Unsupported {
            space: self.name().to_string(),
            reason:
                "this space has no weight-sharing supernet; one-shot strategies cannot search it"
                    .into(),
        })
    }
}
