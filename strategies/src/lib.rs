//! nasarena-strategies: nasarena search strategies: random, regularized evolution, GA, REINFORCE controller, Gumbel-Softmax.
//!
//! See DESIGN.md for where this crate sits; the capability is built by its
//! own issue.

mod error;

pub use error::{Error, Result};
