//! A segmentation split held in memory, for data small enough to decode
//! once (Fashion-MNIST scenes; a cropped Cityscapes subset): every image of
//! a Cityscapes-layout split must have the same size. Batches are
//! normalised with the training split's per-channel mean and standard
//! deviation.

use crate::{Error, Result};
use candle_core::{Device, Tensor};
use nasarena_core::SeedRng;
use nasarena_datasets::segmentation::cityscapes::CityscapesSplit;
use nasarena_datasets::segmentation::joint::JointAugment;
use nasarena_datasets::segmentation::SegSample;
use std::path::Path;

/// Dataset names that are segmentation data, read from a Cityscapes-layout
/// `dataset.data_dir` with fixed train/val/test splits.
pub const SEGMENTATION_DATASETS: &[&str] = &["fashion-mnist-scenes", "cityscapes"];

/// True when `name` is a segmentation dataset.
pub fn is_segmentation(name: &str) -> bool {
    SEGMENTATION_DATASETS.contains(&name)
}

/// The joint augmentation a schedule asks for on samples of `shape`
/// (C, H, W): random scale (cropped back to the size), flips.
pub fn joint_augment(schedule: &crate::trainer::Schedule, shape: [usize; 3]) -> JointAugment {
    JointAugment {
        scale: schedule.random_scale.unwrap_or((1.0, 1.0)),
        crop: schedule.random_scale.map(|_| (shape[1], shape[2])),
        flip: schedule.horizontal_flip,
    }
}

/// The three splits of a segmentation experiment, read once.
#[derive(Clone, Debug)]
pub struct SceneSplits {
    /// Trains networks (and a supernet's weights and architecture).
    pub train: SegSet,
    /// Scores architectures during a search.
    pub val: SegSet,
    /// Scores the final protocol's network.
    pub test: SegSet,
    /// Per-channel (mean, std) of the training split.
    pub stats: Vec<(f64, f64)>,
}

impl SceneSplits {
    /// The splits, normalised with the training split's statistics; an
    /// error when they name different classes.
    pub fn new(train: SegSet, val: SegSet, test: SegSet) -> Result<Self> {
        if val.classes != train.classes || test.classes != train.classes {
            return Err(Error::DataMismatch(
                "the train, val and test splits name different classes".into(),
            ));
        }
        let stats = train.channel_stats();
        Ok(SceneSplits {
            train,
            val,
            test,
            stats,
        })
    }

    /// Hex sha256 over every split's images and masks, in order.
    pub fn checksum(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for set in [&self.train, &self.val, &self.test] {
            set.hash_into(&mut h);
        }
        format!("{:x}", h.finalize())
    }
}

/// Decoded images and masks of one split.
#[derive(Clone, Debug)]
pub struct SegSet {
    /// Class names by id.
    pub classes: Vec<String>,
    /// (channels, height, width) of every image.
    pub shape: [usize; 3],
    samples: Vec<SegSample>,
}

impl SegSet {
    /// Reads every sample of `split` under the Cityscapes-layout `root`.
    pub fn load(root: &Path, split: &str) -> Result<Self> {
        let bad = |reason: String| Error::DataMismatch(format!("{}: {reason}", root.display()));
        let files = CityscapesSplit::open(root, split).map_err(|e| bad(e.to_string()))?;
        let mut samples = Vec::with_capacity(files.len());
        for i in 0..files.len() {
            let s = files.read(i).map_err(|e| bad(e.to_string()))?;
            if let Some(first) = samples.first().filter(|f: &&SegSample| {
                (f.channels, f.height, f.width) != (s.channels, s.height, s.width)
            }) {
                return Err(bad(format!(
                        "{} is {}x{}x{}, the split's first image {}x{}x{}; every image must have one size",
                        files.files[i].0.display(), s.channels, s.height, s.width,
                        first.channels, first.height, first.width
                )));
            }
            samples.push(s);
        }
        let Some(first) = samples.first() else {
            return Err(bad(format!("split `{split}` holds no images")));
        };
        Ok(SegSet {
            classes: files.classes,
            shape: [first.channels, first.height, first.width],
            samples,
        })
    }

