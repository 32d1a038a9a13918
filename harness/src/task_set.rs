//! The data a one-shot search trains its supernet on and scores
//! architectures with, whatever the task: labelled images
//! ([`ImageSet`], cross-entropy and accuracy) or segmentation scenes
//! ([`crate::segmentation::scene_set::SceneSet`], per-pixel cross-entropy
//! and mean IoU). The search loop sees only [`TaskSet`], so FBNet, GDAS,
//! SqueezeNAS and DARTS search both tasks with the same code.

use crate::trainer::{evaluate_with, EvalStats, Schedule};
use crate::Result;
use candle_core::{Device, Tensor};
use nasarena_core::Seed;
use nasarena_datasets::{Augment, BatchConfig, Batcher, Dataset, ImageDataset, Normalization};
use std::borrow::Cow;

/// A forward pass: inputs to logits.
pub type Forward<'f> = &'f dyn Fn(&Tensor) -> candle_core::Result<Tensor>;

/// One split of a search's data.
pub trait TaskSet: Send + Sync {
    /// Samples in the split.
    fn len(&self) -> usize;

    /// True when it holds none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `n` samples (for timing probes).
    fn head(&self, n: usize) -> Result<Box<dyn TaskSet + '_>>;

    /// Training batches: shuffled per epoch by `seed`, augmented as
    /// `schedule` says; `drop_last` leaves out a short last batch.
    fn batches(
        &self,
        schedule: &Schedule,
        batch_size: usize,
        drop_last: bool,
        seed: Seed,
    ) -> Result<Box<dyn BatchStream + '_>>;

    /// The task loss (a scalar) of `logits` against labels `y`.
    fn loss(&self, logits: &Tensor, y: &Tensor) -> Result<Tensor>;

    /// Mean loss and the task's score in [0, 1] (accuracy, or mean IoU)
    /// of `forward` over the whole split, in order, unaugmented.
    fn score(&self, forward: Forward<'_>, batch_size: usize, device: &Device) -> Result<EvalStats>;
}

/// Batches of one split, epoch after epoch.
pub trait BatchStream {
    /// Starts epoch `epoch` (a fresh seeded order).
    fn start_epoch(&mut self, epoch: u64);

    /// The next batch on `device`: inputs, labels, batch size; `None` at
    /// the end of the epoch.
    fn next(&mut self, device: &Device) -> Result<Option<(Tensor, Tensor, usize)>>;
}

/// Labelled images normalised with the training split's statistics.
#[derive(Debug)]
pub struct ImageSet<'a> {
    /// The images.
    pub data: Cow<'a, ImageDataset>,
    /// The normalisation of the training split.
    pub norm: &'a Normalization,
}

impl<'a> ImageSet<'a> {
    /// The images of `data`, normalised by `norm`.
    pub fn new(data: &'a ImageDataset, norm: &'a Normalization) -> Self {
        ImageSet {
            data: Cow::Borrowed(data),
            norm,
        }
    }
}

struct ImageBatches<'d>(Batcher<'d>);

impl BatchStream for ImageBatches<'_> {
    fn start_epoch(&mut self, epoch: u64) {
        self.0.start_epoch(epoch);
    }

    fn next(&mut self, device: &Device) -> Result<Option<(Tensor, Tensor, usize)>> {
        let Some(batch) = self.0.next_batch() else {
            return Ok(None);
        };
        let x = Tensor::from_slice(batch.images, batch.shape.to_vec(), device)?;
        let y = Tensor::from_slice(batch.labels, batch.shape[0], device)?;
        Ok(Some((x, y, batch.shape[0])))
    }
}

impl TaskSet for ImageSet<'_> {
    fn len(&self) -> usize {
        self.data.len()
    }

    fn head(&self, n: usize) -> Result<Box<dyn TaskSet + '_>> {
        let idx: Vec<usize> = (0..n.min(self.data.len())).collect();
        let data = self.data.subset(&idx, self.data.name().to_string())?;
        Ok(Box::new(ImageSet {
            data: Cow::Owned(data),
            norm: self.norm,
        }))
    }

    fn batches(
        &self,
        schedule: &Schedule,
        batch_size: usize,
        drop_last: bool,
        seed: Seed,
    ) -> Result<Box<dyn BatchStream + '_>> {
        let cfg = BatchConfig {
            batch_size,
            shuffle: true,
            drop_last,
            augment: Augment {
                pad: schedule.crop_padding,
                hflip: schedule.horizontal_flip,
            },
        };
        Ok(Box::new(ImageBatches(Batcher::new(
            &self.data, self.norm, cfg, seed,
        )?)))
    }

    fn loss(&self, logits: &Tensor, y: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::loss::cross_entropy(logits, y)?)
    }

    fn score(&self, forward: Forward<'_>, batch_size: usize, device: &Device) -> Result<EvalStats> {
        evaluate_with(forward, &self.data, self.norm, batch_size, device)
    }
}
