//! The run loop of a black-box strategy: ask -> evaluate -> charge -> tell,
//! until the budget cannot afford the next evaluation; then the shared
//! final protocol. Every trial is journaled before the strategy hears of
//! it, and a run resumes by replaying its journal: the strategy is rebuilt
//! from its seed and told the recorded observations in order, which
//! restores its state exactly (ask is deterministic given its state), and
//! the recorded costs are charged to the meter again.

use crate::evaluator::Evaluator;
use crate::experiment::StrategyConfig;
use crate::journal::JournalWriter;
use crate::machine::{calibrate, cpu_model, describe, host_name, slurm_ids, BuildInfo};
use crate::plan::{stratified_limit, Plan, Unit};
use crate::stop::StopFlag;
use crate::{Error, Result};
use candle_core::Device;
use nasarena_core::{Arch, BlackBoxStrategy, BudgetUnit, Cost, Meter, Observation, Outcome, Seed};
use nasarena_datasets::{split, Splits, TrainTest};
use nasarena_results::{FinalRecord, Header, Incumbent, Record, TrialRecord, SCHEMA_VERSION};
use nasarena_spaces::Realize;

/// Builds a black-box strategy from its experiment entry.
pub fn build_strategy(
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

/// A strategy entry's overrides as the JSON object the registries take.
pub(crate) fn overrides_json(cfg: &StrategyConfig) -> Result<serde_json::Value> {
    serde_json::to_value(&cfg.overrides).map_err(|e| Error::Internal(e.to_string()))
}

/// Restores a strategy, meter, cost history and incumbent from a journal's
/// trial records: the rebuilt strategy is asked again and told the recorded
/// outcomes, so its state is exactly that of the interrupted run.
fn replay(
    strategy: &mut dyn BlackBoxStrategy,
    space: &dyn Realize,
    records: &[Record],
    meter: &mut Meter,
    history: &mut Vec<Cost>,
    incumbent: &mut Option<Incumbent>,
    path: &std::path::Path,
) -> Result<()> {
    for t in records.iter().filter_map(|r| match r {
        Record::Trial(t) => Some(t),
        _ => None,
    }) {
        let trial = history.len() as u64;
        let proposal = strategy.ask(trial, space, &meter.progress())?;
        if proposal.arch.choices() != t.choices.as_slice() {
            return Err(Error::JournalMismatch {
                path: path.to_path_buf(),
                reason: format!("trial {trial}: the strategy proposes a different architecture on replay; was the journal written by another build?"),
            });
        }
        strategy.tell(&Observation {
            trial,
            arch: proposal.arch,
            outcome: t.outcome.clone(),
            cost: t.cost,
        })?;
        meter.charge(t.cost);
        history.push(t.cost);
        *incumbent = t.incumbent.clone();
    }
    Ok(())
}

/// Options of a whole `run` invocation.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Build facts for the provenance header.
    pub build: BuildInfo,
    /// Continue unfinished runs from their journals.
    pub resume: bool,
    /// No progress lines.
    pub quiet: bool,
    /// Only this unit (for array jobs); all when `None`.
    pub only_unit: Option<usize>,
    /// Runs executed concurrently (1: one after the other).
    pub jobs: usize,
    /// Raised (by a signal) to stop every run after its current record.
    pub stop: StopFlag,
}

/// The data of one repetition: split, then limited.
pub fn repetition_data(plan: &Plan, unit: &Unit) -> Result<Splits> {
    let d = &plan.experiment.dataset;
    let data = plan
        .data
        .as_ref()
        .ok_or_else(|| Error::Internal("a table experiment has no images".into()))?;
    prepare_splits(data, d.val_fraction, d.train_limit, unit.seed)
}

/// Carves the validation part from the training set and applies a
/// training-samples limit, all seeded by `seed` (the repetition's seed in a
/// run, the build seed of a table).
pub fn prepare_splits(
    data: &TrainTest,
    val_fraction: f64,
    train_limit: Option<usize>,
    seed: Seed,
) -> Result<Splits> {
    let mut s = split(
        &data.train,
        data.test.clone(),
        val_fraction,
        seed.derive("split", 0),
    )?;
    if let Some(limit) = train_limit {
        s.train = stratified_limit(&s.train, limit, seed.derive("split", 1))?;
        s.norm = nasarena_datasets::Normalization::of(&s.train);
    }
    Ok(s)
}

