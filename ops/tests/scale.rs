//! The fused `y * w` (one-element `w`) against candle's `broadcast_mul`:
//! the same bits forward, the same `dy` (exactly `g` when `w` is 1, GDAS's
//! straight-through value), `dw` within float rounding of candle's and of
//! a central difference; strided inputs and other dtypes fall back or are
//! made contiguous.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use candle_core::{DType, Device, Tensor, Var};
use nasarena_core::Seed;
use nasarena_ops::scale_by;

mod common;

use common::random;

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

/// `(y * w, dy, dw)` of `sum(f(y, w) * r)`.
fn run(
    f: fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>,
    y: &Var,
    w: &Var,
    r: &Tensor,
) -> (Vec<f32>, Vec<f32>, f32) {
    let out = f(y.as_tensor(), w.as_tensor()).unwrap();
    let grads = (&out * r).unwrap().sum_all().unwrap().backward().unwrap();
    let dy = flat(grads.get(y).unwrap());
    let dw = flat(grads.get(w).unwrap())[0];
    (flat(&out), dy, dw)
}

fn candle(y: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    y.broadcast_mul(&w.reshape((1, 1, 1, 1))?)
}

fn ours(y: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    scale_by(y, w)
}

#[test]
fn matches_broadcast_mul_for_straight_through_and_soft_weights() {
    // 70,000 elements: more than two of the op's 32,768-element tasks.
    let dims = [2, 5, 70, 100];
    let seed = Seed(21).derive("ops-scale-test", 0);
    let y = Var::from_tensor(&random(seed.derive("y", 0), &dims)).unwrap();
    let r = random(seed.derive("r", 0), &dims);
    for value in [1.0f32, 0.37] {
        let w = Var::from_tensor(&Tensor::new(&[[value]], &Device::Cpu).unwrap()).unwrap();
        let (out, dy, dw) = run(ours, &y, &w, &r);
        let (out_c, dy_c, dw_c) = run(candle, &y, &w, &r);
        assert_eq!(out, out_c, "forward, w = {value}");
        assert_eq!(dy, dy_c, "dy, w = {value}");
        if value == 1.0 {
            assert_eq!(dy, flat(&r), "dy is the incoming gradient itself");
        }
        assert!(
            (dw - dw_c).abs() <= 1e-4 * dw_c.abs().max(1.0),
            "dw {dw} vs candle {dw_c}"
        );
        // Central difference of sum(y * w * r) in w (linear: exact up to
        // rounding).
        let at = |v: f32| {
            let w = Tensor::new(&[[v]], &Device::Cpu).unwrap();
            let s = (scale_by(y.as_tensor(), &w).unwrap() * &r).unwrap();
            f64::from(s.sum_all().unwrap().to_scalar::<f32>().unwrap())
        };
        let h = 1e-2;
        let fd = (at(value + h) - at(value - h)) / (2.0 * f64::from(h));
        assert!(
            (f64::from(dw) - fd).abs() <= 1e-2 * fd.abs().max(1.0),
            "dw {dw} vs fd {fd}"
        );
    }
}

#[test]
fn strided_inputs_and_other_dtypes_work() {
    let y = random(Seed(3), &[30, 40]).t().unwrap();
    let w = Tensor::new(&[2.0f32], &Device::Cpu).unwrap();
    let got = flat(&scale_by(&y, &w).unwrap());
    let want = flat(&y.affine(2.0, 0.0).unwrap());
    assert_eq!(got, want);
    let y64 = Tensor::new(&[1.5f64, -2.0], &Device::Cpu).unwrap();
    let w64 = Tensor::new(&[3.0f64], &Device::Cpu).unwrap();
    let out = scale_by(&y64, &w64).unwrap();
    assert_eq!(out.dtype(), DType::F64);
    assert_eq!(out.to_vec1::<f64>().unwrap(), vec![4.5, -6.0]);
}
