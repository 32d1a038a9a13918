//! The error type of nasarena-datasets.

/// Errors raised by nasarena-datasets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A requested capability has not been built yet.
    #[error("{0} is not built yet")]
    NotBuilt(&'static str),
}

/// Result alias of nasarena-datasets.
pub type Result<T, E = Error> = std::result::Result<T, E>;
