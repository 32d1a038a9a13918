//! A stand-alone layer-wise network: one built candidate per searched
//! layer between the fixed [`super::Frame`] parts.

use super::{Ends, Frame, SearchedLayer};
use crate::describe::Graph;
use crate::geometry::MacCounter;
use crate::Network;
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// A built layer-wise network.
#[derive(Clone, Debug)]
pub struct LayerwiseNetwork<L> {
    ends: Ends,
    layers: Vec<L>,
}

impl<L: SearchedLayer> LayerwiseNetwork<L> {
    /// Creates the fixed parts under `vb` and `count` searched layers with
    /// `build(i, vb.pp("layers.{i}"))`; every conv and the classifier add
    /// their MACs to `counter` on each forward pass.
    pub fn new(
        frame: &Frame,
        count: usize,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
        mut build: impl FnMut(usize, VarBuilder) -> Result<L>,
    ) -> Result<Self> {
        let ends = Ends::new(frame, &vb, counter)?;
        let layers = (0..count)
            .map(|i| build(i, vb.pp(format!("layers.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(LayerwiseNetwork { ends, layers })
    }
}

impl<L: SearchedLayer> Network for LayerwiseNetwork<L> {
    fn forward_t(&self, input: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = self.ends.stem(input, train)?;
        for layer in &self.layers {
            x = layer.forward_t(&x, train)?;
        }
        self.ends.classify(&x, train)
    }

    fn describe(&self) -> Option<Graph> {
        let mut g = Graph::new(self.ends.input);
        let mut x = self.ends.describe_stem(&mut g);
        for layer in &self.layers {
            x = layer.describe(&mut g, x)?;
        }
        self.ends.describe_classifier(&mut g, x);
        Some(g)
    }
}
