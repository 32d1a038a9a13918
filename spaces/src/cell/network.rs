//! The candle network of a NAS-Bench-201 architecture (Dong & Yang 2020):
//! the skeleton of [`super::cost`] with one cell per position, every cell
//! sharing the searched genotype.

use super::cost::{op_conv, reduction_specs, ReductionKind, Skeleton};
use super::genotype::{EDGES, OPS};
use crate::describe::{Graph, Node};
use crate::geometry::MacCounter;
use crate::layers::{batch_norm, BatchNorm, ConvBn, Linear};
use crate::Network;
use candle_core::{DType, Module, Result, Tensor};
use candle_nn::VarBuilder;

/// One edge's operation.
#[derive(Clone, Debug)]
pub(crate) enum EdgeOp {
    None,
    Skip,
    /// ReLU -> conv -> BN.
    Conv(ConvBn),
    /// 3x3 average pooling, stride 1, padding 1, padded cells not counted.
    Pool,
}

impl EdgeOp {
    /// The operation `op` (index into [`OPS`]) on `channels` channels, its
    /// variables under `vb`.
    pub(crate) fn new(
        op: usize,
        channels: usize,
        vb: VarBuilder,
        mac: Option<&MacCounter>,
    ) -> Result<Self> {
        Ok(match (OPS.get(op).copied(), op_conv(op, channels)) {
            (_, Some(spec)) => EdgeOp::Conv(ConvBn::new(spec, vb, mac)?),
            (Some("skip_connect"), _) => EdgeOp::Skip,
            (Some("avg_pool_3x3"), _) => EdgeOp::Pool,
            _ => EdgeOp::None,
        })
    }

    pub(crate) fn describe(&self, g: &mut Graph, x: usize) -> Option<usize> {
        match self {
            EdgeOp::None => None,
            EdgeOp::Skip => Some(x),
            EdgeOp::Conv(conv) => {
                let r = g.relu(x);
                Some(conv.describe(g, r))
            }
            EdgeOp::Pool => Some(g.push(Node::AvgPool3 { x })),
        }
    }

    /// The edge's output, `None` for the zero operation.
    pub(crate) fn forward_t(&self, x: &Tensor, train: bool) -> Result<Option<Tensor>> {
        match self {
            EdgeOp::None => Ok(None),
            EdgeOp::Skip => Ok(Some(x.clone())),
            EdgeOp::Conv(conv) => conv.relu_forward_t(x, train).map(Some),
            EdgeOp::Pool => nasarena_ops::avg_pool_3x3(x).map(Some),
        }
    }
}

/// A cell: node `j` is the sum of its incoming edges' outputs.
#[derive(Clone, Debug)]
struct Cell {
    edges: Vec<EdgeOp>,
}

impl Cell {
    fn new(
        choices: &[u32],
        channels: usize,
        vb: VarBuilder,
        mac: Option<&MacCounter>,
    ) -> Result<Self> {
        let mut edges = Vec::with_capacity(EDGES.len());
        for (&(to, from), &op) in EDGES.iter().zip(choices) {
            let vb = vb.pp(format!("edge{to}_{from}"));
            edges.push(EdgeOp::new(op as usize, channels, vb, mac)?);
        }
        Ok(Cell { edges })
    }

    fn describe(&self, g: &mut Graph, x: usize) -> usize {
        let mut nodes = vec![x];
        for node in 1..=3 {
            let mut inputs = Vec::new();
            for (op, &(to, from)) in self.edges.iter().zip(EDGES.iter()) {
                if to == node {
                    inputs.extend(op.describe(g, nodes[from]));
                }
            }
            let id = match inputs.len() {
                0 => g.push(Node::Zeros { x }),
                1 => inputs[0],
                _ => g.add(inputs),
            };
            nodes.push(id);
        }
        nodes[3]
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut nodes: Vec<Tensor> = vec![x.clone()];
        for node in 1..=3 {
            let mut terms = Vec::new();
            for (op, &(to, from)) in self.edges.iter().zip(EDGES.iter()) {
                if to != node {
                    continue;
                }
                if let Some(y) = op.forward_t(&nodes[from], train)? {
                    terms.push(y);
                }
            }
            nodes.push(node_value(&terms, x)?);
        }
        nodes
            .pop()
            .ok_or_else(|| candle_core::Error::Msg("empty cell".into()))
    }
}

/// A node's value: the sum of its incoming edges' outputs `terms`, zero
/// (shaped like the cell input `x`) without any, as NAS-Bench-201's `none`
/// is `x * 0`.
pub(super) fn node_value(terms: &[Tensor], x: &Tensor) -> Result<Tensor> {
    if terms.is_empty() {
        x.zeros_like()
    } else {
        nasarena_ops::add_n(terms)
    }
}

