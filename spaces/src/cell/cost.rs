//! Exact MACs and parameters of the NAS-Bench-201 skeleton (Dong & Yang
//! 2020, Fig. 1 and the official `TinyNetwork`): stem 3x3 conv + BN; three
//! stages of N cells at C, 2C, 4C channels with a residual reduction block
//! between stages; BN, ReLU, global average pool, linear.
//!
//! The reduction block is NAS-Bench-201's `ResNetBasicblock` at stride 2:
//! ReLU-conv3x3(s2)-BN, ReLU-conv3x3-BN, plus a shortcut of 2x2 average
//! pooling (stride 2) and a 1x1 conv without BN. With `reduction=shortcut`
//! (a nasarena option, not in NAS-Bench-201) the block is that shortcut
//! alone, so the cells hold every nonlinearity of the network but the last
//! ReLU: on an easy dataset such as Fashion-MNIST the two residual 3x3 convs
//! of each ResNet block otherwise carry the network whatever the cell is
//! (see `data/tables/README.md`). In a cell every non-`none`
//! edge runs, as in NAS-Bench-201's network, even when its result cannot
//! reach the output; so the count is what the built network computes.
//!
//! Checked against NATS-Bench's published costs: the CIFAR-10 cell with
//! three 3x3 convs has 0.802426 M parameters here and there, and 113,951,360
//! MACs here against 113.95137 MFLOPs there (their count adds the
//! classifier's 10 bias additions).

use super::genotype::{EDGES, OPS};
use crate::geometry::{batch_norm_params, ConvSpec};
use crate::layers::Linear;
use crate::{CostReport, LayerCost};

/// The fixed part of the network: where cells sit and at which size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skeleton {
    /// Input `(C, H, W)`; H and W divisible by 4.
    pub input: [usize; 3],
    /// Channels of the first stage (C).
    pub channels: usize,
    /// Cells per stage (N).
    pub cells: usize,
    /// Output classes.
    pub classes: usize,
    /// The block between stages.
    pub reduction: ReductionKind,
}

/// The block between stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReductionKind {
    /// NAS-Bench-201's `ResNetBasicblock` at stride 2.
    #[default]
    Resnet,
    /// Only its shortcut: 2x2 average pooling and a 1x1 conv.
    Shortcut,
}

impl ReductionKind {
    /// The option value.
    pub fn name(self) -> &'static str {
        match self {
            ReductionKind::Resnet => "resnet",
            ReductionKind::Shortcut => "shortcut",
        }
    }

    /// Parses the option value.
    pub fn parse(value: &str) -> Option<Self> {
        [ReductionKind::Resnet, ReductionKind::Shortcut]
            .into_iter()
            .find(|k| k.name() == value)
    }
}

/// One stage's channels and spatial size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    /// Channels of every cell in the stage.
    pub channels: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

/// The convolutions of a reduction block from `c_in` to `c_out` at input
/// size `(h, w)`: `(conv_a, conv_b, shortcut)`.
pub fn reduction_specs(c_in: usize, c_out: usize) -> (ConvSpec, ConvSpec, ConvSpec) {
    (
        ConvSpec::new(c_in, c_out, 3, 2),
        ConvSpec::new(c_out, c_out, 3, 1),
        ConvSpec::new(c_in, c_out, 1, 1),
    )
}

/// The convolution of a `nor_conv` op, if `op` is one.
pub fn op_conv(op: usize, channels: usize) -> Option<ConvSpec> {
    match OPS.get(op).copied() {
        Some("nor_conv_1x1") => Some(ConvSpec::new(channels, channels, 1, 1)),
        Some("nor_conv_3x3") => Some(ConvSpec::new(channels, channels, 3, 1)),
        _ => None,
    }
}

fn part(name: &str, candidate: &str, macs: u64, params: u64) -> LayerCost {
    LayerCost {
        name: name.to_string(),
        candidate: candidate.to_string(),
        macs,
        params,
    }
}

impl Skeleton {
    /// The three stages.
    pub fn stages(&self) -> [Stage; 3] {
        let [_, h, w] = self.input;
        let c = self.channels;
        [
            Stage { channels: c, h, w },
            Stage {
                channels: 2 * c,
                h: h / 2,
                w: w / 2,
            },
            Stage {
                channels: 4 * c,
                h: h / 4,
                w: w / 4,
            },
        ]
    }

    /// The stem convolution.
    pub fn stem(&self) -> ConvSpec {
        ConvSpec::new(self.input[0], self.channels, 3, 1)
    }

    /// MACs and params of op `op` on one edge of one cell in `stage`.
    pub fn op_cost(&self, stage: &Stage, op: usize) -> (u64, u64, u64) {
        match op_conv(op, stage.channels) {
            Some(spec) => (
                spec.macs(stage.h, stage.w),
                spec.params() + batch_norm_params(spec.c_out),
                spec.weight_params(),
            ),
            None => (0, 0, 0),
        }
    }

    /// `table[edge][op]`: MACs of `op` on `edge`, summed over all cells.
    pub fn candidate_macs(&self) -> Vec<Vec<u64>> {
        (0..EDGES.len())
            .map(|_| {
                (0..OPS.len())
                    .map(|op| {
                        let per_stage: u64 =
                            self.stages().iter().map(|s| self.op_cost(s, op).0).sum();
                        per_stage * self.cells as u64
                    })
                    .collect()
            })
            .collect()
    }

    /// The exact cost report of a cell given its six op indices.
    pub fn cost(&self, choices: &[u32]) -> CostReport {
        let n = self.cells as u64;
        let stages = self.stages();
        let mut layers = Vec::new();
        let stem = self.stem();
        let [_, h, w] = self.input;
        layers.push(part(
            "stem",
            "conv3x3+bn",
            stem.macs(h, w),
            stem.params() + batch_norm_params(self.channels),
        ));
        let mut weights = stem.weight_params();
        for (edge, &op) in EDGES.iter().zip(choices) {
            let op = op as usize;
            let (mut macs, mut params) = (0, 0);
            for stage in &stages {
                let (m, p, wp) = self.op_cost(stage, op);
                macs += m * n;
                params += p * n;
                weights += wp * n;
            }
            let name = format!("edge{}<-{}", edge.0, edge.1);
            layers.push(part(
                &name,
                OPS.get(op).copied().unwrap_or("?"),
                macs,
                params,
            ));
        }
        for (k, pair) in stages.windows(2).enumerate() {
            let (from, to) = (pair[0], pair[1]);
            let (a, b, s) = reduction_specs(from.channels, to.channels);
            let (mut macs, mut params) = (s.macs(to.h, to.w), s.params());
            weights += s.weight_params();
            if self.reduction == ReductionKind::Resnet {
                macs += a.macs(from.h, from.w) + b.macs(to.h, to.w);
                params += a.params() + b.params() + 2 * batch_norm_params(to.channels);
                weights += a.weight_params() + b.weight_params();
            }
            let candidate = match self.reduction {
                ReductionKind::Resnet => "resnet_basic_s2",
                ReductionKind::Shortcut => "avgpool2+conv1x1",
            };
            layers.push(part(&format!("reduce{}", k + 1), candidate, macs, params));
        }
        let last = stages[2].channels;
        layers.push(part(
            "head",
            "bn+relu+gap+linear",
            (last * self.classes) as u64,
            batch_norm_params(last) + Linear::params(last, self.classes),
        ));
        weights += (last * self.classes) as u64;
        CostReport::from_layers(layers, weights)
    }
}
