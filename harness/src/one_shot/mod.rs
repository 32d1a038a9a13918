//! The run loop of a one-shot strategy: supernet epochs charged to the
//! budget, a journal record and a checkpoint per epoch, then the
//! derivation (the argmax and sampled architectures scored on the
//! validation split with the shared weights; the best is recommended, as
//! SqueezeNAS does), then the same final protocol as every other strategy.
//!
//! The training split is divided once per run, seeded (stratified for
//! images): 80% trains the supernet weights and 20% the architecture
//! parameters (FBNet, Wu et al. 2019). Images and segmentation scenes are
//! searched alike ([`crate::task_set`]). Supernet weights use the experiment's evaluator
//! optimiser and batch size, so one-shot and black-box searches train
//! networks with the same settings.

mod checkpoint;
mod driver;
mod epochs;
mod resume;
mod search;
mod session;

use crate::context::{Opened, Searched, UnitContext};
use crate::evaluation::Evaluator;
use crate::meter::Meter;
use crate::optim::Sgd;
use crate::plan::UnitKind;
use crate::segmentation::scene_set::SceneSet;
use crate::strategies::build_one_shot;
use crate::task_set::{ImageSet, TaskSet};
use crate::{Error, Result};
use candle_nn::VarMap;
use nasarena_core::{BudgetUnit, Seed};
use nasarena_datasets::split;
use nasarena_spaces::SeededInit;
use resume::{resume, Restored, Resume};
use search::{SearchData, SupernetTrainer};
use session::{Search, SearchCore};
use std::borrow::Cow;

/// Fraction of the training split that trains the architecture.
const ARCH_FRACTION: f64 = 0.2;

