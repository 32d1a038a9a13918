//! Per-pixel cross-entropy for segmentation, skipping unlabelled pixels
//! (PyTorch's `cross_entropy(..., ignore_index=255)` with mean reduction,
//! the loss SqueezeNAS trains Cityscapes with): the mean over labelled
//! pixels of minus the log-probability of the true class. Built from
//! differentiable candle ops (log-softmax over the class dimension, a
//! gather, a mask), so gradients flow to the logits of labelled pixels
//! only.

use candle_core::{DType, Result, Tensor, D};
use nasarena_datasets::segmentation::IGNORE_LABEL;

/// Mean cross-entropy of `logits` (N x K x H x W) against `labels`
/// (N x H x W, integer class ids, [`IGNORE_LABEL`] skipped). Zero (with
/// zero gradient) when every pixel is ignored.
pub fn pixel_cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let labels = labels.to_dtype(DType::U32)?;
    let labelled = labels.ne(u32::from(IGNORE_LABEL))?;
    let safe = labelled.where_cond(&labels, &labels.zeros_like()?)?;
    let log_probs = candle_nn::ops::log_softmax(logits, 1)?;
    let picked = log_probs.gather(&safe.unsqueeze(1)?, 1)?.squeeze(1)?;
    let weight = labelled.to_dtype(logits.dtype())?;
    let count = weight.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    let total = (picked * weight)?.flatten_all()?.sum(D::Minus1)?;
    total.affine(-1.0 / count.max(1.0), 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn logits_and_labels() -> (Var, Tensor) {
        // 1 image, 3 classes, 1 x 3 pixels.
        let logits = Tensor::new(
            &[[[[1.0f64, 0.5, -1.0]], [[0.0, 2.0, 0.3]], [[-0.5, 1.0, 0.7]]]],
            &Device::Cpu,
        )
        .expect("logits");
        let labels = Tensor::new(&[[[0u8, 255, 2]]], &Device::Cpu).expect("labels");
        (Var::from_tensor(&logits).expect("var"), labels)
    }

    fn log_softmax(xs: [f64; 3], k: usize) -> f64 {
        let lse = xs.iter().map(|x| x.exp()).sum::<f64>().ln();
        xs[k] - lse
    }

    #[test]
    fn mean_over_labelled_pixels_by_hand() {
        let (logits, labels) = logits_and_labels();
        let loss = pixel_cross_entropy(logits.as_tensor(), &labels)
            .and_then(|l| l.to_scalar::<f64>())
            .expect("loss");
        let want = -(log_softmax([1.0, 0.0, -0.5], 0) + log_softmax([-1.0, 0.3, 0.7], 2)) / 2.0;
        assert!((loss - want).abs() < 1e-12, "{loss} vs {want}");

        let all_ignored = Tensor::new(&[[[255u8, 255, 255]]], &Device::Cpu).expect("labels");
        let zero = pixel_cross_entropy(logits.as_tensor(), &all_ignored)
            .and_then(|l| l.to_scalar::<f64>())
            .expect("loss");
        assert_eq!(zero, 0.0);
    }

    #[test]
    fn gradients_match_central_differences_and_skip_ignored_pixels() {
        let (logits, labels) = logits_and_labels();
        let loss = pixel_cross_entropy(logits.as_tensor(), &labels).expect("loss");
        let grads = loss.backward().expect("backward");
        let g: Vec<f64> = grads
            .get(logits.as_tensor())
            .expect("gradient")
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("values");
        let base: Vec<f64> = logits
            .as_tensor()
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("values");
        let eps = 1e-6;
        for (k, &gk) in g.iter().enumerate() {
            let at = |delta: f64| {
                let mut v = base.clone();
                v[k] += delta;
                let t = Tensor::from_vec(v, (1, 3, 1, 3), &Device::Cpu).expect("tensor");
                pixel_cross_entropy(&t, &labels)
                    .and_then(|l| l.to_scalar::<f64>())
                    .expect("loss")
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            assert!((gk - numeric).abs() < 1e-7, "logit {k}: {gk} vs {numeric}");
            if k % 3 == 1 {
                assert_eq!(gk, 0.0, "the ignored pixel's logit {k} gets no gradient");
            }
        }
    }
}
