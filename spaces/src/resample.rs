//! Bilinear resizing and average pooling as separable linear maps, for the
//! segmentation heads (SqueezeNAS, Shaw et al. 2019; LR-ASPP, Howard et al.
//! 2019). Both act on rows and columns independently, so `y = A_h x A_w^T`
//! per channel with fixed matrices `A_h` (out_h x in_h) and `A_w` (out_w x
//! in_w). Written as two matrix products, they get exact gradients from
//! candle's matmul backward: candle's own `upsample_bilinear2d` has no
//! backward, and its `avg_pool2d` backward needs kernel == stride, which
//! the LR-ASPP gate (kernel 49, stride 16 x 20) does not have. The maps are
//! small next to the head's convolutions (an output pixel reads 2 x 2
//! inputs, a matrix product touches a row or column of them).

use candle_core::{Device, Result, Tensor};

/// Bilinear interpolation weights from `n_in` to `n_out` points along one
/// axis (row-major `n_out x n_in`), as PyTorch's `F.interpolate(mode=
/// "bilinear")`: with `align_corners` the end points coincide; without,
/// pixel centres are aligned (`src = (dst + 0.5) * n_in / n_out - 0.5`,
/// clamped at 0).
pub fn bilinear_weights(n_in: usize, n_out: usize, align_corners: bool) -> Vec<f32> {
    let mut a = vec![0f32; n_out * n_in];
    for o in 0..n_out {
        let src = if align_corners {
            if n_out > 1 {
                o as f64 * (n_in - 1) as f64 / (n_out - 1) as f64
            } else {
                0.0
            }
        } else {
            ((o as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5).max(0.0)
        };
        let i0 = (src.floor() as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        let f = (src - i0 as f64) as f32;
        a[o * n_in + i0] += 1.0 - f;
        a[o * n_in + i1] += f;
    }
    a
}

/// Average-pooling weights along one axis (`n_out x n_in`) for a window of
/// `kernel` points moved by `stride`, no padding: `n_out = (n_in - kernel)
/// / stride + 1`. The kernel is clamped to `n_in`, so a map smaller than
/// the window is averaged whole (the LR-ASPP gate on small inputs).
pub fn avg_pool_weights(n_in: usize, kernel: usize, stride: usize) -> Vec<f32> {
    let k = kernel.min(n_in).max(1);
    let n_out = (n_in - k) / stride.max(1) + 1;
    let mut a = vec![0f32; n_out * n_in];
    for o in 0..n_out {
        for i in o * stride..o * stride + k {
            a[o * n_in + i] = 1.0 / k as f32;
        }
    }
    a
}

/// Rows of an `n_out x n_in` weight matrix.
fn rows(w: &[f32], n_in: usize) -> usize {
    w.len() / n_in
}

/// Applies `y = A_h x A_w^T` to every channel of `x` (N x C x H x W), with
/// `a_h` (out_h x H) and `a_w` (out_w x W) row-major.
pub fn separable(x: &Tensor, a_h: &[f32], a_w: &[f32]) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let dev: &Device = x.device();
    let a_h = Tensor::from_slice(a_h, (rows(a_h, h), h), dev)?.to_dtype(x.dtype())?;
    let a_w_t = Tensor::from_slice(a_w, (rows(a_w, w), w), dev)?
        .to_dtype(x.dtype())?
        .t()?;
    let cols = x.broadcast_matmul(&a_w_t)?;
    a_h.broadcast_matmul(&cols)
}

/// Bilinear resize of `x` (N x C x H x W) to `h` x `w`.
pub fn resize_bilinear(x: &Tensor, h: usize, w: usize, align_corners: bool) -> Result<Tensor> {
    let (_, _, h_in, w_in) = x.dims4()?;
    if (h, w) == (h_in, w_in) {
        return Ok(x.clone());
    }
    separable(
        x,
        &bilinear_weights(h_in, h, align_corners),
        &bilinear_weights(w_in, w, align_corners),
    )
}

/// Average pooling of `x` with a `kernel` window and `stride` (per axis,
/// kernel clamped to the map, no padding).
pub fn avg_pool(x: &Tensor, kernel: (usize, usize), stride: (usize, usize)) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    separable(
        x,
        &avg_pool_weights(h, kernel.0, stride.0),
        &avg_pool_weights(w, kernel.1, stride.1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Var};

    #[test]
    fn bilinear_matches_hand_values_and_keeps_constants() {
        // 2 -> 4 without aligned corners: sources -0.25 (clamped 0), 0.25,
        // 0.75, 1.25 (clamped to the last point).
        let a = bilinear_weights(2, 4, false);
        assert_eq!(a, vec![1.0, 0.0, 0.75, 0.25, 0.25, 0.75, 0.0, 1.0]);
        // 2 -> 3 with aligned corners: 0, 0.5, 1.
        assert_eq!(
            bilinear_weights(2, 3, true),
            vec![1.0, 0.0, 0.5, 0.5, 0.0, 1.0]
        );
        for (n_in, n_out, ac) in [(3, 7, false), (4, 16, true), (5, 2, false)] {
            let a = bilinear_weights(n_in, n_out, ac);
            for r in a.chunks(n_in) {
                assert!((r.iter().sum::<f32>() - 1.0).abs() < 1e-6, "rows sum to 1");
            }
        }
        assert_eq!(
            avg_pool_weights(5, 3, 2),
            vec![
                1.0 / 3.0,
                1.0 / 3.0,
                1.0 / 3.0,
                0.0,
                0.0,
                0.0,
                0.0,
                1.0 / 3.0,
                1.0 / 3.0,
                1.0 / 3.0,
            ]
        );
        assert_eq!(avg_pool_weights(4, 49, 16), vec![0.25; 4], "kernel clamped");
        // The LR-ASPP gate at Cityscapes size: a 64 x 128 OS16 map pools
        // to 1 x 4 (kernel 49, stride 16 x 20), as in the official code.
        assert_eq!(avg_pool_weights(64, 49, 16).len() / 64, 1);
        assert_eq!(avg_pool_weights(128, 49, 20).len() / 128, 4);
    }

    #[test]
    fn resize_and_pool_apply_both_axes() {
        let x = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .and_then(|t| t.reshape((1, 1, 2, 3)))
            .expect("x");
        let y = resize_bilinear(&x, 3, 5, true).expect("resized");
        let v: Vec<f32> = y.flatten_all().and_then(|t| t.to_vec1()).expect("values");
        // Rows 0, 1.5 (midway), 3 per step along h; columns step 0.5.
        assert_eq!(&v[..5], &[0.0, 0.5, 1.0, 1.5, 2.0]);
        assert_eq!(&v[5..10], &[1.5, 2.0, 2.5, 3.0, 3.5]);
        let p = avg_pool(&x, (2, 2), (1, 1)).expect("pooled");
        let v: Vec<f32> = p.flatten_all().and_then(|t| t.to_vec1()).expect("values");
        assert_eq!(v, vec![2.0, 3.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let base: Vec<f64> = (0..2 * 3 * 4)
            .map(|i| ((i * 37) % 11) as f64 / 7.0 - 0.6)
            .collect();
        let weights: Vec<f64> = (0..2 * 5 * 7)
            .map(|i| ((i * 13) % 17) as f64 / 9.0 - 0.9)
            .collect();
        let w = Tensor::from_vec(weights, (1, 2, 5, 7), &Device::Cpu).expect("w");
        let f = |x: &Tensor| -> f64 {
            let up = resize_bilinear(x, 5, 7, false).expect("up");
            let pooled = avg_pool(&up, (3, 4), (2, 3)).expect("pool");
            let gated = resize_bilinear(&pooled, 5, 7, true).expect("gate");
            ((up * &w).expect("mul") * gated)
                .and_then(|t| t.sum_all())
                .and_then(|t| t.to_scalar::<f64>())
                .expect("loss")
        };
        let x = Var::from_vec(base.clone(), (1, 2, 3, 4), &Device::Cpu).expect("var");
        let up = resize_bilinear(x.as_tensor(), 5, 7, false).expect("up");
        let pooled = avg_pool(&up, (3, 4), (2, 3)).expect("pool");
        let gated = resize_bilinear(&pooled, 5, 7, true).expect("gate");
        let loss = ((up * &w).expect("mul") * gated)
            .and_then(|t| t.sum_all())
            .expect("loss");
        let grad = loss.backward().expect("backward");
        let g: Vec<f64> = grad
            .get(x.as_tensor())
            .expect("gradient")
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("values");
        let eps = 1e-6;
        for k in 0..base.len() {
            let at = |d: f64| {
                let mut v = base.clone();
                v[k] += d;
                f(&Tensor::from_vec(v, (1, 2, 3, 4), &Device::Cpu).expect("x"))
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            assert!(
                (g[k] - numeric).abs() < 1e-6,
                "x[{k}]: {} vs {numeric}",
                g[k]
            );
        }
        assert_eq!(x.dtype(), DType::F64);
    }
}
