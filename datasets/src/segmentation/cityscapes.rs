//! The Cityscapes folder layout (Cordts et al. 2016):
//!
//! ```text
//! ROOT/leftImg8bit/SPLIT/CITY/NAME_leftImg8bit.png      the images
//! ROOT/gtFine/SPLIT/CITY/NAME_gtFine_labelIds.png       labelIds (0-33)
//! ROOT/gtFine/SPLIT/CITY/NAME_gtFine_labelTrainIds.png  or train ids
//! ```
//!
//! A user with Cityscapes on disk points nasarena at ROOT. Masks of
//! labelIds are mapped to the 19 training classes by the official table
//! (`cityscapesscripts/helpers/labels.py`); every other label becomes
//! [`IGNORE_LABEL`]. Where the masks already hold train ids (the
//! `labelTrainIds` files Cityscapes' scripts write, or Fashion-MNIST
//! scenes), they are read as they are, and the classes are the lines of
//! `ROOT/classes.txt` when it exists, Cityscapes' 19 otherwise.
//!
//! Samples are the images in byte order of city and file name, so a folder
//! always yields the same order; images are decoded when read (the full
//! Cityscapes does not fit in memory as pixels).

use super::{SegSample, IGNORE_LABEL};
use crate::folder::{decode, sorted_entries};
use crate::{Error, Result};
use image::DynamicImage;
use std::path::{Path, PathBuf};

/// The 19 Cityscapes training classes, by train id.
pub const CITYSCAPES_CLASSES: [&str; 19] = [
    "road",
    "sidewalk",
    "building",
    "wall",
    "fence",
    "pole",
    "traffic light",
    "traffic sign",
    "vegetation",
    "terrain",
    "sky",
    "person",
    "rider",
    "car",
    "truck",
    "bus",
    "train",
    "motorcycle",
    "bicycle",
];

/// Cityscapes labelId (0-33) -> train id, [`IGNORE_LABEL`] for labels not
/// trained on (the official mapping).
pub const LABEL_ID_TO_TRAIN_ID: [u8; 34] = {
    let mut t = [IGNORE_LABEL; 34];
    let trained: [(usize, u8); 19] = [
        (7, 0),
        (8, 1),
        (11, 2),
        (12, 3),
        (13, 4),
        (17, 5),
        (19, 6),
        (20, 7),
        (21, 8),
        (22, 9),
        (23, 10),
        (24, 11),
        (25, 12),
        (26, 13),
        (27, 14),
        (28, 15),
        (31, 16),
        (32, 17),
        (33, 18),
    ];
    let mut k = 0;
    while k < trained.len() {
        t[trained[k].0] = trained[k].1;
        k += 1;
    }
    t
};

const IMAGE_SUFFIX: &str = "_leftImg8bit.png";
const LABEL_IDS_SUFFIX: &str = "_gtFine_labelIds.png";
const TRAIN_IDS_SUFFIX: &str = "_gtFine_labelTrainIds.png";

/// What the masks of a folder hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskKind {
    /// Cityscapes labelIds, mapped by [`LABEL_ID_TO_TRAIN_ID`].
    LabelIds,
    /// Train ids already (`0..classes`, or [`IGNORE_LABEL`]).
    TrainIds,
}

/// One split of a Cityscapes-layout folder.
#[derive(Clone, Debug)]
pub struct CityscapesSplit {
    /// The folder given.
    pub root: PathBuf,
    /// The split (`train`, `val`, ...).
    pub split: String,
    /// Class names by train id.
    pub classes: Vec<String>,
    /// What the masks hold.
    pub masks: MaskKind,
    /// (image, mask) files in order.
    pub files: Vec<(PathBuf, PathBuf)>,
}

