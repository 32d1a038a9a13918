//! Fashion-MNIST scenes: a segmentation dataset of real images that works
//! offline. Each scene is a square canvas on which 2-4 Fashion-MNIST items
//! (Xiao et al. 2017) are pasted at seeded positions and sizes, later items
//! occluding earlier ones; a pixel is labelled with its item's class
//! (1-10) where the item's pixel is foreground, and background (0)
//! elsewhere: 11 classes.
//!
//! Deterministic: scene `i` of a split depends only on the seed, the split
//! and `i` (its own RNG stream), so a smaller generation is a prefix of a
//! larger one, and the bundled split is the start of the full one. Items
//! never cross splits: training scenes draw from the first five sixths of
//! the Fashion-MNIST training images (50,000), validation scenes from the
//! last sixth (10,000), test scenes from the official test set.
//!
//! Written in the Cityscapes layout ([`super::cityscapes`]) with
//! train-id masks, a `classes.txt` and a `SHA256SUMS` over every file.

use super::{joint, SegSample};
use crate::{Dataset, Error, ImageDataset, Result, TrainTest};
use nasarena_core::Seed;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::path::Path;

/// Source pixels at or below this value are the item's background (not
/// pasted, not labelled): Fashion-MNIST items sit on black.
pub const FOREGROUND_ABOVE: u8 = 8;

/// How scenes look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScenesConfig {
    /// Canvas side in pixels.
    pub canvas: usize,
    /// Fewest and most items per scene.
    pub items: (usize, usize),
    /// Smallest and largest item side in pixels (resized from 28).
    pub item_size: (usize, usize),
    /// Seeds every scene.
    pub seed: u64,
}

impl Default for ScenesConfig {
    fn default() -> Self {
        ScenesConfig {
            canvas: 64,
            items: (2, 4),
            item_size: (24, 44),
            seed: 2026,
        }
    }
}

/// The split names in the Cityscapes layout.
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// Scene `index` of `split`, its items drawn from `source[pool]`.
pub fn scene(
    source: &ImageDataset,
    pool: Range<usize>,
    split: &str,
    index: u64,
    cfg: &ScenesConfig,
) -> SegSample {
    let mut rng = Seed(cfg.seed)
        .derive(&format!("scenes-{split}"), index)
        .rng();
    let side = cfg.canvas;
    let mut canvas = SegSample {
        channels: 1,
        height: side,
        width: side,
        pixels: vec![0; side * side],
        mask: vec![0; side * side],
    };
    let items = rng.random_range(cfg.items.0..=cfg.items.1);
    for _ in 0..items {
        let j = rng.random_range(pool.clone());
        let size = rng.random_range(cfg.item_size.0..=cfg.item_size.1.min(side));
        let top = rng.random_range(0..=side - size);
        let left = rng.random_range(0..=side - size);
        let item = joint::resize(&item_sample(source, j), size, size);
        for y in 0..size {
            for x in 0..size {
                let label = item.mask[y * size + x];
                if label != 0 {
                    let at = (top + y) * side + left + x;
                    canvas.pixels[at] = item.pixels[y * size + x];
                    canvas.mask[at] = label;
                }
            }
        }
    }
    canvas
}

/// Image `j` of `source` as a sample whose mask is its class + 1 on
/// foreground pixels and 0 elsewhere.
fn item_sample(source: &ImageDataset, j: usize) -> SegSample {
    let shape = source.shape();
    let pixels = source.image(j).unwrap_or_default().to_vec();
    let class = source.label(j).unwrap_or_default() as u8 + 1;
    let mask = pixels
        .iter()
        .map(|&p| if p > FOREGROUND_ABOVE { class } else { 0 })
        .collect();
    SegSample {
        channels: 1,
        height: shape.height,
        width: shape.width,
        pixels,
        mask,
    }
}

/// The pool of source images for `split`.
fn pool_of<'a>(data: &'a TrainTest, split: &str) -> (&'a ImageDataset, Range<usize>) {
    let cut = data.train.len() * 5 / 6;
    match split {
        "train" => (&data.train, 0..cut),
        "val" => (&data.train, cut..data.train.len()),
        _ => (&data.test, 0..data.test.len()),
    }
}

/// Writes `counts` (train, val, test) scenes made from `data` (Fashion-MNIST:
/// grey, 10 classes) under `out` in the Cityscapes
/// layout, with `classes.txt` and `SHA256SUMS`. Returns the SHA256SUMS text.
pub fn write_scenes(
    out: &Path,
    data: &TrainTest,
    counts: [usize; 3],
    cfg: &ScenesConfig,
) -> Result<String> {
    check_source(data, cfg)?;
    let mut sums = Vec::new();
    let mut put = |rel: String, bytes: Vec<u8>| -> Result<()> {
        let path = out.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        std::fs::write(&path, &bytes).map_err(|e| Error::io(&path, e))?;
        sums.push(format!("{:x}  {rel}", Sha256::digest(&bytes)));
        Ok(())
    };
    let mut classes = vec!["background".to_string()];
    classes.extend(data.train.classes().iter().cloned());
    put(
        "classes.txt".into(),
        (classes.join("\n") + "\n").into_bytes(),
    )?;
    for (split, &n) in SPLITS.iter().zip(&counts) {
        let (source, pool) = pool_of(data, split);
        for i in 0..n {
            let s = scene(source, pool.clone(), split, i as u64, cfg);
            let stem = format!("{split}/fmnist/scene_{i:06}");
            put(
                format!("leftImg8bit/{stem}_leftImg8bit.png"),
                grey_png(&s.pixels, cfg.canvas)?,
            )?;
            put(
                format!("gtFine/{stem}_gtFine_labelTrainIds.png"),
                grey_png(&s.mask, cfg.canvas)?,
            )?;
        }
    }
    sums.sort_by(|a, b| a[66..].cmp(&b[66..]));
    let text = sums.join("\n") + "\n";
    let path = out.join("SHA256SUMS");
    std::fs::write(&path, &text).map_err(|e| Error::io(&path, e))?;
    Ok(text)
}

