//! The Fashion-MNIST subset compiled into the binary (6,000 training and
//! 1,000 test images, 600/100 per class), so that nasarena runs and tests on
//! a machine with nothing installed. See `datasets/data/fashion-mnist-subset/
//! README.md` for provenance, the selection rule and the MIT licence of
//! Fashion-MNIST (Copyright (c) 2017 Zalando SE); the files are made by
//! `datasets/scripts/make_bundled_subset.py`.
//!
//! Also compiled in: `fashion-mnist@16`, the full Fashion-MNIST (60,000 +
//! 10,000 images) reduced to 16x16 ([`crate::downsample`]), the data of
//! nasarena's ground-truth table (`data/tables/fmnist16-cell4-2ep-2seed`), so
//! that one-shot searches scored on that table train on its images on a
//! machine without Debian's package. Made by `cargo run --release -p
//! nasarena-datasets --example make_fashion_mnist_16` from the package;
//! a test checks the copy against the package where it is installed.

use crate::dataset::ImageDataset;
use crate::idxset::{from_idx_bytes, FASHION_MNIST_CLASSES};
use crate::{Result, TrainTest};

/// The bundled files: name, gzip bytes, sha256 of the decompressed IDX.
pub const FILES: [(&str, &[u8], &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        include_bytes!("../data/fashion-mnist-subset/train-images-idx3-ubyte.gz"),
        "cf313073c7eb485392848071d5c433571d7166043e971e3345b095cc30518084",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        include_bytes!("../data/fashion-mnist-subset/train-labels-idx1-ubyte.gz"),
        "097b93fbcf9bd5bc648b1a457ddc55c9e4ab49afb33f9ecae8ce068399a75e3a",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        include_bytes!("../data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz"),
        "7cee33c3c6414b1b86c25e665a6c4f41584269de3b7cc9768b1d351922845eef",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        include_bytes!("../data/fashion-mnist-subset/t10k-labels-idx1-ubyte.gz"),
        "3128d790775889812b73c4f13923559c8b9e281d112c6ea7862acf60a206a909",
    ),
];

/// The 16x16 full Fashion-MNIST: name, gzip bytes, sha256 of the
/// decompressed IDX.
pub const FILES_16: [(&str, &[u8], &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        include_bytes!("../data/fashion-mnist-16/train-images-idx3-ubyte.gz"),
        "f9f1389440f872875b42f50d29dd2b871c73119ca87df02c3d9f447421eb4120",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        include_bytes!("../data/fashion-mnist-16/train-labels-idx1-ubyte.gz"),
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        include_bytes!("../data/fashion-mnist-16/t10k-images-idx3-ubyte.gz"),
        "46670c5753b984cd90b9fdc326bead175c931d94dc6304526c8d6ab8bb409b4e",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        include_bytes!("../data/fashion-mnist-16/t10k-labels-idx1-ubyte.gz"),
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
];

/// The dataset's name.
pub const NAME: &str = "fashion-mnist-subset";

/// The name of the compiled-in 16x16 Fashion-MNIST.
pub const NAME_16: &str = "fashion-mnist@16";

/// Decodes the bundled subset.
pub fn fashion_mnist_subset() -> Result<TrainTest> {
    decode(NAME, &FILES)
}

/// Decodes the compiled-in 16x16 Fashion-MNIST (identical to
/// `fashion-mnist@16` made from Debian's package).
pub fn fashion_mnist_16() -> Result<TrainTest> {
    decode(NAME_16, &FILES_16)
}

fn decode(name: &str, files: &[(&str, &[u8], &str); 4]) -> Result<TrainTest> {
    let [(ti, train_images, _), (tl, train_labels, _), (ei, test_images, _), (el, test_labels, _)] =
        *files;
    let classes = || {
        FASHION_MNIST_CLASSES
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let origin = |f: &str| format!("<bundled>/{name}/{f}");
    let train = from_idx_bytes(
        (train_images, &origin(ti)),
        (train_labels, &origin(tl)),
        &format!("{name}/train"),
        Some(classes()),
    )?;
    let test = from_idx_bytes(
        (test_images, &origin(ei)),
        (test_labels, &origin(el)),
        &format!("{name}/test"),
        Some(classes()),
    )?;
    Ok(TrainTest { train, test })
}

/// Shorthand used by tests of other crates: the bundled training set.
pub fn fashion_mnist_subset_train() -> Result<ImageDataset> {
    Ok(fashion_mnist_subset()?.train)
}
