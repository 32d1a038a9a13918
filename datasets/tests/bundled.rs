//! The bundled subset: the compiled-in bytes are the documented files, the
//! classes are exactly balanced, and the data looks like Fashion-MNIST.

// Test helpers outside #[test] fns may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use nasarena_datasets::{bundled, io, Dataset};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[test]
fn bundled_files_match_their_documented_checksums() {
    let readme = include_str!("../data/fashion-mnist-subset/README.md");
    assert_files_match_readme(&bundled::FILES, readme);
    assert!(readme.contains("Copyright (c) 2017 Zalando SE"));
}

/// Each compiled-in file decompresses to its pinned content, and the
/// README table lists both checksums on the file's row.
fn assert_files_match_readme(files: &[(&str, &[u8], &str)], readme: &str) {
    for &(name, gz, raw_sha) in files {
        let raw = io::decode_maybe_gzip(gz, name).unwrap();
        assert_eq!(hex(&raw), raw_sha, "{name}: decompressed content changed");
        // The README table lists both checksums on the file's row.
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("{name} missing from the README table"));
        assert!(
            row.contains(&hex(gz)),
            "{name}: gzip sha256 differs from README"
        );
        assert!(
            row.contains(raw_sha),
            "{name}: content sha256 differs from README"
        );
    }
}

#[test]
fn bundled_subset_is_class_balanced() {
    let tt = bundled::fashion_mnist_subset().unwrap();
    assert_eq!(tt.train.len(), 6000);
    assert_eq!(tt.test.len(), 1000);
    assert_eq!(tt.train.class_counts(), vec![600; 10]);
    assert_eq!(tt.test.class_counts(), vec![100; 10]);
    assert_eq!(tt.train.classes()[9], "Ankle boot");
    assert_eq!(tt.train.shape().numel(), 784);
    // Real photographs of clothes: mean intensity of Fashion-MNIST is ~0.29.
    let mean = tt.train.pixels().iter().map(|&p| f64::from(p)).sum::<f64>()
        / tt.train.pixels().len() as f64
        / 255.0;
    assert!((0.25..0.33).contains(&mean), "mean {mean}");
    assert_ne!(tt.train.checksum(), tt.test.checksum());
}

/// When Debian's package is installed, the subset is exactly what the
/// documented rule selects from it.
#[test]
fn bundled_subset_follows_the_rule_when_the_originals_are_installed() {
    let Some(dir) = nasarena_datasets::locate::locate("fashion-mnist", None) else {
        eprintln!("dataset-fashion-mnist not installed; rule check skipped");
        return;
    };
    let full = nasarena_datasets::idxset::load_dir(&dir, "fashion-mnist", None).unwrap();
    let sub = bundled::fashion_mnist_subset().unwrap();
    for (full, sub, per_class) in [(&full.train, &sub.train, 600), (&full.test, &sub.test, 100)] {
        let mut taken = [0usize; 10];
        let keep: Vec<usize> = (0..full.len())
            .filter(|&i| {
                let c = usize::from(full.label(i).unwrap());
                taken[c] += 1;
                taken[c] <= per_class
            })
            .collect();
        assert_eq!(full.subset(&keep, "x").unwrap().checksum(), sub.checksum());
    }
}

/// The whole pipeline on real data: split, normalise, batch.
#[test]
fn bundled_pipeline_split_normalise_batch() {
    use nasarena_core::Seed;
    use nasarena_datasets::{load_splits, Augment, BatchConfig, Batcher};
    let s = load_splits("fashion-mnist-subset", None, 0.1, Seed(3)).unwrap();
    assert_eq!(
        (s.train.len(), s.val.len(), s.test.len()),
        (5400, 600, 1000)
    );
    assert_eq!(s.val.class_counts(), vec![60; 10]);
    assert_eq!(s.train.name(), "fashion-mnist-subset/train");
    assert_eq!(s.norm.mean.len(), 1);
    let cfg = BatchConfig {
        batch_size: 256,
        shuffle: true,
        drop_last: false,
        augment: Augment::default(),
    };
    let mut b = Batcher::new(&s.train, &s.norm, cfg, Seed(4)).unwrap();
    let (mut sum, mut sum_sq, mut n, mut labels) = (0f64, 0f64, 0usize, vec![0usize; 10]);
    while let Some(batch) = b.next_batch() {
        assert_eq!(batch.images.len(), batch.shape.iter().product::<usize>());
        sum += batch.images.iter().map(|&x| f64::from(x)).sum::<f64>();
        sum_sq += batch
            .images
            .iter()
            .map(|&x| f64::from(x).powi(2))
            .sum::<f64>();
        n += batch.images.len();
        batch.labels.iter().for_each(|&l| labels[l as usize] += 1);
    }
    // Normalised with the training split's own statistics: mean 0, std 1.
    let mean = sum / n as f64;
    assert!(mean.abs() < 1e-4, "mean {mean}");
    assert!((sum_sq / n as f64 - mean * mean - 1.0).abs() < 1e-3);
    assert_eq!(labels, vec![540; 10]);
    let aug = BatchConfig {
        augment: Augment {
            pad: 2,
            hflip: true,
        },
        ..cfg
    };
    let mut b = Batcher::new(&s.train, &s.norm, aug, Seed(4)).unwrap();
    assert_eq!(b.next_batch().unwrap().shape, [256, 1, 28, 28]);
}

#[test]
fn bundled_16x16_files_match_their_documented_checksums() {
    let readme = include_str!("../data/fashion-mnist-16/README.md");
    assert_files_match_readme(&bundled::FILES_16, readme);
    let tt = bundled::fashion_mnist_16().unwrap();
    assert_eq!((tt.train.len(), tt.test.len()), (60_000, 10_000));
    assert_eq!(tt.train.shape(), nasarena_datasets::Shape::new(1, 16, 16));
    assert_eq!(tt.test.class_counts(), vec![1000; 10]);
}

/// Where Debian's package is installed (CI installs it), the compiled-in
/// 16x16 copy is exactly `fashion-mnist@16` made from it.
#[test]
fn bundled_16x16_is_the_downsampled_package() {
    if nasarena_datasets::locate::locate("fashion-mnist", None).is_none() {
        eprintln!("dataset-fashion-mnist not installed; comparison skipped");
        return;
    }
    let made = nasarena_datasets::load_named("fashion-mnist@16", None).unwrap();
    let copy = bundled::fashion_mnist_16().unwrap();
    assert_eq!(made.train.checksum(), copy.train.checksum());
    assert_eq!(made.test.checksum(), copy.test.checksum());
    assert_eq!(made.train.pixels(), copy.train.pixels());
}
