//! The `cell` space: NAS-Bench-201 (Dong & Yang, "NAS-Bench-201: Extending
//! the Scope of Reproducible Neural Architecture Search", ICLR 2020).
//!
//! A cell is a DAG on 4 nodes; each of the 6 edges `j <- i` picks one of
//! 5 ops (none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3),
//! and every cell of the network shares the choice: 5^6 = 15,625
//! architectures, 6,466 unique under NAS-Bench-201's rule
//! ([`canonical`]). Options: `C` (channels of the first stage, default 16),
//! `N` (cells per stage, default 5), `input` (`CxHxW`, H and W divisible
//! by 4, default 3x32x32), `classes` (default 10), `ops` (a comma-separated
//! subset of the five ops for a reduced space, see [`op_subset`]; default
//! all five), `reduction` (`resnet`, NAS-Bench-201's ResNet block, the
//! default; or `shortcut`, its pooling-and-1x1 shortcut alone, see
//! [`cost`]).

pub mod canonical;
pub mod cost;
pub mod genotype;
mod network;
pub mod op_subset;
pub mod supernet;

pub use network::CellNetwork;
pub(crate) use network::EdgeOp;

use crate::geometry::MacCounter;
use crate::{CostReport, Error, Network, Realize, Result, SpaceEntry, SpaceOptions};
use candle_nn::VarBuilder;
use cost::{ReductionKind, Skeleton};
use nasarena_core::{check_ranges, Arch, Decision, SearchSpace};

/// The registry entry.
pub const ENTRY: SpaceEntry = SpaceEntry {
    name: "cell",
    summary: "NAS-Bench-201 cell (6 edges x 5 ops) on the 3-stage ResNet-like skeleton",
    options: &["C", "N", "input", "classes", "ops", "reduction"],
};

/// The NAS-Bench-201 search space.
#[derive(Clone, Debug)]
pub struct CellSpace {
    decisions: Vec<Decision>,
    skeleton: Skeleton,
    ops: op_subset::OpSubset,
}

impl CellSpace {
    /// The space with the given skeleton.
    pub fn new(skeleton: Skeleton) -> Self {
        Self::with_ops(skeleton, op_subset::OpSubset::full())
    }

    /// The space with the given skeleton and ops per edge.
    pub fn with_ops(skeleton: Skeleton, ops: op_subset::OpSubset) -> Self {
        let names = ops.names();
        let decisions = genotype::EDGES
            .iter()
            .map(|(to, from)| Decision::new(format!("edge{to}<-{from}"), &names))
            .collect();
        CellSpace {
            decisions,
            skeleton,
            ops,
        }
    }

    /// The ops each edge chooses from.
    pub fn ops(&self) -> &op_subset::OpSubset {
        &self.ops
    }

    /// The space from `key=value` options (see the module docs).
    pub fn from_options(mut options: SpaceOptions) -> Result<Self> {
        let channels = options.take_usize("C", 16)?;
        let cells = options.take_usize("N", 5)?;
        let input = options.take_shape("input", [3, 32, 32])?;
        let classes = options.take_usize("classes", 10)?;
        let ops = match options.take("ops") {
            Some(v) => op_subset::OpSubset::parse(&v)?,
            None => op_subset::OpSubset::full(),
        };
        let reduction = match options.take("reduction") {
            None => ReductionKind::default(),
            Some(v) => ReductionKind::parse(&v).ok_or_else(|| Error::Option {
                space: "cell".into(),
                key: "reduction".into(),
                reason: format!("expected `resnet` or `shortcut`, got `{v}`"),
            })?,
        };
        options.finish(ENTRY.options)?;
        if input[1] % 4 != 0 || input[2] % 4 != 0 {
            return Err(Error::Option {
                space: "cell".into(),
                key: "input".into(),
                reason: format!(
                    "height and width must be divisible by 4 (two stride-2 reductions), got {}x{}",
                    input[1], input[2]
                ),
            });
        }
        Ok(CellSpace::with_ops(
            Skeleton {
                input,
                channels,
                cells,
                classes,
                reduction,
            },
            ops,
        ))
    }

    /// The skeleton the cells sit in.
    pub fn skeleton(&self) -> &Skeleton {
        &self.skeleton
    }

    /// The network with a MAC counter attached (for checking the analytic
    /// counts against what runs).
    pub fn build_counted(
        &self,
        arch: &Arch,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<CellNetwork> {
        self.check(arch)?;
        Ok(CellNetwork::new(
            &self.skeleton,
            self.ops.to_full(arch.choices()).choices(),
            vb,
            counter,
        )?)
    }

    /// The supernet with a MAC counter attached.
    pub fn build_supernet_counted(
        &self,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<supernet::CellSupernet> {
        let ops = self.ops.full_indices();
        Ok(supernet::CellSupernet::new(
            &self.skeleton,
            ops,
            vb,
            counter,
        )?)
    }
}

impl SearchSpace for CellSpace {
    fn name(&self) -> &str {
        ENTRY.name
    }

    fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    fn check(&self, arch: &Arch) -> nasarena_core::Result<()> {
        check_ranges(ENTRY.name, &self.decisions, arch)
    }

    fn canonical(&self, arch: &Arch) -> Arch {
        self.ops.canonical(arch)
    }

    fn format(&self, arch: &Arch) -> String {
        genotype::format(&self.ops.to_full(arch.choices()))
    }

    fn parse(&self, text: &str) -> nasarena_core::Result<Arch> {
        self.ops.from_full(&genotype::parse(text)?)
    }

    fn macs(&self, arch: &Arch) -> Option<u64> {
        self.cost(arch).ok().map(|c| c.macs)
    }
}

impl Realize for CellSpace {
    fn input_shape(&self) -> [usize; 3] {
        self.skeleton.input
    }

    fn classes(&self) -> usize {
        self.skeleton.classes
    }

    fn cost(&self, arch: &Arch) -> Result<CostReport> {
        self.check(arch)?;
        Ok(self
            .skeleton
            .cost(self.ops.to_full(arch.choices()).choices()))
    }

    fn candidate_macs(&self) -> Result<Vec<Vec<u64>>> {
        let full = self.skeleton.candidate_macs();
        let keep = self.ops.full_indices();
        Ok(full
            .iter()
            .map(|edge| keep.iter().map(|&o| edge[o as usize]).collect())
            .collect())
    }

    fn build(&self, arch: &Arch, vb: VarBuilder) -> Result<Box<dyn Network>> {
        Ok(Box::new(self.build_counted(arch, vb, None)?))
    }

    fn build_supernet(&self, vb: VarBuilder) -> Result<Box<dyn crate::Supernet>> {
        Ok(Box::new(self.build_supernet_counted(vb, None)?))
    }
}
