//! The `macro` space: the layer-wise convolutional space of Zoph & Le,
//! "Neural Architecture Search with Reinforcement Learning" (ICLR 2017).
//!
//! Each of `layers` layers picks a filter height and width in {1,3,5,7}, a
//! filter count in {24,36,48,64}, optionally a stride in {1..strides}, and
//! for every earlier layer one binary skip decision (whether it reads that
//! layer's output). Decision order per layer: `height`, `width`, `filters`,
//! `stride` (only when `strides > 1`), then `skip0`, `skip1`, ...
//!
//! Choices where the paper leaves room (documented, fixed):
//! * A layer is conv (no bias, "same" padding) -> BN -> ReLU.
//! * Its input is the channel concatenation of the layers it reads, in
//!   increasing layer order; a layer that reads none takes the image. With
//!   strides, inputs of different sizes are zero-padded at the bottom and
//!   right to the largest (the paper pads with zeros); with the default
//!   `strides=1` all layers keep the input resolution.
//! * Every layer whose output no later layer reads (always including the
//!   last) feeds the classifier: each is globally average-pooled, the
//!   results are concatenated in layer order, then one linear layer.
//!
//! Options: `layers` (default 6), `input` (default 3x32x32), `classes`
//! (default 10), `strides` (1, 2 or 3; default 1 = no stride decision).

mod cost;
pub mod genotype;
mod network;
mod space;

pub use network::MacroNetwork;
pub use space::{Layer, MacroSpace, FILTERS, KERNELS};

use crate::geometry::MacCounter;
use crate::{CostReport, Error, Network, Realize, Result, SpaceEntry, SpaceOptions};
use candle_nn::VarBuilder;
use nasarena_core::{check_ranges, Arch, Decision, SearchSpace};

/// The registry entry.
pub const ENTRY: SpaceEntry = SpaceEntry {
    name: "macro",
    summary: "Zoph & Le layer-wise CNN: filter size, count and skip connections per layer",
    options: &["layers", "input", "classes", "strides"],
};

impl MacroSpace {
    /// The space from `key=value` options (see the module docs).
    pub fn from_options(mut options: SpaceOptions) -> Result<Self> {
        let layers = options.take_usize("layers", 6)?;
        let input = options.take_shape("input", [3, 32, 32])?;
        let classes = options.take_usize("classes", 10)?;
        let max_stride = options.take_usize("strides", 1)?;
        options.finish(ENTRY.options)?;
        let bad = |key: &str, reason: String| Error::Option {
            space: "macro".into(),
            key: key.into(),
            reason,
        };
        // Beyond 32 layers the skip bits alone (2^(L(L-1)/2)) overflow the
        // f64 cardinality; such depths are far beyond the paper's anyway.
        if layers > 32 {
            return Err(bad("layers", format!("at most 32 layers, got {layers}")));
        }
        if max_stride > 3 {
            return Err(bad(
                "strides",
                format!("expected 1, 2 or 3, got {max_stride}"),
            ));
        }
        Ok(Self::new(layers, input, classes, max_stride))
    }

    /// A fixed example genotype: 3x3 convolutions, each reading the layer
    /// before it, widths cycling through the filter counts.
    pub fn example(&self) -> String {
        genotype::example(self)
    }

    /// The network with a MAC counter attached.
    pub fn build_counted(
        &self,
        arch: &Arch,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<MacroNetwork> {
        self.check(arch)?;
        Ok(MacroNetwork::new(self, &self.decode(arch), vb, counter)?)
    }
}

impl SearchSpace for MacroSpace {
    fn name(&self) -> &str {
        ENTRY.name
    }

    fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    fn check(&self, arch: &Arch) -> nasarena_core::Result<()> {
        check_ranges(ENTRY.name, &self.decisions, arch)
    }

    fn format(&self, arch: &Arch) -> String {
        genotype::format(self, arch)
    }

    fn parse(&self, text: &str) -> nasarena_core::Result<Arch> {
        genotype::parse(self, text)
    }

    fn macs(&self, arch: &Arch) -> Option<u64> {
        self.cost(arch).ok().map(|c| c.macs)
    }
}

impl Realize for MacroSpace {
    fn input_shape(&self) -> [usize; 3] {
        self.input
    }

    fn classes(&self) -> usize {
        self.classes
    }

    fn cost(&self, arch: &Arch) -> Result<CostReport> {
        self.check(arch)?;
        Ok(cost::cost(self, &self.decode(arch)))
    }

    /// A layer's MACs depend jointly on its kernel, its filter count, its
    /// skip decisions and the filter counts of the layers it reads, so no
    /// exact per-decision table exists; say so rather than approximate.
    fn candidate_macs(&self) -> Result<Vec<Vec<u64>>> {
        Err(Error::Unsupported {
            space: ENTRY.name.into(),
            reason: "MACs do not decompose into per-decision costs (a layer's cost depends on \
                     its skip choices and earlier filter counts); use `cost` per architecture"
                .into(),
        })
    }

    fn build(&self, arch: &Arch, vb: VarBuilder) -> Result<Box<dyn Network>> {
        Ok(Box::new(self.build_counted(arch, vb, None)?))
    }
}
