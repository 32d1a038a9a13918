//! `nasarena data check PATH`: detect what a file or folder holds, load it
//! fully (so every error a run would hit shows up now), and report counts,
//! class balance and the provenance checksum.

use crate::cifar::{self, CifarKind};
use crate::dataset::{Dataset, ImageDataset, Shape};
use crate::idxset::{self, FASHION_MNIST_CLASSES};
use crate::{folder, idx, io, Error, Result};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};

/// What `check_path` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The path checked.
    pub path: PathBuf,
    /// The detected format.
    pub format: String,
    /// One entry per split or file.
    pub parts: Vec<PartReport>,
}

/// Counts of one split or file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartReport {
    /// `train`, `test`, or a file name.
    pub name: String,
    /// Number of samples.
    pub count: usize,
    /// Image shape, when the part has images.
    pub shape: Option<Shape>,
    /// Samples per class (name, count), when the part has labels.
    pub classes: Option<Vec<(String, usize)>>,
    /// The dataset checksum (see [`Dataset::checksum`]) for labelled images;
    /// the sha256 of the decompressed file for a lone image or label file.
    pub checksum: String,
}

impl PartReport {
    fn of(name: &str, d: &ImageDataset) -> Self {
        let classes = d.classes().iter().cloned().zip(d.class_counts()).collect();
        PartReport {
            name: name.to_string(),
            count: d.len(),
            shape: Some(d.shape()),
            classes: Some(classes),
            checksum: d.checksum().to_string(),
        }
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "path:   {}", self.path.display())?;
        writeln!(f, "format: {}", self.format)?;
        for p in &self.parts {
            write!(f, "{}: {} samples", p.name, p.count)?;
            if let Some(s) = p.shape {
                write!(f, ", images {s} (CxHxW)")?;
            }
            writeln!(f)?;
            if let Some(classes) = &p.classes {
                let counts: Vec<usize> = classes.iter().map(|c| c.1).collect();
                let (lo, hi) = (
                    counts.iter().min().unwrap_or(&0),
                    counts.iter().max().unwrap_or(&0),
                );
                let balance = if lo == hi { "balanced" } else { "imbalanced" };
                writeln!(
                    f,
                    "  {} classes, {balance} (min {lo}, max {hi} per class)",
                    classes.len()
                )?;
                for (name, n) in classes {
                    writeln!(f, "    {name:<16} {n}")?;
                }
            }
            writeln!(f, "  sha256 {}", p.checksum)?;
        }
        Ok(())
    }
}

fn report(path: &Path, format: &str, parts: Vec<PartReport>) -> CheckReport {
    CheckReport {
        path: path.to_path_buf(),
        format: format.to_string(),
        parts,
    }
}

/// Detects the format of a file or folder, loads it and reports on it.
pub fn check_path(path: &Path) -> Result<CheckReport> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        check_dir(path)
    } else {
        check_file(path)
    }
}

fn check_dir(dir: &Path) -> Result<CheckReport> {
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if idxset::is_idx_dir(dir) {
        let classes = dir_name.contains("fashion").then(|| {
            FASHION_MNIST_CLASSES
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        let tt = idxset::load_dir(dir, &dir_name, classes)?;
        let parts = vec![
            PartReport::of("train", &tt.train),
            PartReport::of("test", &tt.test),
        ];
        return Ok(report(dir, "IDX (MNIST-style folder)", parts));
    }
    for (kind, format) in [
        (CifarKind::Ten, "CIFAR-10 binary"),
        (CifarKind::HundredFine, "CIFAR-100 binary (fine labels)"),
    ] {
        if cifar::find_dir(dir, kind).is_some() {
            let (train, test) = cifar::load_dir(dir, kind)?;
            let parts = vec![
                PartReport::of("train", &train),
                PartReport::of("test", &test),
            ];
            return Ok(report(dir, format, parts));
        }
    }
    let d = folder::load(dir, &dir_name)?;
    Ok(report(
        dir,
        "image folder (one sub-folder per class)",
        vec![PartReport::of("all", &d)],
    ))
}

/// The file that pairs with an IDX image or label file, by the usual naming.
fn sibling(path: &Path, images: bool) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let other = if images {
        name.replace("images", "labels").replace("idx3", "idx1")
    } else {
        name.replace("labels", "images").replace("idx1", "idx3")
    };
    let p = path.with_file_name(other);
    (p.is_file() && p != path).then_some(p)
}

fn check_file(path: &Path) -> Result<CheckReport> {
    let head = io::peek(path, 4)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match idx::magic(&head) {
        Some(m @ (idx::IMAGES_MAGIC | idx::LABELS_MAGIC)) => {
            let images = m == idx::IMAGES_MAGIC;
            if let Some(other) = sibling(path, images) {
                let (i, l) = if images {
                    (path, other.as_path())
                } else {
                    (other.as_path(), path)
                };
                let d = idxset::load_pair(i, l, &file_name, None)?;
                let format = format!("IDX pair ({} + {})", i.display(), l.display());
                return Ok(report(path, &format, vec![PartReport::of(&file_name, &d)]));
            }
            lone_idx(path, &file_name, images)
        }
        _ if file_name.ends_with(".bin") || file_name.ends_with(".bin.gz") => {
            check_cifar_file(path, &file_name)
        }
        _ => Err(Error::Format {
            path: path.display().to_string(),
            what: "unknown format: not IDX (magic 0x00000801/0x00000803), not a CIFAR .bin file, \
                   not a folder"
                .to_string(),
        }),
    }
}

/// An IDX file without its partner: counts, and classes for labels.
fn lone_idx(path: &Path, file_name: &str, images: bool) -> Result<CheckReport> {
    let bytes = io::read_maybe_gzip(path)?;
    let origin = path.display().to_string();
    let checksum = format!("{:x}", Sha256::digest(&bytes));
    let part = if images {
        let img = idx::parse_images(&bytes, &origin)?;
        PartReport {
            name: file_name.to_string(),
            count: img.count,
            shape: Some(Shape::new(1, img.rows, img.cols)),
            classes: None,
            checksum,
        }
    } else {
        let labels = idx::parse_labels(&bytes, &origin)?;
        let mut counts = vec![0usize; labels.iter().max().map_or(0, |&m| usize::from(m) + 1)];
        for &l in &labels {
            counts[usize::from(l)] += 1;
        }
        PartReport {
            name: file_name.to_string(),
            count: labels.len(),
            shape: None,
            classes: Some(
                counts
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| (i.to_string(), n))
                    .collect(),
            ),
            checksum,
        }
    };
    let what = if images {
        "IDX image file (no label file next to it)"
    } else {
        "IDX label file (no image file next to it)"
    };
    Ok(report(path, what, vec![part]))
}

fn check_cifar_file(path: &Path, file_name: &str) -> Result<CheckReport> {
    let stem = file_name.trim_end_matches(".gz").trim_end_matches(".bin");
    let kind = if stem.starts_with("data_batch") || stem == "test_batch" {
        CifarKind::Ten
    } else if stem == "train" || stem == "test" {
        CifarKind::HundredFine
    } else {
        let len = io::read_maybe_gzip(path)?.len();
        if len % CifarKind::Ten.record_len() == 0 {
            CifarKind::Ten
        } else {
            CifarKind::HundredFine
        }
    };
    let d = cifar::load_files(&[path.to_path_buf()], kind, file_name)?;
    let format = match kind {
        CifarKind::Ten => "CIFAR-10 binary file",
        _ => "CIFAR-100 binary file (fine labels)",
    };
    Ok(report(path, format, vec![PartReport::of(file_name, &d)]))
}
