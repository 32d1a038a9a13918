//! nasarena-spaces: nasarena search spaces: genotype syntax, exact MAC/parameter counts, candle networks and supernets.
//!
//! See DESIGN.md for where this crate sits; the capability is built by its
//! own issue.

mod error;

pub use error::{Error, Result};

/// A registered search space, as listed by `nasarena spaces`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaceEntry {
    /// The name used in experiment files and on the command line.
    pub name: &'static str,
    /// One line for listings.
    pub summary: &'static str,
}

/// Every registered space, in listing order.
pub fn registry() -> Vec<SpaceEntry> {
    Vec::new()
}
