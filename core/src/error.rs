//! The error type of nasarena-core.

/// Errors raised by the core vocabulary. Messages say what was wrong and
/// where, so that callers can show them to a user unchanged.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// An architecture does not fit its search space.
    #[error("invalid architecture for space `{space}`: {reason}")]
    InvalidArch {
        /// The space's registered name.
        space: String,
        /// Which decision or rule the architecture breaks.
        reason: String,
    },
    /// A genotype string could not be parsed.
    #[error("cannot parse genotype for space `{space}` at {position}: {reason}")]
    Parse {
        /// The space's registered name.
        space: String,
        /// Where in the genotype string parsing stopped (a token or
        /// layer name; `?` where the syntax has no positions).
        position: String,
        /// What was expected there.
        reason: String,
    },
    /// A budget was configured with an impossible limit.
    #[error("invalid budget: {0}")]
    InvalidBudget(String),
    /// A strategy was used in a way it does not support.
    #[error("strategy `{strategy}`: {reason}")]
    Strategy {
        /// The strategy's registered name.
        strategy: String,
        /// The strategy's own message (its crate's error, rendered).
        reason: String,
    },
    /// A tensor operation failed inside a one-shot strategy.
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
}

/// Result alias of nasarena-core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
