//! Mini-batches for the trainer, without per-batch allocation.
//!
//! A [`Batcher`] owns one `f32` image buffer (N x C x H x W, normalised) and
//! one `u32` label buffer, sized for a full batch once, and refills them for
//! every batch; the harness wraps the slices in tensors. Each epoch visits
//! every sample once, in an order shuffled from `seed.derive("shuffle",
//! epoch)`; augmentation draws from `seed.derive("augment", epoch)`. So a
//! run can resume at any epoch and get the same batches.

use crate::augment::Augment;
use crate::dataset::{Dataset, ImageDataset};
use crate::split::Normalization;
use crate::{Error, Result};
use nasarena_core::{Seed, SeedRng};
use rand::seq::SliceRandom;

/// How to batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// Samples per batch.
    pub batch_size: usize,
    /// Shuffle the order every epoch (training) or keep it (evaluation).
    pub shuffle: bool,
    /// Skip a last, smaller batch.
    pub drop_last: bool,
    /// Augmentation (training only).
    pub augment: Augment,
}

/// One batch: views into the batcher's buffers.
#[derive(Debug)]
pub struct Batch<'a> {
    /// Normalised images, `shape[0] x shape[1] x shape[2] x shape[3]`.
    pub images: &'a [f32],
    /// One class index per image.
    pub labels: &'a [u32],
    /// N, C, H, W of `images`.
    pub shape: [usize; 4],
}

/// Refills reusable buffers with successive batches of a dataset.
#[derive(Debug)]
pub struct Batcher<'d> {
    data: &'d ImageDataset,
    cfg: BatchConfig,
    luts: Vec<[f32; 256]>,
    seed: Seed,
    order: Vec<usize>,
    pos: usize,
    rng: SeedRng,
    images: Vec<f32>,
    labels: Vec<u32>,
    scratch: Vec<u8>,
}

impl<'d> Batcher<'d> {
    /// A batcher positioned at the start of epoch 0.
    pub fn new(
        data: &'d ImageDataset,
        norm: &Normalization,
        cfg: BatchConfig,
        seed: Seed,
    ) -> Result<Self> {
        let shape = data.shape();
        if cfg.batch_size == 0 {
            return Err(Error::Config("batch_size must be at least 1".to_string()));
        }
        if norm.mean.len() != shape.channels || norm.std.len() != shape.channels {
            return Err(Error::Config(format!(
                "normalisation has {} channels but {} has {}",
                norm.mean.len(),
                data.name(),
                shape.channels
            )));
        }
        let mut b = Batcher {
            data,
            cfg,
            luts: norm.lookup_tables(),
            seed,
            order: (0..data.len()).collect(),
            pos: 0,
            rng: seed.derive("augment", 0).rng(),
            images: vec![0.0; cfg.batch_size * shape.numel()],
            labels: vec![0; cfg.batch_size],
            scratch: vec![0; shape.numel()],
        };
        b.start_epoch(0);
        Ok(b)
    }

