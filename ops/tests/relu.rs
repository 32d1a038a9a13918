//! The custom-op ReLU against candle's: forward values and the gradient
//! through a product, on contiguous and transposed inputs; zero gradient
//! at exactly zero; other dtypes fall back to candle.

use candle_core::{DType, Device, Tensor, Var};
use nasarena_core::Seed;
use nasarena_ops::relu;
mod common;

use common::random;

/// `(relu(x), d/dx sum(relu(x) * w))` with the given relu.
fn value_and_grad(
    f: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
    x: &Tensor,
    w: &Tensor,
    transpose: bool,
) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
    let var = Var::from_tensor(x)?;
    let input = if transpose {
        var.as_tensor().t()?
    } else {
        var.as_tensor().clone()
    };
    let y = f(&input)?;
    let grads = (&y * w)?.sum_all()?.backward()?;
    let g = grads.get(var.as_tensor()).expect("x has a gradient");
    Ok((y.flatten_all()?.to_vec1()?, g.flatten_all()?.to_vec1()?))
}

#[test]
fn forward_and_gradient_match_candle() {
    for transpose in [false, true] {
        let x = random(Seed(1), &[70_001 / 7, 7]);
        let w_dims = if transpose { [7, 10_000] } else { [10_000, 7] };
        let w = random(Seed(2), &w_dims);
        let x = x.narrow(0, 0, 10_000).unwrap();
        let ours = value_and_grad(relu, &x, &w, transpose).unwrap();
        let candle = value_and_grad(|t| t.relu(), &x, &w, transpose).unwrap();
        assert_eq!(ours, candle, "transpose {transpose}");
    }
}

#[test]
fn the_gradient_at_zero_is_zero_like_pytorch() {
    let x = Tensor::new(&[-1.0f32, 0.0, 2.0], &Device::Cpu).unwrap();
    let w = Tensor::new(&[1.0f32, 1.0, 1.0], &Device::Cpu).unwrap();
    let (y, g) = value_and_grad(relu, &x, &w, false).unwrap();
    assert_eq!(y, vec![0.0, 0.0, 2.0]);
    assert_eq!(g, vec![0.0, 0.0, 1.0]);
}

#[test]
fn other_dtypes_fall_back_to_candle() {
    let x = Tensor::new(&[-1.5f64, 0.5], &Device::Cpu).unwrap();
    let y = relu(&x).unwrap();
    assert_eq!(y.dtype(), DType::F64);
    assert_eq!(y.to_vec1::<f64>().unwrap(), vec![0.0, 0.5]);
}
