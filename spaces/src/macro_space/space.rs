//! The `macro` space's settings and its decoding of an architecture into
//! layers (Zoph & Le 2017; see `macro_space`'s module docs). The genotype
//! syntax (`genotype.rs`), the cost tables (`cost.rs`) and the network
//! (`network.rs`) read this module; it reads none of them.

use nasarena_core::{Arch, Decision};

/// Filter heights and widths.
pub const KERNELS: [usize; 4] = [1, 3, 5, 7];
/// Filter counts.
pub const FILTERS: [usize; 4] = [24, 36, 48, 64];

/// One decoded layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Filter height.
    pub kh: usize,
    /// Filter width.
    pub kw: usize,
    /// Filter count (output channels).
    pub filters: usize,
    /// Stride (1 unless the stride decision is on).
    pub stride: usize,
    /// Earlier layers read, increasing.
    pub inputs: Vec<usize>,
}

/// The Zoph & Le macro search space.
#[derive(Clone, Debug)]
pub struct MacroSpace {
    /// Number of layers.
    pub(super) layers: usize,
    /// The input image `(C, H, W)`.
    pub(super) input: [usize; 3],
    /// Classifier outputs.
    pub(super) classes: usize,
    /// Largest stride choice (1: no stride decision).
    pub(super) max_stride: usize,
    /// The decisions, layer by layer (see the module docs of `macro_space`).
    pub(super) decisions: Vec<Decision>,
}

impl MacroSpace {
    /// The space with explicit settings.
    pub fn new(layers: usize, input: [usize; 3], classes: usize, max_stride: usize) -> Self {
        let mut decisions = Vec::new();
        let sizes: Vec<String> = KERNELS.iter().map(|k| k.to_string()).collect();
        let sizes: Vec<&str> = sizes.iter().map(String::as_str).collect();
        let counts: Vec<String> = FILTERS.iter().map(|k| k.to_string()).collect();
        let counts: Vec<&str> = counts.iter().map(String::as_str).collect();
        let strides: Vec<String> = (1..=max_stride).map(|s| format!("s{s}")).collect();
        let strides: Vec<&str> = strides.iter().map(String::as_str).collect();
        for i in 0..layers {
            decisions.push(Decision::new(format!("layer{i}.height"), &sizes));
            decisions.push(Decision::new(format!("layer{i}.width"), &sizes));
            decisions.push(Decision::new(format!("layer{i}.filters"), &counts));
            if max_stride > 1 {
                decisions.push(Decision::new(format!("layer{i}.stride"), &strides));
            }
            for j in 0..i {
                decisions.push(Decision::new(format!("layer{i}.skip{j}"), &["no", "yes"]));
            }
        }
        MacroSpace {
            layers,
            input,
            classes,
            max_stride,
            decisions,
        }
    }

    /// Number of layers.
    pub fn layers(&self) -> usize {
        self.layers
    }

    /// Largest stride choice (1: no stride decision).
    pub fn max_stride(&self) -> usize {
        self.max_stride
    }

    fn fixed_per_layer(&self) -> usize {
        if self.max_stride > 1 {
            4
        } else {
            3
        }
    }

    /// The layers of an architecture that passed [`SearchSpace::check`].
    pub fn decode(&self, arch: &Arch) -> Vec<Layer> {
        let c = arch.choices();
        let get = |i: usize| c.get(i).copied().unwrap_or(0) as usize;
        let mut at = 0;
        let mut out = Vec::with_capacity(self.layers);
        for i in 0..self.layers {
            let kh = KERNELS[get(at).min(3)];
            let kw = KERNELS[get(at + 1).min(3)];
            let filters = FILTERS[get(at + 2).min(3)];
            let stride = if self.max_stride > 1 {
                get(at + 3) + 1
            } else {
                1
            };
            at += self.fixed_per_layer();
            let inputs = (0..i).filter(|&j| get(at + j) == 1).collect();
            at += i;
            out.push(Layer {
                kh,
                kw,
                filters,
                stride,
                inputs,
            });
        }
        out
    }

    /// The architecture of decoded layers (inverse of [`Self::decode`]).
    pub fn encode(&self, layers: &[Layer]) -> Arch {
        let index = |set: &[usize], v: usize| set.iter().position(|&x| x == v).unwrap_or(0) as u32;
        let mut choices = Vec::with_capacity(self.decisions.len());
        for (i, l) in layers.iter().enumerate() {
            choices.push(index(&KERNELS, l.kh));
            choices.push(index(&KERNELS, l.kw));
            choices.push(index(&FILTERS, l.filters));
            if self.max_stride > 1 {
                choices.push(l.stride.saturating_sub(1) as u32);
            }
            choices.extend((0..i).map(|j| u32::from(l.inputs.contains(&j))));
        }
        Arch::new(choices)
    }
}
