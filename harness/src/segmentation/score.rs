//! Scoring a segmentation network on a split: the confusion matrix its
//! predictions make (for mean IoU, [`super::metric`]) and its mean
//! per-pixel loss, over the whole split in order, unaugmented.

use super::data::SegSet;
use super::loss::pixel_cross_entropy;
use super::metric::ConfusionMatrix;
use crate::task_set::Forward;
use crate::{Error, Result};
use candle_core::{DType, Device};

/// The confusion matrix and mean per-pixel loss of `forward` over `set`,
/// in order, unaugmented.
pub fn confusion(
    forward: Forward<'_>,
    set: &SegSet,
    stats: &[(f64, f64)],
    batch_size: usize,
    device: &Device,
) -> Result<(ConfusionMatrix, f64)> {
    let mut m = ConfusionMatrix::new(set.classes.len());
    let all: Vec<usize> = (0..set.len()).collect();
    let (mut loss_sum, mut seen) = (0.0, 0usize);
    for idx in all.chunks(batch_size) {
        let (x, y) = set.batch(idx, stats, None, device)?;
        let logits = forward(&x)?;
        let loss = pixel_cross_entropy(&logits, &y)?;
        loss_sum += loss.to_dtype(DType::F64)?.to_scalar::<f64>()? * idx.len() as f64;
        seen += idx.len();
        let predicted: Vec<u32> = logits.argmax(1)?.flatten_all()?.to_vec1()?;
        m.add(&set.masks(idx), &predicted)
            .map_err(Error::DataMismatch)?;
    }
    let loss = loss_sum / seen.max(1) as f64;
    Ok((
        m,
        if loss.is_finite() {
            loss
        } else {
            f64::INFINITY
        },
    ))
}