/// Runs every unit of the plan (skipping finished ones on resume). With
/// `opts.jobs > 1`, that many runs execute concurrently, each inside its
/// own rayon pool of `cores / jobs` threads (candle's CPU kernels and ours
/// parallelise on the current pool), so runs never compete for threads.
/// Every run is independent and seeded on its own, and its kernels split
/// work by output element, never by reduction, so a run's journal does not
/// depend on the thread split (checked end to end).
pub fn run_plan(plan: &Plan, opts: &RunOptions) -> Result<Vec<std::path::PathBuf>> {
    let device = Device::Cpu;
    // A table's costs were measured on the machine that built it.
    let calibration = match &plan.table {
        Some(t) => t.table.header().calibration_seconds.unwrap_or(1.0),
        None => calibrate(&device)?,
    };
    if let Some(unit) = opts.only_unit.filter(|&u| u >= plan.units.len()) {
        return Err(Error::UnitOutOfRange {
            unit,
            units: plan.units.len(),
        });
    }
    let units: Vec<&Unit> = plan
        .units
        .iter()
        .filter(|u| opts.only_unit.is_none_or(|only| only == u.index))
        .collect();
    // Table runs take milliseconds: one per core unless told otherwise.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = if plan.table.is_some() {
        opts.jobs.max(cores)
    } else {
        opts.jobs
    };
    let jobs = wanted.clamp(1, units.len().max(1));
    if jobs == 1 {
        for unit in &units {
            run_unit(plan, unit, &device, calibration, opts)?;
        }
    } else {
        run_concurrently(plan, &units, jobs, &device, calibration, opts)?;
    }
    Ok(units.iter().map(|u| u.journal.clone()).collect())
}

fn run_concurrently(
    plan: &Plan,
    units: &[&Unit],
    jobs: usize,
    device: &Device,
    calibration: f64,
    opts: &RunOptions,
) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (cores / jobs).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let worker = || -> Result<()> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Internal(format!("thread pool: {e}")))?;
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let Some(unit) = units.get(i) else {
                return Ok(());
            };
            if let Err(e) = pool.install(|| run_unit(plan, unit, device, calibration, opts)) {
                // Stop handing out runs; the others finish their current
                // one (every journal stays resumable).
                next.store(units.len(), std::sync::atomic::Ordering::SeqCst);
                return Err(e);
            }
        }
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs).map(|_| scope.spawn(worker)).collect();
        let mut first: Result<()> = Ok(());
        for h in handles {
            let outcome = h
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("a run thread panicked".into())));
            if first.is_ok() {
                first = outcome;
            }
        }
        first
    })
}

fn header(
    plan: &Plan,
    unit: &Unit,
    evaluator: &Evaluator<'_>,
    calibration: f64,
    opts: &RunOptions,
    device: &Device,
) -> Result<Header> {
    let exp = &plan.experiment;
    let st = &exp.strategy[unit.strategy];
    let sp = &exp.space[unit.space];
    Ok(Header {
        schema_version: SCHEMA_VERSION,
        experiment: exp.name.clone(),
        unit: unit.index,
        space: sp.name.clone(),
        space_options: sp.option_strings(),
        strategy: st.name.clone(),
        preset: st.preset.clone().unwrap_or_else(|| "default".into()),
        label: st.label(),
        seed: unit.seed.0,
        budget: plan.budget,
        config: serde_json::to_value(exp).map_err(|e| Error::Internal(e.to_string()))?,
        crate_version: opts.build.version.clone(),
        git_revision: opts.build.git_revision.clone(),
        features: opts.build.features.clone(),
        device: describe(device),
        cpu_model: cpu_model(),
        // Inside a `--jobs` worker this is the worker's pool.
        threads: rayon::current_num_threads(),
        dataset: evaluator.dataset_info(&exp.dataset.name),
        calibration_seconds: calibration,
        cost_note: evaluator.cost_note(),
        host: host_name(),
        slurm: slurm_ids(),
    })
}

/// The predicted cost of evaluating `arch`, in the budget's unit, before
/// spending it: exact for sample, MAC and evaluation budgets, the mean of
/// past evaluations for time budgets.
fn predicted(unit: BudgetUnit, macs: u64, train: u64, eval: u64, history: &[Cost]) -> f64 {
    match unit {
        BudgetUnit::Evaluations => 1.0,
        BudgetUnit::TrainSamples => train as f64,
        BudgetUnit::Macs => (macs as f64) * (train + eval) as f64,
        BudgetUnit::DeviceSeconds | BudgetUnit::DeviceHours => {
            if history.is_empty() {
                0.0
            } else {
                history.iter().map(|c| c.amount(unit)).sum::<f64>() / history.len() as f64
            }
        }
    }
}

