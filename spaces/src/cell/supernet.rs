//! The NAS-Bench-201 supernet (Dong & Yang 2020, Sec. 3; the DARTS/GDAS
//! search cell): the skeleton of [`super::cost`] where every edge of every
//! cell holds every operation of the space (all five, or the subset an
//! `ops=` option keeps, in choice order) with its own weights. The six
//! edges' mixing weights are shared by all cells, as the searched genotype
//! is.
//!
//! Variable names: `stem.*`, `cells.{b}.edge{to}_{from}.{op}.*` for cells,
//! `cells.{b}.{conv_a,conv_b,shortcut}.*` for reductions, `lastact_bn`,
//! `classifier`.

use super::cost::Skeleton;
use super::genotype::{EDGES, OPS};
use super::network::{node_value, EdgeOp, Reduction};
use crate::geometry::MacCounter;
use crate::layers::{batch_norm, BatchNorm, ConvBn, Linear};
use crate::supernet::{candidate_at, check_mixing, mix, Supernet};
use candle_core::{DType, Module, ModuleT, Result, Tensor};
use candle_nn::VarBuilder;

/// A cell with every operation on every edge: `edges[e][o]`.
#[derive(Debug)]
struct MixedCell {
    edges: Vec<Vec<EdgeOp>>,
}

impl MixedCell {
    /// `ops`: the full index of each candidate, in choice order.
    fn new(channels: usize, ops: &[u32], vb: VarBuilder, mac: Option<&MacCounter>) -> Result<Self> {
        let edges = EDGES
            .iter()
            .map(|&(to, from)| {
                let vb = vb.pp(format!("edge{to}_{from}"));
                ops.iter()
                    .map(|&o| {
                        let o = o as usize;
                        EdgeOp::new(o, channels, vb.pp(OPS[o]), mac)
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MixedCell { edges })
    }

    fn forward_mixed(&self, x: &Tensor, mixing: &[Tensor], hard: bool) -> Result<Tensor> {
        let mut nodes: Vec<Tensor> = vec![x.clone()];
        for node in 1..=3 {
            let mut terms = Vec::new();
            for ((ops, weights), &(to, from)) in self.edges.iter().zip(mixing).zip(EDGES.iter()) {
                if to != node {
                    continue;
                }
                let input = &nodes[from];
                if let Some(y) = mix(weights, hard, |o| ops[o].forward_t(input, true))? {
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

#[derive(Debug)]
enum Block {
    /// A searched cell and its input `(C, H, W)`.
    Cell(MixedCell, [usize; 3]),
    Reduction(Box<Reduction>),
}

/// A built cell-space supernet.
#[derive(Debug)]
pub struct CellSupernet {
    /// Candidates per edge.
    arity: usize,
    stem: ConvBn,
    blocks: Vec<Block>,
    last_bn: BatchNorm,
    classifier: Linear,
}

impl CellSupernet {
    /// Creates every variable under `vb` for the candidates `ops` (full op
    /// indices, in choice order); `mac` counts what runs.
    pub fn new(
        skeleton: &Skeleton,
        ops: &[u32],
        vb: VarBuilder,
        mac: Option<&MacCounter>,
    ) -> Result<Self> {
        let stem = ConvBn::new(skeleton.stem(), vb.pp("stem"), mac)?;
        let mut blocks = Vec::new();
        let stages = skeleton.stages();
        for (s, stage) in stages.iter().enumerate() {
            if s > 0 {
                let vb = vb.pp(format!("cells.{}", blocks.len()));
                let reduction = Reduction::new(
                    skeleton.reduction,
                    stages[s - 1].channels,
                    stage.channels,
                    vb,
                    mac,
                )?;
                blocks.push(Block::Reduction(Box::new(reduction)));
            }
            for _ in 0..skeleton.cells {
                let vb = vb.pp(format!("cells.{}", blocks.len()));
                let shape = [stage.channels, stage.h, stage.w];
                blocks.push(Block::Cell(
                    MixedCell::new(stage.channels, ops, vb, mac)?,
                    shape,
                ));
            }
        }
        let last = stages[2].channels;
        Ok(CellSupernet {
            arity: ops.len(),
            stem,
            blocks,
            last_bn: batch_norm(last, vb.pp("lastact_bn"))?,
            classifier: Linear::new(last, skeleton.classes, vb.pp("classifier"), mac)?,
        })
    }
}

impl Supernet for CellSupernet {
    fn forward_mixed(&self, input: &Tensor, mixing: &[Tensor], hard: bool) -> Result<Tensor> {
        if mixing.len() != EDGES.len() {
            candle_core::bail!(
                "cell supernet: {} mixing tensors for {} edges",
                mixing.len(),
                EDGES.len()
            );
        }
        let batch = input.dim(0)?;
        for (e, w) in mixing.iter().enumerate() {
            check_mixing(e, w, self.arity, batch)?;
        }
        let mut x = self.stem.forward_t(&input.to_dtype(DType::F32)?, true)?;
        for block in &self.blocks {
            x = match block {
                Block::Cell(c, _) => c.forward_mixed(&x, mixing, hard)?,
                Block::Reduction(r) => r.forward_t(&x, true)?,
            };
        }
        let x = nasarena_ops::relu(&self.last_bn.forward_t(&x, true)?)?;
        self.classifier.forward(&x.mean((2, 3))?)
    }

    /// Every edge is used once per cell; its input is the cell's.
    fn candidate_sites(&self) -> Option<Vec<Vec<[usize; 3]>>> {
        let shapes: Vec<[usize; 3]> = self.cells().map(|(_, shape)| shape).collect();
        Some(vec![shapes; EDGES.len()])
    }

    fn run_candidate(
        &self,
        decision: usize,
        site: usize,
        option: usize,
        x: &Tensor,
    ) -> Result<Option<Tensor>> {
        let Some((cell, _)) = self.cells().nth(site) else {
            candle_core::bail!("cell supernet: no cell {site}");
        };
        let Some(ops) = cell.edges.get(decision) else {
            candle_core::bail!("cell supernet: no edge {decision}");
        };
        candidate_at(ops, decision, option)?.forward_t(x, false)
    }
}

impl CellSupernet {
    /// The searched cells in network order, with their input shapes.
    fn cells(&self) -> impl Iterator<Item = (&MixedCell, [usize; 3])> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Cell(cell, shape) => Some((cell, *shape)),
            Block::Reduction(_) => None,
        })
    }
}
