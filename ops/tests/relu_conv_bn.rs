//! Checks the fused training-mode ReLU-conv-BN op against the two ops it
//! replaces (`relu_conv2d`, then `batch_norm_train`; each is checked
//! against candle and central differences in `conv.rs` and `bn.rs`):
//! output, batch statistics and the gradients of all four inputs must be
//! bit-identical, because the fused op runs the same kernels in the same
//! order and only keeps the intermediate gradient away from candle.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use candle_core::{Device, Tensor, Var};
use nasarena_core::Seed;
use nasarena_ops::{
    batch_norm_train, conv_bn_train, grouped_conv2d, relu_conv2d, relu_conv_bn_train,
    relu_conv_fuses, BnStats, ConvParams,
};
mod common;

use common::{conv_params as params, random_in as random, ConvCase as Case};

const EPS: f64 = 1e-5;

const CASES: &[Case] = &[
    // the NAS-Bench-201 3x3 edge, a wider map, and a small plane (the
    // weight gradient's outer-product path)
    (3, 5, 8, 8, 5, 3, 1, 1, 1, 1),
    (2, 4, 12, 13, 6, 3, 1, 1, 1, 1),
    // grouped with two channels per group, dilated 5x5
    (2, 4, 7, 9, 6, 3, 1, 1, 1, 2),
    (1, 3, 12, 10, 5, 5, 1, 4, 2, 1),
    // not fused (stride 2, a 1x1): the composition runs instead
    (2, 4, 9, 8, 6, 3, 2, 1, 1, 1),
    (2, 4, 5, 6, 6, 1, 1, 0, 1, 1),
];

/// `relu_conv2d` then `batch_norm_train`, the pair the fused op replaces.
fn unfused(x: &Tensor, w: &Tensor, p: ConvParams, [g, b]: [&Tensor; 2]) -> (Tensor, BnStats) {
    let conv = relu_conv2d(x, w, p.stride, p.padding, p.dilation, p.groups).unwrap();
    batch_norm_train(&conv, g, b, EPS, false).unwrap()
}

type Unit = fn(&Tensor, &Tensor, ConvParams, [&Tensor; 2]) -> (Tensor, BnStats);

fn fused(x: &Tensor, w: &Tensor, p: ConvParams, gb: [&Tensor; 2]) -> (Tensor, BnStats) {
    relu_conv_bn_train(x, w, p, gb, EPS).unwrap()
}

/// Output, statistics and the gradients of `sum(unit(..) * r)` with
/// respect to `x`, `w`, gamma and beta.
fn run(unit: Unit, c: Case, inputs: &[Tensor; 5]) -> (Tensor, BnStats, Vec<Tensor>) {
    let vars: Vec<Var> = inputs[..4]
        .iter()
        .map(|t| Var::from_tensor(t).unwrap())
        .collect();
    let (y, stats) = unit(
        vars[0].as_tensor(),
        vars[1].as_tensor(),
        params(c),
        [vars[2].as_tensor(), vars[3].as_tensor()],
    );
    let grads = (&y * &inputs[4])
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let grads = vars.iter().map(|v| grads.get(v).unwrap().clone()).collect();
    (y, stats, grads)
}

fn inputs(i: usize, c: Case) -> [Tensor; 5] {
    let (n, ci, h, w, co, k, s, p, d, g) = c;
    let seed = Seed(11).derive("ops-relu-conv-bn-test", i as u64);
    let x = random(seed.derive("x", 0), &[n, ci, h, w], -1.0, 1.0);
    let wt = random(seed.derive("w", 0), &[co, ci / g, k, k], -1.0, 1.0);
    let gamma = random(seed.derive("gamma", 0), &[co], 0.5, 1.5);
    let beta = random(seed.derive("beta", 0), &[co], -0.5, 0.5);
    let ho = (h + 2 * p - d * (k - 1) - 1) / s + 1;
    let wo = (w + 2 * p - d * (k - 1) - 1) / s + 1;
    let r = random(seed.derive("r", 0), &[n, co, ho, wo], -1.0, 1.0);
    [x, wt, gamma, beta, r]
}

fn bits(t: &Tensor) -> Vec<u32> {
    let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
    v.iter().map(|f| f.to_bits()).collect()
}

