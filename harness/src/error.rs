//! The error type of nasarena-harness.

/// Errors raised by nasarena-harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A requested capability has not been built yet.
    #[error("{0} is not built yet")]
    NotBuilt(&'static str),
}

/// Result alias of nasarena-harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;
