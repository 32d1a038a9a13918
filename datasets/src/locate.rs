//! Finding datasets by name: the bundled subset, Debian's Fashion-MNIST
//! package, and a data folder (`--data-dir`, a config key, or the
//! `NASARENA_DATA_DIR` environment variable) for everything else.
//!
//! Under a data folder a dataset lives in a sub-folder named after it
//! (`fashion-mnist/`, `mnist/`, `kmnist/`, `cifar10/`, `cifar100/`), or in
//! the folder the official archive unpacks to (`cifar-10-batches-bin/`,
//! `cifar-100-binary/`).

use crate::cifar::{self, CifarKind};
use crate::idxset::{self, FASHION_MNIST_CLASSES};
use crate::{bundled, Dataset, Error, Result, TrainTest};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where Debian's `dataset-fashion-mnist` package installs the files.
pub const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The environment variable naming the default data folder.
pub const DATA_DIR_ENV: &str = "NASARENA_DATA_DIR";

/// The names [`load_named`] understands.
pub const NAMES: [&str; 7] = [
    "fashion-mnist-subset",
    "fashion-mnist",
    "mnist",
    "kmnist",
    "cifar10",
    "cifar100",
    "cifar100-coarse",
];

/// The data folder from `NASARENA_DATA_DIR`, if set and not empty.
pub fn data_dir_from_env() -> Option<PathBuf> {
    std::env::var_os(DATA_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn idx_classes(name: &str) -> Option<Vec<String>> {
    match name {
        "fashion-mnist" => Some(
            FASHION_MNIST_CLASSES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
        // Digits and KMNIST's ten hiragana: name them by label.
        "mnist" | "kmnist" => Some(crate::numbered_classes(10)),
        _ => None,
    }
}

/// Folders that may hold the dataset `name`, in search order.
fn candidates(name: &str, data_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(d) = data_dir {
        out.push(d.join(name));
        match name {
            "cifar10" => out.push(d.to_path_buf()),
            "cifar100" | "cifar100-coarse" => {
                out.push(d.join("cifar100"));
                out.push(d.to_path_buf());
            }
            _ => {}
        }
    }
    if name == "fashion-mnist" {
        out.push(PathBuf::from(DEBIAN_FASHION_MNIST));
    }
    out
}

/// Where the dataset `name` would be loaded from, if it is found.
pub fn locate(name: &str, data_dir: Option<&Path>) -> Option<PathBuf> {
    let dirs = candidates(name, data_dir);
    match name {
        "fashion-mnist" | "mnist" | "kmnist" => dirs.into_iter().find(|d| idxset::is_idx_dir(d)),
        "cifar10" => dirs.iter().find_map(|d| cifar::find_dir(d, CifarKind::Ten)),
        "cifar100" | "cifar100-coarse" => dirs
            .iter()
            .find_map(|d| cifar::find_dir(d, CifarKind::HundredFine)),
        _ => None,
    }
}

/// Loads the training and test sets of a named dataset.
/// `NAME@S` (e.g. `fashion-mnist@14`) loads `NAME` and downsamples every
/// image to `S x S` ([`crate::downsample`]).
pub fn load_named(name: &str, data_dir: Option<&Path>) -> Result<TrainTest> {
    if let Some(parsed) = crate::downsample::parse(name) {
        let (base, size) = parsed?;
        // The table's data works without Debian's package: the same images
        // are compiled in (a test checks them against the package).
        if name == bundled::NAME_16 && locate(base, data_dir).is_none() {
            return bundled::fashion_mnist_16();
        }
        return crate::downsample::downsample_pair(load_named(base, data_dir)?, size);
    }
    if name == bundled::NAME {
        return bundled::fashion_mnist_subset();
    }
    if !NAMES.contains(&name) {
        let path = Path::new(name);
        if path.is_dir() {
            return load_path(path);
        }
        return Err(Error::NotFound {
            name: name.to_string(),
            what: format!(
                "unknown dataset name and not a folder; known names: {}",
                NAMES.join(", ")
            ),
        });
    }
    let Some(dir) = locate(name, data_dir) else {
        let searched: Vec<String> = candidates(name, data_dir)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(Error::NotFound {
            name: name.to_string(),
            what: format!(
                "searched {}; set --data-dir or {DATA_DIR_ENV} to the folder holding `{name}/`",
                if searched.is_empty() {
                    "nothing (no data folder set)".to_string()
                } else {
                    searched.join(", ")
                }
            ),
        });
    };
    match name {
        "cifar10" => pair(cifar::load_dir(&dir, CifarKind::Ten)?),
        "cifar100" => pair(cifar::load_dir(&dir, CifarKind::HundredFine)?),
        "cifar100-coarse" => pair(cifar::load_dir(&dir, CifarKind::HundredCoarse)?),
        _ => idxset::load_dir(&dir, name, idx_classes(name)),
    }
}

/// Loads the training and test sets from a folder in any supported layout:
/// an MNIST-style IDX folder, a CIFAR-10 or CIFAR-100 (fine labels) binary
/// folder, or `train/` and `test/` image folders (one sub-folder per class
/// in each, with the same class names).
pub fn load_path(dir: &Path) -> Result<TrainTest> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".to_string());
    if idxset::is_idx_dir(dir) {
        let classes = if name.contains("fashion") {
            idx_classes("fashion-mnist")
        } else {
            None
        };
        return idxset::load_dir(dir, &name, classes);
    }
    for kind in [CifarKind::Ten, CifarKind::HundredFine] {
        if cifar::find_dir(dir, kind).is_some() {
            return pair(cifar::load_dir(dir, kind)?);
        }
    }
    let (train_dir, test_dir) = (dir.join("train"), dir.join("test"));
    if !(train_dir.is_dir() && test_dir.is_dir()) {
        return Err(Error::NotFound {
            name: dir.display().to_string(),
            what: "not an IDX folder, not a CIFAR folder, and no train/ and test/ image folders"
                .to_string(),
        });
    }
    let train = crate::folder::load(&train_dir, &format!("{name}/train"))?;
    let test = crate::folder::load(&test_dir, &format!("{name}/test"))?;
    if train.classes() != test.classes() || train.shape() != test.shape() {
        return Err(Error::Format {
            path: test_dir.display().to_string(),
            what: format!(
                "classes or image shape differ from {} ({} vs {} classes, {} vs {})",
                train_dir.display(),
                test.num_classes(),
                train.num_classes(),
                test.shape(),
                train.shape()
            ),
        });
    }
    Ok(TrainTest { train, test })
}

fn pair((train, test): (crate::ImageDataset, crate::ImageDataset)) -> Result<TrainTest> {
    Ok(TrainTest { train, test })
}

/// One dataset that was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Available {
    /// The name to load it by.
    pub name: String,
    /// Where it is (a folder, or `compiled in`).
    pub location: String,
    /// The on-disk format.
    pub format: String,
}

impl fmt::Display for Available {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<22} {:<14} {}", self.name, self.format, self.location)
    }
}

/// Every dataset found: the bundled subset, Debian's Fashion-MNIST, and
/// whatever the data folder holds. Nothing is decoded, so this is fast.
pub fn list_available(data_dir: Option<&Path>) -> Vec<Available> {
    let mut out = vec![Available {
        name: bundled::NAME.to_string(),
        location: "compiled in (6000 train + 1000 test)".to_string(),
        format: "idx (gzip)".to_string(),
    }];
    out.push(Available {
        name: bundled::NAME_16.to_string(),
        location: "compiled in (60000 train + 10000 test, 16x16; any NAME@S downsamples)"
            .to_string(),
        format: "idx (gzip)".to_string(),
    });
    for name in NAMES.iter().skip(1) {
        if let Some(dir) = locate(name, data_dir) {
            let format = if name.starts_with("cifar") {
                "cifar binary"
            } else {
                "idx"
            };
            out.push(Available {
                name: name.to_string(),
                location: dir.display().to_string(),
                format: format.to_string(),
            });
        }
    }
    out
}
