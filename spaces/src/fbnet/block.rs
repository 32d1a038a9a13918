//! The FBNet block and its nine candidates (Wu et al. 2019, "FBNet:
//! Hardware-Aware Efficient ConvNet Design via Differentiable Neural
//! Architecture Search", Fig. 3 and Table 2).
//!
//! A block is `1x1 conv (groups g) + BN + ReLU -> KxK depthwise conv
//! (stride s) + BN + ReLU -> 1x1 conv (groups g) + BN`, with a channel
//! shuffle after the first 1x1 when g = 2 and a residual add when the
//! stride is 1 and the input and output channels match. As in the paper
//! the 1x1 expansion conv is kept at expansion 1.
//!
//! `skip` is the identity where the shapes match. Where they do not (the
//! first layer of a stage) it is a 1x1 conv (stride s) + BN + ReLU
//! projection, as the official FBNet builder (facebookresearch/
//! mobile-vision, `Identity` block) does: an identity cannot change the
//! channel count, and a projection keeps every candidate available in
//! every layer. None of the paper's published networks (FBNet-A/B/C) uses
//! `skip` at such a layer, so their costs do not depend on this choice.

use super::tally::Tally;
use crate::describe::{Graph, Node};
use crate::geometry::{ConvSpec, MacCounter};
use crate::layers::ConvBn;
use crate::layerwise::SearchedLayer;
use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// Candidate names in decision-option order.
pub const CANDIDATES: [&str; 9] = [
    "k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip",
];

/// One of the nine candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// An inverted-residual block: depthwise kernel, expansion, 1x1 groups.
    Block {
        /// Depthwise kernel size (3 or 5).
        kernel: usize,
        /// Expansion of the hidden width (1, 3 or 6).
        expansion: usize,
        /// Groups of both 1x1 convs (1 or 2).
        groups: usize,
    },
    /// Identity, or a 1x1 projection where shapes differ.
    Skip,
}

impl Candidate {
    /// The candidate at option index `i` (see [`CANDIDATES`]).
    pub fn from_index(i: usize) -> Option<Candidate> {
        let b = |kernel, expansion, groups| Candidate::Block {
            kernel,
            expansion,
            groups,
        };
        Some(match i {
            0 => b(3, 1, 1),
            1 => b(3, 1, 2),
            2 => b(3, 3, 1),
            3 => b(3, 6, 1),
            4 => b(5, 1, 1),
            5 => b(5, 1, 2),
            6 => b(5, 3, 1),
            7 => b(5, 6, 1),
            8 => Candidate::Skip,
            _ => return None,
        })
    }
}

/// Where a searched layer sits: channels, stride and input size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Stride of the depthwise conv (or of the projection).
    pub stride: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
}

impl Slot {
    /// Whether the output can be added to the input.
    pub fn residual(&self) -> bool {
        self.stride == 1 && self.c_in == self.c_out
    }
}

/// The convolutions of a candidate in a slot, in order, each with its
/// input size; every one is followed by a BN. Empty for the identity.
pub fn convs(candidate: Candidate, slot: &Slot) -> Vec<(ConvSpec, usize, usize)> {
    match candidate {
        Candidate::Skip if slot.residual() => Vec::new(),
        Candidate::Skip => vec![(
            ConvSpec::new(slot.c_in, slot.c_out, 1, slot.stride),
            slot.h,
            slot.w,
        )],
        Candidate::Block {
            kernel,
            expansion,
            groups,
        } => {
            let hidden = slot.c_in * expansion;
            let pw = ConvSpec::new(slot.c_in, hidden, 1, 1).groups(groups);
            let dw = ConvSpec::new(hidden, hidden, kernel, slot.stride).groups(hidden);
            let pwl = ConvSpec::new(hidden, slot.c_out, 1, 1).groups(groups);
            let (ho, wo) = (dw.out_size(slot.h), dw.out_size(slot.w));
            vec![(pw, slot.h, slot.w), (dw, slot.h, slot.w), (pwl, ho, wo)]
        }
    }
}

/// Exact MACs and parameters of a candidate in a slot.
pub fn cost(candidate: Candidate, slot: &Slot) -> Tally {
    let mut t = Tally::default();
    for (spec, h, w) in convs(candidate, slot) {
        t.conv_bn(&spec, h, w);
    }
    t
}

/// Rearranges channels so that the two groups of a grouped 1x1 conv mix
/// (ShuffleNet): `(N, g*c, H, W) -> (N, c*g, H, W)` by transposing the
/// group and channel axes.
pub fn channel_shuffle(x: &Tensor, groups: usize) -> Result<Tensor> {
    nasarena_ops::channel_shuffle(x, groups)
}

/// A built FBNet block.
#[derive(Clone, Debug)]
pub struct IrBlock {
    /// 1x1 expansion (grouped) + BN.
    pw: ConvBn,
    /// Depthwise KxK + BN.
    dw: ConvBn,
    /// 1x1 projection (grouped) + BN.
    pwl: ConvBn,
    /// Groups of the 1x1 convs; a shuffle follows `pw` when > 1 and
    /// `shuffle` is set (FBNet shuffles, SqueezeNAS does not).
    groups: usize,
    shuffle: bool,
    /// Whether the input is added to the output.
    residual: bool,
}

