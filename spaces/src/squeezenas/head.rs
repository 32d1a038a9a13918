//! Exact cost of the SqueezeNAS segmentation heads, as read from the
//! official code (ashaw596/squeezenas `arch/model_cityscapes.py`).
//!
//! LR-ASPP-lite (small, large), on OS16 features `x` (C16 channels) and the
//! OS8 skip `s` (C8 channels), M = `mid`, K = classes:
//! - `a = ReLU(BN(conv1x1(x -> M)))`, no bias;
//! - gate: `avg_pool(x, kernel 49, stride (16, 20))` -> `conv1x1(C16 -> M)`
//!   with bias -> sigmoid -> bilinear to OS16, multiplied into `a`;
//! - bilinear x2 -> `conv1x1(M -> K)` with bias, plus `conv1x1(s: C8 -> K)`
//!   with bias; bilinear x8 to the input size.
//!
//! The gate pool is counted at its real output size (1 x 4 for a 64 x 128
//! OS16 map). The official pool fails on maps smaller than 49 pixels; here
//! its kernel is clamped to the map size, so small inputs still work and
//! the default input is counted exactly as in the official code.
//!
//! ASPP + decoder (xlarge), M = `mid` = 160, on OS16 features (C16 = 320):
//! 1x1 conv to M; three 3x3 convs to M with dilation 6, 12, 18 and groups
//! M (two input channels per output channel); image pooling (no conv);
//! concat (4M + C16) -> 1x1 conv to M; every conv here + BN + ReLU, no
//! bias. Decoder: bilinear x4 to OS4; the OS4 skip (C4 channels) through a
//! 1x1 conv with bias; concat (M + C4) -> depthwise 3x3 + BN + ReLU ->
//! 1x1 conv to K with bias; bilinear x4.
//!
//! Pooling, sigmoid, upsampling and the products are not counted (the MAC
//! convention); every conv above is, as the official `countmacs.py` does.

use super::variants::HeadKind;
use crate::fbnet::tally::Tally;
use crate::geometry::ConvSpec;

/// Feature maps the head reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadInput {
    /// Channels of the deepest (OS16) features.
    pub c_deep: usize,
    /// Size of the OS16 map.
    pub deep_hw: (usize, usize),
    /// Channels of the skip features.
    pub c_skip: usize,
    /// Size of the skip map (OS8 for LR-ASPP, OS4 for ASPP).
    pub skip_hw: (usize, usize),
    /// Output classes.
    pub classes: usize,
}

/// Exact cost of a head.
pub fn cost(kind: HeadKind, x: &HeadInput) -> Tally {
    match kind {
        HeadKind::LrAspp { mid } => lr_aspp(mid, x),
        HeadKind::Aspp { mid } => aspp(mid, x),
    }
}

fn lr_aspp(mid: usize, x: &HeadInput) -> Tally {
    let mut t = Tally::default();
    let (h, w) = x.deep_hw;
    t.conv_bn(&ConvSpec::new(x.c_deep, mid, 1, 1), h, w);
    let pooled = |size: usize, stride: usize| (size - size.min(49)) / stride + 1;
    let gate = ConvSpec::new(x.c_deep, mid, 1, 1).with_bias();
    t.conv(&gate, pooled(h, 16), pooled(w, 20));
    let classify = ConvSpec::new(mid, x.classes, 1, 1).with_bias();
    t.conv(&classify, 2 * h, 2 * w);
    let skip = ConvSpec::new(x.c_skip, x.classes, 1, 1).with_bias();
    t.conv(&skip, x.skip_hw.0, x.skip_hw.1);
    t
}

fn aspp(mid: usize, x: &HeadInput) -> Tally {
    let mut t = Tally::default();
    let (h, w) = x.deep_hw;
    t.conv_bn(&ConvSpec::new(x.c_deep, mid, 1, 1), h, w);
    for rate in [6, 12, 18] {
        let branch = ConvSpec::new(x.c_deep, mid, 3, 1)
            .groups(mid)
            .dilation(rate);
        t.conv_bn(&branch, h, w);
    }
    t.conv_bn(&ConvSpec::new(4 * mid + x.c_deep, mid, 1, 1), h, w);
    let (hs, ws) = x.skip_hw;
    t.conv(&ConvSpec::new(x.c_skip, x.c_skip, 1, 1).with_bias(), hs, ws);
    let c = mid + x.c_skip;
    t.conv_bn(&ConvSpec::new(c, c, 3, 1).groups(c), hs, ws);
    t.conv(&ConvSpec::new(c, x.classes, 1, 1).with_bias(), hs, ws);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lr_aspp_gate_pools_to_1x4_at_cityscapes_size() {
        let x = HeadInput {
            c_deep: 256,
            deep_hw: (64, 128),
            c_skip: 24,
            skip_hw: (128, 256),
            classes: 19,
        };
        let t = cost(HeadKind::LrAspp { mid: 128 }, &x);
        let want = 64 * 128 * 128 * 256 + 4 * 128 * 256 + 128 * 256 * (19 * 128 + 19 * 24);
        assert_eq!(t.macs, want as u64);
        let params = 256 * 128 + 2 * 128 + (256 * 128 + 128) + (128 * 19 + 19) + (24 * 19 + 19);
        assert_eq!(t.params, params as u64);
    }
}
