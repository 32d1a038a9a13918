//! The SqueezeNAS segmentation heads, built (their exact cost is in
//! [`super::head`], whose docs give the structure read from the official
//! code, ashaw596/squeezenas `arch/model_cityscapes.py`).
//!
//! - LR-ASPP-lite (small, large; after LR-ASPP, Howard et al. 2019): a
//!   1x1 conv + BN + ReLU on the OS16 features, gated by a sigmoid of a 1x1
//!   conv (with bias) on average-pooled OS16 features (kernel 49, stride 16
//!   x 20, clamped to the map), resized back bilinearly; x2 bilinear, a 1x1
//!   conv to the classes, plus a 1x1 conv to the classes on the OS8 skip.
//! - ASPP + OS4 decoder (xlarge): a 1x1 branch, three 3x3 branches dilated
//!   6, 12, 18 with `mid` groups, and image pooling, concatenated into a
//!   1x1 conv (all + BN + ReLU); x4 bilinear to OS4, concatenated with a
//!   1x1 conv (with bias) of the OS4 skip, a depthwise 3x3 + BN + ReLU and
//!   a 1x1 conv (with bias) to the classes.
//!
//! Both return logits at the skip's resolution; the network resizes them
//! to the input (bilinear, corners aligned, as the official code). Inner
//! resizes use `align_corners=False`, as the official LR-ASPP does.
//! Resizing and pooling are [`crate::resample`]'s matrix products, so every
//! gradient is exact. MACs are counted by the convolutions as they run.

use super::head::HeadInput;
use super::variants::HeadKind;
use crate::geometry::{ConvSpec, MacCounter};
use crate::layers::{Conv, ConvBn};
use crate::resample::{avg_pool, resize_bilinear};
use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// The LR-ASPP gate's pooling window and stride (official code).
const GATE_KERNEL: usize = 49;
const GATE_STRIDE: (usize, usize) = (16, 20);

/// A built segmentation head.
#[derive(Clone, Debug)]
pub enum SegHead {
    /// LR-ASPP-lite.
    LrAspp(Box<LrAspp>),
    /// ASPP and the OS4 decoder.
    Aspp(Box<Aspp>),
}

impl SegHead {
    /// Creates the head of `kind` for features shaped as `x`, under `vb`.
    pub fn new(
        kind: HeadKind,
        x: &HeadInput,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<Self> {
        Ok(match kind {
            HeadKind::LrAspp { mid } => {
                SegHead::LrAspp(Box::new(LrAspp::new(mid, x, vb, counter)?))
            }
            HeadKind::Aspp { mid } => SegHead::Aspp(Box::new(Aspp::new(mid, x, vb, counter)?)),
        })
    }

    /// Logits at the skip's resolution from the deep and skip features.
    pub fn forward_t(&self, deep: &Tensor, skip: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            SegHead::LrAspp(h) => h.forward_t(deep, skip, train),
            SegHead::Aspp(h) => h.forward_t(deep, skip, train),
        }
    }
}

/// LR-ASPP-lite.
#[derive(Clone, Debug)]
pub struct LrAspp {
    features: ConvBn,
    gate: Conv,
    classify: Conv,
    skip: Conv,
}

impl LrAspp {
    fn new(
        mid: usize,
        x: &HeadInput,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<Self> {
        let one = |c_in, c_out| ConvSpec::new(c_in, c_out, 1, 1);
        Ok(LrAspp {
            features: ConvBn::new(one(x.c_deep, mid), vb.pp("features"), counter)?,
            gate: Conv::new(one(x.c_deep, mid).with_bias(), vb.pp("gate"), counter)?,
            classify: Conv::new(one(mid, x.classes).with_bias(), vb.pp("classify"), counter)?,
            skip: Conv::new(one(x.c_skip, x.classes).with_bias(), vb.pp("skip"), counter)?,
        })
    }

    fn forward_t(&self, deep: &Tensor, skip: &Tensor, train: bool) -> Result<Tensor> {
        let (_, _, h, w) = deep.dims4()?;
        let features = self.features.forward_relu(deep, train)?;
        let pooled = avg_pool(deep, (GATE_KERNEL, GATE_KERNEL), GATE_STRIDE)?;
        let gate = candle_nn::ops::sigmoid(&self.gate.forward(&pooled)?)?;
        let gated = (features * resize_bilinear(&gate, h, w, false)?)?;
        let up = resize_bilinear(&gated, 2 * h, 2 * w, false)?;
        self.classify.forward(&up)? + self.skip.forward(skip)?
    }
}

/// ASPP and the OS4 decoder.
#[derive(Clone, Debug)]
pub struct Aspp {
    point: ConvBn,
    dilated: [ConvBn; 3],
    project: ConvBn,
    skip: Conv,
    refine: ConvBn,
    classify: Conv,
}

impl Aspp {
    fn new(
        mid: usize,
        x: &HeadInput,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<Self> {
        let branch = |rate: usize| {
            let spec = ConvSpec::new(x.c_deep, mid, 3, 1)
                .groups(mid)
                .dilation(rate);
            ConvBn::new(spec, vb.pp(format!("rate{rate}")), counter)
        };
        let c = mid + x.c_skip;
        Ok(Aspp {
            point: ConvBn::new(ConvSpec::new(x.c_deep, mid, 1, 1), vb.pp("point"), counter)?,
            dilated: [branch(6)?, branch(12)?, branch(18)?],
            project: ConvBn::new(
                ConvSpec::new(4 * mid + x.c_deep, mid, 1, 1),
                vb.pp("project"),
                counter,
            )?,
            skip: Conv::new(
                ConvSpec::new(x.c_skip, x.c_skip, 1, 1).with_bias(),
                vb.pp("skip"),
                counter,
            )?,
            refine: ConvBn::new(
                ConvSpec::new(c, c, 3, 1).groups(c),
                vb.pp("refine"),
                counter,
            )?,
            classify: Conv::new(
                ConvSpec::new(c, x.classes, 1, 1).with_bias(),
                vb.pp("classify"),
                counter,
            )?,
        })
    }

    fn forward_t(&self, deep: &Tensor, skip: &Tensor, train: bool) -> Result<Tensor> {
        let (_, _, hs, ws) = skip.dims4()?;
        let mut branches = vec![self.point.forward_relu(deep, train)?];
        for d in &self.dilated {
            branches.push(d.forward_relu(deep, train)?);
        }
        // Image pooling: the map's mean, spread back over the map.
        branches.push(
            deep.mean_keepdim((2, 3))?
                .broadcast_as(deep.shape())?
                .contiguous()?,
        );
        let aspp = self
            .project
            .forward_relu(&Tensor::cat(&branches, 1)?, train)?;
        let up = resize_bilinear(&aspp, hs, ws, true)?;
        let joined = Tensor::cat(&[up, self.skip.forward(skip)?], 1)?;
        self.classify
            .forward(&self.refine.forward_relu(&joined, train)?)
    }
}
