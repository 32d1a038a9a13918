//! The run loop of a one-shot strategy: supernet epochs charged to the
//! budget, a journal record and a checkpoint per epoch, then the
//! derivation (the argmax and sampled architectures scored on the
//! validation split with the shared weights; the best is recommended, as
//! SqueezeNAS does), then the same final protocol as every other strategy.
//!
//! The training split is divided once per run, stratified and seeded:
//! 80% trains the supernet weights and 20% the architecture parameters
//! (FBNet, Wu et al. 2019). Supernet weights use the experiment's evaluator
//! optimiser and batch size, so one-shot and black-box searches train
//! networks with the same settings.

mod budget;
mod checkpoint;
mod driver;
mod search;

use crate::evaluator::Evaluator;
use crate::experiment::{SpaceConfig, StrategyConfig};
use crate::lut::LatencyTable;
use crate::optim::Sgd;
use crate::plan::{Plan, Unit};
use crate::progress::{ProgressEvent, UnitLabel};
use crate::run::{final_protocol, open_journal, Opened, RunOptions};
use crate::{Error, Result};
use candle_core::Device;
use candle_nn::VarMap;
use nasarena_core::{Arch, BudgetUnit, Cost, Meter, OneShotStrategy, Seed};
use nasarena_datasets::split;
use nasarena_results::{Journal, Record};
use nasarena_spaces::layers::trainable_vars;
use nasarena_spaces::{Realize, SeededInit};
use nasarena_strategies::gumbel::CostTable;
use search::{SearchData, SupernetTrainer};

/// Fraction of the training split that trains the architecture.
const ARCH_FRACTION: f64 = 0.2;

/// The per-candidate MAC table of a space in the form MAC-aware losses use,
/// or `None` when the space's costs are not additive over decisions.
pub fn cost_table(space: &dyn Realize) -> Option<CostTable> {
    let per_decision = space.candidate_macs().ok()?;
    let probe = space.sample(&mut Seed(0).rng());
    let total = space.cost(&probe).ok()?.macs;
    let chosen: u64 = probe
        .choices()
        .iter()
        .zip(&per_decision)
        .map(|(&c, row)| row.get(c as usize).copied().unwrap_or(0))
        .sum();
    Some(CostTable {
        fixed: total.checked_sub(chosen)?,
        per_decision,
    })
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
        None => Ok(cost_table(space)),
    }
}

/// Builds a one-shot strategy from its experiment entry, with the cost
/// table of its loss (see [`search_costs`]), its parameters on `device`.
pub fn build_one_shot_strategy(
    cfg: &StrategyConfig,
    seed: Seed,
    space: &dyn Realize,
    costs: Option<&CostTable>,
    device: &Device,
) -> Result<Box<dyn OneShotStrategy>> {
    Ok(nasarena_strategies::build_one_shot(
        &cfg.name,
        cfg.preset.as_deref(),
        &crate::run::overrides_json(cfg)?,
        seed,
        space,
        costs,
        device,
    )?)
}

/// Where a resumed run continues.
#[derive(Default)]
struct Resume {
    next_epoch: usize,
    total_epochs: Option<usize>,
    epochs_done: u64,
    derived: Option<(Arch, f64)>,
}

/// Restores strategy, supernet, optimiser and meter from the journal and
/// the last checkpoint; appends an epoch record a crash lost.
#[allow(clippy::too_many_arguments)]
fn resume(
    journal: &Journal,
    space: &dyn Realize,
    strategy: &mut dyn OneShotStrategy,
    varmap: &VarMap,
    sgd: &mut Sgd,
    meter: &mut Meter,
    writer: &mut crate::journal::JournalWriter,
    device: &Device,
) -> Result<Resume> {
    let path = &journal.path;
    let epochs = journal
        .records
        .iter()
        .filter(|r| matches!(r, Record::Epoch(_)))
        .count();
    let derive = journal.records.iter().find_map(|r| match r {
        Record::Derive(d) => Some(d),
        _ => None,
    });
    if let Some(d) = derive {
        *meter = Meter::resumed(meter.progress().budget, d.cumulative);
        let best = d
            .candidates
            .iter()
            .find(|c| c.arch == d.chosen)
            .map_or(0.0, |c| c.val_accuracy);
        return Ok(Resume {
            epochs_done: epochs as u64,
            derived: Some((space.parse(&d.chosen)?, best)),
            ..Resume::default()
        });
    }
    let Some(manifest) = checkpoint::load_manifest(path)? else {
        if epochs == 0 {
            return Ok(Resume::default());
        }
        return Err(Error::JournalMismatch {
            path: path.clone(),
            reason: format!("{epochs} epochs recorded but the checkpoint is missing; remove the journal to start this run again"),
        });
    };
    if manifest.epoch + 1 != epochs && manifest.epoch != epochs {
        return Err(Error::JournalMismatch {
            path: path.clone(),
            reason: format!(
                "the checkpoint is of epoch {} but {epochs} epochs are recorded",
                manifest.epoch
            ),
        });
    }
    checkpoint::restore(path, &manifest, varmap, sgd, device)?;
    strategy.restore_state(&manifest.strategy)?;
    *meter = Meter::resumed(meter.progress().budget, manifest.spent);
    if manifest.epoch == epochs {
        writer.append(&Record::Epoch(manifest.record.clone()))?;
    }
    Ok(Resume {
        next_epoch: manifest.epoch + 1,
        total_epochs: Some(manifest.total_epochs),
        epochs_done: manifest.epoch as u64 + 1,
        derived: None,
    })
}

