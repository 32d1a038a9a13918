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
    for (name, gz, raw_sha) in bundled::FILES {
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
    assert!(readme.contains("Copyright (c) 2017 Zalando SE"));
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
