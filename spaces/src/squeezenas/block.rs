//! The 13 SqueezeNAS candidates (Shaw et al. 2019, "SqueezeNAS: Fast
//! neural architecture search for faster semantic segmentation", and the
//! official code, ashaw596/squeezenas `arch/operations.py`).
//!
//! Every candidate except `skip` is an inverted residual `1x1 conv (groups
//! g) + BN + ReLU -> 3x3/5x5 depthwise (stride s, dilation d) + BN + ReLU
//! -> 1x1 conv (groups g) + BN`, the 1x1 expansion kept at e = 1 and no
//! channel shuffle. `skip` is the identity when shapes match, a
//! FactorizedReduce at stride 2 (ReLU, then two 1x1 stride-2 convs to C/2
//! channels each with a BN, the second on the input shifted by one pixel,
//! concatenated), and ReLU, 1x1 conv and BN when only the channel count
//! changes. Every candidate gets the block residual when stride is 1 and
//! in == out.

use crate::fbnet::block::Slot;
use crate::fbnet::tally::Tally;
use crate::geometry::ConvSpec;

/// Candidate names in decision-option order.
pub const CANDIDATES: [&str; 13] = [
    "k3_e1_g1",
    "k3_e1_g2",
    "k3_e3_g1",
    "k3_e6_g1",
    "k5_e1_g1",
    "k5_e1_g2",
    "k5_e3_g1",
    "k5_e6_g1",
    "k3_e1_g1_d2",
    "k3_e1_g2_d2",
    "k3_e3_g1_d2",
    "k3_e6_g1_d2",
    "skip",
];

/// One of the 13 candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// An inverted residual block.
    Block {
        /// Depthwise kernel size.
        kernel: usize,
        /// Hidden-width expansion.
        expansion: usize,
        /// Groups of both 1x1 convs.
        groups: usize,
        /// Dilation of the depthwise conv.
        dilation: usize,
    },
    /// Identity, FactorizedReduce or a 1x1 projection.
    Skip,
}

impl Candidate {
    /// The candidate at option index `i` (see [`CANDIDATES`]).
    pub fn from_index(i: usize) -> Option<Candidate> {
        let name = CANDIDATES.get(i)?;
        if *name == "skip" {
            return Some(Candidate::Skip);
        }
        // Names are `k{kernel}_e{expansion}_g{groups}[_d{dilation}]`.
        let mut fields = name
            .split('_')
            .map(|f| f.get(1..).and_then(|d| d.parse::<usize>().ok()));
        let kernel = fields.next()??;
        let expansion = fields.next()??;
        let groups = fields.next()??;
        let dilation = fields.next().unwrap_or(Some(1))?;
        Some(Candidate::Block {
            kernel,
            expansion,
            groups,
            dilation,
        })
    }
}

/// Exact MACs and parameters of a candidate in a slot (every conv is
/// followed by a BN with affine parameters; no conv has a bias).
pub fn cost(candidate: Candidate, slot: &Slot) -> Tally {
    let mut t = Tally::default();
    let (h, w) = (slot.h, slot.w);
    match candidate {
        Candidate::Skip if slot.stride != 1 => {
            let half = ConvSpec::new(slot.c_in, slot.c_out / 2, 1, slot.stride);
            t.conv_bn(&half, h, w);
            // The second path sees the input without its first row and column.
            t.conv_bn(
                &half,
                h.saturating_sub(1).max(1),
                w.saturating_sub(1).max(1),
            );
        }
        Candidate::Skip if slot.c_in == slot.c_out => {}
        Candidate::Skip => {
            t.conv_bn(&ConvSpec::new(slot.c_in, slot.c_out, 1, 1), h, w);
        }
        Candidate::Block { .. } => {
            if let Some([pw, dw, pwl]) = block_convs(candidate, slot) {
                t.conv_bn(&pw, h, w);
                let (ho, wo) = t.conv_bn(&dw, h, w);
                t.conv_bn(&pwl, ho, wo);
            }
        }
    }
    t
}

/// The 1x1, depthwise and 1x1 convolutions of a block candidate in a slot
/// (`None` for `skip`); both the cost and the built layer use them.
pub fn block_convs(candidate: Candidate, slot: &Slot) -> Option<[ConvSpec; 3]> {
    let Candidate::Block {
        kernel,
        expansion,
        groups,
        dilation,
    } = candidate
    else {
        return None;
    };
    let hidden = slot.c_in * expansion;
    Some([
        ConvSpec::new(slot.c_in, hidden, 1, 1).groups(groups),
        ConvSpec::new(hidden, hidden, kernel, slot.stride)
            .groups(hidden)
            .dilation(dilation),
        ConvSpec::new(hidden, slot.c_out, 1, 1).groups(groups),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn macs(name: &str, slot: &Slot) -> u64 {
        let i = CANDIDATES.iter().position(|c| *c == name).expect("name");
        cost(Candidate::from_index(i).expect("candidate"), slot).macs
    }

    /// REFERENCES.md: 64 -> 64 at 64x128, stride 1.
    #[test]
    fn oracle_64_to_64_stride_1() {
        let slot = Slot {
            c_in: 64,
            c_out: 64,
            stride: 1,
            h: 64,
            w: 128,
        };
        let want = [
            ("k3_e1_g1", 71_827_456),
            ("k3_e1_g2", 38_273_024),
            ("k3_e3_g1", 215_482_368),
            ("k3_e6_g1", 430_964_736),
            ("k5_e1_g1", 80_216_064),
            ("k5_e1_g2", 46_661_632),
            ("k5_e3_g1", 240_648_192),
            ("k5_e6_g1", 481_296_384),
            ("k3_e1_g1_d2", 71_827_456),
            ("k3_e1_g2_d2", 38_273_024),
            ("k3_e3_g1_d2", 215_482_368),
            ("k3_e6_g1_d2", 430_964_736),
            ("skip", 0),
        ];
        for (name, expected) in want {
            assert_eq!(macs(name, &slot), expected, "{name}");
        }
    }

    /// REFERENCES.md: 24 -> 32, stride 2, 256x512 -> 128x256.
    #[test]
    fn oracle_24_to_32_stride_2() {
        let slot = Slot {
            c_in: 24,
            c_out: 32,
            stride: 2,
            h: 256,
            w: 512,
        };
        assert_eq!(macs("k3_e6_g1", &slot), 646_447_104);
        assert_eq!(macs("k5_e6_g1", &slot), 721_944_576);
        assert_eq!(macs("skip", &slot), 25_165_824, "FactorizedReduce");
        assert_eq!(macs("k3_e6_g1_d2", &slot), 646_447_104);
    }

    #[test]
    fn names_decode() {
        assert_eq!(
            Candidate::from_index(9),
            Some(Candidate::Block {
                kernel: 3,
                expansion: 1,
                groups: 2,
                dilation: 2
            })
        );
        assert_eq!(Candidate::from_index(12), Some(Candidate::Skip));
        assert_eq!(Candidate::from_index(13), None);
        for (i, name) in CANDIDATES.iter().enumerate() {
            assert!(Candidate::from_index(i).is_some(), "{name}");
        }
        // A 1x1 projection where only channels change (stride 1).
        let slot = Slot {
            c_in: 40,
            c_out: 48,
            stride: 1,
            h: 4,
            w: 8,
        };
        assert_eq!(macs("skip", &slot), 4 * 8 * 40 * 48);
    }
}
