//! Readers against files the tests write in the exact on-disk formats,
//! gzipped and plain, and every kind of broken file: each must give an
//! error that names the file and the problem, never a panic.

// Test helpers outside #[test] fns may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use flate2::{write::GzEncoder, Compression};
use nasarena_datasets::cifar::{encode_records, IMAGE_BYTES};
use nasarena_datasets::idx::{encode_images, encode_labels};
use nasarena_datasets::{check_path, folder, idxset, list_available, load_named, Dataset, Error};
use std::io::Write;
use std::path::Path;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Writes an MNIST-style folder: `n` train and `n / 2` test images of 5x4.
fn write_idx_dir(dir: &Path, n: usize, zipped: bool) {
    for (split, count) in [("train", n), ("t10k", n / 2)] {
        let pixels: Vec<u8> = (0..count * 20).map(|i| (i * 13 % 256) as u8).collect();
        let labels: Vec<u8> = (0..count).map(|i| (i % 3) as u8).collect();
        let files = [
            (
                format!("{split}-images-idx3-ubyte"),
                encode_images(count, 5, 4, &pixels),
            ),
            (format!("{split}-labels-idx1-ubyte"), encode_labels(&labels)),
        ];
        for (name, bytes) in files {
            if zipped {
                std::fs::write(dir.join(format!("{name}.gz")), gz(&bytes)).unwrap();
            } else {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }
}

#[test]
fn idx_folders_gzip_and_plain_give_the_same_dataset() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_idx_dir(a.path(), 12, true);
    write_idx_dir(b.path(), 12, false);
    let ta = idxset::load_dir(a.path(), "m", None).unwrap();
    let tb = idxset::load_dir(b.path(), "m", None).unwrap();
    assert_eq!(ta.train.checksum(), tb.train.checksum());
    assert_eq!((ta.train.len(), ta.test.len()), (12, 6));
    assert_eq!(ta.train.class_counts(), vec![4, 4, 4]);
    assert_eq!(ta.train.image(1).unwrap()[0], (20 * 13 % 256) as u8);
    // The same folder under a data dir, by name.
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir(data.path().join("kmnist")).unwrap();
    write_idx_dir(&data.path().join("kmnist"), 4, true);
    assert_eq!(
        load_named("kmnist", Some(data.path())).unwrap().train.len(),
        4
    );
    let missing = load_named("mnist", Some(data.path())).unwrap_err();
    assert!(missing.to_string().contains("mnist"), "{missing}");
}

fn err_of(dir: &Path) -> String {
    let e = idxset::load_dir(dir, "m", None).unwrap_err();
    e.to_string()
}

#[test]
fn broken_idx_files_are_named_errors() {
    let d = tempfile::tempdir().unwrap();
    write_idx_dir(d.path(), 10, false);
    let images = d.path().join("train-images-idx3-ubyte");
    let labels = d.path().join("train-labels-idx1-ubyte");
    let good = std::fs::read(&images).unwrap();

    std::fs::write(&images, &good[..good.len() - 7]).unwrap();
    let e = err_of(d.path());
    assert!(
        e.contains("train-images-idx3-ubyte") && e.contains("truncated"),
        "{e}"
    );

    let mut bad_magic = good.clone();
    bad_magic[3] = 0x02;
    std::fs::write(&images, &bad_magic).unwrap();
    let e = err_of(d.path());
    assert!(
        e.contains("train-images-idx3-ubyte") && e.contains("magic"),
        "{e}"
    );

    std::fs::write(&images, &good).unwrap();
    std::fs::write(&labels, encode_labels(&[0; 9])).unwrap();
    let e = err_of(d.path());
    assert!(e.contains("10 images") && e.contains("9 labels"), "{e}");

    std::fs::write(&labels, &gz(&[1, 2, 3])[..10]).unwrap();
    let e = err_of(d.path());
    assert!(
        e.contains("train-labels-idx1-ubyte") && e.contains("gzip"),
        "{e}"
    );

    // Fashion-MNIST has 10 classes: label 10 is out of range.
    let mut l = vec![0u8; 10];
    l[7] = 10;
    std::fs::write(&labels, encode_labels(&l)).unwrap();
    let classes = Some((0..10).map(|i| i.to_string()).collect());
    let e = idxset::load_dir(d.path(), "m", classes).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LabelOutOfRange {
                index: 7,
                label: 10,
                ..
            }
        ),
        "{e}"
    );
}

fn write_cifar100(dir: &Path, n: usize) {
    let labels: Vec<_> = (0..n)
        .map(|i| ((i % 20) as u8, Some((i * 7 % 100) as u8)))
        .collect();
    let pixels: Vec<u8> = (0..n * IMAGE_BYTES).map(|i| (i % 199) as u8).collect();
    std::fs::write(dir.join("train.bin"), encode_records(&labels, &pixels)).unwrap();
    std::fs::write(
        dir.join("test.bin.gz"),
        gz(&encode_records(&labels[..2], &pixels)),
    )
    .unwrap();
}

