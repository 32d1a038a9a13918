//! nasarena-harness: nasarena harness: experiment files, budgets, trainer, run loops, journals and resume.
//!
//! See DESIGN.md for where this crate sits; the capability is built by its
//! own issue.

mod error;

pub use error::{Error, Result};
