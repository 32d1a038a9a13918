//! Segmentation scenes as a [`TaskSet`]: per-pixel cross-entropy with the
//! ignore label for training, mean IoU as the score (Shaw et al. 2019
//! search and report segmentation encoders by mIoU), batches shuffled per
//! epoch by the seed and jointly augmented as the schedule says.

use super::data::{joint_augment, SegSet};
use super::loss::pixel_cross_entropy;
use super::score::confusion;
use crate::task_set::{BatchStream, Forward, TaskSet};
use crate::trainer::{EvalStats, Schedule};
use crate::Result;
use candle_core::{Device, Tensor};
use nasarena_core::{Seed, SeedRng};
use nasarena_datasets::segmentation::joint::JointAugment;
use rand::seq::SliceRandom;
use std::borrow::Cow;

/// Scenes normalised with the training split's channel statistics.
#[derive(Debug)]
pub struct SceneSet<'a> {
    /// The scenes.
    pub data: Cow<'a, SegSet>,
    /// Per-channel (mean, std) of the training split.
    pub stats: &'a [(f64, f64)],
}

impl<'a> SceneSet<'a> {
    /// The scenes of `data`, normalised with `stats`.
    pub fn new(data: &'a SegSet, stats: &'a [(f64, f64)]) -> Self {
        SceneSet {
            data: Cow::Borrowed(data),
            stats,
        }
    }
}

struct SceneBatches<'d> {
    set: &'d SegSet,
    stats: &'d [(f64, f64)],
    augment: JointAugment,
    batch_size: usize,
    drop_last: bool,
    seed: Seed,
    order: Vec<usize>,
    pos: usize,
    rng: SeedRng,
}

impl BatchStream for SceneBatches<'_> {
    fn start_epoch(&mut self, epoch: u64) {
        self.order = (0..self.set.len()).collect();
        self.order
            .shuffle(&mut self.seed.derive("scene-order", epoch).rng());
        self.rng = self.seed.derive("scene-augment", epoch).rng();
        self.pos = 0;
    }

    fn next(&mut self, device: &Device) -> Result<Option<(Tensor, Tensor, usize)>> {
        let n = (self.order.len() - self.pos).min(self.batch_size);
        if n == 0 || (self.drop_last && n < self.batch_size) {
            return Ok(None);
        }
        let idx = &self.order[self.pos..self.pos + n];
        self.pos += n;
        let (x, y) = self.set.batch(
            idx,
            self.stats,
            Some((&self.augment, &mut self.rng)),
            device,
        )?;
        Ok(Some((x, y, n)))
    }
}

impl TaskSet for SceneSet<'_> {
    fn len(&self) -> usize {
        self.data.len()
    }

    fn head(&self, n: usize) -> Result<Box<dyn TaskSet + '_>> {
        let idx: Vec<usize> = (0..n.min(self.data.len())).collect();
        Ok(Box::new(SceneSet {
            data: Cow::Owned(self.data.subset(&idx)),
            stats: self.stats,
        }))
    }

    fn batches(
        &self,
        schedule: &Schedule,
        batch_size: usize,
        drop_last: bool,
        seed: Seed,
    ) -> Result<Box<dyn BatchStream + '_>> {
        Ok(Box::new(SceneBatches {
            set: &self.data,
            stats: self.stats,
            augment: joint_augment(schedule, self.data.shape),
            batch_size,
            drop_last,
            seed,
            order: Vec::new(),
            pos: 0,
            rng: seed.rng(),
        }))
    }

    fn loss(&self, logits: &Tensor, y: &Tensor) -> Result<Tensor> {
        Ok(pixel_cross_entropy(logits, y)?)
    }

    fn score(&self, forward: Forward<'_>, batch_size: usize, device: &Device) -> Result<EvalStats> {
        let (m, loss) = confusion(forward, &self.data, self.stats, batch_size, device)?;
        Ok(EvalStats {
            loss,
            accuracy: m.mean_iou(),
        })
    }
}
