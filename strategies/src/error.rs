//! The error type of nasarena-strategies.

use nasarena_core::CoreError;

/// Errors raised by nasarena-strategies. Each names the strategy and, for
/// configuration problems, the field, and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config field holds a value the strategy cannot run with.
    #[error("strategy `{strategy}`: config field `{field}` {reason}")]
    Config {
        strategy: String,
        field: String,
        reason: String,
    },
    /// Overrides or a preset could not be turned into the typed config.
    #[error("strategy `{strategy}`: cannot read config: {reason}")]
    ConfigSyntax { strategy: String, reason: String },
    /// No strategy is registered under this name.
    #[error("unknown strategy `{name}`; known strategies: {known}")]
    UnknownStrategy { name: String, known: String },
    /// The strategy has no preset of this name.
    #[error("strategy `{strategy}` has no preset `{preset}`; known presets: {known}")]
    UnknownPreset {
        strategy: String,
        preset: String,
        known: String,
    },
    /// A MAC limit or MAC-aware reward was asked for on a space that cannot
    /// count MACs analytically.
    #[error(
        "strategy `{strategy}`: `{field}` needs MAC counts, but space `{space}` returns None \
         from SearchSpace::macs; remove `{field}` or use a space that counts MACs"
    )]
    MacsUnavailable {
        strategy: String,
        space: String,
        field: String,
    },
    /// Rejection sampling found nothing under the MAC limit.
    #[error(
        "strategy `{strategy}`: no architecture with at most {limit} MACs found in {tries} \
         tries; raise `objective.mac_limit` or `objective.limit_retries`"
    )]
    MacLimitUnreachable {
        strategy: String,
        limit: u64,
        tries: u32,
    },
    /// The space given to `ask` is not the one the strategy was built for.
    #[error("strategy `{strategy}`: space mismatch: {reason}")]
    SpaceMismatch { strategy: String, reason: String },
    /// A saved state could not be restored or saved.
    #[error("strategy `{strategy}`: state: {reason}")]
    State { strategy: String, reason: String },
    /// A tensor operation of the controller failed.
    #[error("strategy `{strategy}`: controller tensor error: {source}")]
    Tensor {
        strategy: String,
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
