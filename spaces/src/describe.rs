//! A framework-neutral description of a built network: a list of nodes in
//! execution order, each naming the nodes it reads by index (node 0 is the
//! input image). Another framework (`bench/torch_peer.py` builds PyTorch
//! modules from it) can rebuild the *same* network from it, so speed
//! comparisons compare like with like by construction.
//!
//! Conventions: convolutions are NCHW cross-correlations with zero padding
//! `(pad_h, pad_w)` on both sides; `bn` is batch norm with affine
//! parameters, eps 1e-5, momentum 0.1; `avg_pool3` is a 3x3, stride-1,
//! padding-1 average that does not count padded cells; `avg_pool2` a 2x2,
//! stride-2 average; `pad_to` zero-pads bottom and right to `(h, w)`;
//! `mean_hw` averages over height and width (`(N, C, H, W) -> (N, C)`);
//! `zeros` is a zero tensor shaped like its input.

use crate::geometry::ConvSpec;
use serde::{Deserialize, Serialize};

/// One operation of a network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Node {
    /// The input image `(N, C, H, W)`.
    Input {
        /// `(C, H, W)`.
        shape: [usize; 3],
    },
    /// A 2-D convolution.
    Conv {
        /// The node read.
        x: usize,
        /// Input channels.
        c_in: usize,
        /// Output channels.
        c_out: usize,
        /// Kernel height.
        kh: usize,
        /// Kernel width.
        kw: usize,
        /// Stride (both axes).
        stride: usize,
        /// Zero padding of the height axis, each side.
        pad_h: usize,
        /// Zero padding of the width axis, each side.
        pad_w: usize,
        /// Dilation (both axes).
        dilation: usize,
        /// Channel groups.
        groups: usize,
        /// Whether the convolution adds a bias.
        bias: bool,
    },
    /// Batch norm with affine parameters.
    Bn {
        /// The node read.
        x: usize,
        /// Channels.
        channels: usize,
    },
    /// ReLU.
    Relu {
        /// The node read.
        x: usize,
    },
    /// Element-wise sum of two or more nodes.
    Add {
        /// The nodes summed.
        xs: Vec<usize>,
    },
    /// Concatenation along channels.
    Cat {
        /// The nodes concatenated, in order.
        xs: Vec<usize>,
    },
    /// ShuffleNet channel shuffle: `(N, g*c, H, W)` viewed as `(N, g, c,
    /// H, W)`, the two channel axes transposed.
    Shuffle {
        /// The node read.
        x: usize,
        /// Groups.
        groups: usize,
    },
    /// 3x3 average pooling, stride 1, padding 1, padding not counted.
    AvgPool3 {
        /// The node read.
        x: usize,
    },
    /// 2x2 average pooling, stride 2.
    AvgPool2 {
        /// The node read.
        x: usize,
    },
    /// Zero padding at the bottom and right to `h x w`.
    PadTo {
        /// The node read.
        x: usize,
        /// Target height.
        h: usize,
        /// Target width.
        w: usize,
    },
    /// Zeros shaped like the input.
    Zeros {
        /// The node read.
        x: usize,
    },
    /// Global average over height and width.
    MeanHw {
        /// The node read.
        x: usize,
    },
    /// A fully connected layer with bias.
    Linear {
        /// The node read.
        x: usize,
        /// Input features.
        c_in: usize,
        /// Output features.
        c_out: usize,
    },
}

/// A network description under construction; the last node is the output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graph {
    /// Nodes in execution order; node 0 is the input.
    pub nodes: Vec<Node>,
}

impl Graph {
    /// A graph holding only the input node (index 0).
    pub fn new(input: [usize; 3]) -> Self {
        Graph {
            nodes: vec![Node::Input { shape: input }],
        }
    }

    /// Appends a node and returns its index.
    pub fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// A square convolution of `spec`.
    pub fn conv(&mut self, x: usize, spec: &ConvSpec) -> usize {
        self.push(Node::Conv {
            x,
            c_in: spec.c_in,
            c_out: spec.c_out,
            kh: spec.kernel,
            kw: spec.kernel,
            stride: spec.stride,
            pad_h: spec.padding,
            pad_w: spec.padding,
            dilation: spec.dilation,
            groups: spec.groups,
            bias: spec.bias,
        })
    }

    /// Convolution of `spec` then batch norm.
    pub fn conv_bn(&mut self, x: usize, spec: &ConvSpec) -> usize {
        let y = self.conv(x, spec);
        self.push(Node::Bn {
            x: y,
            channels: spec.c_out,
        })
    }

    /// ReLU.
    pub fn relu(&mut self, x: usize) -> usize {
        self.push(Node::Relu { x })
    }

    /// `a + b`.
    pub fn add(&mut self, xs: Vec<usize>) -> usize {
        self.push(Node::Add { xs })
    }

    /// Trainable parameters the described network has (conv weights and
    /// biases, BN affine, linear weights and biases).
    pub fn params(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| match *n {
                Node::Conv {
                    c_in,
                    c_out,
                    kh,
                    kw,
                    groups,
                    bias,
                    ..
                } => (c_out * (c_in / groups) * kh * kw + if bias { c_out } else { 0 }) as u64,
                Node::Bn { channels, .. } => 2 * channels as u64,
                Node::Linear { c_in, c_out, .. } => (c_in * c_out + c_out) as u64,
                _ => 0,
            })
            .sum()
    }
}
