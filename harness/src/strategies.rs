//! Strategy construction: a strategy entry of an experiment file becomes a
//! black-box strategy, or a one-shot strategy with the cost table its loss
//! uses (the space's MACs or a measured latency table).

use crate::experiment::{SpaceConfig, StrategyConfig};
use crate::lut::LatencyTable;
use crate::{Error, Result};
use candle_core::Device;
use nasarena_core::CostTable;
use nasarena_core::{BlackBoxStrategy, OneShotStrategy, Seed};
use nasarena_spaces::Realize;

/// A strategy entry's overrides as the JSON object the registries take.
fn overrides_json(cfg: &StrategyConfig) -> Result<serde_json::Value> {
    serde_json::to_value(&cfg.overrides).map_err(|e| Error::Internal(e.to_string()))
}

/// Builds a black-box strategy from its experiment entry.
pub fn build_black_box(
    cfg: &StrategyConfig,
    seed: Seed,
    space: &dyn Realize,
) -> Result<Box<dyn BlackBoxStrategy>> {
    Ok(nasarena_strategies::build_black_box(
        &cfg.name,
        cfg.preset.as_deref(),
        &overrides_json(cfg)?,
        seed,
        space,
    )?)
}

/// Builds a one-shot strategy from its experiment entry, with the cost
/// table of its loss (see [`search_costs`]) and its parameters on `device`
/// (the supernet's).
pub fn build_one_shot(
    cfg: &StrategyConfig,
    seed: Seed,
    space: &dyn Realize,
    costs: Option<&CostTable>,
    device: &Device,
) -> Result<Box<dyn OneShotStrategy>> {
    Ok(nasarena_strategies::build_one_shot(
        &cfg.name,
        cfg.preset.as_deref(),
        &overrides_json(cfg)?,
        seed,
        space,
        costs,
        device,
    )?)
}

/// The cost table a one-shot strategy's loss uses: the strategy's latency
/// table when it names one (checked against the space), the space's MACs
/// otherwise.
pub fn search_costs(
    cfg: &StrategyConfig,
    space_cfg: &SpaceConfig,
    space: &dyn Realize,
) -> Result<Option<CostTable>> {
    match &cfg.latency_table {
        Some(path) => {
            let table =
                LatencyTable::load(path, space, &space_cfg.name, &space_cfg.option_strings())?;
            Ok(Some(table.cost_table()))
        }
        None => Ok(space.cost_table()),
    }
}
