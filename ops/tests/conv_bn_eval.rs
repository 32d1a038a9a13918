//! Checks the fused inference-mode convolution + batch norm (+ ReLU) op
//! against the two ops it replaces (`grouped_conv2d` or `relu_conv2d`,
//! then `batch_norm_eval`; each is checked against candle and central
//! differences in `conv.rs` and `bn.rs`): the output and the gradients of
//! `x` and `w` must be bit-identical, on every convolution path the op
//! dispatches to.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use candle_core::{Tensor, Var};
use nasarena_core::Seed;
use nasarena_ops::{
    batch_norm_eval, conv_bn_eval, grouped_conv2d, relu_conv2d, relu_conv_fuses, ConvParams,
};
mod common;

use common::{conv_params as params, random_in as random, ConvCase as Case};

/// One case per path of the forward: shifted views (stride-1 3x3), an
/// unfolded strided 3x3, a pointwise plane wider than a panel, a pointwise
/// plane regrouped over samples (4x4), a `g2` 1x1, depthwise on the direct
/// kernels, depthwise on a tiny plane (channels-last), and a 5x5 with a
/// ragged channel count.
const CASES: &[Case] = &[
    (3, 5, 8, 8, 7, 3, 1, 1, 1, 1),
    (2, 4, 9, 8, 6, 3, 2, 1, 1, 1),
    (2, 8, 7, 7, 13, 1, 1, 0, 1, 1),
    (5, 8, 4, 4, 6, 1, 1, 0, 1, 1),
    (2, 8, 6, 6, 6, 1, 1, 0, 1, 2),
    (2, 6, 9, 9, 6, 3, 1, 1, 1, 6),
    (3, 20, 4, 4, 20, 3, 1, 1, 1, 20),
    (2, 3, 12, 10, 5, 5, 1, 2, 1, 1),
];

/// `(scale, shift)` of a batch norm over `c` channels.
type Affine = (Vec<f32>, Vec<f32>);

/// The convolution, then `batch_norm_eval`: the pair the fused op replaces.
fn unfused(x: &Tensor, w: &Tensor, p: ConvParams, a: Affine, acts: (bool, bool)) -> Tensor {
    let (relu, relu_input) = acts;
    let conv = if relu_input {
        relu_conv2d(x, w, p.stride, p.padding, p.dilation, p.groups)
    } else {
        grouped_conv2d(x, w, p.stride, p.padding, p.dilation, p.groups)
    };
    batch_norm_eval(&conv.unwrap(), a.0, a.1, relu).unwrap()
}

fn fused(x: &Tensor, w: &Tensor, p: ConvParams, a: Affine, acts: (bool, bool)) -> Tensor {
    conv_bn_eval(x, w, p, a, acts.0, acts.1).unwrap()
}

type Unit = fn(&Tensor, &Tensor, ConvParams, Affine, (bool, bool)) -> Tensor;

/// Output and the gradients of `sum(unit(..) * r)` with respect to `x`
/// and `w`.
fn run(unit: Unit, c: Case, inputs: &Inputs, acts: (bool, bool)) -> (Tensor, Vec<Tensor>) {
    let vars = [
        Var::from_tensor(&inputs.x).unwrap(),
        Var::from_tensor(&inputs.w).unwrap(),
    ];
    let affine = (inputs.scale.clone(), inputs.shift.clone());
    let y = unit(
        vars[0].as_tensor(),
        vars[1].as_tensor(),
        params(c),
        affine,
        acts,
    );
    let grads = (&y * &inputs.r)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let grads = vars.iter().map(|v| grads.get(v).unwrap().clone()).collect();
    (y, grads)
}

struct Inputs {
    x: Tensor,
    w: Tensor,
    scale: Vec<f32>,
    shift: Vec<f32>,
    r: Tensor,
}

fn inputs(i: usize, c: Case) -> Inputs {
    let (n, ci, h, w, co, k, s, p, d, g) = c;
    let seed = Seed(12).derive("ops-conv-bn-eval-test", i as u64);
    let values = |name: &str, dims: &[usize], lo: f32, hi: f32| -> Vec<f32> {
        let t = random(seed.derive(name, 0), dims, lo, hi);
        t.flatten_all().unwrap().to_vec1().unwrap()
    };
    let ho = (h + 2 * p - d * (k - 1) - 1) / s + 1;
    let wo = (w + 2 * p - d * (k - 1) - 1) / s + 1;
    Inputs {
        x: random(seed.derive("x", 0), &[n, ci, h, w], -1.0, 1.0),
        w: random(seed.derive("w", 0), &[co, ci / g, k, k], -1.0, 1.0),
        scale: values("scale", &[co], 0.5, 1.5),
        shift: values("shift", &[co], -0.5, 0.5),
        r: random(seed.derive("r", 0), &[n, co, ho, wo], -1.0, 1.0),
    }
}

/// Asserts that `got` and `want` hold the same floats bit for bit, naming
/// the first that differs.
fn assert_same_bits(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let values = |t: &Tensor| -> Vec<f32> { t.flatten_all().unwrap().to_vec1().unwrap() };
    let (got, want) = (values(got), values(want));
    if let Some(i) = (0..got.len()).find(|&i| got[i].to_bits() != want[i].to_bits()) {
        panic!("{what}: element {i} is {}, expected {}", got[i], want[i]);
    }
}

#[test]
fn fused_conv_bn_eval_is_bit_identical_to_the_pair_it_replaces() {
    let mut relu_input_cases = 0;
    for (i, &c) in CASES.iter().enumerate() {
        let inputs = inputs(i, c);
        let fuses_input_relu = relu_conv_fuses(&params(c), inputs.x.dims(), inputs.w.dims());
        relu_input_cases += usize::from(fuses_input_relu);
        for relu in [false, true] {
            for relu_input in [false, true] {
                let acts = (relu, relu_input);
                let (y_want, grads_want) = run(unfused, c, &inputs, acts);
                let (y, grads) = run(fused, c, &inputs, acts);
                let what = format!("case {i} {c:?}, relu {relu}, relu input {relu_input}");
                assert_same_bits(&y, &y_want, &format!("output, {what}"));
                for (name, (got, want)) in ["x", "w"].iter().zip(grads.iter().zip(&grads_want)) {
                    assert_same_bits(got, want, &format!("gradient of {name}, {what}"));
                }
            }
        }
    }
    // The fused op must have taken the ReLU-input branch somewhere (the
    // others fall back to the composition).
    assert!(
        relu_input_cases >= 2,
        "{relu_input_cases} cases fuse the input ReLU"
    );
}

#[test]
fn a_wrong_coefficient_count_is_an_error_naming_it() {
    let inputs = inputs(0, CASES[0]);
    let (scale, shift) = (vec![1.0; 3], vec![0.0; 3]);
    let err = conv_bn_eval(
        &inputs.x,
        &inputs.w,
        params(CASES[0]),
        (scale, shift),
        true,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("conv2d-bn-eval"), "{err}");
    assert!(
        err.contains("3 scales and 3 shifts for 7 output channels"),
        "{err}"
    );
}

#[test]
fn every_other_isa() {
    common::on_every_other_isa("every_other_isa");
}
