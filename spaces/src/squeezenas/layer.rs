//! The built SqueezeNAS candidates (Shaw et al. 2019; official code
//! ashaw596/squeezenas `arch/operations.py` and `arch/model.py`), as
//! [`block`](super::block) describes them: the inverted residual is
//! FBNet's [`IrBlock`] with dilation and without the channel shuffle;
//! `skip` is the identity, a [`FactorizedReduce`] at stride 2, or ReLU +
//! 1x1 conv + BN when only the channel count changes.
//!
//! Variable names under a layer: `{pw,dw,pwl}.{conv,bn}` (blocks),
//! `reduce_a.*` and `reduce_b.*` (FactorizedReduce), `proj.*`.

use super::block::{block_convs, Candidate};
use crate::describe::Graph;
use crate::fbnet::block::{IrBlock, Slot};
use crate::geometry::{ConvSpec, MacCounter};
use crate::layers::ConvBn;
use crate::layerwise::SearchedLayer;
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// ReLU, then two 1x1 stride-2 convs to half the channels each (the second
/// on the input without its first row and column), concatenated (Zoph et
/// al. 2018's reduction, as DARTS and SqueezeNAS use it).
#[derive(Clone, Debug)]
pub struct FactorizedReduce {
    a: ConvBn,
    b: ConvBn,
}

impl FactorizedReduce {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = nasarena_ops::relu(x)?;
        let (_, _, h, w) = x.dims4()?;
        let shifted = x.narrow(2, 1, h - 1)?.narrow(3, 1, w - 1)?;
        let a = self.a.forward_t(&x, train)?;
        let b = self.b.forward_t(&shifted, train)?;
        Tensor::cat(&[a, b], 1)
    }
}

/// A built searched layer.
#[derive(Clone, Debug)]
pub enum SqueezeLayer {
    /// `skip` where the shapes match.
    Identity,
    /// `skip` at stride 2.
    Reduce(FactorizedReduce),
    /// `skip` where only channels change: ReLU, 1x1 conv, BN.
    Project(ConvBn),
    /// An inverted residual block (residual add when stride 1, in == out).
    Block(Box<IrBlock>),
}

impl SqueezeLayer {
    /// Creates the candidate's variables under `vb`.
    pub fn new(
        candidate: Candidate,
        slot: &Slot,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<SqueezeLayer> {
        match candidate {
            Candidate::Skip if slot.stride != 1 => {
                if slot.c_out % 2 == 1 {
                    candle_core::bail!("squeezenas: FactorizedReduce needs even channels");
                }
                let half = ConvSpec::new(slot.c_in, slot.c_out / 2, 1, slot.stride);
                Ok(SqueezeLayer::Reduce(FactorizedReduce {
                    a: ConvBn::new(half, vb.pp("reduce_a"), counter)?,
                    b: ConvBn::new(half, vb.pp("reduce_b"), counter)?,
                }))
            }
            Candidate::Skip if slot.c_in == slot.c_out => Ok(SqueezeLayer::Identity),
            Candidate::Skip => {
                let proj = ConvSpec::new(slot.c_in, slot.c_out, 1, 1);
                Ok(SqueezeLayer::Project(ConvBn::new(
                    proj,
                    vb.pp("proj"),
                    counter,
                )?))
            }
            Candidate::Block { .. } => {
                let specs = block_convs(candidate, slot)
                    .ok_or_else(|| candle_core::Error::Msg("squeezenas: no block plan".into()))?;
                let block = IrBlock::new(specs, false, slot.residual(), vb, counter)?;
                Ok(SqueezeLayer::Block(Box::new(block)))
            }
        }
    }
}

impl SearchedLayer for SqueezeLayer {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            SqueezeLayer::Identity => Ok(x.clone()),
            SqueezeLayer::Reduce(reduce) => reduce.forward_t(x, train),
            SqueezeLayer::Project(proj) => proj.relu_forward_t(x, train),
            SqueezeLayer::Block(block) => block.forward_t(x, train),
        }
    }

    /// The description format has no crop, so a FactorizedReduce cannot
    /// be described (nor can a network holding one).
    fn describe(&self, g: &mut Graph, x: usize) -> Option<usize> {
        match self {
            SqueezeLayer::Identity => Some(x),
            SqueezeLayer::Reduce(_) => None,
            SqueezeLayer::Project(proj) => {
                let y = g.relu(x);
                Some(proj.describe(g, y))
            }
            SqueezeLayer::Block(block) => Some(block.describe(g, x)),
        }
    }
}