/// Runs one (space, one-shot strategy, seed) unit to its final record.
pub fn run_one_shot_unit(
    plan: &Plan,
    unit: &Unit,
    device: &Device,
    calibration: f64,
    opts: &RunOptions,
    label: &UnitLabel,
) -> Result<()> {
    let exp = &plan.experiment;
    let space = plan.spaces[unit.space].as_ref();
    let evaluator = Evaluator::for_unit(plan, unit, device)?;
    let Evaluator::Live { data, .. } = &evaluator else {
        return Err(Error::Internal(
            "one-shot strategies train a supernet and cannot run on a table".into(),
        ));
    };
    let seed = unit.seed;
    let strategy_cfg = &exp.strategy[unit.strategy];
    let loss_costs = search_costs(strategy_cfg, &exp.space[unit.space], space)?;
    let mut strategy = build_one_shot_strategy(
        strategy_cfg,
        seed.derive("strategy", 0),
        space,
        loss_costs.as_ref(),
        device,
    )?;
    // MACs for the journal's accounting, whatever the loss's cost is.
    let costs = cost_table(space);
    let parts = split(
        &data.train,
        data.test.clone(),
        ARCH_FRACTION,
        seed.derive("one-shot-split", 0),
    )?;
    let search_data = SearchData {
        weights: &parts.train,
        arch: &parts.val,
        val: &data.val,
        norm: &data.norm,
    };
    let varmap = VarMap::new();
    let net = space.build_supernet(SeededInit::var_builder(
        &varmap,
        seed.derive("supernet", 0),
        device,
    ))?;
    let mut sgd = Sgd::new(trainable_vars(&varmap), exp.evaluator.optimizer);
    let mut meter = Meter::new(plan.budget);

    let opened = open_journal(plan, unit, &evaluator, calibration, opts, device, label)?;
    let (mut writer, resumed) = match opened {
        Opened::Finished => return Ok(()),
        Opened::Fresh(writer) => (writer, Resume::default()),
        Opened::Resumed(mut writer, journal) => {
            let r = resume(
                &journal,
                space,
                strategy.as_mut(),
                &varmap,
                &mut sgd,
                &mut meter,
                &mut writer,
                device,
            )?;
            tracing::info!(
                epochs = r.epochs_done,
                "resumed from the journal and checkpoint"
            );
            let resumed = ProgressEvent::Resumed {
                done: r.epochs_done,
                budget: meter.progress().fraction(),
            };
            opts.progress.event(label, resumed);
            (writer, r)
        }
    };

    let searched = match resumed.derived.clone() {
        Some((arch, val)) => crate::run::Searched {
            recommended: Some(arch),
            search_val_accuracy: Some(val),
            evaluations: resumed.epochs_done,
        },
        None => {
            let mut probe = match (resumed.total_epochs, plan.budget.unit) {
                (None, BudgetUnit::DeviceSeconds | BudgetUnit::DeviceHours) => {
                    let varmap = VarMap::new();
                    let vb = SeededInit::var_builder(&varmap, seed.derive("probe", 0), device);
                    Some(driver::Probe {
                        net: space.build_supernet(vb)?,
                        varmap,
                        strategy: build_one_shot_strategy(
                            strategy_cfg,
                            seed.derive("probe", 1),
                            space,
                            loss_costs.as_ref(),
                            device,
                        )?,
                    })
                }
                _ => None,
            };
            let mut trainer = SupernetTrainer {
                net: net.as_ref(),
                sgd: &mut sgd,
                schedule: &exp.evaluator,
                costs: costs.as_ref(),
                device,
            };
            let mut search = driver::Search {
                space,
                strategy: strategy.as_mut(),
                trainer: &mut trainer,
                data: &search_data,
                meter: &mut meter,
                writer: &mut writer,
                varmap: &varmap,
                journal: &unit.journal,
                seed,
                label,
                progress: opts.progress.as_ref(),
                stop: &opts.stop,
            };
            let epochs_done = search.epochs(&resumed, probe.as_mut())?;
            search.derive(epochs_done)?
        }
    };
    opts.stop.check(&writer)?;
    final_protocol(
        plan,
        unit,
        space,
        &searched,
        &evaluator,
        &meter,
        calibration,
        &mut writer,
        label,
        opts,
    )?;
    if let Ok(Some(m)) = checkpoint::load_manifest(&unit.journal) {
        checkpoint::remove(&unit.journal, &m);
    }
    Ok(())
}

/// Budget units that a one-shot search cannot be counted in, as a problem
/// message for the experiment check (`None` when the unit is fine).
pub fn budget_problem(unit: BudgetUnit) -> Option<String> {
    (!budget::supported(unit)).then(|| {
        format!(
            "one-shot strategies cannot be budgeted in {unit:?} (a supernet epoch is not an evaluation and its MACs depend on sampling); use train_samples, device_seconds or device_hours"
        )
    })
}

/// Cost with only device seconds, for the timing probe.
fn seconds_cost(seconds: f64) -> Cost {
    Cost {
        device_seconds: seconds,
        ..Cost::default()
    }
}
