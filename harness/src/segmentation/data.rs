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
        let first = &samples[0];
        Ok(SegSet {
            classes: files.classes,
            shape: [first.channels, first.height, first.width],
            samples,
        })
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