/// NAS-Bench-201's `ResNetBasicblock` at stride 2, or its shortcut alone
/// ([`ReductionKind::Shortcut`]).
#[derive(Clone, Debug)]
pub(super) struct Reduction {
    /// The residual branch (ReLU-conv3x3(s2)-BN, ReLU-conv3x3-BN), absent
    /// for a shortcut-only reduction.
    residual: Option<(ConvBn, ConvBn)>,
    shortcut: crate::layers::Conv,
}

impl Reduction {
    pub(super) fn new(
        kind: ReductionKind,
        c_in: usize,
        c_out: usize,
        vb: VarBuilder,
        mac: Option<&MacCounter>,
    ) -> Result<Self> {
        let (a, b, s) = reduction_specs(c_in, c_out);
        let residual = match kind {
            ReductionKind::Resnet => Some((
                ConvBn::new(a, vb.pp("conv_a"), mac)?,
                ConvBn::new(b, vb.pp("conv_b"), mac)?,
            )),
            ReductionKind::Shortcut => None,
        };
        Ok(Reduction {
            residual,
            shortcut: crate::layers::Conv::new(s, vb.pp("shortcut"), mac)?,
        })
    }

    fn describe(&self, g: &mut Graph, x: usize) -> usize {
        let p = g.push(Node::AvgPool2 { x });
        let s = self.shortcut.describe(g, p);
        let Some((conv_a, conv_b)) = &self.residual else {
            return s;
        };
        let r = g.relu(x);
        let a = conv_a.describe(g, r);
        let r = g.relu(a);
        let b = conv_b.describe(g, r);
        g.add(vec![b, s])
    }

    pub(super) fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let s = self.shortcut.forward(&x.avg_pool2d(2)?)?;
        let Some((conv_a, conv_b)) = &self.residual else {
            return Ok(s);
        };
        let y = conv_a.relu_forward_t(x, train)?;
        let y = conv_b.relu_forward_t(&y, train)?;
        nasarena_ops::add_n(&[y, s])
    }
}

#[derive(Clone, Debug)]
enum Block {
    Cell(Cell),
    Reduction(Box<Reduction>),
}

/// The whole network.
#[derive(Clone, Debug)]
pub struct CellNetwork {
    input: [usize; 3],
    stem: ConvBn,
    blocks: Vec<Block>,
    last_bn: BatchNorm,
    classifier: Linear,
}

impl CellNetwork {
    /// Builds the network of `choices` on `skeleton`; `mac` counts MACs
    /// while it runs.
    pub fn new(
        skeleton: &Skeleton,
        choices: &[u32],
        vb: VarBuilder,
        mac: Option<&MacCounter>,
    ) -> Result<Self> {
        let stem = ConvBn::new(skeleton.stem(), vb.pp("stem"), mac)?;
        let mut blocks = Vec::new();
        let stages = skeleton.stages();
        for (s, stage) in stages.iter().enumerate() {
            if s > 0 {
                let vb = vb.pp(format!("cells.{}", blocks.len()));
                let prev = stages[s - 1].channels;
                let reduction = Reduction::new(skeleton.reduction, prev, stage.channels, vb, mac)?;
                blocks.push(Block::Reduction(Box::new(reduction)));
            }
            for _ in 0..skeleton.cells {
                let vb = vb.pp(format!("cells.{}", blocks.len()));
                blocks.push(Block::Cell(Cell::new(choices, stage.channels, vb, mac)?));
            }
        }
        let last = stages[2].channels;
        Ok(CellNetwork {
            input: skeleton.input,
            stem,
            blocks,
            last_bn: batch_norm(last, vb.pp("lastact_bn"))?,
            classifier: Linear::new(last, skeleton.classes, vb.pp("classifier"), mac)?,
        })
    }
}

impl Network for CellNetwork {
    fn forward_t(&self, input: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = self.stem.forward_t(&input.to_dtype(DType::F32)?, train)?;
        for block in &self.blocks {
            x = match block {
                Block::Cell(c) => c.forward_t(&x, train)?,
                Block::Reduction(r) => r.forward_t(&x, train)?,
            };
        }
        let x = self.last_bn.forward_act(&x, train, true)?;
        self.classifier.forward(&x.mean((2, 3))?)
    }

    fn describe(&self) -> Option<Graph> {
        let mut g = Graph::new(self.input);
        let mut x = self.stem.describe(&mut g, 0);
        for block in &self.blocks {
            x = match block {
                Block::Cell(c) => c.describe(&mut g, x),
                Block::Reduction(r) => r.describe(&mut g, x),
            };
        }
        let bn = self.last_bn.describe(&mut g, x);
        let r = g.relu(bn);
        let pooled = g.push(Node::MeanHw { x: r });
        self.classifier.describe(&mut g, pooled);
        Some(g)
    }
}
