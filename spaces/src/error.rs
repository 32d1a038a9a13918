//! The error type of nasarena-spaces.

/// Errors raised by nasarena-spaces.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The architecture or genotype does not fit the space.
    #[error(transparent)]
    Core(#[from] nasarena_core::CoreError),
    /// A space option (`key=value`) is unknown or has a bad value.
    #[error("space `{space}`, option `{key}`: {reason}")]
    Option {
        space: String,
        key: String,
        reason: String,
    },
    /// No space is registered under this name.
    #[error("unknown search space `{name}`; registered spaces: {known}")]
    UnknownSpace { name: String, known: String },
    /// Building or running a network failed.
    #[error("network error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// The space cannot offer this capability by its nature (e.g. a
    /// per-decision MAC table where costs depend on several decisions).
    #[error("space `{space}`: {reason}")]
    Unsupported { space: String, reason: String },
    /// A requested capability has not been built yet.
    #[error("{0} is not built yet")]
    NotBuilt(&'static str),
}

/// Result alias of nasarena-spaces.
pub type Result<T, E = Error> = std::result::Result<T, E>;
