//! Layer-wise networks and supernets: a fixed stem (3x3 conv + BN + ReLU),
//! a chain of searched layers, an optional 1x1 head conv (+ BN + ReLU),
//! global average pooling and a linear classifier. FBNet (Wu et al. 2019,
//! Table 1) has exactly this shape; so has the classification form of the
//! SqueezeNAS encoders (Shaw et al. 2019, whose official code classifies
//! with the same pool-and-linear head). The spaces differ only in their
//! candidates, which they supply as a [`SearchedLayer`] type and a builder.
//!
//! Variable names: `stem.{conv,bn}`, `layers.{i}.*` (stand-alone) or
//! `layers.{i}.{candidate}.*` (supernet), `head.{conv,bn}`, `fc`.

pub mod network;
pub mod supernet;

pub use network::LayerwiseNetwork;
pub use supernet::LayerwiseSupernet;

use crate::describe::{Graph, Node};
use crate::geometry::{ConvSpec, MacCounter};
use crate::layers::{ConvBn, Linear};
use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// A built searched layer of some space.
pub trait SearchedLayer: Send + Sync + std::fmt::Debug {
    /// Runs the layer (`train` selects BN batch statistics).
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor>;

    /// Appends the layer reading node `x` to a description; `None` where
    /// the description format cannot express the layer.
    fn describe(&self, g: &mut Graph, x: usize) -> Option<usize>;

    /// True for a residual layer, one that computes `x + branch(x)`: a
    /// supernet then mixes the candidates' branches and adds `x` once, so
    /// a one-op straight-through estimator (GDAS) scales the branch, not
    /// the whole stream.
    fn residual(&self) -> bool {
        false
    }

    /// The branch of a residual layer; the whole layer otherwise.
    fn branch_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_t(x, train)
    }
}

/// The fixed parts around the searched layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Input shape (C, H, W).
    pub input: [usize; 3],
    /// 3x3 stem conv (+ BN + ReLU).
    pub stem: ConvSpec,
    /// 1x1 conv (+ BN + ReLU) after the last searched layer, if any.
    pub head: Option<ConvSpec>,
    /// Features entering the classifier (channels after the head).
    pub features: usize,
    /// Classes of the linear classifier.
    pub classes: usize,
}

/// The built fixed parts; the forward passes of both network kinds share
/// them.
#[derive(Clone, Debug)]
pub(crate) struct Ends {
    input: [usize; 3],
    stem: ConvBn,
    head: Option<ConvBn>,
    fc: Linear,
}

impl Ends {
    pub(crate) fn new(
        frame: &Frame,
        vb: &VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<Self> {
        let head = match frame.head {
            Some(spec) => Some(ConvBn::new(spec, vb.pp("head"), counter)?),
            None => None,
        };
        Ok(Ends {
            input: frame.input,
            stem: ConvBn::new(frame.stem, vb.pp("stem"), counter)?,
            head,
            fc: Linear::new(frame.features, frame.classes, vb.pp("fc"), counter)?,
        })
    }

    pub(crate) fn stem(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.stem.forward_relu(x, train)
    }

    /// Head conv, global average pool, classifier.
    pub(crate) fn classify(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = match &self.head {
            Some(head) => head.forward_relu(x, train)?,
            None => x.clone(),
        };
        self.fc.forward(&x.mean((2, 3))?)
    }

    pub(crate) fn describe_stem(&self, g: &mut Graph) -> usize {
        let stem = self.stem.describe(g, 0);
        g.relu(stem)
    }

    pub(crate) fn describe_classifier(&self, g: &mut Graph, x: usize) -> usize {
        let x = match &self.head {
            Some(head) => {
                let y = head.describe(g, x);
                g.relu(y)
            }
            None => x,
        };
        let pooled = g.push(Node::MeanHw { x });
        self.fc.describe(g, pooled)
    }
}
