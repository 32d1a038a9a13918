//! Checks the 3x3 average pooling (stride 1, padding 1, padded cells not
//! counted) on known values, against its stock-candle composition
//! (forward and autograd backward) and against central finite
//! differences, on planes down to a single cell.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use candle_core::{Device, Tensor, Var};
use nasarena_core::Seed;
use nasarena_ops::{avg_pool_3x3, avg_pool_3x3_composed};

mod common;

use common::random;

/// `(n, c, h, w)`: the cell network's maps, odd and non-square planes, a
/// plane wider than tall, one row, one cell, more planes than one task.
const SHAPES: &[[usize; 4]] = &[
    [2, 3, 8, 8],
    [1, 2, 5, 7],
    [2, 1, 2, 9],
    [1, 2, 1, 4],
    [3, 2, 1, 1],
    [2, 17, 3, 3],
];

type Pool = fn(&Tensor) -> candle_core::Result<Tensor>;

/// Output and input gradient of `sum(pool(x) * r)`.
fn run(pool: Pool, x: &Tensor, r: &Tensor) -> (Vec<f32>, Vec<f32>) {
    let xv = Var::from_tensor(x).unwrap();
    let y = pool(xv.as_tensor()).unwrap();
    let grads = (&y * r).unwrap().sum_all().unwrap().backward().unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    (flat(&y), flat(grads.get(&xv).unwrap()))
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
            "{what} at {k}: {g} vs {w}"
        );
    }
}

#[test]
fn windows_count_only_real_cells() {
    let x = Tensor::arange(0f32, 9.0, &Device::Cpu)
        .unwrap()
        .reshape((1, 1, 3, 3))
        .unwrap();
    let y: Vec<f32> = avg_pool_3x3(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    // Corner: mean of 0, 1, 3, 4; edge: of 0-5; centre: of all nine.
    assert_close(&y[..5], &[2.0, 2.5, 3.0, 3.5, 4.0], "3x3 ramp");
}

#[test]
fn matches_the_stock_candle_composition() {
    for (i, dims) in SHAPES.iter().enumerate() {
        let seed = Seed(17).derive("ops-pool-test", i as u64);
        let x = random(seed.derive("x", 0), dims);
        let r = random(seed.derive("r", 0), dims);
        let (y_want, g_want) = run(avg_pool_3x3_composed, &x, &r);
        let (y, g) = run(avg_pool_3x3, &x, &r);
        assert_close(&y, &y_want, &format!("forward {dims:?}"));
        assert_close(&g, &g_want, &format!("gradient {dims:?}"));
    }
}

#[test]
fn gradient_matches_central_differences() {
    let dims = [1, 2, 4, 5];
    let x = random(Seed(3), &dims);
    let r = random(Seed(4), &dims);
    let (_, grad) = run(avg_pool_3x3, &x, &r);
    let loss = |x: &Tensor| -> f64 {
        let y = avg_pool_3x3(x).unwrap();
        f64::from(
            (y * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap(),
        )
    };
    let flat: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
    let h = 1e-2f32;
    for k in 0..flat.len() {
        let nudged = |d: f32| {
            let mut v = flat.clone();
            v[k] += d;
            Tensor::from_vec(v, &dims, &Device::Cpu).unwrap()
        };
        let numeric = (loss(&nudged(h)) - loss(&nudged(-h))) / (2.0 * f64::from(h));
        assert!(
            (numeric - f64::from(grad[k])).abs() < 1e-3,
            "cell {k}: {numeric} vs {}",
            grad[k]
        );
    }
}

#[test]
fn a_tensor_that_is_not_4d_is_an_error() {
    let err = avg_pool_3x3(&random(Seed(5), &[3, 4]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("rank"), "{err}");
}
