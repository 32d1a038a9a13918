//! Helpers shared by the op tests (each test file is its own crate and
//! uses a subset, hence the allowance below).
#![allow(dead_code)]

use candle_core::{Device, Tensor};
use nasarena_core::Seed;
use rand::Rng;

/// A convolution case: `(n, c_in, h, w, c_out, k, stride, padding,
/// dilation, groups)`.
pub type ConvCase = (
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
);

/// A CPU f32 tensor of `dims` with values drawn uniformly from `lo..hi`
/// by `seed`'s generator.
pub fn random_in(seed: Seed, dims: &[usize], lo: f32, hi: f32) -> Tensor {
    let mut rng = seed.rng();
    let len: usize = dims.iter().product();
    let data: Vec<f32> = (0..len).map(|_| rng.random_range(lo..hi)).collect();
    Tensor::from_vec(data, dims, &Device::Cpu).expect("shape matches data")
}

/// [`random_in`] over `-1..1`.
pub fn random(seed: Seed, dims: &[usize]) -> Tensor {
    random_in(seed, dims, -1.0, 1.0)
}
