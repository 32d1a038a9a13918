//! Checks grouped/depthwise convolution against candle's reference
//! `conv2d` (forward and autograd backward) and against central finite
//! differences, on seeded random inputs over many geometries.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use candle_core::{DType, Tensor, Var};
use nasarena_core::Seed;
use nasarena_ops::{
    conv_path, direct_conv2d, grouped_conv2d, relu_conv2d, relu_conv_fuses, ConvParams, ConvPath,
};
mod common;

use common::{random, ConvCase as Case};
use rand::Rng;

const CASES: &[Case] = &[
    // depthwise, k3, same padding, stride 1 and 2, odd and even sizes
    (2, 4, 7, 6, 4, 3, 1, 1, 1, 4),
    (2, 4, 8, 9, 4, 3, 2, 1, 1, 4),
    // depthwise, k5, dilation 2, stride 1 and 2
    (2, 3, 9, 10, 3, 5, 1, 4, 2, 3),
    (1, 3, 11, 9, 3, 5, 2, 2, 1, 3),
    (2, 5, 9, 9, 5, 3, 2, 2, 2, 5),
    // no padding, and more padding than the kernel needs
    (2, 4, 6, 7, 4, 3, 1, 0, 1, 4),
    (1, 2, 5, 5, 2, 3, 1, 3, 1, 2),
    // channel multiplier 2 (and 3 with stride 2)
    (2, 3, 6, 6, 6, 3, 1, 1, 1, 3),
    (1, 2, 7, 8, 6, 5, 2, 2, 1, 2),
    // depthwise 1x1
    (2, 4, 5, 5, 4, 1, 1, 0, 1, 4),
    // depthwise on planes of at most 16 positions (channels-last kernels):
    // k3 on 2x2 and 1x1, stride 2 on 4x4, k5 on 4x3, stride 3 dilated
    (3, 6, 2, 2, 6, 3, 1, 1, 1, 6),
    (4, 7, 1, 1, 7, 3, 1, 1, 1, 7),
    (2, 5, 4, 4, 5, 3, 2, 1, 1, 5),
    (2, 4, 4, 3, 4, 5, 1, 2, 1, 4),
    (2, 3, 3, 3, 3, 3, 3, 2, 2, 3),
    // groups = 2 pointwise (the FBNet g2 blocks), stride 1 and 2
    (2, 4, 5, 6, 6, 1, 1, 0, 1, 2),
    (2, 8, 4, 4, 8, 1, 1, 0, 1, 2),
    (2, 4, 7, 7, 6, 1, 2, 0, 1, 2),
    // stride 3 (three column phases), depthwise and grouped
    (1, 2, 10, 11, 2, 3, 3, 1, 1, 2),
    (2, 4, 11, 10, 4, 3, 3, 2, 2, 2),
    // dense 1x1 (groups 1), the MBConv 1x1 convs: GEMM on the input itself,
    // with planes narrower than a panel regrouped into chunks of samples
    // (30 positions: 3 samples a chunk; 2x2: 16 samples, the second chunk
    // padded; 1x1: 64 samples, 70 make a padded second chunk)
    (2, 4, 5, 6, 6, 1, 1, 0, 1, 1),
    (21, 5, 2, 2, 7, 1, 1, 0, 1, 1),
    (70, 6, 1, 1, 9, 1, 1, 0, 1, 1),
    // dense 1x1 on 72 positions: two whole panels read in place, the
    // partial third copied
    (2, 5, 8, 9, 7, 1, 1, 0, 1, 1),
    // dense (groups 1) with a spatial kernel: the im2col + GEMM path, with
    // the NAS-Bench-201 3x3 shape, stride 2, dilation 2, no padding, more
    // padding than the kernel needs, and a strided 1x1 (the cell's
    // reduction shortcut)
    (3, 5, 8, 8, 7, 3, 1, 1, 1, 1),
    (2, 4, 9, 8, 6, 3, 2, 1, 1, 1),
    (2, 3, 9, 9, 4, 3, 1, 2, 2, 1),
    (1, 4, 6, 7, 5, 5, 1, 0, 1, 1),
    (2, 2, 5, 5, 3, 3, 1, 3, 1, 1),
    // stride 1 through shifted views of a padded frame: grouped with
    // three channels per group, and a dilated 5x5 with less padding than
    // it spans
    (2, 6, 7, 9, 4, 3, 1, 1, 1, 2),
    (1, 3, 12, 10, 5, 5, 1, 3, 2, 1),
    (2, 6, 7, 7, 4, 1, 2, 0, 1, 1),
    (2, 4, 7, 6, 5, 2, 3, 1, 1, 1),
    // general grouped with a spatial kernel
    (2, 4, 6, 6, 6, 3, 1, 1, 2, 2),
    (1, 6, 7, 7, 3, 3, 2, 1, 1, 3),
    // several GEMM row blocks (8 rows) and column panels (32 positions),
    // both ragged, dense and g2
    (2, 10, 9, 9, 20, 3, 1, 1, 1, 1),
    (2, 16, 6, 7, 20, 1, 1, 0, 1, 2),
    // 144 output positions: the weight gradient's dot-product path (the
    // smaller maps above take the outer-product path)
    (1, 3, 12, 12, 5, 3, 1, 1, 1, 1),
];

