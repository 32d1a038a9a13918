//! The SqueezeNAS segmentation search spaces (Shaw, Hunter, Landola and
//! Sidhu 2019, "SqueezeNAS: Fast neural architecture search for faster
//! semantic segmentation", ICCV workshops), laid out as in the official
//! code (ashaw596/squeezenas): a 3x3 stride-2 stem + BN + ReLU, 20 or 22
//! searched layers of 13 candidates each ([`block`]), output stride 16,
//! and the variant's decoder head ([`head`]). Default input 3x1024x2048,
//! 19 classes (Cityscapes).
//!
//! Genotype: candidate names in layer order, comma-separated, e.g.
//! [`variants::MAC_SMALL`]. Options:
//! - `input=CxHxW` and `classes=N`;
//! - `head=segment|classify` (default `segment`): `segment` is the
//!   variant's decoder, costed exactly ([`head`]) and built
//!   ([`seg_head`], [`seg_network`]: logits per class and pixel; the
//!   supernet [`seg_supernet`] mixes the encoder's candidates under the
//!   fixed decoder); H and W must be multiples of
//!   16, so every stride-2 layer halves the map
//!   exactly, as the official FactorizedReduce and decoder concatenations
//!   require. `classify` ends the encoder (with the small variant's 1x1
//!   conv to 256) in global average pooling and a linear classifier, as the
//!   official code's ImageNet form does; these networks and their
//!   supernets are built ([`layer`], [`crate::layerwise`]) and their costs
//!   count exactly what is built. Any input works whose stride-2 searched
//!   layers see even maps (see [`layout`]);
//! - `drop_strides=N` (`classify` only): the earliest N stride-2 positions
//!   run at stride 1; `input=1x28x28,head=classify,drop_strides=2` runs on
//!   Fashion-MNIST (28 -> 28 -> 28 -> 14 -> 7).
//!
//! Costs count every convolution of the stem, the searched layers, the
//! small variant's 1x1 conv to 256 (`last_conv`) and the head (the
//! decoder, or the classifier's linear layer).

pub mod block;
pub mod head;
pub mod layer;
pub mod layout;
pub mod seg_head;
pub mod seg_network;
pub mod seg_supernet;
pub mod variants;

use crate::fbnet::block::Slot;
use crate::fbnet::genotype;
use crate::fbnet::tally::Tally;
use crate::geometry::{ConvSpec, MacCounter};
use crate::layerwise::{LayerwiseNetwork, LayerwiseSupernet};
use crate::{
    CostReport, Error, LayerCost, Network, Realize, Result, SpaceEntry, SpaceOptions, Task,
};
use block::{Candidate, CANDIDATES};
use candle_nn::VarBuilder;
use head::HeadInput;
use layer::SqueezeLayer;
use layout::{Head, Layout};
use nasarena_core::{Arch, Decision, SearchSpace};
use seg_network::SegmentationNetwork;
use seg_supernet::SegmentationSupernet;
use variants::Variant;

/// Option keys accepted by the squeezenas spaces.
pub const OPTIONS: &[&str] = &["input", "classes", "head", "drop_strides"];

/// A built SqueezeNAS encoder with the classification head.
pub type SqueezeNasNetwork = LayerwiseNetwork<SqueezeLayer>;