    /// Rewinds to the start of `epoch`, with that epoch's order.
    pub fn start_epoch(&mut self, epoch: u64) {
        self.order.clear();
        self.order.extend(0..self.data.len());
        if self.cfg.shuffle {
            self.order
                .shuffle(&mut self.seed.derive("shuffle", epoch).rng());
        }
        self.rng = self.seed.derive("augment", epoch).rng();
        self.pos = 0;
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        let (n, b) = (self.data.len(), self.cfg.batch_size);
        if self.cfg.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The next batch of this epoch, or `None` when the epoch is over.
    pub fn next_batch(&mut self) -> Option<Batch<'_>> {
        let left = self.order.len() - self.pos;
        let n = left.min(self.cfg.batch_size);
        if n == 0 || (self.cfg.drop_last && n < self.cfg.batch_size) {
            return None;
        }
        let shape = self.data.shape();
        let numel = shape.numel();
        let plane = shape.height * shape.width;
        for k in 0..n {
            let i = self.order[self.pos + k];
            let src = self.data.image(i).unwrap_or_default();
            let img: &[u8] = if self.cfg.augment.is_identity() {
                src
            } else {
                self.cfg
                    .augment
                    .apply(src, shape, &mut self.rng, &mut self.scratch);
                &self.scratch
            };
            let out = &mut self.images[k * numel..(k + 1) * numel];
            for ((o, p), lut) in out
                .chunks_exact_mut(plane)
                .zip(img.chunks_exact(plane))
                .zip(&self.luts)
            {
                for (dst, &v) in o.iter_mut().zip(p) {
                    *dst = lut[usize::from(v)];
                }
            }
            self.labels[k] = u32::from(self.data.label(i).unwrap_or_default());
        }
        self.pos += n;
        Some(Batch {
            images: &self.images[..n * numel],
            labels: &self.labels[..n],
            shape: [n, shape.channels, shape.height, shape.width],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{synthetic, SyntheticConfig};
    use crate::Shape;

    fn data() -> ImageDataset {
        let cfg = SyntheticConfig {
            samples: 10,
            classes: 3,
            shape: Shape::new(2, 4, 4),
            noise: 50,
        };
        synthetic(cfg, Seed(2)).unwrap()
    }

    fn cfg(shuffle: bool, drop_last: bool) -> BatchConfig {
        BatchConfig {
            batch_size: 4,
            shuffle,
            drop_last,
            augment: Augment::default(),
        }
    }

    #[test]
    fn plain_batches_are_normalised_in_order() {
        let d = data();
        let norm = Normalization::of(&d);
        let mut b = Batcher::new(&d, &norm, cfg(false, false), Seed(0)).unwrap();
        assert_eq!(b.batches_per_epoch(), 3);
        let mut sizes = Vec::new();
        let mut index = 0;
        while let Some(batch) = b.next_batch() {
            sizes.push(batch.shape[0]);
            for (k, img) in batch.images.chunks(32).enumerate() {
                let raw = d.image(index + k).unwrap();
                for (j, (&x, &r)) in img.iter().zip(raw).enumerate() {
                    let c = j / 16;
                    let want = (f32::from(r) / 255.0 - norm.mean[c]) / norm.std[c];
                    assert!((x - want).abs() < 1e-5);
                }
                assert_eq!(batch.labels[k], u32::from(d.label(index + k).unwrap()));
            }
            index += batch.shape[0];
        }
        assert_eq!(sizes, vec![4, 4, 2]);
    }

    #[test]
    fn shuffled_epochs_are_permutations_and_reproducible() {
        let d = data();
        let norm = Normalization::of(&d);
        let labels_of_epoch = |b: &mut Batcher, epoch| {
            b.start_epoch(epoch);
            let mut all = Vec::new();
            while let Some(batch) = b.next_batch() {
                all.extend(batch.images.chunks(32).map(|c| c[0].to_bits()));
            }
            all
        };
        let mut b = Batcher::new(&d, &norm, cfg(true, false), Seed(9)).unwrap();
        let e0 = labels_of_epoch(&mut b, 0);
        let e1 = labels_of_epoch(&mut b, 1);
        assert_ne!(e0, e1);
        assert_eq!(e0, labels_of_epoch(&mut b, 0));
        let (mut s0, mut s1) = (e0.clone(), e1);
        s0.sort();
        s1.sort();
        assert_eq!(s0, s1);
        let mut dropped = Batcher::new(&d, &norm, cfg(true, true), Seed(9)).unwrap();
        assert_eq!(dropped.batches_per_epoch(), 2);
        assert_eq!(labels_of_epoch(&mut dropped, 0).len(), 8);
    }

    #[test]
    fn buffers_are_reused() {
        let d = data();
        let norm = Normalization::of(&d);
        let aug = BatchConfig {
            augment: Augment {
                pad: 1,
                hflip: true,
            },
            ..cfg(true, false)
        };
        let mut b = Batcher::new(&d, &norm, aug, Seed(1)).unwrap();
        let first = b.next_batch().unwrap().images.as_ptr();
        let second = b.next_batch().unwrap().images.as_ptr();
        assert_eq!(first, second);
    }
}
