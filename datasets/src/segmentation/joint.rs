//! Augmentation of an image and its mask together, as segmentation
//! training does it (e.g. SqueezeNAS's Cityscapes recipe: random scale,
//! random crop, horizontal flip): the same geometric change is applied to
//! both, the image resampled bilinearly and the mask by nearest neighbour
//! (labels are never blended). Crops larger than the scaled image are
//! padded, the image with 0 and the mask with [`IGNORE_LABEL`], so padding
//! is never trained on. Seeded: the same RNG state gives the same result.

use super::{SegSample, IGNORE_LABEL};
use nasarena_core::SeedRng;
use rand::Rng;

/// What to do to each training sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JointAugment {
    /// Scale factor range, drawn uniformly (`(1.0, 1.0)`: no scaling).
    pub scale: (f32, f32),
    /// Crop to this (height, width) at a random position; `None`: keep the
    /// scaled size.
    pub crop: Option<(usize, usize)>,
    /// Mirror left-right with probability one half.
    pub flip: bool,
}

impl JointAugment {
    /// Applies the augmentation (draws: scale, crop position, flip).
    pub fn apply(&self, s: &SegSample, rng: &mut SeedRng) -> SegSample {
        let (lo, hi) = self.scale;
        let f = if hi > lo {
            rng.random_range(lo..=hi)
        } else {
            lo
        };
        let scaled = if (f - 1.0).abs() > f32::EPSILON {
            let h = ((s.height as f32 * f).round() as usize).max(1);
            let w = ((s.width as f32 * f).round() as usize).max(1);
            resize(s, h, w)
        } else {
            s.clone()
        };
        let cropped = match self.crop {
            Some((h, w)) => {
                let top = rng.random_range(0..=scaled.height.abs_diff(h)) as isize;
                let left = rng.random_range(0..=scaled.width.abs_diff(w)) as isize;
                // Inside the image when it is larger, a negative offset
                // (padding before) when it is smaller.
                let top = if scaled.height >= h { top } else { -top };
                let left = if scaled.width >= w { left } else { -left };
                crop(&scaled, top, left, h, w)
            }
            None => scaled,
        };
        if self.flip && rng.random_bool(0.5) {
            mirror(&cropped)
        } else {
            cropped
        }
    }
}

/// `s` resized to `h` x `w`: bilinear image (pixel centres aligned, as
/// `align_corners=False`), nearest-neighbour mask.
pub fn resize(s: &SegSample, h: usize, w: usize) -> SegSample {
    let (sy, sx) = (s.height as f32 / h as f32, s.width as f32 / w as f32);
    let src = |o: usize, scale: f32, n: usize| -> (usize, usize, f32) {
        let x = ((o as f32 + 0.5) * scale - 0.5).clamp(0.0, (n - 1) as f32);
        let x0 = x.floor() as usize;
        (x0, (x0 + 1).min(n - 1), x - x0 as f32)
    };
    let mut pixels = vec![0u8; s.channels * h * w];
    let mut mask = vec![IGNORE_LABEL; h * w];
    for y in 0..h {
        let (y0, y1, fy) = src(y, sy, s.height);
        let ny = (((y as f32 + 0.5) * sy) as usize).min(s.height - 1);
        for x in 0..w {
            let (x0, x1, fx) = src(x, sx, s.width);
            let nx = (((x as f32 + 0.5) * sx) as usize).min(s.width - 1);
            mask[y * w + x] = s.mask[ny * s.width + nx];
            for c in 0..s.channels {
                let p =
                    |yy: usize, xx: usize| f32::from(s.pixels[(c * s.height + yy) * s.width + xx]);
                let top = p(y0, x0) * (1.0 - fx) + p(y0, x1) * fx;
                let bottom = p(y1, x0) * (1.0 - fx) + p(y1, x1) * fx;
                pixels[(c * h + y) * w + x] = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
    }
    SegSample {
        channels: s.channels,
        height: h,
        width: w,
        pixels,
        mask,
    }
}

/// The `h` x `w` window of `s` whose top-left corner is at (`top`,
/// `left`), which may lie outside `s`: pixels outside are 0, labels
/// [`IGNORE_LABEL`].
pub fn crop(s: &SegSample, top: isize, left: isize, h: usize, w: usize) -> SegSample {
    let mut pixels = vec![0u8; s.channels * h * w];
    let mut mask = vec![IGNORE_LABEL; h * w];
    for y in 0..h {
        let sy = top + y as isize;
        if sy < 0 || sy >= s.height as isize {
            continue;
        }
        for x in 0..w {
            let sx = left + x as isize;
            if sx < 0 || sx >= s.width as isize {
                continue;
            }
            let (sy, sx) = (sy as usize, sx as usize);
            mask[y * w + x] = s.mask[sy * s.width + sx];
            for c in 0..s.channels {
                pixels[(c * h + y) * w + x] = s.pixels[(c * s.height + sy) * s.width + sx];
            }
        }
    }
    SegSample {
        channels: s.channels,
        height: h,
        width: w,
        pixels,
        mask,
    }
}

/// `s` mirrored left-right.
pub fn mirror(s: &SegSample) -> SegSample {
    let flip_rows = |data: &[u8], rows: usize| -> Vec<u8> {
        let mut out = data.to_vec();
        for r in 0..rows {
            out[r * s.width..(r + 1) * s.width].reverse();
        }
        out
    };
    SegSample {
        pixels: flip_rows(&s.pixels, s.channels * s.height),
        mask: flip_rows(&s.mask, s.height),
        ..s.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nasarena_core::Seed;

    /// 1 channel, 2x3: pixels 0..6 x 10, mask = column index.
    fn sample() -> SegSample {
        SegSample::new(1, 2, 3, vec![0, 10, 20, 30, 40, 50], vec![0, 1, 2, 0, 1, 2])
            .expect("sample")
    }

    #[test]
    fn mirror_crop_and_resize_move_image_and_mask_together() {
        let s = sample();
        let m = mirror(&s);
        assert_eq!(m.pixels, vec![20, 10, 0, 50, 40, 30]);
        assert_eq!(m.mask, vec![2, 1, 0, 2, 1, 0]);
        let c = crop(&s, -1, 1, 2, 3);
        assert_eq!(c.pixels, vec![0, 0, 0, 10, 20, 0]);
        assert_eq!(c.mask, vec![255, 255, 255, 1, 2, 255]);
        let up = resize(&s, 4, 6);
        // Nearest-neighbour labels: every column pair keeps its label.
        assert_eq!(&up.mask[..6], &[0, 0, 1, 1, 2, 2]);
        // Bilinear pixels stay within the source range and keep corners.
        assert_eq!((up.pixels[0], up.pixels[23]), (0, 50));
        let down = resize(&up, 2, 3);
        assert_eq!(down.mask, s.mask);
    }

    #[test]
    fn the_same_seed_gives_the_same_augmentation() {
        let s = resize(&sample(), 8, 12);
        let aug = JointAugment {
            scale: (0.5, 2.0),
            crop: Some((6, 6)),
            flip: true,
        };
        let run = |seed| aug.apply(&s, &mut Seed(seed).rng());
        assert_eq!(run(3), run(3));
        let outs: Vec<SegSample> = (0..8).map(run).collect();
        assert!(outs.iter().all(|o| (o.height, o.width) == (6, 6)));
        assert!(outs.windows(2).any(|w| w[0] != w[1]), "the seed changes it");
        // Every label is one of the source's or the padding's.
        assert!(outs
            .iter()
            .flat_map(|o| &o.mask)
            .all(|&v| v <= 2 || v == 255));
    }
}
