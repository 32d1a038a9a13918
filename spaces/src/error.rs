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
        /// The space's registered name.
        space: String,
        /// The option's key, as written.
        key: String,
        /// What values the key takes, and what was given.
        reason: String,
    },
    /// No space is registered under this name.
    #[error("unknown search space `{name}`; registered spaces: {known}")]
    UnknownSpace {
        /// The name as given.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// Building or running a network failed.
    #[error("network error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// The space cannot offer this capability by its nature (e.g. a
    /// per-decision MAC table where costs depend on several decisions).
    #[error("space `{space}`: {reason}")]
    Unsupported {
        /// The space's registered name.
        space: String,
        /// What is not offered, and why.
        reason: String,
    },
    /// A layer's choice names no candidate of the space: the genotype was
    /// built for a larger candidate set than this space has.
    #[error(
        "space `{space}`: layer {layer} chooses candidate {choice}, but the space has \
         {candidates} candidates (0..{candidates}); check the genotype"
    )]
    UnknownCandidate {
        /// The space's registered name.
        space: String,
        /// The layer (decision) index, from 0.
        layer: usize,
        /// The choice found there.
        choice: u32,
        /// How many candidates each layer offers.
        candidates: usize,
    },
}

/// Result alias of nasarena-spaces.
pub type Result<T, E = Error> = std::result::Result<T, E>;