/// What opening a unit's journal found.
pub(crate) enum Opened {
    /// The run finished earlier; nothing to do.
    Finished,
    /// A new journal with its header written.
    Fresh(JournalWriter),
    /// An unfinished journal to continue, with what it holds so far.
    Resumed(JournalWriter, Box<nasarena_results::Journal>),
}

/// Creates the unit's journal, or reopens it on `--resume` after checking
/// that it belongs to this run.
pub(crate) fn open_journal(
    plan: &Plan,
    unit: &Unit,
    evaluator: &Evaluator<'_>,
    calibration: f64,
    opts: &RunOptions,
    device: &Device,
    tag: &str,
) -> Result<Opened> {
    if !unit.journal.exists() {
        let header = header(plan, unit, evaluator, calibration, opts, device)?;
        let writer = JournalWriter::create(&unit.journal, &header)?;
        return Ok(Opened::Fresh(writer.with_sync(evaluator.journal_sync())));
    }
    if !opts.resume {
        return Err(Error::JournalMismatch {
            path: unit.journal.clone(),
            reason:
                "a journal already exists; pass --resume to continue it or remove the runs folder"
                    .into(),
        });
    }
    let st_cfg = &plan.experiment.strategy[unit.strategy];
    let (writer, journal) = JournalWriter::reopen(&unit.journal)?;
    if journal.header.seed != unit.seed.0 || journal.header.label != st_cfg.label() {
        return Err(Error::JournalMismatch {
            path: unit.journal.clone(),
            reason: "the journal was written by a different experiment configuration".into(),
        });
    }
    if journal.final_record().is_some() {
        if !opts.quiet {
            eprintln!("{tag}: finished earlier, skipped");
        }
        return Ok(Opened::Finished);
    }
    Ok(Opened::Resumed(
        writer.with_sync(evaluator.journal_sync()),
        Box::new(journal),
    ))
}

/// The label printed in front of a unit's progress lines.
pub(crate) fn unit_tag(plan: &Plan, unit: &Unit) -> String {
    let exp = &plan.experiment;
    format!(
        "[{}/{}] {} {} seed {}",
        unit.index + 1,
        plan.units.len(),
        exp.space[unit.space].name,
        exp.strategy[unit.strategy].label(),
        unit.repeat
    )
}