/// Runs one (space, one-shot strategy, seed) unit to its final record.
pub fn run_one_shot_unit(ctx: &UnitContext) -> Result<()> {
    let (plan, unit, device, opts) = (ctx.plan, ctx.unit, ctx.device, ctx.opts);
    let exp = &plan.experiment;
    let space = ctx.space();
    let UnitKind::OneShot(costs) = &unit.kind else {
        return Err(Error::Internal(
            "a black-box unit reached the one-shot loop".into(),
        ));
    };
    let evaluator = ctx.evaluator()?;
    let seed = unit.seed;
    let sets = search_sets(evaluator.as_ref(), seed)?;
    let strategy_cfg = &unit.config;
    let loss_costs = costs.loss.as_ref();
    let mut strategy = build_one_shot(
        strategy_cfg,
        seed.derive("strategy", 0),
        space,
        loss_costs,
        device,
    )?;
    let search_data = SearchData {
        weights: sets[0].as_ref(),
        arch: sets[1].as_ref(),
        val: sets[2].as_ref(),
    };
    let varmap = VarMap::new();
    let net = space.build_supernet(SeededInit::var_builder(
        &varmap,
        seed.derive("supernet", 0),
        device,
    ))?;
    let mut sgd = Sgd::new(
        search::searched_vars(&varmap, strategy.as_ref()),
        exp.evaluator.optimizer,
    );
    let mut meter = Meter::new(ctx.budget);
    let make_probe = || -> Result<epochs::Probe> {
        let varmap = VarMap::new();
        let vb = SeededInit::var_builder(&varmap, seed.derive("probe", 0), device);
        Ok(epochs::Probe {
            net: space.build_supernet(vb)?,
            varmap,
            strategy: build_one_shot(
                strategy_cfg,
                seed.derive("probe", 1),
                space,
                loss_costs,
                device,
            )?,
        })
    };
    let time_budget = matches!(
        plan.budget.unit,
        BudgetUnit::DeviceSeconds | BudgetUnit::DeviceHours
    );

    let mut trainer = SupernetTrainer {
        net: net.as_ref(),
        sgd: &mut sgd,
        schedule: &exp.evaluator,
        costs: costs.macs.as_ref(),
        device,
    };
    let mut core = SearchCore {
        space,
        strategy: strategy.as_mut(),
        trainer: &mut trainer,
        data: &search_data,
        meter: &mut meter,
        seed,
    };
    // Epochs the run has (a timing probe sizes fresh device-time runs)
    // and the schedule the strategy plans for them; a resumed run gets
    // its checkpoint's plan again, which the strategy checks.
    let size = |core: &mut SearchCore, resumed: &Resume| -> Result<_> {
        let needs_probe = time_budget && resumed.total_epochs.is_none();
        let mut probe = if needs_probe {
            Some(make_probe()?)
        } else {
            None
        };
        let sized = core.plan_epochs(resumed, probe.as_mut())?;
        let schedule = core.plan_run(sized.total)?;
        Ok((sized, schedule))
    };

    // A fresh run is sized in epochs before its journal exists, so the
    // header records the schedule the strategy plans for that length.
    let (mut writer, resumed, sized) = if !unit.journal.exists() {
        let fresh = Resume::default();
        let (sized, schedule) = size(&mut core, &fresh)?;
        match ctx.open_journal(evaluator.as_ref(), Some(&schedule))? {
            Opened::Fresh(writer) => (writer, fresh, Some(sized)),
            _ => {
                return Err(Error::Internal(
                    "the journal appeared while the search was sized".into(),
                ))
            }
        }
    } else {
        match ctx.open_journal(evaluator.as_ref(), None)? {
            Opened::Finished => return Ok(()),
            Opened::Fresh(writer) => (writer, Resume::default(), None),
            Opened::Resumed(mut writer, journal) => {
                let state = Restored {
                    strategy: &mut *core.strategy,
                    varmap: &varmap,
                    sgd: &mut *core.trainer.sgd,
                    meter: &mut *core.meter,
                };
                let r = resume(&journal, space, state, &mut writer, device)?;
                tracing::info!(
                    epochs = r.epochs_done,
                    "resumed from the journal and checkpoint"
                );
                ctx.report_resumed(r.epochs_done, core.meter);
                (writer, r, None)
            }
        }
    };

    let searched = match resumed.derived.clone() {
        Some((arch, val)) => Searched {
            recommended: Some(arch),
            search_val_accuracy: Some(val),
            evaluations: resumed.epochs_done,
        },
        None => {
            let sized = match sized {
                Some(sized) => sized,
                None => size(&mut core, &resumed)?.0,
            };
            let mut search = Search {
                core: &mut core,
                writer: &mut writer,
                varmap: &varmap,
                journal: &unit.journal,
                label: &ctx.label,
                progress: opts.progress.as_ref(),
                stop: &opts.stop,
            };
            let epochs_done = search.epochs(&resumed, &sized)?;
            search.derive(epochs_done)?
        }
    };
    opts.stop.check(&writer)?;
    ctx.final_protocol(&searched, evaluator.as_ref(), core.meter, &mut writer)?;
    if let Ok(Some(m)) = checkpoint::load_manifest(&unit.journal) {
        checkpoint::remove(&unit.journal, &m);
    }
    Ok(())
}

/// The weight, architecture and validation sets of a search on the
/// evaluator's data: the training split divided once, seeded (stratified
/// for images), and the validation split.
fn search_sets<'e>(evaluator: &'e dyn Evaluator, seed: Seed) -> Result<[Box<dyn TaskSet + 'e>; 3]> {
    let split_seed = seed.derive("one-shot-split", 0);
    if let Some(scenes) = evaluator.scenes() {
        let (weights, arch) = scenes.train.split(ARCH_FRACTION, split_seed);
        let stats = &scenes.stats;
        return Ok([
            Box::new(SceneSet {
                data: Cow::Owned(weights),
                stats,
            }),
            Box::new(SceneSet {
                data: Cow::Owned(arch),
                stats,
            }),
            Box::new(SceneSet::new(&scenes.val, stats)),
        ]);
    }
    let data = evaluator.splits().ok_or(Error::NoImages)?;
    let parts = split(&data.train, data.test.clone(), ARCH_FRACTION, split_seed)?;
    let norm = &data.norm;
    Ok([
        Box::new(ImageSet {
            data: Cow::Owned(parts.train),
            norm,
        }),
        Box::new(ImageSet {
            data: Cow::Owned(parts.val),
            norm,
        }),
        Box::new(ImageSet::new(&data.val, norm)),
    ])
}
