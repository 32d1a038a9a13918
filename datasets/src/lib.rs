//! nasarena-datasets: nasarena datasets: IDX, CIFAR binary, image folders, a bundled Fashion-MNIST subset, deterministic splits.
//!
//! See DESIGN.md for where this crate sits; the capability is built by its
//! own issue.

mod error;

pub use error::{Error, Result};
