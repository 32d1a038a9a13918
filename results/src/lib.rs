//! nasarena-results: nasarena results: journal record schema, statistics, tables, plots, regression gate.
//!
//! See DESIGN.md for where this crate sits; the capability is built by its
//! own issue.

mod error;

pub use error::{Error, Result};
