//! Standard data augmentation for small images: random crop after zero
//! padding, and random horizontal flip (the CIFAR protocol of He et al.
//! 2016, "Deep Residual Learning", section 4.2: pad 4, crop 32 x 32, flip
//! with probability 1/2), used by the NAS papers' final training.
//!
//! Padding is applied to the raw image (value 0), before normalisation, as
//! torchvision's `RandomCrop(padding=p)` does.

use crate::dataset::Shape;
use nasarena_core::SeedRng;
use rand::Rng;

/// Which augmentations to apply to training batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Augment {
    /// Zero padding on every side before a random crop back to the original
    /// size; 0 disables cropping.
    pub pad: usize,
    /// Mirror left-right with probability 1/2.
    pub hflip: bool,
}

impl Augment {
    /// Whether this does anything.
    pub fn is_identity(&self) -> bool {
        self.pad == 0 && !self.hflip
    }

    /// Writes an augmented copy of `src` (planar C x H x W) into `dst`,
    /// drawing the crop offset and the flip from `rng`.
    pub fn apply(&self, src: &[u8], shape: Shape, rng: &mut SeedRng, dst: &mut [u8]) {
        let (h, w, p) = (shape.height, shape.width, self.pad);
        let (dy, dx) = if p > 0 {
            (rng.random_range(0..=2 * p), rng.random_range(0..=2 * p))
        } else {
            (p, p)
        };
        let flip = self.hflip && rng.random_bool(0.5);
        for (s, d) in src.chunks_exact(h * w).zip(dst.chunks_exact_mut(h * w)) {
            for y in 0..h {
                // Row y of the crop is row y + dy - p of the source.
                let sy = (y + dy).checked_sub(p).filter(|&sy| sy < h);
                for x in 0..w {
                    let ox = if flip { w - 1 - x } else { x };
                    let sx = (ox + dx).checked_sub(p).filter(|&sx| sx < w);
                    d[y * w + x] = match (sy, sx) {
                        (Some(sy), Some(sx)) => s[sy * w + sx],
                        _ => 0,
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nasarena_core::Seed;

    #[test]
    fn identity_crop_and_flip() {
        let shape = Shape::new(1, 2, 3);
        let src = [1, 2, 3, 4, 5, 6];
        let mut dst = [0u8; 6];
        let mut rng = Seed(0).rng();
        Augment::default().apply(&src, shape, &mut rng, &mut dst);
        assert_eq!(dst, src);
        // With flip only, every output is the image or its mirror.
        let flip = Augment {
            pad: 0,
            hflip: true,
        };
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            flip.apply(&src, shape, &mut rng, &mut dst);
            seen.insert(dst);
        }
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            vec![[1, 2, 3, 4, 5, 6], [3, 2, 1, 6, 5, 4]]
        );
    }

    #[test]
    fn crops_are_shifted_windows_of_the_padded_image() {
        let shape = Shape::new(1, 3, 3);
        let src: Vec<u8> = (1..=9).collect();
        let crop = Augment {
            pad: 1,
            hflip: false,
        };
        let mut rng = Seed(4).rng();
        let mut dst = [0u8; 9];
        let mut shifts = std::collections::BTreeSet::new();
        for _ in 0..200 {
            crop.apply(&src, shape, &mut rng, &mut dst);
            // Recover the shift from where pixel value 5 (the centre) went.
            let at = dst.iter().position(|&v| v == 5).unwrap();
            let (y, x) = (at / 3, at % 3);
            for (i, &v) in dst.iter().enumerate() {
                let (sy, sx) = ((i / 3 + 1) as i64 - y as i64, (i % 3 + 1) as i64 - x as i64);
                let want = if (0..3).contains(&sy) && (0..3).contains(&sx) {
                    src[(sy * 3 + sx) as usize]
                } else {
                    0
                };
                assert_eq!(v, want);
            }
            shifts.insert((y, x));
        }
        assert_eq!(shifts.len(), 9, "all 9 offsets occur");
    }
}