/// A built SqueezeNAS supernet: all 13 candidates in every searched layer.
pub type SqueezeNasSupernet = LayerwiseSupernet<SqueezeLayer>;

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
    decisions: Vec<Decision>,
    layout: Layout,
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
        let classes = options.take_usize("classes", 19)?;
        if classes > 1 << 16 {
            return Err(bad("classes", "must be at most 65536".into()));
        }
        let head = match options.take("head") {
            None => Head::Segment,
            Some(v) => Head::parse(&v).ok_or_else(|| {
                bad(
                    "head",
                    format!("expected `segment` or `classify`, got `{v}`"),
                )
            })?,
        };
        let positions = Layout::stride_positions(&variant);
        let drop_strides = match options.take("drop_strides") {
            None => 0,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n <= positions => n,
                _ => {
                    return Err(bad(
                        "drop_strides",
                        format!("expected 0..={positions}, got `{v}`"),
                    ))
                }
            },
        };
        options.finish(OPTIONS)?;
        let [c, h, w] = input;
        if c > MAX_SIDE || h > MAX_SIDE || w > MAX_SIDE {
            return Err(bad(
                "input",
                format!("each of C, H, W must be at most {MAX_SIDE}, got {c}x{h}x{w}"),
            ));
        }
        if head == Head::Segment && (h % 16 != 0 || w % 16 != 0) {
            return Err(bad(
                "input",
                format!("with head=segment H and W must be multiples of 16, got {c}x{h}x{w}"),
            ));
        }
        if head == Head::Segment && drop_strides > 0 {
            return Err(bad(
                "drop_strides",
                "the segmentation heads need output stride 16; use head=classify".into(),
            ));
        }
        let layout = Layout::new(&variant, input, classes, head, drop_strides);
        if let Some((i, slot)) = layout.odd_reduction() {
            return Err(bad(
                "input",
                format!(
                    "{c}x{h}x{w} gives searched layer {i} (stride 2) a {}x{} map; stride-2 \
                     layers need even sizes (FactorizedReduce): change the input or drop_strides",
                    slot.h, slot.w
                ),
            ));
        }
        Ok(Self::from_layout(variant, layout))
    }

    /// The space of `variant` with the default options.
    pub fn with_defaults(variant: Variant) -> Self {
        let layout = Layout::new(&variant, [3, 1024, 2048], 19, Head::Segment, 0);
        Self::from_layout(variant, layout)
    }

    fn from_layout(variant: Variant, layout: Layout) -> Self {
        let decisions = (0..layout.slots.len())
            .map(|i| Decision::new(format!("layer{i}"), &CANDIDATES))
            .collect();
        SqueezeNasSpace {
            variant,
            decisions,
            layout,
        }
    }

    /// The searched layers' positions.
    pub fn slots(&self) -> &[Slot] {
        &self.layout.slots
    }

    /// The fixed part after the searched layers: rows and weight count.
    fn tail(&self) -> (Vec<LayerCost>, u64) {
        let mut rows = Vec::new();
        let mut weights = 0;
        let (mut c_deep, deep_hw) = self.layout.output_of(self.layout.slots.len() - 1);
        if let Some(channels) = self.variant.last_conv {
            let mut t = Tally::default();
            t.conv_bn(&ConvSpec::new(c_deep, channels, 1, 1), deep_hw.0, deep_hw.1);
            weights += t.weights;
            rows.push(t.row("last_conv", "conv1x1"));
            c_deep = channels;
        }
        if self.layout.head == Head::Classify {
            let mut t = Tally::default();
            t.linear(c_deep, self.layout.classes);
            weights += t.weights;
            rows.push(t.row("fc", "linear"));
            return (rows, weights);
        }
        let t = head::cost(self.variant.head, &self.head_input());
        weights += t.weights;
        let kind = match self.variant.head {
            variants::HeadKind::LrAspp { .. } => "lr-aspp-lite",
            variants::HeadKind::Aspp { .. } => "aspp+os4-decoder",
        };
        rows.push(t.row("head", kind));
        (rows, weights)
    }

    /// The candidates of a valid architecture, in layer order.
    fn candidates(&self, arch: &Arch) -> Result<Vec<Candidate>> {
        self.check(arch)?;
        arch.choices()
            .iter()
            .enumerate()
            .map(|(layer, &choice)| {
                Candidate::from_index(choice as usize).ok_or_else(|| Error::UnknownCandidate {
                    space: self.variant.name.to_string(),
                    layer,
                    choice,
                    candidates: CANDIDATES.len(),
                })
            })
            .collect()
    }

    /// The input of the segmentation head: deepest and skip features.
    fn head_input(&self) -> HeadInput {
        let (mut c_deep, deep_hw) = self.layout.output_of(self.layout.slots.len() - 1);
        if let Some(channels) = self.variant.last_conv {
            c_deep = channels;
        }
        let (c_skip, skip_hw) = self.layout.output_of(self.variant.skip_layer);
        HeadInput {
            c_deep,
            deep_hw,
            c_skip,
            skip_hw,
            classes: self.layout.classes,
        }
    }

    /// Builds the network with its segmentation head (head=segment):
    /// logits per class and pixel at the input's size; convolutions add
    /// their MACs to `counter` on every forward pass.
    pub fn build_segmentation_counted(
        &self,
        arch: &Arch,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<SegmentationNetwork> {
        let candidates = self.candidates(arch)?;
        let slots = &self.layout.slots;
        let input = self.head_input();
        Ok(SegmentationNetwork::new(
            self.seg_parts(&input),
            slots.len(),
            vb,
            counter,
            |i, vb| SqueezeLayer::new(candidates[i], &slots[i], vb, counter),
        )?)
    }

    /// Builds the network (head=classify); convolutions and the classifier
    /// add their MACs to `counter` on every forward pass.
    pub fn build_counted(
        &self,
        arch: &Arch,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<SqueezeNasNetwork> {
        if self.layout.head == Head::Segment {
            return Err(Error::Unsupported {
                space: self.variant.name.to_string(),
                reason: "head=segment builds a segmentation network (logits per pixel), which \
                         classification cannot train; set the option head=classify"
                    .into(),
            });
        }
        let candidates = self.candidates(arch)?;
        let slots = &self.layout.slots;
        Ok(LayerwiseNetwork::new(
            &self.layout.frame(&self.variant),
            slots.len(),
            vb,
            counter,
            |i, vb| SqueezeLayer::new(candidates[i], &slots[i], vb, counter),
        )?)
    }

    /// The fixed parts of the segmentation network and supernet.
    fn seg_parts<'a>(&self, input: &'a HeadInput) -> seg_network::SegParts<'a> {
        let (c_last, _) = self.layout.output_of(self.layout.slots.len() - 1);
        seg_network::SegParts {
            stem: self.layout.stem,
            last_conv: self
                .variant
                .last_conv
                .map(|c| ConvSpec::new(c_last, c, 1, 1)),
            skip_layer: self.variant.skip_layer,
            head: (self.variant.head, input),
        }
    }

    /// Builds the segmentation supernet (head=segment): every candidate in
    /// every layer, the decoder fixed; `counter` adds the MACs of whatever
    /// runs.
    pub fn build_segmentation_supernet_counted(
        &self,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<SegmentationSupernet> {
        let slots = &self.layout.slots;
        let input = self.head_input();
        Ok(SegmentationSupernet::new(
            self.variant.name,
            self.seg_parts(&input),
            slots.iter().map(|s| [s.c_in, s.h, s.w]).collect(),
            &CANDIDATES,
            vb,
            counter,
            |i, o, vb| SqueezeLayer::new(squeeze_candidate(o)?, &slots[i], vb, counter),
        )?)
    }

    /// Builds the supernet (head=classify); `counter` adds the MACs of
    /// whatever runs.
    pub fn build_supernet_counted(
        &self,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<SqueezeNasSupernet> {
        if self.layout.head == Head::Segment {
            return Err(Error::Unsupported {
                space: self.variant.name.to_string(),
                reason: "head=segment has a segmentation supernet \
                         (build_segmentation_supernet_counted)"
                    .into(),
            });
        }
        let slots = &self.layout.slots;
        Ok(LayerwiseSupernet::new(
            self.variant.name,
            &self.layout.frame(&self.variant),
            slots.iter().map(|s| [s.c_in, s.h, s.w]).collect(),
            &CANDIDATES,
            vb,
            counter,
            |i, o, vb| SqueezeLayer::new(squeeze_candidate(o)?, &slots[i], vb, counter),
        )?)
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
        self.layout.input
    }

    fn classes(&self) -> usize {
        self.layout.classes
    }

    fn cost(&self, arch: &Arch) -> Result<CostReport> {
        let candidates = self.candidates(arch)?;
        let mut stem = Tally::default();
        let [_, h, w] = self.layout.input;
        stem.conv_bn(&self.layout.stem, h, w);
        let mut weights = stem.weights;
        let mut rows = vec![stem.row("stem", "conv3x3")];
        let layers = self
            .layout
            .slots
            .iter()
            .zip(&candidates)
            .zip(arch.choices());
        for (i, ((slot, &candidate), &choice)) in layers.enumerate() {
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
            .layout
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

    fn task(&self) -> Task {
        match self.layout.head {
            Head::Classify => Task::Classification,
            Head::Segment => Task::Segmentation,
        }
    }

    fn build(&self, arch: &Arch, vb: VarBuilder) -> Result<Box<dyn Network>> {
        Ok(match self.layout.head {
            Head::Classify => Box::new(self.build_counted(arch, vb, None)?),
            Head::Segment => Box::new(self.build_segmentation_counted(arch, vb, None)?),
        })
    }

    fn build_supernet(&self, vb: VarBuilder) -> Result<Box<dyn crate::Supernet>> {
        Ok(match self.layout.head {
            Head::Classify => Box::new(self.build_supernet_counted(vb, None)?),
            Head::Segment => Box::new(self.build_segmentation_supernet_counted(vb, None)?),
        })
    }
}

/// Candidate `o` of a searched layer.
fn squeeze_candidate(o: usize) -> candle_core::Result<Candidate> {
    Candidate::from_index(o)
        .ok_or_else(|| candle_core::Error::Msg(format!("squeezenas candidate {o}")))
}
