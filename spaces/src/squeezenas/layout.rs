//! The geometry of a SqueezeNAS encoder for given options (Shaw et al.
//! 2019; stage tables in [`super::variants`]): the stem, the searched
//! slots, and which head follows them.
//!
//! `drop_strides` sets the earliest stride-2 positions (the stem, then the
//! first layer of each stage with stride 2) to stride 1, as the `fbnet-28`
//! preset does, so that 28x28 images keep usable maps. A stride-2 searched
//! layer must see even heights and widths: its `skip` candidate is a
//! FactorizedReduce, whose two half-width paths (one on the input shifted
//! by a pixel) only agree in size on even maps.

use crate::fbnet::block::Slot;
use crate::geometry::ConvSpec;
use crate::layerwise::Frame;

use super::variants::Variant;

/// What follows the encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// The variant's segmentation decoder: logits per class and pixel.
    Segment,
    /// Global average pool and a linear classifier, as the official code's
    /// ImageNet form of the encoder (`arch/model.py`); built and searched.
    Classify,
}

impl Head {
    /// Parses an option value.
    pub fn parse(value: &str) -> Option<Head> {
        match value {
            "segment" => Some(Head::Segment),
            "classify" => Some(Head::Classify),
            _ => None,
        }
    }
}

/// Everything about an encoder except the searched choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Input shape (C, H, W).
    pub input: [usize; 3],
    /// Output classes.
    pub classes: usize,
    /// The head after the encoder.
    pub head: Head,
    /// 3x3 stem conv (+ BN + ReLU).
    pub stem: ConvSpec,
    /// The searched layers.
    pub slots: Vec<Slot>,
}

impl Layout {
    /// Lays out `variant` with the earliest `drop_strides` stride-2
    /// positions at stride 1.
    pub fn new(
        variant: &Variant,
        input: [usize; 3],
        classes: usize,
        head: Head,
        drop_strides: usize,
    ) -> Layout {
        let mut dropped = 0;
        let mut stride_at = |s: usize| {
            if s == 2 && dropped < drop_strides {
                dropped += 1;
                1
            } else {
                s
            }
        };
        let stem = ConvSpec::new(input[0], variant.stem, 3, stride_at(2));
        let (mut h, mut w) = (stem.out_size(input[1]), stem.out_size(input[2]));
        let mut c_in = variant.stem;
        let mut slots = Vec::new();
        for &(c_out, repeats, first_stride) in variant.stages {
            for r in 0..repeats {
                let stride = if r == 0 { stride_at(first_stride) } else { 1 };
                slots.push(Slot {
                    c_in,
                    c_out,
                    stride,
                    h,
                    w,
                });
                // Every candidate pads to "same" size, so all agree on this.
                (h, w) = (h.div_ceil(stride), w.div_ceil(stride));
                c_in = c_out;
            }
        }
        Layout {
            input,
            classes,
            head,
            stem,
            slots,
        }
    }

    /// The number of stride-2 positions `drop_strides` can set to 1.
    pub fn stride_positions(variant: &Variant) -> usize {
        1 + variant.stages.iter().filter(|s| s.2 == 2).count()
    }

    /// The first searched layer whose stride-2 input is odd-sized, if any.
    pub fn odd_reduction(&self) -> Option<(usize, &Slot)> {
        self.slots
            .iter()
            .enumerate()
            .find(|(_, s)| s.stride == 2 && (s.h % 2 == 1 || s.w % 2 == 1))
    }

    /// Output channels and size of searched layer `i` (clamped to the
    /// last).
    pub fn output_of(&self, i: usize) -> (usize, (usize, usize)) {
        let s = self.slots[i.min(self.slots.len() - 1)];
        (s.c_out, (s.h.div_ceil(s.stride), s.w.div_ceil(s.stride)))
    }

    /// The fixed parts of the classification form: stem, the variant's 1x1
    /// conv (small: to 256), pool and linear classifier.
    pub fn frame(&self, variant: &Variant) -> Frame {
        let (c_last, _) = self.output_of(self.slots.len() - 1);
        let head = variant.last_conv.map(|c| ConvSpec::new(c_last, c, 1, 1));
        Frame {
            input: self.input,
            stem: self.stem,
            head,
            features: head.map_or(c_last, |h| h.c_out),
            classes: self.classes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::variants::{LARGE, SMALL};
    use super::*;

    #[test]
    fn dropping_two_strides_keeps_28_pixel_maps_even() {
        let l = Layout::new(&SMALL, [1, 28, 28], 10, Head::Classify, 2);
        assert_eq!(l.stem.stride, 1);
        let reductions: Vec<(usize, usize)> = l
            .slots
            .iter()
            .filter(|s| s.stride == 2)
            .map(|s| (s.h, s.c_out))
            .collect();
        assert_eq!(reductions, vec![(28, 24), (14, 40)]);
        assert!(l.odd_reduction().is_none());
        assert_eq!(l.output_of(19), (96, (7, 7)));
        let one = Layout::new(&SMALL, [1, 28, 28], 10, Head::Classify, 1);
        assert_eq!(one.odd_reduction().map(|(i, s)| (i, s.h)), Some((8, 7)));
        assert_eq!(Layout::stride_positions(&SMALL), 4);
        assert_eq!(Layout::stride_positions(&LARGE), 4);
    }
}
