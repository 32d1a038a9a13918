//! The checks of planning that need the registries and the data: every
//! strategy builds on every space, one-shot strategies get their cost
//! tables, the images fit the spaces, and one-shot strategies on a table
//! get the table's own images.

use super::unit::SearchCosts;
use crate::experiment::{ExperimentFile, SpaceConfig, StrategyConfig};
use crate::strategies::{build_black_box, build_one_shot, search_costs};
use crate::tabular::{table_images, TableSource};
use crate::{Error, Result};
use nasarena_core::{BudgetUnit, Seed};
use nasarena_datasets::{load_named, Dataset, Splits, TrainTest};
use nasarena_spaces::Realize;
use std::sync::Arc;

/// Loads the experiment's images and checks them against the spaces.
pub(super) fn load_data(
    exp: &ExperimentFile,
    spaces: &[Box<dyn Realize>],
    problems: &mut Vec<(String, String)>,
) -> Option<TrainTest> {
    let missing_dir = exp.dataset.data_dir.as_ref().filter(|d| !d.is_dir());
    if let Some(dir) = missing_dir {
        problems.push((
            "dataset.data_dir".into(),
            format!("folder {} does not exist", dir.display()),
        ));
    }
    let data = match load_named(&exp.dataset.name, exp.dataset.data_dir.as_deref()) {
        Ok(d) => Some(d),
        Err(_) if missing_dir.is_some() => None,
        Err(e) => {
            let key = if exp.dataset.data_dir.is_some() {
                "dataset.data_dir"
            } else {
                "dataset.name"
            };
            problems.push((key.into(), e.to_string()));
            None
        }
    };
    if let Some(d) = &data {
        let shape = d.train.shape();
        for (i, space) in spaces.iter().enumerate() {
            let want = space.input_shape();
            if [shape.channels, shape.height, shape.width] != want {
                problems.push((
                    format!("space[{i}].options.input"),
                    format!(
                        "the space expects input {}x{}x{} but dataset `{}` has {}x{}x{}",
                        want[0],
                        want[1],
                        want[2],
                        exp.dataset.name,
                        shape.channels,
                        shape.height,
                        shape.width
                    ),
                ));
            }
            if space.classes() != d.train.num_classes() {
                problems.push((
                    format!("space[{i}].options.classes"),
                    format!(
                        "the space has {} classes, dataset `{}` has {}",
                        space.classes(),
                        exp.dataset.name,
                        d.train.num_classes()
                    ),
                ));
            }
        }
    }
    data
}

/// A one-shot strategy's cost tables on each space (`None` for black-box
/// strategies and spaces it failed on).
pub(super) type PerSpace = Vec<Option<Arc<SearchCosts>>>;

/// Problems with strategy `i`: unknown name, a preset or override the
/// strategy rejects on some space, a one-shot strategy on a space without a
/// supernet or with a budget unit it cannot be counted in. For a one-shot
/// strategy, also its cost tables per space (resolved once, here).
pub(super) fn strategy_problems(
    i: usize,
    st: &StrategyConfig,
    exp: &ExperimentFile,
    spaces: &[Box<dyn Realize>],
) -> (Vec<(String, String)>, PerSpace) {
    let mut problems = Vec::new();
    let mut costs = vec![None; spaces.len()];
    let black_box = nasarena_strategies::BLACK_BOX;
    let one_shot = nasarena_strategies::ONE_SHOT;
    let is_one_shot = nasarena_strategies::is_one_shot(&st.name);
    if !is_one_shot && !black_box.iter().any(|(name, _)| *name == st.name) {
        let names: Vec<&str> = black_box.iter().chain(one_shot).map(|(n, _)| *n).collect();
        problems.push((
            format!("strategy[{i}].name"),
            format!(
                "unknown strategy `{}`; known: {}",
                st.name,
                names.join(", ")
            ),
        ));
        return (problems, costs);
    }
    if !is_one_shot && st.latency_table.is_some() {
        problems.push((
            format!("strategy[{i}].latency_table"),
            format!("`{}` is a black-box strategy; only one-shot strategies (gumbel) use a latency table", st.name),
        ));
    }
    if is_one_shot {
        if let Some(message) = crate::supernet_budget::budget_problem(exp.budget.unit) {
            problems.push(("budget.unit".into(), message));
        }
    }
    for (si, space) in spaces.iter().enumerate() {
        let built = if is_one_shot {
            one_shot_costs(st, &exp.space[si], space.as_ref()).map(|c| costs[si] = Some(c))
        } else {
            build_black_box(st, Seed(0), space.as_ref()).map(|_| ())
        };
        if let Err(e) = built {
            let key = if is_one_shot {
                format!("space[{si}].name")
            } else {
                format!("strategy[{i}]")
            };
            let key = match e {
                Error::Space(_) => key,
                Error::Table { .. } | Error::Io { .. } => format!("strategy[{i}].latency_table"),
                _ => format!("strategy[{i}]"),
            };
            problems.push((key, e.to_string()));
            break;
        }
    }
    (problems, costs)
}

/// Resolves a one-shot strategy's cost tables on one space and checks that
/// the strategy and the space's supernet build.
fn one_shot_costs(
    st: &StrategyConfig,
    space_cfg: &SpaceConfig,
    space: &dyn Realize,
) -> Result<Arc<SearchCosts>> {
    let loss = search_costs(st, space_cfg, space)?;
    build_one_shot(st, Seed(0), space, loss.as_ref(), &candle_core::Device::Cpu)?;
    let vb = candle_nn::VarBuilder::zeros(candle_core::DType::F32, &candle_core::Device::Cpu);
    space.build_supernet(vb)?;
    Ok(Arc::new(SearchCosts {
        loss,
        macs: space.cost_table(),
    }))
}

/// The images one-shot strategies on a table train their supernets on: the
/// table's own split, rebuilt once (`None` when no strategy is one-shot or
/// it cannot be rebuilt, which is then a problem of every one-shot entry).
/// A time budget is compared in normalised units (device seconds over the
/// calibration of the machine that spent them), so it needs the table's
/// calibration.
pub(super) fn one_shot_table_images(
    exp: &ExperimentFile,
    source: &TableSource,
    problems: &mut Vec<(String, String)>,
) -> Option<Splits> {
    let one_shot: Vec<(usize, &StrategyConfig)> = exp
        .strategy
        .iter()
        .enumerate()
        .filter(|(_, st)| nasarena_strategies::is_one_shot(&st.name))
        .collect();
    let (first, _) = one_shot.first()?;
    let timed = matches!(
        exp.budget.unit,
        BudgetUnit::DeviceSeconds | BudgetUnit::DeviceHours
    );
    if timed && source.table.header().calibration_seconds.is_none() {
        problems.push((
            format!("strategy[{first}].name"),
            "the table records no machine calibration, so its recorded times and a supernet's measured ones cannot share a budget; count the budget in `train_samples`".into(),
        ));
    }
    match table_images(source) {
        Ok(images) => Some(images),
        Err(e) => {
            for (i, st) in &one_shot {
                problems.push((
                    format!("strategy[{i}].name"),
                    format!(
                        "`{}` trains a supernet on the table's images, but {e}",
                        st.name
                    ),
                ));
            }
            None
        }
    }
}
