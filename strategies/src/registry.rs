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
use crate::gumbel::{self, CostTable, Gumbel, GumbelConfig};
use crate::random::{RandomConfig, RandomSearch};
use crate::reinforce::{self, Reinforce};
use crate::{Error, Result};
use candle_core::Device;
use nasarena_core::{BlackBoxStrategy, OneShotStrategy, SearchSpace, Seed};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Registered black-box strategies and their presets (default first).
pub const BLACK_BOX: &[(&str, &[&str])] = &[
    (crate::random::NAME, RandomConfig::PRESETS),
    (crate::evolution::NAME, EvolutionConfig::PRESETS),
    (crate::ga::NAME, GaConfig::PRESETS),
    (reinforce::NAME, reinforce::PRESETS),
];

/// Registered one-shot strategies and their presets (default first).
pub const ONE_SHOT: &[(&str, &[&str])] = &[(gumbel::NAME, gumbel::PRESETS)];

/// Whether `name` is a registered one-shot strategy.
pub fn is_one_shot(name: &str) -> bool {
    ONE_SHOT.iter().any(|(n, _)| *n == name)
}

fn known_names() -> String {
    BLACK_BOX
        .iter()
        .chain(ONE_SHOT)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds a one-shot strategy by name and preset with overrides; `costs`
/// is the space's per-candidate MAC table (needed by MAC-aware losses);
/// the architecture parameters and mixing weights live on `device` (the
/// supernet's).
pub fn build_one_shot(
    name: &str,
    preset: Option<&str>,
    overrides: &serde_json::Value,
    seed: Seed,
    space: &dyn SearchSpace,
    costs: Option<&CostTable>,
    device: &Device,
) -> Result<Box<dyn OneShotStrategy>> {
    match name {
        gumbel::NAME => {
            let c = resolve(
                name,
                gumbel::PRESETS,
                preset,
                GumbelConfig::preset,
                overrides,
            )?;
            Ok(Box::new(Gumbel::new(c, seed, space, costs, device)?))
        }
        _ => Err(Error::UnknownStrategy {
            name: name.to_string(),
            known: known_names(),
        }),
    }
}

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
                known: known_names(),
            })
        }
    };
    Ok(strategy)
}
