//! Train/validation/test splits and normalisation statistics.
//!
//! As in the NAS papers (e.g. DARTS, Liu et al. 2019; ENAS, Pham et al.
//! 2018), the validation set that guides the search is carved out of the
//! official training set and the official test set is left untouched, so
//! search never sees test data. The carve is *stratified*: from every class,
//! `round(val_fraction * class size)` samples chosen by a seeded shuffle go
//! to validation, so both parts keep the class balance. Both parts keep the
//! original sample order; epoch shuffling is the batcher's job.

use crate::dataset::{Checksum, Dataset, ImageDataset};
use crate::{Error, Result};
use nasarena_core::Seed;
use rand::seq::SliceRandom;
use sha2::{Digest, Sha256};

/// Training, validation and test data of one run.
#[derive(Clone, Debug)]
pub struct Splits {
    /// Data the network weights are trained on.
    pub train: ImageDataset,
    /// Data search decisions are made on (carved from the training set).
    pub val: ImageDataset,
    /// The official test set, for the final evaluation only.
    pub test: ImageDataset,
    /// Per-channel statistics of `train`.
    pub norm: Normalization,
}

impl Splits {
    /// The provenance checksum of the whole run's data: sha256 over the
    /// ASCII tag `nasarena-splits-v1` and the checksums of train, val and
    /// test, in that order.
    pub fn checksum(&self) -> Checksum {
        let mut h = Sha256::new();
        h.update(b"nasarena-splits-v1");
        for part in [&self.train, &self.val, &self.test] {
            h.update(part.checksum().0);
        }
        Checksum(h.finalize().into())
    }
}

/// Loads a dataset by name or folder (see [`crate::load_named`]) and splits
/// it: the usual entry point of the harness.
pub fn load_splits(
    name: &str,
    data_dir: Option<&std::path::Path>,
    val_fraction: f64,
    seed: Seed,
) -> Result<Splits> {
    let tt = crate::load_named(name, data_dir)?;
    split(&tt.train, tt.test, val_fraction, seed)
}

/// Splits `train_full` into training and validation parts, stratified by
/// class, with the shuffle drawn from `seed.derive("val-split", class)`.
pub fn split(
    train_full: &ImageDataset,
    test: ImageDataset,
    val_fraction: f64,
    seed: Seed,
) -> Result<Splits> {
    if !(0.0..1.0).contains(&val_fraction) {
        return Err(Error::Config(format!(
            "val_fraction must be in [0, 1), got {val_fraction}"
        )));
    }
    let mut by_class = vec![Vec::new(); train_full.num_classes()];
    for (i, &l) in train_full.labels().iter().enumerate() {
        by_class[usize::from(l)].push(i);
    }
    let mut val_idx = Vec::new();
    for (class, mut members) in by_class.into_iter().enumerate() {
        members.shuffle(&mut seed.derive("val-split", class as u64).rng());
        let k = (val_fraction * members.len() as f64).round() as usize;
        val_idx.extend_from_slice(&members[..k.min(members.len())]);
    }
    val_idx.sort_unstable();
    let mut is_val = vec![false; train_full.len()];
    for &i in &val_idx {
        is_val[i] = true;
    }
    let train_idx: Vec<usize> = (0..train_full.len()).filter(|&i| !is_val[i]).collect();
    if train_idx.is_empty() {
        return Err(Error::Config(format!(
            "val_fraction {val_fraction} leaves no training samples in {}",
            train_full.name()
        )));
    }
    let base = train_full.name().trim_end_matches("/train");
    let train = train_full.subset(&train_idx, format!("{base}/train"))?;
    let val = train_full.subset(&val_idx, format!("{base}/val"))?;
    let norm = Normalization::of(&train);
    Ok(Splits {
        train,
        val,
        test,
        norm,
    })
}

/// Per-channel mean and standard deviation of pixel values scaled to
/// [0, 1]; inputs are normalised as `(x / 255 - mean) / std`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Normalization {
    /// Mean per channel.
    pub mean: Vec<f32>,
    /// Standard deviation per channel (1 where a channel is constant, so
    /// that normalising never divides by zero).
    pub std: Vec<f32>,
}

