//! nasarena-ops: fast custom candle ops for nasarena: depthwise/grouped convolution, fused BN + activation.
//!
//! See DESIGN.md for where this crate sits; the capability is built by its
//! own issue.

mod error;

pub use error::{Error, Result};