impl IrBlock {
    /// Creates `pw`, `dw` and `pwl` (conv + BN each) under `vb`.
    pub fn new(
        [pw, dw, pwl]: [ConvSpec; 3],
        shuffle: bool,
        residual: bool,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<Self> {
        Ok(IrBlock {
            pw: ConvBn::new(pw, vb.pp("pw"), counter)?,
            dw: ConvBn::new(dw, vb.pp("dw"), counter)?,
            pwl: ConvBn::new(pwl, vb.pp("pwl"), counter)?,
            groups: pw.groups,
            shuffle,
            residual,
        })
    }

    /// Appends the block reading node `x` to a description.
    pub fn describe(&self, g: &mut Graph, x: usize) -> usize {
        let pw = self.pw.describe(g, x);
        let mut y = g.relu(pw);
        if self.shuffle && self.groups > 1 {
            y = g.push(Node::Shuffle {
                x: y,
                groups: self.groups,
            });
        }
        let dw = self.dw.describe(g, y);
        let y = g.relu(dw);
        let y = self.pwl.describe(g, y);
        if self.residual {
            g.add(vec![y, x])
        } else {
            y
        }
    }

    /// Runs the block (`train` selects BN batch statistics).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if train {
            let units = [(&self.pw, true), (&self.dw, true), (&self.pwl, false)];
            let shuffle = if self.shuffle { self.groups } else { 1 };
            // The residual stays a separate op: see nasarena_ops' chain.
            if let Some(y) = crate::layers::conv_bn_chain_train(x, &units, shuffle)? {
                return if self.residual {
                    nasarena_ops::add_n(&[y, x.clone()])
                } else {
                    Ok(y)
                };
            }
        }
        let mut y = self.pw.forward_relu(x, train)?;
        if self.shuffle && self.groups > 1 {
            y = channel_shuffle(&y, self.groups)?;
        }
        let y = self.dw.forward_relu(&y, train)?;
        let y = self.pwl.forward_t(&y, train)?;
        if self.residual {
            nasarena_ops::add_n(&[y, x.clone()])
        } else {
            Ok(y)
        }
    }
}

/// A built searched layer.
#[derive(Clone, Debug)]
pub enum Layer {
    /// The identity `skip`.
    Identity,
    /// The `skip` projection: 1x1 conv + BN + ReLU.
    Project(ConvBn),
    /// An FBNet block.
    Block(Box<IrBlock>),
}

impl Layer {
    /// Creates the layer's variables under `vb`.
    pub fn new(
        candidate: Candidate,
        slot: &Slot,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<Layer> {
        let specs = convs(candidate, slot);
        match (candidate, specs.as_slice()) {
            (Candidate::Skip, []) => Ok(Layer::Identity),
            (Candidate::Skip, [(proj, _, _)]) => {
                Ok(Layer::Project(ConvBn::new(*proj, vb.pp("proj"), counter)?))
            }
            (Candidate::Block { .. }, [(pw, _, _), (dw, _, _), (pwl, _, _)]) => {
                Ok(Layer::Block(Box::new(IrBlock::new(
                    [*pw, *dw, *pwl],
                    true,
                    slot.residual(),
                    vb,
                    counter,
                )?)))
            }
            _ => candle_core::bail!("fbnet: inconsistent block plan for {candidate:?}"),
        }
    }

    /// Appends the layer reading node `x` to a description.
    pub fn describe(&self, g: &mut Graph, x: usize) -> usize {
        match self {
            Layer::Identity => x,
            Layer::Project(proj) => {
                let y = proj.describe(g, x);
                g.relu(y)
            }
            Layer::Block(block) => block.describe(g, x),
        }
    }

    /// Runs the layer (`train` selects BN batch statistics).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            Layer::Identity => Ok(x.clone()),
            Layer::Project(proj) => proj.forward_relu(x, train),
            Layer::Block(block) => block.forward_t(x, train),
        }
    }
}

impl SearchedLayer for Layer {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Layer::forward_t(self, x, train)
    }

    fn describe(&self, g: &mut Graph, x: usize) -> Option<usize> {
        Some(Layer::describe(self, g, x))
    }
}

impl Module for Layer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_t(x, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, IndexOp};

    fn all() -> Vec<Candidate> {
        (0..CANDIDATES.len())
            .filter_map(Candidate::from_index)
            .collect()
    }

    /// Per-candidate oracles from REFERENCES.md: 32 -> 32 at 28x28, stride 1.
    #[test]
    fn oracle_32_to_32_stride_1() {
        let slot = Slot {
            c_in: 32,
            c_out: 32,
            stride: 1,
            h: 28,
            w: 28,
        };
        let want = [
            1_831_424, 1_028_608, 5_494_272, 10_988_544, 2_232_832, 1_430_016, 6_698_496,
            13_396_992, 0,
        ];
        let got: Vec<u64> = all().iter().map(|&c| cost(c, &slot).macs).collect();
        assert_eq!(got, want);
    }

    /// 32 -> 64, stride 2 (28 -> 14).
    #[test]
    fn oracle_32_to_64_stride_2() {
        let slot = Slot {
            c_in: 32,
            c_out: 64,
            stride: 2,
            h: 28,
            w: 28,
        };
        let by_name = |n: &str| {
            let i = CANDIDATES.iter().position(|c| *c == n).expect("name");
            cost(Candidate::from_index(i).expect("index"), &slot).macs
        };
        assert_eq!(by_name("k3_e1"), 1_260_672);
        assert_eq!(by_name("k3_e6"), 7_564_032);
        assert_eq!(by_name("k5_e6"), 8_166_144);
        // The projection skip: 1x1 stride 2, 14*14*64*32.
        assert_eq!(by_name("skip"), 401_408);
        assert!(Candidate::from_index(9).is_none());
    }

    #[test]
    fn shuffle_interleaves_groups() {
        let x = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .and_then(|t| t.reshape((1, 6, 1, 1)))
            .expect("x");
        let y = channel_shuffle(&x, 2).expect("shuffle");
        let v: Vec<f32> = y.i((0, .., 0, 0)).and_then(|t| t.to_vec1()).expect("v");
        assert_eq!(v, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    }
}
