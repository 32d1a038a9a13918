//! The binary versions of CIFAR-10 and CIFAR-100 (Krizhevsky 2009,
//! "Learning Multiple Layers of Features from Tiny Images").
//!
//! CIFAR-10 files (`data_batch_1.bin` .. `data_batch_5.bin`,
//! `test_batch.bin`) are records of 1 label byte + 3072 pixel bytes;
//! CIFAR-100 files (`train.bin`, `test.bin`) are records of a coarse label
//! byte, a fine label byte and 3072 pixel bytes. Pixels are 32 x 32, stored
//! as the red plane, then green, then blue: already C x H x W.

use crate::dataset::{numbered_classes, ImageDataset, Shape};
use crate::{io, Error, Result};
use std::path::{Path, PathBuf};

/// Pixel bytes per CIFAR image.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;

/// Which CIFAR file layout, and for CIFAR-100 which label to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CifarKind {
    /// CIFAR-10: 10 classes, 3073-byte records.
    Ten,
    /// CIFAR-100 with its 100 fine labels.
    HundredFine,
    /// CIFAR-100 with its 20 coarse (superclass) labels.
    HundredCoarse,
}

impl CifarKind {
    /// Bytes per record.
    pub fn record_len(self) -> usize {
        match self {
            CifarKind::Ten => 1 + IMAGE_BYTES,
            _ => 2 + IMAGE_BYTES,
        }
    }

    /// Number of classes of the chosen label.
    pub fn num_classes(self) -> usize {
        match self {
            CifarKind::Ten => 10,
            CifarKind::HundredFine => 100,
            CifarKind::HundredCoarse => 20,
        }
    }

    /// Offset of the chosen label inside a record.
    fn label_offset(self) -> usize {
        match self {
            CifarKind::HundredFine => 1,
            _ => 0,
        }
    }
}

/// The class names of CIFAR-10, as in `batches.meta.txt`.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Parses (decompressed) CIFAR records into pixels and labels, appending to
/// `pixels` and `labels`. `origin` names the file in errors.
pub fn parse_records(
    bytes: &[u8],
    kind: CifarKind,
    origin: &str,
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u16>,
) -> Result<()> {
    let rec = kind.record_len();
    if bytes.is_empty() {
        return Err(Error::Empty {
            path: origin.to_string(),
            what: "the file is empty, expected CIFAR records".to_string(),
        });
    }
    if !bytes.len().is_multiple_of(rec) {
        return Err(Error::Truncated {
            path: origin.to_string(),
            what: format!(
                "{} bytes is not a whole number of {rec}-byte {kind:?} records \
                 ({} whole records, {} bytes left over)",
                bytes.len(),
                bytes.len() / rec,
                bytes.len() % rec
            ),
        });
    }
    let base = labels.len();
    pixels.reserve(bytes.len() / rec * IMAGE_BYTES);
    for (i, r) in bytes.chunks_exact(rec).enumerate() {
        let label = r[kind.label_offset()];
        if usize::from(label) >= kind.num_classes() {
            return Err(Error::LabelOutOfRange {
                path: origin.to_string(),
                index: base + i,
                label: u32::from(label),
                num_classes: kind.num_classes(),
            });
        }
        labels.push(u16::from(label));
        pixels.extend_from_slice(&r[rec - IMAGE_BYTES..]);
    }
    Ok(())
}

/// Reads CIFAR files (gzip or plain) of one kind into one dataset, in the
/// order given; class names come from the names file in the folder of the
/// first file when present.
pub fn load_files(files: &[PathBuf], kind: CifarKind, name: &str) -> Result<ImageDataset> {
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for f in files {
        let bytes = io::read_maybe_gzip(f)?;
        parse_records(
            &bytes,
            kind,
            &f.display().to_string(),
            &mut pixels,
            &mut labels,
        )?;
    }
    let dir = files.first().and_then(|f| f.parent());
    let classes = class_names(dir, kind);
    ImageDataset::new(name, Shape::new(3, 32, 32), pixels, labels, classes)
}

/// The class names shipped next to the data, or built-in / numbered ones.
fn class_names(dir: Option<&Path>, kind: CifarKind) -> Vec<String> {
    let file = match kind {
        CifarKind::Ten => "batches.meta.txt",
        CifarKind::HundredFine => "fine_label_names.txt",
        CifarKind::HundredCoarse => "coarse_label_names.txt",
    };
    let from_file = dir
        .and_then(|d| std::fs::read_to_string(d.join(file)).ok())
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|names| names.len() == kind.num_classes());
    match (from_file, kind) {
        (Some(names), _) => names,
        (None, CifarKind::Ten) => CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
        (None, _) => numbered_classes(kind.num_classes()),
    }
}

