//! Saving and restoring a strategy's state for resume.
//!
//! The saved JSON holds the strategy name, its config and its dynamic state
//! (RNG included), so a restore into a strategy built with a different
//! config is refused instead of silently continuing a different search.

use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Saved<C, S> {
    strategy: String,
    config: C,
    state: S,
}

/// Serialises a strategy's name, config and state.
pub(crate) fn save<C: Serialize, S: Serialize>(
    strategy: &str,
    config: &C,
    state: &S,
) -> Result<serde_json::Value> {
    serde_json::to_value(Saved {
        strategy: strategy.to_string(),
        config,
        state,
    })
    .map_err(|e| Error::state(strategy, format!("cannot serialise: {e}")))
}

/// Reads a saved state, checking it belongs to this strategy and config.
pub(crate) fn restore<C, S>(strategy: &str, config: &C, value: &serde_json::Value) -> Result<S>
where
    C: PartialEq + DeserializeOwned,
    S: DeserializeOwned,
{
    let saved: Saved<C, S> = serde_json::from_value(value.clone())
        .map_err(|e| Error::state(strategy, format!("saved state does not parse: {e}")))?;
    if saved.strategy != strategy {
        return Err(Error::state(
            strategy,
            format!("saved state belongs to strategy `{}`", saved.strategy),
        ));
    }
    if saved.config != *config {
        return Err(Error::state(
            strategy,
            "saved state was made with a different config; rebuild the strategy from the \
             run's recorded config before restoring",
        ));
    }
    Ok(saved.state)
}
