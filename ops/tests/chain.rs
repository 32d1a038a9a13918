//! Checks the fused conv-BN chain (an FBNet block's body in one op)
//! against the ops it replaces: `conv_bn_train` per unit (itself checked
//! bit for bit against the convolution and batch-norm ops in
//! `relu_conv_bn.rs`) and the channel shuffle; with the block's residual
//! (`add_n`, outside the op) on top where the block has one. Output, every unit's
//! batch statistics and the gradients of the input and of every weight,
//! gamma and beta must be bit-identical: the chain runs the same kernels
//! in the same order and only keeps the hidden gradients away from candle.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use candle_core::{Tensor, Var};
use nasarena_core::Seed;
use nasarena_ops::{
    add_n, channel_shuffle, conv_bn_chain_train, conv_bn_train, BnStats, ChainUnit, ConvParams,
};
mod common;

use common::random_in as random;

const EPS: f64 = 1e-5;

/// An MBConv block: `(n, c_in, size, hidden, k, stride, c_out, groups of
/// the 1x1s, shuffle, residual)`.
type Block = (
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    bool,
    bool,
);

const BLOCKS: &[Block] = &[
    // k3_e6 keeping its shape (the residual)
    (2, 4, 8, 24, 3, 1, 4, 1, false, true),
    // k5_e3 with grouped 1x1s and FBNet's shuffle
    (2, 8, 6, 24, 5, 1, 8, 2, true, true),
    // grouped 1x1s without the shuffle (SqueezeNAS)
    (2, 8, 5, 16, 3, 1, 8, 2, false, true),
    // stride 2 and wider: no residual
    (2, 4, 9, 12, 3, 2, 6, 1, false, false),
    // a 2x2 plane: the small-plane convolutions and batch norms
    (3, 8, 2, 16, 3, 1, 8, 1, false, true),
];

fn params(stride: usize, padding: usize, groups: usize) -> ConvParams {
    ConvParams {
        stride,
        padding,
        dilation: 1,
        groups,
    }
}

/// The block's three units as `(weight dims, params, relu)`.
fn units(b: Block) -> [([usize; 4], ConvParams, bool); 3] {
    let (_, c_in, _, hidden, k, stride, c_out, g, _, _) = b;
    [
        ([hidden, c_in / g, 1, 1], params(1, 0, g), true),
        ([hidden, 1, k, k], params(stride, k / 2, hidden), true),
        ([c_out, hidden / g, 1, 1], params(1, 0, g), false),
    ]
}

fn shuffle_groups(b: Block) -> usize {
    let (.., g, shuffle, _) = b;
    if shuffle {
        g
    } else {
        1
    }
}

/// The input, each unit's `[weight, gamma, beta]`, and the random
/// weights of the output in the loss.
fn inputs(i: usize, b: Block) -> (Tensor, Vec<[Tensor; 3]>, Tensor) {
    let (n, c_in, size, _, _, stride, c_out, ..) = b;
    let seed = Seed(17).derive("ops-chain-test", i as u64);
    let x = random(seed.derive("x", 0), &[n, c_in, size, size], -1.0, 1.0);
    let tensors = units(b)
        .iter()
        .enumerate()
        .map(|(u, (dims, ..))| {
            let s = seed.derive("unit", u as u64);
            [
                random(s.derive("w", 0), dims, -1.0, 1.0),
                random(s.derive("gamma", 0), &[dims[0]], 0.5, 1.5),
                random(s.derive("beta", 0), &[dims[0]], -0.5, 0.5),
            ]
        })
        .collect();
    let out = size.div_ceil(stride);
    let r = random(seed.derive("r", 0), &[n, c_out, out, out], -1.0, 1.0);
    (x, tensors, r)
}

/// The block's units over `tensors` (each unit's weight, gamma, beta).
fn chain_units(b: Block, tensors: &[[Tensor; 3]]) -> Vec<ChainUnit<'_>> {
    units(b)
        .iter()
        .zip(tensors)
        .map(|((_, params, relu), [w, g, beta])| ChainUnit {
            weight: w,
            params: *params,
            gamma_beta: [g, beta],
            eps: EPS,
            relu: *relu,
        })
        .collect()
}

type Chain = fn(&Tensor, &[ChainUnit], usize) -> (Tensor, Vec<BnStats>);

