//! nasarena-datasets: image classification data for the harness.
//!
//! * Readers, gzip or plain: IDX ([`idx`]: MNIST, Fashion-MNIST, KMNIST,
//!   EMNIST), CIFAR-10/100 binary ([`cifar`]), image folders ([`folder`]).
//! * [`ImageDataset`] (u8 pixels N x C x H x W, u16 labels, class names) and
//!   the [`Dataset`] trait; [`synthetic`] data for tests of other crates.
//! * A Fashion-MNIST subset compiled in ([`bundled`]), Debian's
//!   Fashion-MNIST found automatically, a data folder for the rest
//!   ([`load_named`], [`list_available`]).
//! * Downsampled variants `NAME@S` ([`downsample`]), as NAS-Bench-201's
//!   ImageNet16-120.
//! * Seeded, stratified train/validation splits and normalisation
//!   statistics ([`split()`]), augmentation ([`Augment`]) and batching into
//!   reusable f32 buffers ([`Batcher`]).
//! * A provenance checksum ([`Dataset::checksum`]) and [`check_path`] for
//!   `nasarena data check`.

pub mod augment;
pub mod batch;
pub mod bundled;
pub mod check;
pub mod cifar;
mod dataset;
pub mod downsample;
mod error;
pub mod folder;
pub mod idx;
pub mod idxset;
pub mod io;
mod limit;
pub mod locate;
pub mod segmentation;
pub mod split;
pub mod synthetic;

pub use augment::Augment;
pub use batch::{Batch, BatchConfig, Batcher};
pub use check::{check_path, CheckReport, PartReport};
pub use dataset::{numbered_classes, Checksum, Dataset, ImageDataset, Shape};
pub use error::{Error, Result};
pub use limit::stratified_limit;
pub use locate::{data_dir_from_env, list_available, load_named, load_path, Available};
pub use split::{load_splits, split, Normalization, Splits};
pub use synthetic::{synthetic, SyntheticConfig};

/// The official training and test sets of a dataset.
#[derive(Clone, Debug)]
pub struct TrainTest {
    /// The official training set (validation is carved from it).
    pub train: ImageDataset,
    /// The official test set.
    pub test: ImageDataset,
}