    /// A split of `samples` (at least one, all of one size) labelled with
    /// `classes`.
    pub fn from_samples(classes: Vec<String>, samples: Vec<SegSample>) -> Result<Self> {
        let Some(first) = samples.first() else {
            return Err(Error::DataMismatch(
                "a split needs at least one sample".into(),
            ));
        };
        let shape = [first.channels, first.height, first.width];
        if let Some(i) = samples
            .iter()
            .position(|s| [s.channels, s.height, s.width] != shape)
        {
            return Err(Error::DataMismatch(format!(
                "sample {i} differs in size from the first ({shape:?}); every sample must have one size"
            )));
        }
        Ok(SegSet {
            classes,
            shape,
            samples,
        })
    }

    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> SegSet {
        SegSet {
            classes: self.classes.clone(),
            shape: self.shape,
            samples: indices.iter().map(|&i| self.samples[i].clone()).collect(),
        }
    }

    /// Splits off a seeded random `fraction` of the samples: (the rest,
    /// the fraction), each in its original order.
    pub fn split(&self, fraction: f64, seed: nasarena_core::Seed) -> (SegSet, SegSet) {
        use rand::seq::SliceRandom;
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut seed.rng());
        let cut = ((self.len() as f64 * fraction).round() as usize).min(self.len());
        let (mut part, mut rest) = (order[..cut].to_vec(), order[cut..].to_vec());
        part.sort_unstable();
        rest.sort_unstable();
        (self.subset(&rest), self.subset(&part))
    }

    /// Feeds every sample's size, pixels and mask, in order, to `h`.
    pub fn hash_into(&self, h: &mut sha2::Sha256) {
        use sha2::Digest;
        h.update((self.samples.len() as u64).to_le_bytes());
        for s in &self.samples {
            for d in [s.channels, s.height, s.width] {
                h.update((d as u64).to_le_bytes());
            }
            h.update(&s.pixels);
            h.update(&s.mask);
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Per-channel mean and standard deviation of the pixels (0-255 scale).
    pub fn channel_stats(&self) -> Vec<(f64, f64)> {
        let [c, h, w] = self.shape;
        (0..c)
            .map(|ch| {
                let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
                for s in &self.samples {
                    for &p in &s.pixels[ch * h * w..(ch + 1) * h * w] {
                        let p = f64::from(p);
                        sum += p;
                        sq += p * p;
                        n += 1.0;
                    }
                }
                let mean = sum / n;
                (mean, (sq / n - mean * mean).max(1e-6).sqrt())
            })
            .collect()
    }

    /// The batch of `indices`: normalised images (N x C x H x W, f32) and
    /// masks (N x H x W, u8); each sample transformed by `augment` (drawing
    /// from its RNG) when given. The augmentation must keep the split's
    /// image size (crop back to it after scaling).
    pub fn batch(
        &self,
        indices: &[usize],
        stats: &[(f64, f64)],
        augment: Option<(&JointAugment, &mut SeedRng)>,
        device: &Device,
    ) -> Result<(Tensor, Tensor)> {
        let [c, h, w] = self.shape;
        let mut x = Vec::with_capacity(indices.len() * c * h * w);
        let mut y = Vec::with_capacity(indices.len() * h * w);
        let mut augment = augment;
        for &i in indices {
            let s = &self.samples[i];
            let augmented;
            let s = match augment.as_mut() {
                Some((how, rng)) => {
                    augmented = how.apply(s, rng);
                    &augmented
                }
                None => s,
            };
            if (s.channels, s.height, s.width) != (c, h, w) {
                return Err(Error::DataMismatch(format!(
                    "augmentation made a {}x{}x{} sample from {c}x{h}x{w}; crop back to the split's size",
                    s.channels, s.height, s.width
                )));
            }
            for (ch, plane) in s.pixels.chunks_exact(h * w).enumerate() {
                let (mean, std) = stats[ch];
                x.extend(plane.iter().map(|&p| ((f64::from(p) - mean) / std) as f32));
            }
            y.extend_from_slice(&s.mask);
        }
        let n = indices.len();
        Ok((
            Tensor::from_vec(x, (n, c, h, w), device)?,
            Tensor::from_vec(y, (n, h, w), device)?,
        ))
    }

    /// The masks of `indices`, concatenated (for the metric).
    pub fn masks(&self, indices: &[usize]) -> Vec<u8> {
        indices
            .iter()
            .flat_map(|&i| self.samples[i].mask.iter().copied())
            .collect()
    }
}
