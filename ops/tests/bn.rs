//! Checks the fused batch norm (+ ReLU) against candle's reference
//! composition (forward and autograd backward) and against central finite
//! differences, on seeded random inputs of several shapes.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use candle_core::{Device, Tensor, Var, D};
use nasarena_core::Seed;
use nasarena_ops::{
    batch_norm_eval, batch_norm_eval_composed, batch_norm_train, batch_norm_train_composed,
};
mod common;

use common::random_in as random;
use rand::Rng;

const EPS: f64 = 1e-5;
/// `(n, c, h, w)`: odd planes, planes shorter than the lanes (run
/// channels-last, one with more channels than a 64-channel block), n = 1.
const SHAPES: &[[usize; 4]] = &[
    [2, 3, 5, 7],
    [4, 5, 3, 3],
    [1, 2, 9, 8],
    [3, 4, 1, 1],
    [3, 70, 2, 2],
];

/// candle's composition: batch statistics over (N, H, W), biased variance.
fn reference(x: &Tensor, g: &Tensor, b: &Tensor, relu: bool) -> Tensor {
    let c = x.dim(1).unwrap();
    let mean = x.mean_keepdim(0).unwrap().mean_keepdim(2).unwrap();
    let mean = mean.mean_keepdim(3).unwrap();
    let centred = x.broadcast_sub(&mean).unwrap();
    let var = centred.sqr().unwrap().mean_keepdim(0).unwrap();
    let var = var.mean_keepdim(2).unwrap().mean_keepdim(3).unwrap();
    let y = centred
        .broadcast_div(&(var + EPS).unwrap().sqrt().unwrap())
        .unwrap()
        .broadcast_mul(&g.reshape((1, c, 1, 1)).unwrap())
        .unwrap()
        .broadcast_add(&b.reshape((1, c, 1, 1)).unwrap())
        .unwrap();
    if relu {
        y.relu().unwrap()
    } else {
        y
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let d = (a - b).unwrap().abs().unwrap().flatten_all().unwrap();
    d.max(D::Minus1).unwrap().to_scalar::<f32>().unwrap()
}

struct Case {
    x: Var,
    g: Var,
    b: Var,
    r: Tensor,
}

fn case(i: usize, dims: [usize; 4]) -> Case {
    let seed = Seed(5).derive("ops-bn-test", i as u64);
    let c = dims[1];
    Case {
        // An offset mean, so centring matters.
        x: Var::from_tensor(&random(seed.derive("x", 0), &dims, -1.0, 2.0)).unwrap(),
        g: Var::from_tensor(&random(seed.derive("g", 0), &[c], 0.5, 1.5)).unwrap(),
        b: Var::from_tensor(&random(seed.derive("b", 0), &[c], -0.5, 0.5)).unwrap(),
        r: random(seed.derive("r", 0), &dims, -1.0, 1.0),
    }
}

#[test]
fn train_forward_and_gradients_match_candle() {
    for relu in [false, true] {
        for (i, &dims) in SHAPES.iter().enumerate() {
            let k = case(i, dims);
            let (ours, stats) = batch_norm_train(&k.x, &k.g, &k.b, EPS, relu).unwrap();
            let theirs = reference(&k.x, &k.g, &k.b, relu);
            assert!(max_abs_diff(&ours, &theirs) < 1e-4, "{dims:?} relu {relu}");
            assert_eq!(stats.count, dims[0] * dims[2] * dims[3]);
            let ga = (ours * &k.r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let gb = (theirs * &k.r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for v in [&k.x, &k.g, &k.b] {
                let (a, b) = (ga.get(v).unwrap(), gb.get(v).unwrap());
                assert!(
                    max_abs_diff(a, b) < 1e-3,
                    "{dims:?} relu {relu}: grads differ"
                );
            }
        }
    }
}

fn loss(x: &Tensor, g: &Tensor, b: &Tensor, r: &Tensor, relu: bool) -> f64 {
    let (y, _) = batch_norm_train(x, g, b, EPS, relu).unwrap();
    let y = y.to_dtype(candle_core::DType::F64).unwrap();
    let r = r.to_dtype(candle_core::DType::F64).unwrap();
    (y * r)
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

fn nudge(t: &Tensor, at: usize, delta: f32) -> Tensor {
    let mut v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
    v[at] += delta;
    Tensor::from_vec(v, t.dims(), t.device()).unwrap()
}

/// Without the ReLU: a step that moves an element across the ReLU's kink
/// makes the difference quotient meaningless (nudging beta shifts a whole
/// channel); the fused ReLU's gradient is checked against candle's
/// composition above.
#[test]
fn gradients_match_central_differences() {
    let h = 1e-2f32;
    for relu in [false] {
        for (i, &dims) in SHAPES.iter().take(3).enumerate() {
            let k = case(i, dims);
            let (y, _) = batch_norm_train(&k.x, &k.g, &k.b, EPS, relu).unwrap();
            let grads = (y * &k.r).unwrap().sum_all().unwrap().backward().unwrap();
            let (x, g, b) = (k.x.as_tensor(), k.g.as_tensor(), k.b.as_tensor());
            let mut rng = Seed(9).derive("bn-fd", i as u64).rng();
            for which in 0..3 {
                let t = [x, g, b][which];
                let analytic: Vec<f32> = grads
                    .get(t)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap();
                for _ in 0..6 {
                    let at = rng.random_range(0..t.elem_count());
                    let f = |d: f32| {
                        let p = nudge(t, at, d);
                        let (xx, gg, bb) = match which {
                            0 => (&p, g, b),
                            1 => (x, &p, b),
                            _ => (x, g, &p),
                        };
                        loss(xx, gg, bb, &k.r, relu)
                    };
                    let numeric = (f(h) - f(-h)) / (2.0 * f64::from(h));
                    let a = f64::from(analytic[at]);
                    // The tolerance covers f32 noise.
                    assert!(
                        (numeric - a).abs() < 2e-2 * (1.0 + a.abs()),
                        "{dims:?} relu {relu} arg {which} at {at}: numeric {numeric} analytic {a}"
                    );
                }
            }
        }
    }
}

#[test]
fn eval_matches_the_folded_affine_map() {
    let k = case(0, SHAPES[0]);
    let c = SHAPES[0][1];
    let scale: Vec<f32> = (0..c).map(|i| 0.5 + i as f32).collect();
    let shift: Vec<f32> = (0..c).map(|i| i as f32 - 1.0).collect();
    for relu in [false, true] {
        let ours = batch_norm_eval(&k.x, scale.clone(), shift.clone(), relu).unwrap();
        let s = Tensor::from_slice(&scale, (1, c, 1, 1), &Device::Cpu).unwrap();
        let t = Tensor::from_slice(&shift, (1, c, 1, 1), &Device::Cpu).unwrap();
        let mut want = k.x.broadcast_mul(&s).unwrap().broadcast_add(&t).unwrap();
        if relu {
            want = want.relu().unwrap();
        }
        assert!(max_abs_diff(&ours, &want) < 1e-5);
        let gx = (ours * &k.r)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gw = (want * &k.r)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let (a, b) = (gx.get(&k.x).unwrap(), gw.get(&k.x).unwrap());
        assert!(max_abs_diff(a, b) < 1e-5);
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    for dims in [[8, 6, 12, 12], [9, 130, 2, 2]] {
        same_results_on_one_and_three_threads(dims);
    }
}

fn same_results_on_one_and_three_threads(dims: [usize; 4]) {
    let k = case(1, dims);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let (y, _) = batch_norm_train(&k.x, &k.g, &k.b, EPS, true).unwrap();
            let grads = (&y * &k.r).unwrap().sum_all().unwrap().backward().unwrap();
            let gx: Vec<f32> = grads
                .get(&k.x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let y: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
            (y, gx)
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn bad_shapes_are_errors() {
    let x = random(Seed(1), &[2, 3, 4], -1.0, 1.0);
    let g = random(Seed(2), &[3], -1.0, 1.0);
    let err = batch_norm_train(&x, &g, &g, EPS, false).unwrap_err();
    assert!(err.to_string().contains("4-D"), "{err}");
    let x = random(Seed(1), &[2, 4, 2, 2], -1.0, 1.0);
    let err = batch_norm_train(&x, &g, &g, EPS, false).unwrap_err();
    assert!(err.to_string().contains("4 elements"), "{err}");
}

fn max_abs_vec(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The composed versions are what CUDA tensors get; checked here on the
/// CPU against the fused kernels: outputs, statistics and gradients.
#[test]
fn composed_fallbacks_match_the_fused_kernels() {
    for relu in [false, true] {
        for (i, &dims) in SHAPES.iter().enumerate() {
            let k = case(i, dims);
            let (fused, fs) = batch_norm_train(&k.x, &k.g, &k.b, EPS, relu).unwrap();
            let (composed, cs) = batch_norm_train_composed(&k.x, &k.g, &k.b, EPS, relu).unwrap();
            assert!(
                max_abs_diff(&fused, &composed) < 1e-4,
                "{dims:?} relu {relu}"
            );
            assert_eq!(fs.count, cs.count);
            assert!(max_abs_vec(&fs.mean, &cs.mean) < 1e-5);
            assert!(max_abs_vec(&fs.var, &cs.var) < 1e-4);
            let largest = fs.invstd.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            assert!(max_abs_vec(&fs.invstd, &cs.invstd) < 1e-4 * largest);
            let gf = (fused * &k.r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let gc = (composed * &k.r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for v in [&k.x, &k.g, &k.b] {
                let (a, b) = (gf.get(v).unwrap(), gc.get(v).unwrap());
                assert!(
                    max_abs_diff(a, b) < 1e-3,
                    "{dims:?} relu {relu}: grads differ"
                );
            }
            let c = dims[1];
            let scale: Vec<f32> = (0..c).map(|j| 0.5 + j as f32 * 0.25).collect();
            let shift: Vec<f32> = (0..c).map(|j| j as f32 * 0.1 - 0.2).collect();
            let ef = batch_norm_eval(&k.x, scale.clone(), shift.clone(), relu).unwrap();
            let ec = batch_norm_eval_composed(&k.x, &scale, &shift, relu).unwrap();
            assert!(max_abs_diff(&ef, &ec) < 1e-5, "{dims:?} relu {relu}: eval");
        }
    }
}

/// On a GPU the public entry points take the composed path and agree with
/// the CPU's fused kernels.
#[cfg(feature = "cuda")]
#[test]
fn cuda_tensors_fall_back_and_match_the_cpu() {
    let gpu = Device::new_cuda(0).unwrap();
    for (i, &dims) in SHAPES.iter().enumerate() {
        let k = case(i, dims);
        let (cpu, cs) = batch_norm_train(&k.x, &k.g, &k.b, EPS, true).unwrap();
        let on_gpu = |t: &Tensor| t.to_device(&gpu).unwrap();
        let (y, gs) =
            batch_norm_train(&on_gpu(&k.x), &on_gpu(&k.g), &on_gpu(&k.b), EPS, true).unwrap();
        assert!(
            max_abs_diff(&cpu, &y.to_device(&Device::Cpu).unwrap()) < 1e-4,
            "{dims:?}"
        );
        assert!(max_abs_vec(&cs.mean, &gs.mean) < 1e-5);
        let scale = vec![1.5f32; dims[1]];
        let shift = vec![-0.25f32; dims[1]];
        let e_cpu = batch_norm_eval(&k.x, scale.clone(), shift.clone(), true).unwrap();
        let e_gpu = batch_norm_eval(&on_gpu(&k.x), scale, shift, true).unwrap();
        assert!(max_abs_diff(&e_cpu, &e_gpu.to_device(&Device::Cpu).unwrap()) < 1e-5);
    }
}

/// Every test of this file again on each other instruction-set path this
/// CPU has (`NASARENA_ISA`), in a child process per path.
#[test]
fn every_other_isa() {
    common::on_every_other_isa("every_other_isa");
}
