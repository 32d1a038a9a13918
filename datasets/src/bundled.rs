//! The Fashion-MNIST subset compiled into the binary (6,000 training and
//! 1,000 test images, 600/100 per class), so that nasarena runs and tests on
//! a machine with nothing installed. See `datasets/data/fashion-mnist-subset/
//! README.md` for provenance, the selection rule and the MIT licence of
//! Fashion-MNIST (Copyright (c) 2017 Zalando SE); the files are made by
//! `datasets/scripts/make_bundled_subset.py`.

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

/// The dataset's name.
pub const NAME: &str = "fashion-mnist-subset";

/// Decodes the bundled subset.
pub fn fashion_mnist_subset() -> Result<TrainTest> {
    let [(ti, train_images, _), (tl, train_labels, _), (ei, test_images, _), (el, test_labels, _)] =
        FILES;
    let classes = || {
        FASHION_MNIST_CLASSES
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let origin = |f: &str| format!("<bundled>/{NAME}/{f}");
    let train = from_idx_bytes(
        (train_images, &origin(ti)),
        (train_labels, &origin(tl)),
        &format!("{NAME}/train"),
        Some(classes()),
    )?;
    let test = from_idx_bytes(
        (test_images, &origin(ei)),
        (test_labels, &origin(el)),
        &format!("{NAME}/test"),
        Some(classes()),
    )?;
    Ok(TrainTest { train, test })
}

/// Shorthand used by tests of other crates: the bundled training set.
pub fn fashion_mnist_subset_train() -> Result<ImageDataset> {
    Ok(fashion_mnist_subset()?.train)
}