fn run_unit(
    plan: &Plan,
    unit: &Unit,
    device: &Device,
    calibration: f64,
    opts: &RunOptions,
) -> Result<()> {
    let exp = &plan.experiment;
    let space = plan.spaces[unit.space].as_ref();
    let st_cfg = &exp.strategy[unit.strategy];
    if nasarena_strategies::is_one_shot(&st_cfg.name) {
        return crate::one_shot::run_one_shot_unit(plan, unit, device, calibration, opts);
    }
    let evaluator = Evaluator::for_unit(plan, unit, device)?;
    let tag = unit_tag(plan, unit);
    let mut strategy = build_strategy(st_cfg, unit.seed.derive("strategy", 0), space)?;
    let mut meter = Meter::new(plan.budget);
    let mut history: Vec<Cost> = Vec::new();
    let mut incumbent: Option<Incumbent> = None;
    let mut trial: u64 = 0;

    let mut writer = match open_journal(plan, unit, &evaluator, calibration, opts, device, &tag)? {
        Opened::Finished => return Ok(()),
        Opened::Fresh(writer) => writer,
        Opened::Resumed(writer, journal) => {
            replay(
                strategy.as_mut(),
                space,
                &journal.records,
                &mut meter,
                &mut history,
                &mut incumbent,
                &unit.journal,
            )?;
            trial = history.len() as u64;
            if !opts.quiet {
                eprintln!("{tag}: resumed after {trial} recorded trials");
            }
            writer
        }
    };

    let (train_len, val_len) = evaluator.samples_per_epoch();
    let eval_per = exp.evaluator.epochs as u64 * val_len;
    while !meter.exhausted() {
        opts.stop.check(&writer)?;
        let proposal = strategy.ask(trial, space, &meter.progress())?;
        let arch = proposal.arch;
        space.check(&arch)?;
        let cost_report = space.cost(&arch)?;
        let guess = predicted(
            plan.budget.unit,
            cost_report.macs,
            exp.evaluator.epochs as u64 * train_len,
            eval_per,
            &history,
        );
        if meter.progress().spent.amount(plan.budget.unit) + guess > plan.budget.limit + 1e-9 {
            break;
        }
        let (outcome, cost) = evaluator.evaluate(
            space,
            &arch,
            &exp.evaluator,
            unit.seed.derive("trial", trial),
        )?;
        meter.charge(cost);
        history.push(cost);
        if let Some(acc) = outcome.val_accuracy() {
            if incumbent.as_ref().is_none_or(|i| acc > i.val_accuracy) {
                incumbent = Some(Incumbent {
                    arch: space.format(&arch),
                    val_accuracy: acc,
                    trial,
                });
            }
        }
        writer.append(&Record::Trial(TrialRecord {
            trial,
            arch: space.format(&arch),
            canonical: space.format(&space.canonical(&arch)),
            choices: arch.choices().to_vec(),
            epochs: exp.evaluator.epochs,
            outcome: outcome.clone(),
            cost,
            cumulative: meter.spent(),
            incumbent: incumbent.clone(),
            macs: cost_report.macs,
            params: cost_report.params,
        }))?;
        if !opts.quiet {
            let shown = match &outcome {
                Outcome::Evaluated(m) => format!("val {:.2}%", 100.0 * m.val_accuracy),
                Outcome::Failed { reason } => format!("failed: {reason}"),
            };
            eprintln!(
                "{tag}: trial {trial:>3} {shown:<16} best {:>6.2}%  budget {:>5.1}%  {:.1}s",
                incumbent.as_ref().map_or(0.0, |i| 100.0 * i.val_accuracy),
                100.0 * meter.progress().fraction(),
                cost.device_seconds
            );
        }
        strategy.tell(&Observation {
            trial,
            arch,
            outcome,
            cost,
        })?;
        trial += 1;
    }
    opts.stop.check(&writer)?;
    let searched = Searched {
        recommended: strategy.recommend(),
        search_val_accuracy: incumbent.map(|i| i.val_accuracy),
        evaluations: trial,
    };
    final_protocol(
        plan,
        unit,
        space,
        &searched,
        &evaluator,
        &meter,
        calibration,
        &mut writer,
        &tag,
        opts,
    )
}

/// What a search hands to the final protocol.
pub(crate) struct Searched {
    /// The architecture to retrain, if the search found one.
    pub recommended: Option<Arch>,
    /// Its validation accuracy during the search (the search signal).
    pub search_val_accuracy: Option<f64>,
    /// Evaluations (black-box) or epochs (one-shot) the search ran.
    pub evaluations: u64,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn final_protocol(
    plan: &Plan,
    unit: &Unit,
    space: &dyn Realize,
    searched: &Searched,
    evaluator: &Evaluator<'_>,
    meter: &Meter,
    calibration: f64,
    writer: &mut JournalWriter,
    tag: &str,
    opts: &RunOptions,
) -> Result<()> {
    let schedule = &plan.experiment.final_protocol.schedule;
    let search_cost = meter.spent();
    let overshoot = (search_cost.amount(plan.budget.unit) - plan.budget.limit).max(0.0);
    let evaluations = searched.evaluations;
    let record = match searched.recommended.clone() {
        None => FinalRecord {
            arch: String::new(),
            search_val_accuracy: None,
            test_accuracy: None,
            failure: Some("no architecture was evaluated successfully".into()),
            macs: 0,
            params: 0,
            epochs: schedule.epochs,
            cost: Cost::default(),
            search_cost,
            normalised_search_cost: search_cost.device_seconds / calibration,
            evaluations,
            budget_overshoot: overshoot,
        },
        Some(arch) => {
            let cost_report = space.cost(&arch)?;
            let report =
                evaluator.final_test(space, &arch, schedule, unit.seed.derive("final", 0))?;
            FinalRecord {
                arch: space.format(&arch),
                search_val_accuracy: searched.search_val_accuracy,
                test_accuracy: report.test_accuracy,
                failure: report.failure.clone(),
                macs: cost_report.macs,
                params: cost_report.params,
                epochs: schedule.epochs,
                cost: report.cost,
                search_cost,
                normalised_search_cost: search_cost.device_seconds / calibration,
                evaluations,
                budget_overshoot: overshoot,
            }
        }
    };
    if !opts.quiet {
        eprintln!(
            "{tag}: final {} test {}",
            record.arch,
            record
                .test_accuracy
                .map_or("failed".to_string(), |a| format!("{:.2}%", 100.0 * a))
        );
    }
    writer.append(&Record::Final(record))
}
