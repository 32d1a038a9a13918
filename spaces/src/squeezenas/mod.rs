//! The SqueezeNAS segmentation search spaces (Shaw, Hunter, Landola and
//! Sidhu 2019, "SqueezeNAS: Fast neural architecture search for faster
//! semantic segmentation", ICCV workshops), laid out as in the official
//! code (ashaw596/squeezenas): a 3x3 stride-2 stem + BN + ReLU, 20 or 22
//! searched layers of 13 candidates each ([`block`]), output stride 16,
//! and the variant's decoder head ([`head`]). Default input 3x1024x2048,
//! 19 classes (Cityscapes).
//!
//! Genotype: candidate names in layer order, comma-separated, e.g.
//! [`variants::MAC_SMALL`]. Options: `input=CxHxW` (H and W multiples of
//! 16, so every stride-2 layer halves the map exactly, as the official
//! FactorizedReduce and decoder concatenations require) and `classes=N`.
//!
//! Costs count every convolution of the stem, the searched layers, the
//! small variant's 1x1 conv to 256 (`last_conv`) and the head. Building
//! networks for these spaces is not implemented yet.

pub mod block;
pub mod head;
pub mod variants;

use crate::fbnet::block::Slot;
use crate::fbnet::genotype;
use crate::fbnet::tally::Tally;
use crate::layers::ConvSpec;
use crate::{CostReport, Error, LayerCost, Network, Realize, Result, SpaceEntry, SpaceOptions};
use block::{Candidate, CANDIDATES};
use candle_nn::VarBuilder;
use head::HeadInput;
use nasarena_core::{Arch, Decision, SearchSpace};
use variants::Variant;

/// Option keys accepted by the squeezenas spaces.
pub const OPTIONS: &[&str] = &["input", "classes"];

/// Registry entries of the squeezenas spaces.
pub fn entries() -> Vec<SpaceEntry> {
    let summary = |v: &Variant| match v.name {
        "squeezenas-small" => {
            "SqueezeNAS small (Shaw et al. 2019): 20 layers x 13, LR-ASPP-lite head"
        }
        "squeezenas-large" => "SqueezeNAS large: 22 layers x 13, LR-ASPP-lite head, Cityscapes",
        _ => "SqueezeNAS xlarge: 22 layers x 13, ASPP + OS4 decoder, Cityscapes",
    };
    [variants::SMALL, variants::LARGE, variants::XLARGE]
        .iter()
        .map(|v| SpaceEntry {
            name: v.name,
            summary: summary(v),
            options: OPTIONS,
        })
        .collect()
}

const MAX_SIDE: usize = 8192;

/// One SqueezeNAS space with its options applied.
#[derive(Clone, Debug)]
pub struct SqueezeNasSpace {
    variant: Variant,
    input: [usize; 3],
    classes: usize,
    decisions: Vec<Decision>,
    stem: ConvSpec,
    slots: Vec<Slot>,
}

impl SqueezeNasSpace {
    /// The space of `variant` with `options`.
    pub fn new(variant: Variant, mut options: SpaceOptions) -> Result<Self> {
        let bad = |key: &str, reason: String| Error::Option {
            space: variant.name.to_string(),
            key: key.to_string(),
            reason,
        };
        let input = options.take_shape("input", [3, 1024, 2048])?;
        let [c, h, w] = input;
        if c > MAX_SIDE || h > MAX_SIDE || w > MAX_SIDE || h % 16 != 0 || w % 16 != 0 {
            return Err(bad(
                "input",
                format!("H and W must be multiples of 16 and at most {MAX_SIDE}, got {c}x{h}x{w}"),
            ));
        }
        let classes = options.take_usize("classes", 19)?;
        if classes > 1 << 16 {
            return Err(bad("classes", "must be at most 65536".into()));
        }
        options.finish(OPTIONS)?;
        Ok(Self::layout(variant, input, classes))
    }

    /// The space of `variant` with the default options.
    pub fn with_defaults(variant: Variant) -> Self {
        Self::layout(variant, [3, 1024, 2048], 19)
    }