fn check_source(data: &TrainTest, cfg: &ScenesConfig) -> Result<()> {
    let shape = data.train.shape();
    let ok_source = shape.channels == 1
        && data.train.classes().len() == 10
        && data.train.len() >= 6
        && !data.test.is_empty();
    let ok_config = cfg.items.0 >= 1
        && cfg.items.0 <= cfg.items.1
        && cfg.item_size.0 >= 1
        && cfg.item_size.0 <= cfg.item_size.1
        && cfg.item_size.0 <= cfg.canvas;
    if !ok_source {
        return Err(Error::Format {
            path: data.train.name().to_string(),
            what: format!("scenes are made from Fashion-MNIST (grey, 10 classes, at least 6 training images); this dataset has {} channel(s), {} classes, {} training images", shape.channels, data.train.classes().len(), data.train.len()),
        });
    }
    if !ok_config {
        return Err(Error::Format {
            path: "scenes settings".into(),
            what: format!("need 1 <= fewest items <= most items and 1 <= smallest item <= largest item, smallest <= canvas; got {cfg:?}"),
        });
    }
    Ok(())
}

/// An 8-bit grey PNG of a `side` x `side` buffer.
fn grey_png(data: &[u8], side: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut bytes);
    image::ImageEncoder::write_image(
        encoder,
        data,
        side as u32,
        side as u32,
        image::ExtendedColorType::L8,
    )
    .map_err(|e| Error::Image {
        path: "(scene being written)".into(),
        source: e,
    })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::cityscapes::{CityscapesSplit, MaskKind};
    use super::*;

    fn source() -> TrainTest {
        crate::load_named(crate::bundled::NAME, None).expect("bundled subset")
    }

    #[test]
    fn scenes_are_seeded_labelled_and_occluding() {
        let data = source();
        let cfg = ScenesConfig::default();
        let (src, pool) = pool_of(&data, "train");
        let a = scene(src, pool.clone(), "train", 7, &cfg);
        assert_eq!(a, scene(src, pool.clone(), "train", 7, &cfg));
        assert_ne!(a, scene(src, pool.clone(), "train", 8, &cfg));
        let (vsrc, vpool) = pool_of(&data, "val");
        assert_ne!(a, scene(vsrc, vpool, "val", 7, &cfg));
        for i in 0..20 {
            let s = scene(src, pool.clone(), "train", i, &cfg);
            assert!(s.mask.iter().all(|&l| l <= 10), "labels 0-10");
            let items = s.mask.iter().filter(|&&l| l != 0).count();
            assert!(items > 0, "scene {i} has no item pixels");
            // Only items are pasted: unlabelled pixels stay black.
            assert!(s
                .mask
                .iter()
                .zip(&s.pixels)
                .all(|(&l, &p)| l != 0 || p == 0));
        }
        let other = ScenesConfig { seed: 1, ..cfg };
        assert_ne!(a, scene(src, pool, "train", 7, &other));
    }

    #[test]
    fn written_scenes_read_back_through_the_cityscapes_reader() {
        let data = source();
        let cfg = ScenesConfig::default();
        let dir = tempfile::tempdir().expect("tempdir");
        let sums = write_scenes(dir.path(), &data, [4, 2, 3], &cfg).expect("written");
        assert_eq!(sums.lines().count(), 1 + 2 * 9);
        for line in sums.lines() {
            let (hash, rel) = line.split_once("  ").expect("sum line");
            let bytes = std::fs::read(dir.path().join(rel)).expect("file");
            assert_eq!(format!("{:x}", Sha256::digest(&bytes)), hash, "{rel}");
        }
        let val = CityscapesSplit::open(dir.path(), "val").expect("val split");
        assert_eq!((val.len(), val.masks), (2, MaskKind::TrainIds));
        assert_eq!(val.classes.len(), 11);
        assert_eq!(val.classes[0], "background");
        let (src, pool) = pool_of(&data, "val");
        for i in 0..2 {
            assert_eq!(
                val.read(i).expect("read"),
                scene(src, pool.clone(), "val", i as u64, &cfg)
            );
        }
        let bad = ScenesConfig {
            items: (3, 2),
            ..cfg
        };
        let e = write_scenes(dir.path(), &data, [1, 1, 1], &bad).expect_err("bad settings");
        assert!(e.to_string().contains("fewest items"), "{e}");
    }
}