impl Normalization {
    /// Statistics over every pixel of `data` (population standard deviation).
    pub fn of(data: &ImageDataset) -> Self {
        let shape = data.shape();
        let plane = shape.height * shape.width;
        let mut sum = vec![0u64; shape.channels];
        let mut sum_sq = vec![0u64; shape.channels];
        for img in data.pixels().chunks_exact(shape.numel()) {
            for (c, p) in img.chunks_exact(plane).enumerate() {
                // Exact integer sums: no rounding drift on 60k images.
                sum[c] += p.iter().map(|&v| u64::from(v)).sum::<u64>();
                sum_sq[c] += p.iter().map(|&v| u64::from(v) * u64::from(v)).sum::<u64>();
            }
        }
        let count = (data.len() * plane).max(1) as f64;
        let mut mean = Vec::with_capacity(shape.channels);
        let mut std = Vec::with_capacity(shape.channels);
        for c in 0..shape.channels {
            let m = sum[c] as f64 / count;
            let var = (sum_sq[c] as f64 / count - m * m).max(0.0);
            let s = var.sqrt() / 255.0;
            mean.push((m / 255.0) as f32);
            std.push(if s > 1e-8 { s as f32 } else { 1.0 });
        }
        Normalization { mean, std }
    }

    /// The normalised value of every byte, per channel: a 256-entry lookup
    /// table, so batching does no arithmetic per pixel.
    pub fn lookup_tables(&self) -> Vec<[f32; 256]> {
        self.mean
            .iter()
            .zip(&self.std)
            .map(|(&m, &s)| std::array::from_fn(|v| (v as f32 / 255.0 - m) / s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{synthetic, SyntheticConfig};
    use crate::Shape;

    fn data(n: usize) -> ImageDataset {
        let cfg = SyntheticConfig {
            samples: n,
            classes: 4,
            shape: Shape::new(2, 3, 3),
            noise: 30,
        };
        synthetic(cfg, Seed(11)).unwrap()
    }

    #[test]
    fn stratified_deterministic_and_disjoint() {
        let full = data(400);
        let test = data(8);
        let a = split(&full, test.clone(), 0.1, Seed(5)).unwrap();
        let b = split(&full, test.clone(), 0.1, Seed(5)).unwrap();
        let c = split(&full, test.clone(), 0.1, Seed(6)).unwrap();
        assert_eq!(a.val.checksum(), b.val.checksum());
        assert_ne!(a.val.checksum(), c.val.checksum());
        assert_eq!(a.val.class_counts(), vec![10; 4]);
        assert_eq!(a.train.class_counts(), vec![90; 4]);
        assert_eq!(a.test.checksum(), test.checksum());
        // Every training image appears in exactly one part.
        let mut seen: Vec<&[u8]> = a
            .train
            .pixels()
            .chunks(18)
            .chain(a.val.pixels().chunks(18))
            .collect();
        let mut all: Vec<&[u8]> = full.pixels().chunks(18).collect();
        seen.sort();
        all.sort();
        assert_eq!(seen, all);
        assert_eq!(a.checksum(), b.checksum());
        assert_ne!(a.checksum(), c.checksum());
        assert!(split(&full, test, 1.0, Seed(0)).is_err());
    }

    #[test]
    fn normalization_matches_a_naive_computation() {
        let d = data(30);
        let norm = Normalization::of(&d);
        for c in 0..2 {
            let vals: Vec<f64> = d
                .pixels()
                .chunks(18)
                .flat_map(|img| {
                    img[c * 9..(c + 1) * 9]
                        .iter()
                        .map(|&v| f64::from(v) / 255.0)
                })
                .collect();
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            let v = vals.iter().map(|x| (x - m).powi(2)).sum::<f64>() / vals.len() as f64;
            assert!((f64::from(norm.mean[c]) - m).abs() < 1e-6);
            assert!((f64::from(norm.std[c]) - v.sqrt()).abs() < 1e-6);
        }
        let lut = norm.lookup_tables();
        let want = (200.0 / 255.0 - norm.mean[1]) / norm.std[1];
        assert!((lut[1][200] - want).abs() < 1e-6);
    }
}