/// The chain one op at a time.
fn one_by_one(x: &Tensor, units: &[ChainUnit], shuffle: usize) -> (Tensor, Vec<BnStats>) {
    let (mut y, mut stats) = (x.clone(), vec![]);
    for (i, u) in units.iter().enumerate() {
        let (out, s) = conv_bn_train(&y, u.weight, u.params, u.gamma_beta, u.eps, u.relu).unwrap();
        stats.push(s);
        y = if i == 0 && shuffle > 1 {
            channel_shuffle(&out, shuffle).unwrap()
        } else {
            out
        };
    }
    (y, stats)
}

fn fused(x: &Tensor, units: &[ChainUnit], shuffle: usize) -> (Tensor, Vec<BnStats>) {
    conv_bn_chain_train(x, units, shuffle).unwrap()
}

/// Output, statistics and the gradients of `sum(block(..) * r)` with
/// respect to `x` and every unit's weight, gamma and beta, the block
/// `chain(..) + x` where it has a residual.
fn run(chain: Chain, i: usize, b: Block) -> (Tensor, Vec<BnStats>, Vec<Tensor>) {
    let (x, tensors, r) = inputs(i, b);
    let x = Var::from_tensor(&x).unwrap();
    let vars: Vec<[Var; 3]> = tensors
        .iter()
        .map(|ts| ts.clone().map(|t| Var::from_tensor(&t).unwrap()))
        .collect();
    let tensors: Vec<[Tensor; 3]> = vars
        .iter()
        .map(|v| v.each_ref().map(|v| v.as_tensor().clone()))
        .collect();
    let chain_units = chain_units(b, &tensors);
    let (mut y, stats) = chain(x.as_tensor(), &chain_units, shuffle_groups(b));
    if b.9 {
        y = add_n(&[y, x.as_tensor().clone()]).unwrap();
    }
    let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let all = std::iter::once(&x).chain(vars.iter().flatten());
    let grads = all.map(|v| grads.get(v).unwrap().clone()).collect();
    (y, stats, grads)
}

fn bits(t: &Tensor) -> Vec<u32> {
    let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
    v.iter().map(|f| f.to_bits()).collect()
}

#[test]
fn fused_chain_is_bit_identical_to_the_ops_it_replaces() {
    for (i, &b) in BLOCKS.iter().enumerate() {
        let (y_want, stats_want, grads_want) = run(one_by_one, i, b);
        let (y, stats, grads) = run(fused, i, b);
        assert_eq!(bits(&y), bits(&y_want), "output, block {i} {b:?}");
        assert_eq!(stats, stats_want, "statistics, block {i} {b:?}");
        let names = (0..3).flat_map(|u| ["w", "gamma", "beta"].map(|n| format!("{n} of unit {u}")));
        let names = std::iter::once("x".to_string()).chain(names);
        for (name, (got, want)) in names.zip(grads.iter().zip(&grads_want)) {
            assert_eq!(bits(got), bits(want), "gradient of {name}, block {i} {b:?}");
        }
    }
}

#[test]
fn a_packed_argument_of_the_wrong_length_is_an_error_naming_both_lengths() {
    let b = BLOCKS[0];
    let (x, tensors, _) = inputs(0, b);
    let op = nasarena_ops::ConvBnChainTrain::new(&chain_units(b, &tensors), 1).unwrap();
    let short = Tensor::zeros(5, candle_core::DType::F32, x.device()).unwrap();
    let err = x.apply_op2(&short, op).unwrap_err().to_string();
    // 4 -> 24 (96 + 48), depthwise 24 x 9 (216 + 48), 24 -> 4 (96 + 8).
    assert!(
        err.contains("conv-bn-chain-train") && err.contains("512 elements, got 5"),
        "{err}"
    );
}

#[test]
fn an_empty_chain_is_an_error() {
    let (x, ..) = inputs(0, BLOCKS[0]);
    let err = conv_bn_chain_train(&x, &[], 1).unwrap_err().to_string();
    assert!(err.contains("at least one unit"), "{err}");
}

/// Every test of this file again on each other instruction-set path this
/// CPU has (`NASARENA_ISA`), in a child process per path.
#[test]
fn every_other_isa() {
    common::on_every_other_isa("every_other_isa");
}
