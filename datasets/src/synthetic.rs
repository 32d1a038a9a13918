//! Seeded synthetic classification data for tests of other crates.
//!
//! Each class gets a random prototype image; a sample is its class's
//! prototype plus bounded uniform noise, so the task is learnable (a small
//! network separates the classes quickly) yet not trivial. Labels cycle
//! through the classes, so every class has `n / classes` samples (± 1).

use crate::dataset::{numbered_classes, ImageDataset, Shape};
use crate::{Error, Result};
use nasarena_core::Seed;
use rand::Rng;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntheticConfig {
    /// Number of samples.
    pub samples: usize,
    /// Number of classes (1..=65535).
    pub classes: usize,
    /// Image shape.
    pub shape: Shape,
    /// Half-width of the per-pixel noise added to the prototypes (0..=255).
    pub noise: u8,
}

/// Generates a synthetic dataset; the same config and seed give the same
/// bytes on every machine.
pub fn synthetic(cfg: SyntheticConfig, seed: Seed) -> Result<ImageDataset> {
    if cfg.classes == 0 || cfg.classes > usize::from(u16::MAX) {
        return Err(Error::Config(format!(
            "synthetic data needs 1..=65535 classes, got {}",
            cfg.classes
        )));
    }
    let n = cfg.shape.numel();
    let mut proto_rng = seed.derive("synthetic-prototypes", 0).rng();
    let prototypes: Vec<u8> = (0..cfg.classes * n).map(|_| proto_rng.random()).collect();
    let mut rng = seed.derive("synthetic-samples", 0).rng();
    let noise = i16::from(cfg.noise);
    let mut pixels = Vec::with_capacity(cfg.samples * n);
    let mut labels = Vec::with_capacity(cfg.samples);
    for i in 0..cfg.samples {
        let class = i % cfg.classes;
        labels.push(class as u16);
        for &p in &prototypes[class * n..(class + 1) * n] {
            let d = if noise > 0 {
                rng.random_range(-noise..=noise)
            } else {
                0
            };
            pixels.push((i16::from(p) + d).clamp(0, 255) as u8);
        }
    }
    ImageDataset::new(
        format!("synthetic-{}c-{}", cfg.classes, cfg.shape),
        cfg.shape,
        pixels,
        labels,
        numbered_classes(cfg.classes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    fn cfg() -> SyntheticConfig {
        SyntheticConfig {
            samples: 50,
            classes: 5,
            shape: Shape::new(3, 4, 4),
            noise: 20,
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = synthetic(cfg(), Seed(1)).unwrap();
        assert_eq!(a, synthetic(cfg(), Seed(1)).unwrap());
        assert_ne!(a.checksum(), synthetic(cfg(), Seed(2)).unwrap().checksum());
        assert_eq!(a.class_counts(), vec![10; 5]);
    }

    #[test]
    fn samples_stay_near_their_prototype() {
        let d = synthetic(cfg(), Seed(3)).unwrap();
        // Samples 0 and 5 share class 0: they differ by at most twice the noise.
        let (a, b) = (d.image(0).unwrap(), d.image(5).unwrap());
        assert!(a.iter().zip(b).all(|(x, y)| x.abs_diff(*y) <= 40));
        assert_ne!(a, d.image(1).unwrap());
        assert!(synthetic(
            SyntheticConfig {
                classes: 0,
                ..cfg()
            },
            Seed(0)
        )
        .is_err());
    }
}
