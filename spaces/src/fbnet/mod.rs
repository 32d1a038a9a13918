//! The FBNet layer-wise search space (Wu et al. 2019, "FBNet: Hardware-
//! Aware Efficient ConvNet Design via Differentiable Neural Architecture
//! Search", CVPR): 22 searched layers on the macro-architecture of Table 1,
//! each choosing one of nine candidates (see [`block`]), 9^22 ~ 9.8e20
//! networks.
//!
//! Genotype: the candidate names in layer order, comma-separated, e.g.
//! [`presets::FBNET_C`]. Options (`key=value`):
//! - `input=CxHxW` (default 3x224x224), `classes=N` (1000);
//! - `width=F`: channel multiplier for the stem and every stage, rounded
//!   to a multiple of 8 as MobileNetV2 does ([`presets::scale_channels`]);
//! - `head=N`: channels of the 1x1 head conv (default 1984 scaled by
//!   `width`; 1504 gives FBNet-A's head);
//! - `drop_strides=N` (0..=5): how many of the five stride-2 positions
//!   (stem, then stages 24, 32, 64, 184) run at stride 1, earliest first.
//!
//! `fbnet` is the paper's ImageNet network exactly; `fbnet-28` is the same
//! structure for 1x28x28 inputs (see [`presets::SMALL_28`]).

pub mod block;
pub(crate) mod genotype;
pub mod plan;
pub mod presets;
pub mod tally;

use crate::geometry::MacCounter;
use crate::layerwise::{LayerwiseNetwork, LayerwiseSupernet};
use crate::{CostReport, Error, Network, Realize, Result, SpaceEntry, SpaceOptions};
use block::{Candidate, Layer, CANDIDATES};
use candle_nn::VarBuilder;
use nasarena_core::{Arch, Decision, SearchSpace};
use plan::Plan;
use presets::{Preset, HEAD_CHANNELS, LAYERS};

/// A built FBNet network: stem, the 22 searched layers, head conv, global
/// average pool and classifier (Wu et al. 2019, Table 1).
pub type FbnetNetwork = LayerwiseNetwork<Layer>;

/// A built FBNet supernet: every one of the nine candidates in each of the
/// 22 searched layers (Wu et al. 2019, Sec. 3.3).
pub type FbnetSupernet = LayerwiseSupernet<Layer>;

/// Option keys accepted by the fbnet spaces.
pub const OPTIONS: &[&str] = &["input", "classes", "head", "width", "drop_strides"];

/// Registry entries of the fbnet spaces.
pub fn entries() -> Vec<SpaceEntry> {
    vec![
        SpaceEntry {
            name: presets::PAPER.name,
            summary: "FBNet (Wu et al. 2019): 22 layers x 9 candidates, ImageNet 3x224x224",
            options: OPTIONS,
        },
        SpaceEntry {
            name: presets::SMALL_28.name,
            summary: "FBNet for 1x28x28 inputs: same 22 layers, width 0.5, stem/stage-2 stride 1",
            options: OPTIONS,
        },
    ]
}

/// One decision per searched layer, named `layer{i}`.
fn layer_decisions() -> Vec<Decision> {
    (0..LAYERS)
        .map(|i| Decision::new(format!("layer{i}"), &CANDIDATES))
        .collect()
}

/// The largest accepted input side and channel count, so that MAC counts
/// stay far from u64 overflow.
const MAX_SIDE: usize = 8192;

/// The FBNet space for one set of options.
#[derive(Clone, Debug)]
pub struct FbnetSpace {
    name: &'static str,
    decisions: Vec<Decision>,
    plan: Plan,
}