/// Finds the CIFAR folder under `dir`: `dir` itself or the folder the
/// official archives unpack to (`cifar-10-batches-bin`, `cifar-100-binary`).
pub fn find_dir(dir: &Path, kind: CifarKind) -> Option<PathBuf> {
    let (sub, marker) = match kind {
        CifarKind::Ten => ("cifar-10-batches-bin", "test_batch"),
        _ => ("cifar-100-binary", "test"),
    };
    [dir.to_path_buf(), dir.join(sub)]
        .into_iter()
        .find(|d| find_file(d, marker).is_some())
}

/// `stem.bin` or `stem.bin.gz` in `dir`, whichever exists.
pub fn find_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.bin"), format!("{stem}.bin.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Loads the training and test sets from a CIFAR folder.
pub fn load_dir(dir: &Path, kind: CifarKind) -> Result<(ImageDataset, ImageDataset)> {
    let (name, train_stems, test_stem): (&str, Vec<String>, &str) = match kind {
        CifarKind::Ten => (
            "cifar10",
            (1..=5).map(|i| format!("data_batch_{i}")).collect(),
            "test_batch",
        ),
        CifarKind::HundredFine => ("cifar100", vec!["train".into()], "test"),
        CifarKind::HundredCoarse => ("cifar100-coarse", vec!["train".into()], "test"),
    };
    let root = find_dir(dir, kind).ok_or_else(|| Error::NotFound {
        name: name.to_string(),
        what: format!("no {test_stem}.bin under {}", dir.display()),
    })?;
    let locate = |stem: &str| {
        find_file(&root, stem).ok_or_else(|| Error::NotFound {
            name: name.to_string(),
            what: format!("{stem}.bin is missing from {}", root.display()),
        })
    };
    let train_files = train_stems
        .iter()
        .map(|s| locate(s))
        .collect::<Result<Vec<_>>>()?;
    let test_file = locate(test_stem)?;
    let train = load_files(&train_files, kind, &format!("{name}/train"))?;
    let test = load_files(&[test_file], kind, &format!("{name}/test"))?;
    Ok((train, test))
}

/// Serialises CIFAR records (for tests): `labels` holds one label (CIFAR-10)
/// or a `(coarse, fine)` pair per image.
pub fn encode_records(labels: &[(u8, Option<u8>)], pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &(first, second)) in labels.iter().enumerate() {
        out.push(first);
        if let Some(s) = second {
            out.push(s);
        }
        let at = i * IMAGE_BYTES;
        out.extend_from_slice(
            pixels
                .get(at..at + IMAGE_BYTES)
                .unwrap_or(&[0; IMAGE_BYTES]),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    #[test]
    fn cifar100_picks_the_chosen_label() {
        let px: Vec<u8> = (0..2 * IMAGE_BYTES).map(|i| (i % 253) as u8).collect();
        let bytes = encode_records(&[(3, Some(77)), (19, Some(5))], &px);
        for (kind, want) in [
            (CifarKind::HundredCoarse, [3, 19]),
            (CifarKind::HundredFine, [77, 5]),
        ] {
            let (mut p, mut l) = (Vec::new(), Vec::new());
            parse_records(&bytes, kind, "t", &mut p, &mut l).unwrap();
            assert_eq!(l, want);
            assert_eq!(p, px);
        }
        let (mut p, mut l) = (Vec::new(), Vec::new());
        let e = parse_records(&bytes, CifarKind::Ten, "t.bin", &mut p, &mut l).unwrap_err();
        assert!(e.to_string().contains("t.bin"), "{e}");
    }

    #[test]
    fn out_of_range_label_names_the_sample() {
        let bytes = encode_records(&[(1, None), (10, None)], &[]);
        let (mut p, mut l) = (Vec::new(), Vec::new());
        let e = parse_records(&bytes, CifarKind::Ten, "x.bin", &mut p, &mut l).unwrap_err();
        assert!(
            matches!(
                e,
                Error::LabelOutOfRange {
                    index: 1,
                    label: 10,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn folder_with_names_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cifar-10-batches-bin");
        std::fs::create_dir(&root).unwrap();
        for (i, stem) in [
            "data_batch_1",
            "data_batch_2",
            "data_batch_3",
            "data_batch_4",
            "data_batch_5",
            "test_batch",
        ]
        .iter()
        .enumerate()
        {
            let labels: Vec<_> = (0..3).map(|k| (((i + k) % 10) as u8, None)).collect();
            std::fs::write(
                root.join(format!("{stem}.bin")),
                encode_records(&labels, &[]),
            )
            .unwrap();
        }
        let names: String = (0..10).map(|i| format!("c{i}\n")).collect();
        std::fs::write(root.join("batches.meta.txt"), names).unwrap();
        let (train, test) = load_dir(dir.path(), CifarKind::Ten).unwrap();
        assert_eq!((train.len(), test.len()), (15, 3));
        assert_eq!(train.classes()[9], "c9");
        assert_eq!(test.labels(), &[5, 6, 7]);
    }
}
