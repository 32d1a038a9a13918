//! The error type of nasarena-strategies.

use nasarena_core::CoreError;

/// Errors raised by nasarena-strategies. Each names the strategy and, for
/// configuration problems, the field, and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config field holds a value the strategy cannot run with.
    #[error("strategy `{strategy}`: config field `{field}` {reason}")]
    Config {
        /// The strategy's registered name.
        strategy: String,
        /// The config field, dotted for nested ones (`adam.lr`).
        field: String,
        /// The values the field takes.
        reason: String,
    },
    /// Overrides or a preset could not be turned into the typed config.
    #[error("strategy `{strategy}`: cannot read config: {reason}")]
    ConfigSyntax {
        /// The strategy's registered name.
        strategy: String,
        /// What the JSON reader reported (e.g. an unknown field).
        reason: String,
    },
    /// No strategy is registered under this name.
    #[error("unknown strategy `{name}`; known strategies: {known}")]
    UnknownStrategy {
        /// The name as given.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// The strategy has no preset of this name.
    #[error("strategy `{strategy}` has no preset `{preset}`; known presets: {known}")]
    UnknownPreset {
        /// The strategy's registered name.
        strategy: String,
        /// The preset as given.
        preset: String,
        /// The strategy's presets, comma-separated.
        known: String,
    },
    /// A MAC limit or MAC-aware reward was asked for on a space that cannot
    /// count MACs analytically.
    #[error(
        "strategy `{strategy}`: `{field}` needs MAC counts, but space `{space}` returns None \
         from SearchSpace::macs; remove `{field}` or use a space that counts MACs"
    )]
    MacsUnavailable {
        /// The strategy's registered name.
        strategy: String,
        /// The space that cannot count MACs.
        space: String,
        /// The config field that needs them.
        field: String,
    },
    /// Rejection sampling found nothing under the MAC limit.
    #[error(
        "strategy `{strategy}`: no architecture with at most {limit} MACs found in {tries} \
         tries; raise `objective.mac_limit` or `objective.limit_retries`"
    )]
    MacLimitUnreachable {
        /// The strategy's registered name.
        strategy: String,
        /// The configured limit (`objective.mac_limit`).
        limit: u64,
        /// Draws made (`objective.limit_retries`).
        tries: u32,
    },
    /// The space given to `ask` is not the one the strategy was built for.
    #[error("strategy `{strategy}`: space mismatch: {reason}")]
    SpaceMismatch {
        /// The strategy's registered name.
        strategy: String,
        /// How the spaces differ.
        reason: String,
    },
    /// A saved state could not be restored or saved.
    #[error("strategy `{strategy}`: state: {reason}")]
    State {
        /// The strategy's registered name.
        strategy: String,
        /// Why the state does not fit (another strategy, config or space).
        reason: String,
    },
    /// A tensor operation of the controller failed.
    #[error("strategy `{strategy}`: controller tensor error: {source}")]
    Tensor {
        /// The strategy's registered name.
        strategy: String,
        /// What candle reported.
        source: candle_core::Error,
    },
}

impl Error {
    /// The strategy the error is about (the registry for unknown names).
    pub fn strategy(&self) -> &str {
        match self {
            Error::Config { strategy, .. }
            | Error::ConfigSyntax { strategy, .. }
            | Error::UnknownPreset { strategy, .. }
            | Error::MacsUnavailable { strategy, .. }
            | Error::MacLimitUnreachable { strategy, .. }
            | Error::SpaceMismatch { strategy, .. }
            | Error::State { strategy, .. }
            | Error::Tensor { strategy, .. } => strategy,
            Error::UnknownStrategy { .. } => "registry",
        }
    }

    /// A config error naming `field`.
    pub(crate) fn config(strategy: &str, field: &str, reason: impl Into<String>) -> Self {
        Error::Config {
            strategy: strategy.to_string(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// A state error.
    pub(crate) fn state(strategy: &str, reason: impl std::fmt::Display) -> Self {
        Error::State {
            strategy: strategy.to_string(),
            reason: reason.to_string(),
        }
    }
}

impl From<Error> for CoreError {
    fn from(e: Error) -> Self {
        CoreError::Strategy {
            strategy: e.strategy().to_string(),
            reason: e.to_string(),
        }
    }
}

/// Result alias of nasarena-strategies.
pub type Result<T, E = Error> = std::result::Result<T, E>;
