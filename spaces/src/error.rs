//! The error type of nasarena-spaces.

/// Errors raised by nasarena-spaces.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A requested capability has not been built yet.
    #[error("{0} is not built yet")]
    NotBuilt(&'static str),
}

/// Result alias of nasarena-spaces.
pub type Result<T, E = Error> = std::result::Result<T, E>;