#[test]
fn cifar100_folder_fine_and_coarse() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("cifar-100-binary");
    std::fs::create_dir(&dir).unwrap();
    write_cifar100(&dir, 25);
    let fine = load_named("cifar100", Some(data.path())).unwrap();
    let coarse = load_named("cifar100-coarse", Some(data.path())).unwrap();
    assert_eq!((fine.train.len(), fine.test.len()), (25, 2));
    assert_eq!(fine.train.label(3), Some(21));
    assert_eq!(coarse.train.label(21), Some(1));
    assert_eq!(
        (fine.train.num_classes(), coarse.train.num_classes()),
        (100, 20)
    );
    assert_eq!(fine.train.pixels(), coarse.train.pixels());
    let listed: Vec<String> = list_available(Some(data.path()))
        .into_iter()
        .map(|a| a.name)
        .collect();
    for (name, present) in [
        ("fashion-mnist-subset", true),
        ("cifar100", true),
        ("cifar100-coarse", true),
        ("cifar10", false),
    ] {
        assert_eq!(
            listed.iter().any(|n| n == name),
            present,
            "{name} in {listed:?}"
        );
    }
    let report = check_path(&dir).unwrap().to_string();
    assert!(
        report.contains("CIFAR-100") && report.contains("25 samples"),
        "{report}"
    );
    // A truncated record is reported with the file's name.
    let raw = std::fs::read(dir.join("train.bin")).unwrap();
    std::fs::write(dir.join("train.bin"), &raw[..raw.len() - 100]).unwrap();
    let e = load_named("cifar100", Some(data.path()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("train.bin") && e.contains("truncated"), "{e}");
}

#[test]
fn image_folder_errors() {
    let d = tempfile::tempdir().unwrap();
    let e = folder::load(d.path(), "x").unwrap_err();
    assert!(
        matches!(e, Error::Empty { .. }) && e.to_string().contains("class sub-folders"),
        "{e}"
    );

    std::fs::create_dir(d.path().join("cats")).unwrap();
    let e = folder::load(d.path(), "x").unwrap_err().to_string();
    assert!(e.contains("cats") && e.contains("no .png"), "{e}");

    image::GrayImage::new(4, 4)
        .save(d.path().join("cats").join("a.png"))
        .unwrap();
    std::fs::write(d.path().join("cats").join("b.jpg"), b"not a jpeg at all").unwrap();
    let e = folder::load(d.path(), "x").unwrap_err();
    assert!(
        matches!(e, Error::Image { .. }) && e.to_string().contains("b.jpg"),
        "{e}"
    );

    image::GrayImage::new(5, 4)
        .save(d.path().join("cats").join("b.jpg"))
        .unwrap();
    let e = folder::load(d.path(), "x").unwrap_err().to_string();
    assert!(
        e.contains("b.jpg") && e.contains("5x4") && e.contains("4x4"),
        "{e}"
    );

    image::RgbImage::new(4, 4)
        .save(d.path().join("cats").join("b.jpg"))
        .unwrap();
    let ok = folder::load(d.path(), "x").unwrap();
    assert_eq!((ok.len(), ok.shape().channels), (2, 3));
}

#[test]
fn check_reports_idx_pairs_lone_files_and_unknown_files() {
    let d = tempfile::tempdir().unwrap();
    write_idx_dir(d.path(), 9, true);
    let r = check_path(&d.path().join("train-labels-idx1-ubyte.gz")).unwrap();
    assert!(r.format.starts_with("IDX pair"), "{r}");
    assert_eq!(r.parts[0].count, 9);
    std::fs::remove_file(d.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let r = check_path(&d.path().join("t10k-images-idx3-ubyte.gz")).unwrap();
    assert!(r.format.contains("no label file"), "{r}");
    assert_eq!(r.parts[0].count, 4);
    std::fs::write(d.path().join("notes.txt"), "hello").unwrap();
    let e = check_path(&d.path().join("notes.txt"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("notes.txt") && e.contains("unknown format"),
        "{e}"
    );
    let e = check_path(&d.path().join("absent"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent"), "{e}");
}

#[test]
fn train_test_image_folders_load_by_path() {
    let d = tempfile::tempdir().unwrap();
    for (part, n) in [("train", 3u8), ("test", 1)] {
        for class in ["ants", "bees"] {
            let dir = d.path().join(part).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for k in 0..n {
                let img = image::RgbImage::from_pixel(6, 5, image::Rgb([k, 50, 100]));
                img.save(dir.join(format!("{k}.jpg"))).unwrap();
            }
        }
    }
    let tt = load_named(&d.path().display().to_string(), None).unwrap();
    assert_eq!((tt.train.len(), tt.test.len()), (6, 2));
    assert_eq!(tt.test.classes(), &["ants".to_string(), "bees".to_string()]);
    assert_eq!(tt.train.shape().numel(), 3 * 6 * 5);
    // Class sets must agree between train and test.
    std::fs::create_dir(d.path().join("test").join("wasps")).unwrap();
    image::RgbImage::new(6, 5)
        .save(d.path().join("test").join("wasps").join("w.png"))
        .unwrap();
    let e = load_named(&d.path().display().to_string(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("classes or image shape differ"), "{e}");
}