fn tensors(i: usize, c: Case) -> (Tensor, Tensor, Tensor) {
    let (n, ci, h, w, co, k, s, p, d, g) = c;
    let seed = Seed(7).derive("ops-conv-test", i as u64);
    let x = random(seed.derive("x", 0), &[n, ci, h, w]);
    let wt = random(seed.derive("w", 0), &[co, ci / g, k, k]);
    let y = x.conv2d(&wt, p, s, d, g).expect("reference conv");
    let r = random(seed.derive("r", 0), y.dims());
    (x, wt, r)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let d = (a - b).unwrap().abs().unwrap().flatten_all().unwrap();
    d.max(0).unwrap().to_scalar::<f32>().unwrap()
}

fn scale(t: &Tensor) -> f32 {
    1.0 + t
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// `got` within `rel` (relative to `want`'s largest magnitude, plus one)
/// of `want` everywhere.
fn assert_close(got: &Tensor, want: &Tensor, rel: f32, what: &str) {
    assert!(
        max_abs_diff(got, want) <= rel * scale(want),
        "{what}: results differ"
    );
}

type ConvFn = fn(&Tensor, &Tensor, usize, usize, usize, usize) -> candle_core::Result<Tensor>;

fn reference(
    x: &Tensor,
    w: &Tensor,
    s: usize,
    p: usize,
    d: usize,
    g: usize,
) -> candle_core::Result<Tensor> {
    x.conv2d(w, p, s, d, g)
}

/// Gradients of `sum(conv(x, w) * r)` with respect to `x` and `w`.
fn try_grads(
    f: ConvFn,
    c: Case,
    x: &Tensor,
    w: &Tensor,
    r: &Tensor,
) -> candle_core::Result<(Tensor, Tensor)> {
    let (_, _, _, _, _, _, s, p, d, g) = c;
    let xv = Var::from_tensor(x)?;
    let wv = Var::from_tensor(w)?;
    let loss = (f(xv.as_tensor(), wv.as_tensor(), s, p, d, g)? * r)?.sum_all()?;
    let gs = loss.backward()?;
    Ok((gs.get(&xv).unwrap().clone(), gs.get(&wv).unwrap().clone()))
}

fn grads(f: ConvFn, c: Case, x: &Tensor, w: &Tensor, r: &Tensor) -> (Tensor, Tensor) {
    try_grads(f, c, x, w, r).unwrap()
}

#[test]
fn forward_and_gradients_match_candle() {
    let mut compared = 0;
    for (i, &c) in CASES.iter().enumerate() {
        let (x, w, r) = tensors(i, c);
        let (_, _, _, _, _, _, s, p, d, g) = c;
        let want = reference(&x, &w, s, p, d, g).unwrap();
        let got = grouped_conv2d(&x, &w, s, p, d, g).unwrap();
        assert!(
            max_abs_diff(&got, &want) <= 1e-5 * scale(&want),
            "forward differs for case {i} {c:?}"
        );
        // candle 0.11's conv2d backward derives the transposed
        // convolution's output padding from the height only, so it fails
        // when a strided input's height and width leave different
        // remainders; those cases are covered by the finite differences.
        let Ok((want_gx, want_gw)) = try_grads(reference, c, &x, &w, &r) else {
            assert!(
                uneven_strided(c),
                "candle's reference backward failed for case {i} {c:?}"
            );
            continue;
        };
        compared += 1;
        for f in [grouped_conv2d as ConvFn, direct_conv2d as ConvFn] {
            let got = f(&x, &w, s, p, d, g).unwrap();
            let what = format!("case {i} {c:?}");
            assert_close(&got, &want, 1e-5, &format!("forward, {what}"));
            let (gx, gw) = grads(f, c, &x, &w, &r);
            assert_close(&gx, &want_gx, 1e-5, &format!("grad x, {what}"));
            assert_close(&gw, &want_gw, 1e-5, &format!("grad w, {what}"));
        }
    }
    assert!(
        compared >= CASES.len() - 6,
        "candle's reference backward ran for only {compared} cases"
    );
}

/// Whether a strided case's height and width leave different remainders
/// (the cases candle 0.11's conv2d backward cannot handle).
fn uneven_strided(c: Case) -> bool {
    let (_, _, h, w, _, k, s, p, d, _) = c;
    let rest = |len: usize| (len + 2 * p - d * (k - 1) - 1) % s;
    s > 1 && rest(h) != rest(w)
}

/// `sum(conv(x, w) * r)` accumulated in f64.
fn loss(c: Case, x: &Tensor, w: &Tensor, r: &Tensor) -> f64 {
    let (_, _, _, _, _, _, s, p, d, g) = c;
    let y = direct_conv2d(x, w, s, p, d, g)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let r = r.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    y.iter()
        .zip(&r)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum()
}

/// `t` with `delta` added at flat position `at`.
fn nudge(t: &Tensor, at: usize, delta: f32) -> Tensor {
    let mut v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    v[at] += delta;
    Tensor::from_vec(v, t.dims(), t.device()).unwrap()
}

#[test]
fn gradients_match_central_differences() {
    let mut pick = Seed(11).derive("ops-conv-fd", 0).rng();
    for (i, &c) in CASES.iter().enumerate() {
        let (x, w, r) = tensors(i, c);
        let (gx, gw) = grads(direct_conv2d, c, &x, &w, &r);
        let (gx, gw) = (
            gx.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            gw.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        // The loss is linear in each argument, so a large step has no
        // truncation error and keeps f32 rounding small relative to it.
        let eps = 0.5f32;
        for _ in 0..10 {
            let at = pick.random_range(0..gx.len());
            let fd = (loss(c, &nudge(&x, at, eps), &w, &r) - loss(c, &nudge(&x, at, -eps), &w, &r))
                / (2.0 * f64::from(eps));
            assert!(
                (fd - f64::from(gx[at])).abs() <= 1e-3 * (1.0 + fd.abs()),
                "case {i} {c:?}: dL/dx[{at}] = {} but FD gives {fd}",
                gx[at]
            );
            let at = pick.random_range(0..gw.len());
            let fd = (loss(c, &x, &nudge(&w, at, eps), &r) - loss(c, &x, &nudge(&w, at, -eps), &r))
                / (2.0 * f64::from(eps));
            assert!(
                (fd - f64::from(gw[at])).abs() <= 1e-3 * (1.0 + fd.abs()),
                "case {i} {c:?}: dL/dw[{at}] = {} but FD gives {fd}",
                gw[at]
            );
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // grouped (direct kernels) and dense (GEMM, whose weight gradient sums
    // per-task partials: 20 samples make several partials; 1x1 planes are
    // regrouped into chunks of 64 samples first; depthwise on 2x2 planes
    // sums runs of 8 samples)
    for c in [
        (4, 8, 12, 12, 16, 3, 1, 1, 1, 8),
        (20, 3, 6, 6, 4, 3, 1, 1, 1, 1),
        (70, 6, 1, 1, 9, 1, 1, 0, 1, 1),
        (20, 6, 2, 2, 6, 3, 1, 1, 1, 6),
    ] {
        same_results_on_one_and_three_threads(c);
    }
}

fn same_results_on_one_and_three_threads(c: Case) {
    let (x, w, r) = tensors(99, c);
    let (_, _, _, _, _, _, s, p, d, g) = c;
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let y = direct_conv2d(&x, &w, s, p, d, g).unwrap();
            let (gx, gw) = grads(direct_conv2d, c, &x, &w, &r);
            [y, gx, gw].map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn paths_are_chosen_by_device_dtype_and_shape() {
    let x = random(Seed(1), &[1, 4, 5, 5]);
    assert_eq!(
        conv_path(&x, &random(Seed(2), &[4, 1, 3, 3]), 4),
        ConvPath::Direct
    );
    assert_eq!(
        conv_path(&x, &random(Seed(2), &[6, 2, 1, 1]), 2),
        ConvPath::Gemm
    );
    assert_eq!(
        conv_path(&x, &random(Seed(2), &[6, 2, 3, 3]), 2),
        ConvPath::Gemm
    );
    assert_eq!(
        conv_path(&x, &random(Seed(2), &[8, 1, 1, 1]), 4),
        ConvPath::Direct
    );
    assert_eq!(
        conv_path(&x, &random(Seed(2), &[6, 4, 3, 3]), 1),
        ConvPath::Gemm
    );
    assert_eq!(
        conv_path(&x, &random(Seed(2), &[6, 4, 1, 1]), 1),
        ConvPath::Gemm
    );
    let xh = x.to_dtype(DType::F64).unwrap();
    let wh = random(Seed(2), &[4, 1, 3, 3]).to_dtype(DType::F64).unwrap();
    assert_eq!(conv_path(&xh, &wh, 4), ConvPath::Candle);
    // The public API still works for other dtypes, through candle.
    assert_eq!(
        grouped_conv2d(&xh, &wh, 1, 1, 1, 4).unwrap().dims(),
        &[1, 4, 5, 5]
    );
}

#[test]
fn bad_arguments_are_errors_that_say_what_is_wrong() {
    let x = random(Seed(1), &[1, 4, 5, 5]);
    let err = direct_conv2d(&x, &random(Seed(2), &[4, 3, 3, 3]), 1, 1, 1, 2)
        .unwrap_err()
        .to_string();
    assert!(err.contains("groups"), "{err}");
    let err = direct_conv2d(&x, &random(Seed(2), &[4, 1, 7, 7]), 1, 0, 1, 4)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not fit"), "{err}");
    let xh = x.to_dtype(DType::F64).unwrap();
    let wh = random(Seed(2), &[4, 1, 3, 3]).to_dtype(DType::F64).unwrap();
    let err = direct_conv2d(&xh, &wh, 1, 1, 1, 4).unwrap_err().to_string();
    assert!(err.contains("only f32"), "{err}");
    let err = grouped_conv2d(&x, &random(Seed(2), &[6, 3, 1, 1]), 1, 0, 1, 2)
        .unwrap_err()
        .to_string();
    assert!(err.contains("groups"), "{err}");
}

/// CUDA tensors take candle's convolution (the direct kernels are CPU
/// code) and agree with the CPU's direct kernels, forward and backward.
#[cfg(feature = "cuda")]
#[test]
fn cuda_tensors_fall_back_and_match_the_cpu() {
    use candle_core::Device;
    let gpu = Device::new_cuda(0).unwrap();
    let (x, w) = (
        random(Seed(21), &[2, 8, 9, 9]),
        random(Seed(22), &[8, 2, 3, 3]),
    );
    let on_gpu = |t: &Tensor| t.to_device(&gpu).unwrap();
    assert_eq!(conv_path(&on_gpu(&x), &on_gpu(&w), 4), ConvPath::Candle);
    let cpu = direct_conv2d(&x, &w, 1, 1, 1, 4).unwrap();
    let y = direct_conv2d(&on_gpu(&x), &on_gpu(&w), 1, 1, 1, 4).unwrap();
    assert!(max_abs_diff(&cpu, &y.to_device(&Device::Cpu).unwrap()) < 1e-4);
    let y = grouped_conv2d(&on_gpu(&x), &on_gpu(&w), 2, 1, 1, 4).unwrap();
    let cpu = grouped_conv2d(&x, &w, 2, 1, 1, 4).unwrap();
    assert!(max_abs_diff(&cpu, &y.to_device(&Device::Cpu).unwrap()) < 1e-4);
}

fn relu_then_conv(
    x: &Tensor,
    w: &Tensor,
    s: usize,
    p: usize,
    d: usize,
    g: usize,
) -> candle_core::Result<Tensor> {
    grouped_conv2d(&nasarena_ops::relu(x)?, w, s, p, d, g)
}

/// The fused ReLU-conv against the two ops it replaces (each checked
/// against candle and finite differences above), on every case: the
/// stride-1 dense and grouped ones run fused, the rest fall back.
#[test]
fn fused_relu_conv_matches_relu_then_conv() {
    let mut fused = 0;
    for (i, &c) in CASES.iter().enumerate() {
        let (x, w, r) = tensors(i, c);
        let (_, _, _, _, _, _, s, p, d, g) = c;
        let params = ConvParams {
            stride: s,
            padding: p,
            dilation: d,
            groups: g,
        };
        fused += usize::from(relu_conv_fuses(&params, x.dims(), w.dims()));
        let want = relu_then_conv(&x, &w, s, p, d, g).unwrap();
        let got = relu_conv2d(&x, &w, s, p, d, g).unwrap();
        let what = format!("case {i} {c:?}");
        assert_close(&got, &want, 1e-4, &format!("forward, {what}"));
        let (gx_want, gw_want) = grads(relu_then_conv, c, &x, &w, &r);
        let (gx, gw) = grads(relu_conv2d, c, &x, &w, &r);
        assert_close(&gx, &gx_want, 1e-4, &format!("grad x, {what}"));
        assert_close(&gw, &gw_want, 1e-4, &format!("grad w, {what}"));
    }
    assert!(fused >= 8, "only {fused} cases ran the fused op");
}

/// Rectangular kernels (the `macro` space's filters, Zoph & Le 2017),
/// unpadded as that space calls them (it pads each axis itself), at
/// stride 1 and 2, against candle's `conv2d` forward and backward.
#[test]
fn rectangular_kernels_match_candle() {
    // (n, c_in, h, w, c_out, k_h, k_w, stride); at stride 2 every window
    // row and column ends on the last one (candle's backward needs that).
    let cases = [
        (2, 3, 9, 11, 4, 1, 3, 1),
        (2, 3, 9, 11, 4, 3, 1, 1),
        (1, 4, 11, 13, 5, 5, 7, 1),
        (1, 4, 13, 11, 5, 7, 5, 1),
        (2, 3, 9, 11, 4, 3, 5, 2),
        (2, 6, 12, 10, 8, 1, 3, 1),
    ];
    for (i, (n, ci, h, wd, co, kh, kw, s)) in cases.into_iter().enumerate() {
        let seed = Seed(9).derive("ops-conv-rect-test", i as u64);
        let x = random(seed.derive("x", 0), &[n, ci, h, wd]);
        let w = random(seed.derive("w", 0), &[co, ci, kh, kw]);
        let want = reference(&x, &w, s, 0, 1, 1).unwrap();
        let r = random(seed.derive("r", 0), want.dims());
        let case: Case = (n, ci, h, wd, co, kh, s, 0, 1, 1);
        let what = format!("{kh}x{kw} kernel, stride {s}");
        let got = grouped_conv2d(&x, &w, s, 0, 1, 1).unwrap();
        assert_close(&got, &want, 1e-4, &format!("forward, {what}"));
        let (gx_want, gw_want) = grads(reference, case, &x, &w, &r);
        let (gx, gw) = grads(grouped_conv2d, case, &x, &w, &r);
        assert_close(&gx, &gx_want, 1e-4, &format!("grad x, {what}"));
        assert_close(&gw, &gw_want, 1e-4, &format!("grad w, {what}"));
    }
}

/// Every test of this file again on each other instruction-set path this
/// CPU has (`NASARENA_ISA`), in a child process per path.
#[test]
fn every_other_isa() {
    common::on_every_other_isa("every_other_isa");
}