impl FbnetSpace {
    /// The space of a preset with its options applied.
    pub fn new(preset: Preset, mut options: SpaceOptions) -> Result<Self> {
        let bad = |key: &str, reason: String| Error::Option {
            space: preset.name.to_string(),
            key: key.to_string(),
            reason,
        };
        let input = options.take_shape("input", preset.input)?;
        if input.iter().any(|&d| d > MAX_SIDE) {
            return Err(bad(
                "input",
                format!("each of C, H, W must be at most {MAX_SIDE}"),
            ));
        }
        let classes = options.take_usize("classes", preset.classes)?;
        if classes > 1 << 20 {
            return Err(bad("classes", "must be at most 1048576".into()));
        }
        let width = options.take_f64("width", preset.width)?;
        if width > 8.0 {
            return Err(bad("width", format!("must be in (0, 8], got {width}")));
        }
        let head = options.take_usize("head", presets::scale_channels(HEAD_CHANNELS, width))?;
        if head > 1 << 16 {
            return Err(bad("head", "must be at most 65536".into()));
        }
        let drop_strides = match options.take("drop_strides") {
            None => preset.drop_strides,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n <= 5 => n,
                _ => return Err(bad("drop_strides", format!("expected 0..=5, got `{v}`"))),
            },
        };
        options.finish(OPTIONS)?;
        Ok(FbnetSpace {
            name: preset.name,
            decisions: layer_decisions(),
            plan: Plan::new(input, classes, head, width, drop_strides),
        })
    }

    /// The paper's ImageNet space with default options.
    pub fn paper() -> Self {
        Self::with_defaults(presets::PAPER)
    }

    /// A preset with its default options.
    pub fn with_defaults(preset: Preset) -> Self {
        let head = presets::scale_channels(HEAD_CHANNELS, preset.width);
        let plan = Plan::new(
            preset.input,
            preset.classes,
            head,
            preset.width,
            preset.drop_strides,
        );
        FbnetSpace {
            name: preset.name,
            decisions: layer_decisions(),
            plan,
        }
    }

    /// The network layout.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The candidates of a valid architecture, in layer order.
    pub fn candidates(&self, arch: &Arch) -> Result<Vec<Candidate>> {
        self.check(arch)?;
        arch.choices()
            .iter()
            .enumerate()
            .map(|(layer, &choice)| {
                Candidate::from_index(choice as usize).ok_or_else(|| Error::UnknownCandidate {
                    space: self.name.to_string(),
                    layer,
                    choice,
                    candidates: CANDIDATES.len(),
                })
            })
            .collect()
    }

    /// Builds the network; convolutions and the classifier add their MACs
    /// to `counter` on every forward pass (for checking analytic counts).
    pub fn build_counted(
        &self,
        arch: &Arch,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<FbnetNetwork> {
        let candidates = self.candidates(arch)?;
        let slots = &self.plan.slots;
        Ok(LayerwiseNetwork::new(
            &self.plan.frame(),
            slots.len(),
            vb,
            counter,
            |i, vb| Layer::new(candidates[i], &slots[i], vb, counter),
        )?)
    }

    /// Builds the supernet; `counter` adds the MACs of whatever runs.
    pub fn build_supernet_counted(
        &self,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<FbnetSupernet> {
        let slots = &self.plan.slots;
        Ok(LayerwiseSupernet::new(
            self.name,
            &self.plan.frame(),
            slots.iter().map(|s| [s.c_in, s.h, s.w]).collect(),
            &CANDIDATES,
            vb,
            counter,
            |i, o, vb| {
                let candidate = Candidate::from_index(o)
                    .ok_or_else(|| candle_core::Error::Msg(format!("fbnet candidate {o}")))?;
                Layer::new(candidate, &slots[i], vb, counter)
            },
        )?)
    }
}

impl SearchSpace for FbnetSpace {
    fn name(&self) -> &str {
        self.name
    }

    fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    fn format(&self, arch: &Arch) -> String {
        genotype::format_layers(&self.decisions, arch)
    }

    fn parse(&self, text: &str) -> nasarena_core::Result<Arch> {
        genotype::parse_layers(self.name, &self.decisions, text)
    }

    fn macs(&self, arch: &Arch) -> Option<u64> {
        self.cost(arch).ok().map(|c| c.macs)
    }
}

impl Realize for FbnetSpace {
    fn input_shape(&self) -> [usize; 3] {
        self.plan.input
    }

    fn classes(&self) -> usize {
        self.plan.classes
    }

    fn cost(&self, arch: &Arch) -> Result<CostReport> {
        let candidates = self.candidates(arch)?;
        let names: Vec<&str> = arch
            .choices()
            .iter()
            .map(|&c| CANDIDATES.get(c as usize).copied().unwrap_or("?"))
            .collect();
        Ok(self.plan.cost(&candidates, &names))
    }

    fn candidate_macs(&self) -> Result<Vec<Vec<u64>>> {
        Ok(self
            .plan
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

    fn build(&self, arch: &Arch, vb: VarBuilder) -> Result<Box<dyn Network>> {
        Ok(Box::new(self.build_counted(arch, vb, None)?))
    }

    fn build_supernet(&self, vb: VarBuilder) -> Result<Box<dyn crate::Supernet>> {
        Ok(Box::new(self.build_supernet_counted(vb, None)?))
    }
}
