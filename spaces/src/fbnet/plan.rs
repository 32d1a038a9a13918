//! The geometry of an FBNet network for given options: the stem, the 22
//! searched slots and the head, and the exact cost of an architecture.

use super::block::{self, Candidate, Slot};
use super::presets::{scale_channels, LAYERS, STAGES, STEM_CHANNELS};
use super::tally::Tally;
use crate::geometry::ConvSpec;
use crate::layerwise::Frame;
use crate::{CostReport, LayerCost};

/// Everything about a network except the searched choices.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Input shape (C, H, W).
    pub input: [usize; 3],
    /// 3x3 stem conv (+ BN + ReLU).
    pub stem: ConvSpec,
    /// The 22 searched layers.
    pub slots: Vec<Slot>,
    /// 1x1 head conv (+ BN + ReLU) and its input size.
    pub head: ConvSpec,
    /// Spatial size the head conv sees.
    pub head_hw: (usize, usize),
    /// Classes of the final linear layer.
    pub classes: usize,
}

impl Plan {
    /// Lays out the network. `drop_strides` of the five stride-2 positions
    /// (stem, then the first layers of the 24, 32, 64 and 184 stages) are
    /// set to stride 1, earliest first.
    pub fn new(
        input: [usize; 3],
        classes: usize,
        head: usize,
        width: f64,
        drop_strides: usize,
    ) -> Plan {
        let mut dropped = 0;
        let mut stride_at = |s: usize| {
            if s == 2 && dropped < drop_strides {
                dropped += 1;
                1
            } else {
                s
            }
        };
        let [c, h, w] = input;
        let stem_c = scale_channels(STEM_CHANNELS, width);
        let stem = ConvSpec::new(c, stem_c, 3, stride_at(2));
        let (mut h, mut w) = (stem.out_size(h), stem.out_size(w));
        let mut c_in = stem_c;
        let mut slots = Vec::with_capacity(LAYERS);
        for (channels, repeats, first_stride) in STAGES {
            let c_out = scale_channels(channels, width);
            for r in 0..repeats {
                let stride = if r == 0 { stride_at(first_stride) } else { 1 };
                let slot = Slot {
                    c_in,
                    c_out,
                    stride,
                    h,
                    w,
                };
                // All candidates agree on the output size: "same" padding
                // and the same stride (k3 p1, k5 p2 and 1x1 p0 alike).
                let probe = ConvSpec::new(c_in, c_out, 3, stride);
                (h, w) = (probe.out_size(h), probe.out_size(w));
                c_in = c_out;
                slots.push(slot);
            }
        }
        Plan {
            input,
            stem,
            slots,
            head: ConvSpec::new(c_in, head, 1, 1),
            head_hw: (h, w),
            classes,
        }
    }

    /// The fixed parts around the searched layers.
    pub fn frame(&self) -> Frame {
        Frame {
            input: self.input,
            stem: self.stem,
            head: Some(self.head),
            features: self.head.c_out,
            classes: self.classes,
        }
    }

    /// Exact cost of the architecture given as candidates, in layer order.
    pub fn cost(&self, candidates: &[Candidate], names: &[&str]) -> CostReport {
        let mut rows: Vec<LayerCost> = Vec::with_capacity(LAYERS + 3);
        let mut weights = 0;
        let mut push = |t: Tally, name: String, cand: &str, rows: &mut Vec<LayerCost>| {
            weights += t.weights;
            rows.push(t.row(name, cand));
        };
        let mut stem = Tally::default();
        stem.conv_bn(&self.stem, self.input[1], self.input[2]);
        push(stem, "stem".into(), "conv3x3", &mut rows);
        for (i, (slot, (&cand, name))) in self
            .slots
            .iter()
            .zip(candidates.iter().zip(names))
            .enumerate()
        {
            push(
                block::cost(cand, slot),
                format!("layer{i}"),
                name,
                &mut rows,
            );
        }
        let mut head = Tally::default();
        head.conv_bn(&self.head, self.head_hw.0, self.head_hw.1);
        push(head, "head".into(), "conv1x1", &mut rows);
        let mut fc = Tally::default();
        fc.linear(self.head.c_out, self.classes);
        push(fc, "fc".into(), "linear", &mut rows);
        CostReport::from_layers(rows, weights)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_layout_reaches_7x7() {
        let plan = Plan::new([3, 224, 224], 1000, 1984, 1.0, 0);
        assert_eq!(plan.stem.stride, 2);
        assert_eq!(plan.slots.len(), 22);
        assert_eq!(plan.head_hw, (7, 7));
        assert_eq!(plan.head.c_in, 352);
        let strides: Vec<usize> = plan.slots.iter().map(|s| s.stride).collect();
        assert_eq!(strides.iter().filter(|&&s| s == 2).count(), 4);
        assert_eq!(plan.slots[1].c_in, 16);
        assert_eq!(plan.slots[1].h, 112);
        assert_eq!(plan.slots[21].h, 7);
    }

    #[test]
    fn dropped_strides_are_the_earliest() {
        let plan = Plan::new([1, 28, 28], 10, 992, 0.5, 2);
        assert_eq!(plan.stem.stride, 1);
        assert_eq!(plan.slots[1].stride, 1, "first 24-channel layer");
        assert_eq!(plan.slots[5].stride, 2, "first 32-channel layer");
        assert_eq!(plan.head_hw, (4, 4), "28 -> 14 -> 7 -> 4");
    }
}