impl CityscapesSplit {
    /// Scans `root` for the images of `split` and their masks. Fails,
    /// naming the path, when the layout is not there, a mask is missing or
    /// the split mixes labelId and train-id masks.
    pub fn open(root: &Path, split: &str) -> Result<Self> {
        let images_dir = root.join("leftImg8bit").join(split);
        let masks_dir = root.join("gtFine").join(split);
        for dir in [&images_dir, &masks_dir] {
            if !dir.is_dir() {
                return Err(Error::Empty {
                    path: dir.display().to_string(),
                    what: format!("no such folder; a Cityscapes-layout dataset has leftImg8bit/{split}/CITY/*{IMAGE_SUFFIX} and gtFine/{split}/CITY/*{LABEL_IDS_SUFFIX} (or *{TRAIN_IDS_SUFFIX})"),
                });
            }
        }
        let mut files = Vec::new();
        let mut kinds = Vec::new();
        for city in sorted_entries(&images_dir, Path::is_dir)? {
            let city_name = city.file_name().unwrap_or_default().to_owned();
            let names = sorted_entries(&city, |p| p.to_string_lossy().ends_with(IMAGE_SUFFIX))?;
            for image in names {
                let file = image.file_name().unwrap_or_default().to_string_lossy();
                let stem = &file[..file.len() - IMAGE_SUFFIX.len()];
                let dir = masks_dir.join(&city_name);
                let train_ids = dir.join(format!("{stem}{TRAIN_IDS_SUFFIX}"));
                let label_ids = dir.join(format!("{stem}{LABEL_IDS_SUFFIX}"));
                let (mask, kind) = if train_ids.is_file() {
                    (train_ids, MaskKind::TrainIds)
                } else if label_ids.is_file() {
                    (label_ids, MaskKind::LabelIds)
                } else {
                    return Err(Error::Empty {
                        path: label_ids.display().to_string(),
                        what: format!(
                            "no mask for image {} (looked for *{LABEL_IDS_SUFFIX} and *{TRAIN_IDS_SUFFIX})",
                            image.display()
                        ),
                    });
                };
                files.push((image.clone(), mask));
                kinds.push(kind);
            }
        }
        let Some(&masks) = kinds.first() else {
            return Err(Error::Empty {
                path: images_dir.display().to_string(),
                what: format!("no *{IMAGE_SUFFIX} images in any city folder"),
            });
        };
        if let Some(k) = kinds.iter().position(|&k| k != masks) {
            return Err(Error::Format {
                path: files[k].1.display().to_string(),
                what: "this split mixes labelIds and labelTrainIds masks; keep one kind".into(),
            });
        }
        Ok(CityscapesSplit {
            root: root.to_path_buf(),
            split: split.to_string(),
            classes: class_names(root, masks)?,
            masks,
            files,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when the split has no samples (never, after [`Self::open`]).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Decodes sample `i`: its image (grey or RGB, alpha dropped) and its
    /// mask as train ids.
    pub fn read(&self, i: usize) -> Result<SegSample> {
        let (image_path, mask_path) = &self.files[i];
        let image = decode(image_path)?;
        let image_size = (image.width() as usize, image.height() as usize);
        let (channels, pixels) = match image {
            DynamicImage::ImageLuma8(g) => (1, g.into_raw()),
            other => (3, planar_rgb(&other)),
        };
        let mask_image = decode(mask_path)?;
        let DynamicImage::ImageLuma8(mask) = mask_image else {
            return Err(Error::Format {
                path: mask_path.display().to_string(),
                what: "a mask must be an 8-bit single-channel PNG".into(),
            });
        };
        let (w, h) = mask.dimensions();
        let (w, h) = (w as usize, h as usize);
        if image_size != (w, h) {
            return Err(Error::Format {
                path: mask_path.display().to_string(),
                what: format!(
                    "the mask is {w}x{h} (width x height) but its image {} is {}x{}",
                    image_path.display(),
                    image_size.0,
                    image_size.1
                ),
            });
        }
        let mask = self.train_ids(mask.into_raw(), mask_path)?;
        Ok(SegSample {
            channels,
            height: h,
            width: w,
            pixels,
            mask,
        })
    }

    fn train_ids(&self, raw: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
        let bad = |v: u8, what: String| Error::Format {
            path: path.display().to_string(),
            what: format!("mask value {v} {what}"),
        };
        match self.masks {
            MaskKind::LabelIds => raw
                .into_iter()
                .map(|v| {
                    LABEL_ID_TO_TRAIN_ID
                        .get(usize::from(v))
                        .copied()
                        .ok_or_else(|| bad(v, "is not a Cityscapes labelId (0-33)".into()))
                })
                .collect(),
            MaskKind::TrainIds => {
                let classes = self.classes.len();
                match raw
                    .iter()
                    .find(|&&v| v != IGNORE_LABEL && usize::from(v) >= classes)
                {
                    Some(&v) => Err(bad(
                        v,
                        format!("is neither a train id of the {classes} classes nor {IGNORE_LABEL} (ignored)"),
                    )),
                    None => Ok(raw),
                }
            }
        }
    }
}

/// The classes of a folder: `classes.txt` for train-id masks when present,
/// Cityscapes' 19 otherwise.
fn class_names(root: &Path, masks: MaskKind) -> Result<Vec<String>> {
    let file = root.join("classes.txt");
    if masks == MaskKind::TrainIds && file.is_file() {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let names: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        if names.is_empty() || names.len() >= usize::from(IGNORE_LABEL) {
            return Err(Error::Format {
                path: file.display().to_string(),
                what: format!(
                    "{} class names; give one per line, 1 to 254 of them",
                    names.len()
                ),
            });
        }
        return Ok(names);
    }
    Ok(CITYSCAPES_CLASSES.iter().map(|s| s.to_string()).collect())
}

/// RGB pixels of any colour image, channel-major.
fn planar_rgb(image: &DynamicImage) -> Vec<u8> {
    let rgb = image.to_rgb8();
    let n = rgb.width() as usize * rgb.height() as usize;
    let mut out = vec![0u8; 3 * n];
    for (k, p) in rgb.pixels().enumerate() {
        for c in 0..3 {
            out[c * n + k] = p.0[c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(path: &Path, w: u32, h: u32, data: &[u8], color: image::ExtendedColorType) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        image::save_buffer(path, data, w, h, color).expect("png");
    }

    /// Two cities, three 3x2 RGB images with labelId masks.
    fn fixture(root: &Path) {
        let rgb = |v: u8| [v; 18];
        for (city, name, mask) in [
            ("bonn", "bonn_000000_000019", [7u8, 26, 0, 7, 33, 24]),
            ("aachen", "aachen_000001_000019", [8, 8, 8, 23, 23, 23]),
            ("aachen", "aachen_000000_000019", [7, 7, 7, 7, 7, 7]),
        ] {
            let dir = |kind: &str| root.join(kind).join("train").join(city);
            png(
                &dir("leftImg8bit").join(format!("{name}_leftImg8bit.png")),
                3,
                2,
                &rgb(mask[0]),
                image::ExtendedColorType::Rgb8,
            );
            png(
                &dir("gtFine").join(format!("{name}_gtFine_labelIds.png")),
                3,
                2,
                &mask,
                image::ExtendedColorType::L8,
            );
        }
    }

    #[test]
    fn reads_the_layout_in_order_and_maps_label_ids_to_train_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        fixture(dir.path());
        let split = CityscapesSplit::open(dir.path(), "train").expect("opens");
        assert_eq!(
            (split.len(), split.masks, split.classes.len()),
            (3, MaskKind::LabelIds, 19)
        );
        let names: Vec<String> = split
            .files
            .iter()
            .map(|(i, _)| i.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        assert_eq!(names[0], "aachen_000000_000019_leftImg8bit.png");
        assert_eq!(names[2], "bonn_000000_000019_leftImg8bit.png");
        let bonn = split.read(2).expect("reads");
        assert_eq!((bonn.channels, bonn.height, bonn.width), (3, 2, 3));
        // road 0, car 13, unlabeled ignored, road, bicycle 18, person 11.
        assert_eq!(bonn.mask, vec![0, 13, 255, 0, 18, 11]);
        assert_eq!(
            split.read(1).expect("reads").mask,
            vec![1, 1, 1, 10, 10, 10]
        );
    }

    #[test]
    fn bad_folders_and_masks_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = CityscapesSplit::open(dir.path(), "val")
            .expect_err("no layout")
            .to_string();
        assert!(
            e.contains("leftImg8bit/val") || e.contains("leftImg8bit"),
            "{e}"
        );
        fixture(dir.path());
        let masks = dir.path().join("gtFine/train/bonn");
        std::fs::remove_file(masks.join("bonn_000000_000019_gtFine_labelIds.png")).expect("rm");
        let e = CityscapesSplit::open(dir.path(), "train")
            .expect_err("missing mask")
            .to_string();
        assert!(
            e.contains("bonn_000000_000019_gtFine_labelIds.png") && e.contains("no mask"),
            "{e}"
        );
        png(
            &masks.join("bonn_000000_000019_gtFine_labelIds.png"),
            3,
            2,
            &[7, 40, 7, 7, 7, 7],
            image::ExtendedColorType::L8,
        );
        let split = CityscapesSplit::open(dir.path(), "train").expect("opens");
        let e = split.read(2).expect_err("labelId 40").to_string();
        assert!(e.contains("mask value 40") && e.contains("labelId"), "{e}");
        png(
            &masks.join("bonn_000000_000019_gtFine_labelIds.png"),
            2,
            3,
            &[7; 6],
            image::ExtendedColorType::L8,
        );
        let e = split.read(2).expect_err("size").to_string();
        assert!(e.contains("2x3"), "{e}");
    }

    #[test]
    fn train_id_masks_use_classes_txt_and_refuse_unknown_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::write(root.join("classes.txt"), "background\nshirt\nbag\n").expect("classes");
        let stem = "s/x/scene_000000";
        png(
            &root.join(format!("leftImg8bit/{stem}_leftImg8bit.png")),
            2,
            1,
            &[0, 200],
            image::ExtendedColorType::L8,
        );
        let mask = root.join(format!("gtFine/{stem}_gtFine_labelTrainIds.png"));
        png(&mask, 2, 1, &[0, 2], image::ExtendedColorType::L8);
        let split = CityscapesSplit::open(root, "s").expect("opens");
        assert_eq!((split.masks, split.classes.len()), (MaskKind::TrainIds, 3));
        let s = split.read(0).expect("reads");
        assert_eq!(
            (s.channels, s.pixels.clone(), s.mask.clone()),
            (1, vec![0, 200], vec![0, 2])
        );
        png(&mask, 2, 1, &[0, 3], image::ExtendedColorType::L8);
        let e = split.read(0).expect_err("id 3 of 3 classes").to_string();
        assert!(e.contains("mask value 3") && e.contains("3 classes"), "{e}");
    }
}
