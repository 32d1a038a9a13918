//! Whole IDX datasets: an image file and its label file, checked against
//! each other, and the folders MNIST-like datasets are distributed in.

use crate::dataset::{numbered_classes, ImageDataset, Shape};
use crate::{idx, io, Error, Result, TrainTest};
use std::path::{Path, PathBuf};

/// Fashion-MNIST's class names, in label order (Xiao et al. 2017).
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Builds a dataset from decompressed-or-gzip IDX image and label bytes,
/// each given with the name of its origin. Without class names, the classes
/// are `0..=max label`.
pub fn from_idx_bytes(
    (images, images_origin): (&[u8], &str),
    (labels, labels_origin): (&[u8], &str),
    name: &str,
    classes: Option<Vec<String>>,
) -> Result<ImageDataset> {
    let img = idx::parse_images(
        &io::decode_maybe_gzip(images, images_origin)?,
        images_origin,
    )?;
    let lab = idx::parse_labels(
        &io::decode_maybe_gzip(labels, labels_origin)?,
        labels_origin,
    )?;
    if img.count != lab.len() {
        return Err(Error::CountMismatch {
            images: images_origin.to_string(),
            labels: labels_origin.to_string(),
            n_images: img.count,
            n_labels: lab.len(),
        });
    }
    let classes = classes
        .unwrap_or_else(|| numbered_classes(lab.iter().max().map_or(0, |&m| usize::from(m) + 1)));
    if let Some((index, &label)) = lab
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= classes.len())
    {
        return Err(Error::LabelOutOfRange {
            path: labels_origin.to_string(),
            index,
            label: u32::from(label),
            num_classes: classes.len(),
        });
    }
    let labels = lab.into_iter().map(u16::from).collect();
    ImageDataset::new(
        name,
        Shape::new(1, img.rows, img.cols),
        img.pixels,
        labels,
        classes,
    )
}

/// Reads an IDX image file and its label file.
pub fn load_pair(
    images: &Path,
    labels: &Path,
    name: &str,
    classes: Option<Vec<String>>,
) -> Result<ImageDataset> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| Error::io(p, e));
    let (ib, lb) = (read(images)?, read(labels)?);
    from_idx_bytes(
        (&ib, &images.display().to_string()),
        (&lb, &labels.display().to_string()),
        name,
        classes,
    )
}

/// The file of one split (`train` or `t10k`) and kind (`images-idx3` or
/// `labels-idx1`) in `dir`, under any of its usual names:
/// `train-images-idx3-ubyte[.gz]` or `train-images.idx3-ubyte[.gz]`.
pub fn find_file(dir: &Path, split: &str, kind: &str) -> Option<PathBuf> {
    let dotted = kind.replacen('-', ".", 1);
    [
        format!("{split}-{kind}-ubyte"),
        format!("{split}-{dotted}-ubyte"),
    ]
    .into_iter()
    .flat_map(|n| [format!("{n}.gz"), n])
    .map(|n| dir.join(n))
    .find(|p| p.is_file())
}

/// Whether `dir` holds an MNIST-style set of four IDX files.
pub fn is_idx_dir(dir: &Path) -> bool {
    ["train", "t10k"].iter().all(|s| {
        find_file(dir, s, "images-idx3").is_some() && find_file(dir, s, "labels-idx1").is_some()
    })
}

/// Loads the training and test sets from an MNIST-style folder.
pub fn load_dir(dir: &Path, name: &str, classes: Option<Vec<String>>) -> Result<TrainTest> {
    let locate = |split: &str, kind: &str| {
        find_file(dir, split, kind).ok_or_else(|| Error::NotFound {
            name: name.to_string(),
            what: format!("no {split}-{kind}-ubyte[.gz] in {}", dir.display()),
        })
    };
    let load = |split: &str, part: &str| -> Result<ImageDataset> {
        let (i, l) = (locate(split, "images-idx3")?, locate(split, "labels-idx1")?);
        load_pair(&i, &l, &format!("{name}/{part}"), classes.clone())
    };
    let train = load("train", "train")?;
    let test = load("t10k", "test")?;
    Ok(TrainTest { train, test })
}
