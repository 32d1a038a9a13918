//! Building black-box strategies by name for the harness.
//!
//! `build_black_box("evolution", Some("nb201"), &overrides, seed, space)`
//! takes the preset's typed config, merges the overrides (a JSON object,
//! e.g. converted from the experiment TOML), validates it and builds the
//! strategy. `None` as preset means the strategy's default preset (the
//! first in its list).

use crate::config::merge_overrides;
use crate::evolution::{Evolution, EvolutionConfig};
use crate::ga::{Ga, GaConfig};
use crate::random::{RandomConfig, RandomSearch};
use crate::reinforce::{self, Reinforce};
use crate::{Error, Result};
use nasarena_core::{BlackBoxStrategy, SearchSpace, Seed};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Registered black-box strategies and their presets (default first).
pub const BLACK_BOX: &[(&str, &[&str])] = &[
    (crate::random::NAME, RandomConfig::PRESETS),
    (crate::evolution::NAME, EvolutionConfig::PRESETS),
    (crate::ga::NAME, GaConfig::PRESETS),
    (reinforce::NAME, reinforce::PRESETS),
];

fn resolve<C: Serialize + DeserializeOwned>(
    strategy: &str,
    presets: &[&str],
    preset: Option<&str>,
    lookup: impl Fn(&str) -> Option<C>,
    overrides: &serde_json::Value,
) -> Result<C> {
    let name = preset.or(presets.first().copied()).unwrap_or("");
    let base = lookup(name).ok_or_else(|| Error::UnknownPreset {
        strategy: strategy.to_string(),
        preset: name.to_string(),
        known: presets.join(", "),
    })?;
    merge_overrides(strategy, &base, overrides)
}

/// Builds a black-box strategy by name and preset with overrides.
pub fn build_black_box(
    name: &str,
    preset: Option<&str>,
    overrides: &serde_json::Value,
    seed: Seed,
    space: &dyn SearchSpace,
) -> Result<Box<dyn BlackBoxStrategy>> {
    let strategy: Box<dyn BlackBoxStrategy> = match name {
        crate::random::NAME => {
            let c = resolve(
                name,
                RandomConfig::PRESETS,
                preset,
                RandomConfig::preset,
                overrides,
            )?;
            Box::new(RandomSearch::new(c, seed, space)?)
        }
        crate::evolution::NAME => {
            let c = resolve(
                name,
                EvolutionConfig::PRESETS,
                preset,
                EvolutionConfig::preset,
                overrides,
            )?;
            Box::new(Evolution::new(c, seed, space)?)
        }
        crate::ga::NAME => {
            let c = resolve(name, GaConfig::PRESETS, preset, GaConfig::preset, overrides)?;
            Box::new(Ga::new(c, seed, space)?)
        }
        reinforce::NAME => {
            let c = resolve(
                name,
                reinforce::PRESETS,
                preset,
                reinforce::preset,
                overrides,
            )?;
            Box::new(Reinforce::new(c, seed, space)?)
        }
        _ => {
            return Err(Error::UnknownStrategy {
                name: name.to_string(),
                known: BLACK_BOX
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    };
    Ok(strategy)
}
