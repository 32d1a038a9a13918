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

#[cfg(test)]
mod tests {
    use super::*;
    use nasarena_datasets::segmentation::SegSample;

    /// Six 1x4x4 scenes: scene i has pixel value 10 i and labels i % 3.
    fn scenes() -> SegSet {
        let samples = (0..6u8)
            .map(|i| SegSample::new(1, 4, 4, vec![10 * i; 16], vec![i % 3; 16]).expect("sample"))
            .collect();
        let classes = ["background", "a", "b"].map(String::from).to_vec();
        SegSet::from_samples(classes, samples).expect("set")
    }

    fn schedule(random_scale: Option<(f32, f32)>) -> Schedule {
        serde_json::from_value(serde_json::json!({
            "epochs": 1, "batch_size": 4, "optimizer": { "lr": 0.1, "momentum": 0.9 },
            "horizontal_flip": true, "random_scale": random_scale,
        }))
        .expect("schedule")
    }

    /// Every epoch's labels, batch by batch (the first pixel of each scene).
    fn epoch_labels(stream: &mut dyn BatchStream, epoch: u64) -> Vec<Vec<u8>> {
        stream.start_epoch(epoch);
        let mut out = Vec::new();
        while let Some((x, y, n)) = stream.next(&Device::Cpu).expect("batch") {
            assert_eq!(x.dims(), &[n, 1, 4, 4]);
            let y: Vec<Vec<Vec<u8>>> = y.to_vec3().expect("labels");
            out.push(y.iter().map(|m| m[1][1]).collect());
        }
        out
    }

    #[test]
    fn batches_are_seeded_reshuffled_per_epoch_and_drop_a_short_last_one() {
        let set = scenes();
        let stats = set.channel_stats();
        let scenes = SceneSet::new(&set, &stats);
        let sched = schedule(Some((0.75, 1.25)));
        let mut a = scenes.batches(&sched, 4, false, Seed(3)).expect("batches");
        let mut b = scenes.batches(&sched, 4, false, Seed(3)).expect("batches");
        let first = epoch_labels(a.as_mut(), 0);
        assert_eq!(
            first,
            epoch_labels(b.as_mut(), 0),
            "same seed, same batches"
        );
        assert_eq!(first.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 2]);
        let epochs: Vec<_> = (1..6).map(|e| epoch_labels(a.as_mut(), e)).collect();
        assert!(epochs.iter().any(|e| *e != first), "epochs reshuffle");
        let mut dropping = scenes.batches(&sched, 4, true, Seed(3)).expect("batches");
        assert_eq!(epoch_labels(dropping.as_mut(), 0).len(), 1);
        assert_eq!(scenes.head(2).expect("head").len(), 2);
    }

    #[test]
    fn split_is_seeded_disjoint_and_complete() {
        let set = scenes();
        let (rest, part) = set.split(0.34, Seed(9));
        assert_eq!((rest.len(), part.len()), (4, 2));
        // Scene i is the one whose pixels are 10 i.
        let first_pixels = |s: &SegSet| -> Vec<u8> {
            (0..s.len())
                .map(|i| (s.subset(&[i]).channel_stats()[0].0 / 10.0).round() as u8)
                .collect()
        };
        let mut all = first_pixels(&rest);
        all.extend(first_pixels(&part));
        all.sort_unstable();
        assert_eq!(
            all,
            vec![0, 1, 2, 3, 4, 5],
            "every scene in exactly one part"
        );
        let (rest2, _) = set.split(0.34, Seed(9));
        assert_eq!(first_pixels(&rest), first_pixels(&rest2));
    }

    /// Predicting background everywhere on two scenes labelled
    /// [0 0 1 1 / 0 0 1 1 ...]: class 0 IoU = 16 / 32, class 1 IoU = 0,
    /// class 2 absent, so mIoU = 0.25; the loss of uniform logits is ln 3.
    #[test]
    fn score_is_mean_iou_over_present_classes() {
        let samples = (0..2)
            .map(|_| {
                let mask = (0..16).map(|p| u8::from(p % 4 >= 2)).collect();
                SegSample::new(1, 4, 4, vec![7; 16], mask).expect("sample")
            })
            .collect();
        let classes = ["background", "a", "b"].map(String::from).to_vec();
        let set = SegSet::from_samples(classes, samples).expect("set");
        let stats = set.channel_stats();
        let forward = |x: &Tensor| -> candle_core::Result<Tensor> {
            let n = x.dim(0)?;
            let background = Tensor::ones((n, 1, 4, 4), candle_core::DType::F32, &Device::Cpu)?;
            let rest = Tensor::zeros((n, 2, 4, 4), candle_core::DType::F32, &Device::Cpu)?;
            Tensor::cat(&[&(background * 1e-6)?, &rest], 1)
        };
        let stats_of = SceneSet::new(&set, &stats)
            .score(&forward, 1, &Device::Cpu)
            .expect("score");
        assert!(
            (stats_of.accuracy - 0.25).abs() < 1e-12,
            "{}",
            stats_of.accuracy
        );
        assert!(
            (stats_of.loss - 3f64.ln()).abs() < 1e-4,
            "{}",
            stats_of.loss
        );
    }
}
