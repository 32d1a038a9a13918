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
//!
//! A description built from a network also holds the network's tensors
//! ([`Graph::tensors`], not serialised), each named `{node}.{name}` with
//! PyTorch's names (`weight`, `bias`, `running_mean`, `running_var`) in
//! PyTorch's layouts (conv weights `(c_out, c_in/groups, kh, kw)`, linear
//! weights `(c_out, c_in)`): the names a trained network is saved under
//! (`nasarena export`), so a module per parameter-bearing node, keyed by
//! its index, loads them as they are.

use crate::geometry::ConvSpec;
use candle_core::Tensor;
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

/// One tensor of a described node.
#[derive(Clone, Debug)]
pub struct NodeTensor {
    /// The node holding it.
    pub node: usize,
    /// PyTorch's name for it in that node's module (`weight`, `bias`,
    /// `running_mean`, `running_var`).
    pub name: &'static str,
    /// The tensor (the network's own: it changes as the network trains).
    pub tensor: Tensor,
}

impl NodeTensor {
    /// The name it is saved under: `{node}.{name}`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.node, self.name)
    }
}

/// The tensors of a description. Two descriptions are equal when their
/// nodes are; tensors are compared by name and shape only (values change
/// with training, and a hand-written description has none).
#[derive(Clone, Debug, Default)]
pub struct Tensors(pub Vec<NodeTensor>);

impl PartialEq for Tensors {
    fn eq(&self, other: &Self) -> bool {
        let sig = |t: &Tensors| -> Vec<(String, Vec<usize>)> {
            t.0.iter()
                .map(|n| (n.key(), n.tensor.dims().to_vec()))
                .collect()
        };
        sig(self) == sig(other)
    }
}

impl Eq for Tensors {}

/// A network description under construction; the last node is the output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graph {
    /// Nodes in execution order; node 0 is the input.
    pub nodes: Vec<Node>,
    /// The network's tensors by node, when the description was made from
    /// a built network (not serialised: weights go to safetensors).
    #[serde(skip)]
    pub tensors: Tensors,
}

impl Graph {
    /// A graph holding only the input node (index 0).
    pub fn new(input: [usize; 3]) -> Self {
        Graph {
            nodes: vec![Node::Input { shape: input }],
            tensors: Tensors::default(),
        }
    }

    /// Records `tensor` as node `node`'s parameter or buffer `name`.
    pub fn tensor(&mut self, node: usize, name: &'static str, tensor: &Tensor) {
        self.tensors.0.push(NodeTensor {
            node,
            name,
            tensor: tensor.clone(),
        });
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