#[test]
fn fused_relu_conv_bn_is_bit_identical_to_the_pair_it_replaces() {
    let mut fused_cases = 0;
    for (i, &c) in CASES.iter().enumerate() {
        let inputs = inputs(i, c);
        let (x, w) = (&inputs[0], &inputs[1]);
        fused_cases += usize::from(relu_conv_fuses(&params(c), x.dims(), w.dims()));
        let (y_want, stats_want, grads_want) = run(unfused, c, &inputs);
        let (y, stats, grads) = run(fused, c, &inputs);
        assert_eq!(bits(&y), bits(&y_want), "output, case {i} {c:?}");
        assert_eq!(stats, stats_want, "statistics, case {i} {c:?}");
        for (name, (got, want)) in ["x", "w", "gamma", "beta"]
            .iter()
            .zip(grads.iter().zip(&grads_want))
        {
            assert_eq!(bits(got), bits(want), "gradient of {name}, case {i} {c:?}");
        }
    }
    assert_eq!(fused_cases, 4, "the first four cases must run fused");
}

/// Cases for the conv-BN op without an input ReLU: every forward path
/// (shifted views, unfolded stride 2, a pointwise plane wider than a
/// panel, a regrouped 4x4 pointwise plane, `g2`, depthwise direct and on a
/// tiny plane, the last also a small-plane batch norm).
const CONV_BN_CASES: &[Case] = &[
    (3, 5, 8, 8, 5, 3, 1, 1, 1, 1),
    (2, 4, 9, 8, 6, 3, 2, 1, 1, 1),
    (2, 8, 7, 7, 13, 1, 1, 0, 1, 1),
    (5, 8, 4, 4, 6, 1, 1, 0, 1, 1),
    (2, 8, 6, 6, 6, 1, 1, 0, 1, 2),
    (2, 6, 9, 9, 6, 3, 1, 1, 1, 6),
    (3, 20, 4, 4, 20, 3, 2, 1, 1, 20),
];

/// `grouped_conv2d` then `batch_norm_train` (with the output ReLU when
/// `RELU`), the pair [`conv_bn_train`] replaces.
fn conv_then_bn<const RELU: bool>(
    x: &Tensor,
    w: &Tensor,
    p: ConvParams,
    [g, b]: [&Tensor; 2],
) -> (Tensor, BnStats) {
    let conv = grouped_conv2d(x, w, p.stride, p.padding, p.dilation, p.groups).unwrap();
    batch_norm_train(&conv, g, b, EPS, RELU).unwrap()
}

fn conv_bn<const RELU: bool>(
    x: &Tensor,
    w: &Tensor,
    p: ConvParams,
    gb: [&Tensor; 2],
) -> (Tensor, BnStats) {
    conv_bn_train(x, w, p, gb, EPS, RELU).unwrap()
}

#[test]
fn fused_conv_bn_is_bit_identical_to_the_pair_it_replaces() {
    let pairs: [(Unit, Unit, bool); 2] = [
        (conv_then_bn::<false>, conv_bn::<false>, false),
        (conv_then_bn::<true>, conv_bn::<true>, true),
    ];
    for (unfused, fused, relu) in pairs {
        for (i, &c) in CONV_BN_CASES.iter().enumerate() {
            let inputs = inputs(100 + i, c);
            let (y_want, stats_want, grads_want) = run(unfused, c, &inputs);
            let (y, stats, grads) = run(fused, c, &inputs);
            let what = format!("case {i} {c:?}, relu {relu}");
            assert_eq!(bits(&y), bits(&y_want), "output, {what}");
            assert_eq!(stats, stats_want, "statistics, {what}");
            for (name, (got, want)) in ["x", "w", "gamma", "beta"]
                .iter()
                .zip(grads.iter().zip(&grads_want))
            {
                assert_eq!(bits(got), bits(want), "gradient of {name}, {what}");
            }
        }
    }
}

#[test]
fn a_wrong_affine_length_is_an_error_naming_it() {
    let c = CASES[0];
    let inputs = inputs(0, c);
    let op = nasarena_ops::ReluConvBnTrain::new(params(c), EPS);
    let short = Tensor::zeros(3, candle_core::DType::F32, &Device::Cpu).unwrap();
    let err = inputs[0]
        .apply_op3(&inputs[1], &short, op)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[gamma, beta] must have 2 x 5 elements, got 3"),
        "{err}"
    );
}

/// Every test of this file again on each other instruction-set path this
/// CPU has (`NASARENA_ISA`), in a child process per path.
#[test]
fn every_other_isa() {
    common::on_every_other_isa("every_other_isa");
}