    fn layout(variant: Variant, input: [usize; 3], classes: usize) -> Self {
        let stem = ConvSpec::new(input[0], variant.stem, 3, 2);
        let (mut h, mut w) = (stem.out_size(input[1]), stem.out_size(input[2]));
        let mut c_in = variant.stem;
        let mut slots = Vec::new();
        for &(c_out, repeats, first_stride) in variant.stages {
            for r in 0..repeats {
                let stride = if r == 0 { first_stride } else { 1 };
                slots.push(Slot {
                    c_in,
                    c_out,
                    stride,
                    h,
                    w,
                });
                (h, w) = (h.div_ceil(stride), w.div_ceil(stride));
                c_in = c_out;
            }
        }
        let decisions = (0..slots.len())
            .map(|i| Decision::new(format!("layer{i}"), &CANDIDATES))
            .collect();
        SqueezeNasSpace {
            variant,
            input,
            classes,
            decisions,
            stem,
            slots,
        }
    }

    /// The searched layers' positions.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Output channels and size of searched layer `i`.
    fn output_of(&self, i: usize) -> (usize, (usize, usize)) {
        let s = self.slots[i.min(self.slots.len() - 1)];
        (s.c_out, (s.h.div_ceil(s.stride), s.w.div_ceil(s.stride)))
    }

    /// The fixed part after the searched layers: rows and weight count.
    fn tail(&self) -> (Vec<LayerCost>, u64) {
        let mut rows = Vec::new();
        let mut weights = 0;
        let (mut c_deep, deep_hw) = self.output_of(self.slots.len() - 1);
        if let Some(channels) = self.variant.last_conv {
            let mut t = Tally::default();
            t.conv_bn(&ConvSpec::new(c_deep, channels, 1, 1), deep_hw.0, deep_hw.1);
            weights += t.weights;
            rows.push(t.row("last_conv", "conv1x1"));
            c_deep = channels;
        }
        let (c_skip, skip_hw) = self.output_of(self.variant.skip_layer);
        let input = HeadInput {
            c_deep,
            deep_hw,
            c_skip,
            skip_hw,
            classes: self.classes,
        };
        let t = head::cost(self.variant.head, &input);
        weights += t.weights;
        let kind = match self.variant.head {
            variants::HeadKind::LrAspp { .. } => "lr-aspp-lite",
            variants::HeadKind::Aspp { .. } => "aspp+os4-decoder",
        };
        rows.push(t.row("head", kind));
        (rows, weights)
    }
}

impl SearchSpace for SqueezeNasSpace {
    fn name(&self) -> &str {
        self.variant.name
    }

    fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    fn format(&self, arch: &Arch) -> String {
        genotype::format_layers(&self.decisions, arch)
    }

    fn parse(&self, text: &str) -> nasarena_core::Result<Arch> {
        genotype::parse_layers(self.variant.name, &self.decisions, text)
    }

    fn macs(&self, arch: &Arch) -> Option<u64> {
        self.cost(arch).ok().map(|c| c.macs)
    }
}

impl Realize for SqueezeNasSpace {
    fn input_shape(&self) -> [usize; 3] {
        self.input
    }

    fn classes(&self) -> usize {
        self.classes
    }

    fn cost(&self, arch: &Arch) -> Result<CostReport> {
        self.check(arch)?;
        let mut stem = Tally::default();
        stem.conv_bn(&self.stem, self.input[1], self.input[2]);
        let mut weights = stem.weights;
        let mut rows = vec![stem.row("stem", "conv3x3")];
        for (i, (slot, &choice)) in self.slots.iter().zip(arch.choices()).enumerate() {
            let candidate = Candidate::from_index(choice as usize)
                .ok_or(Error::NotBuilt("a squeezenas candidate beyond the 13"))?;
            let t = block::cost(candidate, slot);
            weights += t.weights;
            rows.push(t.row(
                format!("layer{i}"),
                CANDIDATES.get(choice as usize).copied().unwrap_or("?"),
            ));
        }
        let (tail, tail_weights) = self.tail();
        rows.extend(tail);
        Ok(CostReport::from_layers(rows, weights + tail_weights))
    }

    fn candidate_macs(&self) -> Result<Vec<Vec<u64>>> {
        Ok(self
            .slots
            .iter()
            .map(|slot| {
                (0..CANDIDATES.len())
                    .filter_map(Candidate::from_index)
                    .map(|c| block::cost(c, slot).macs)
                    .collect()
            })
            .collect())
    }

    fn build(&self, _arch: &Arch, _vb: VarBuilder) -> Result<Box<dyn Network>> {
        Err(Error::NotBuilt("building squeezenas networks"))
    }
}
