//! The context of one unit's run: its plan entry, device, calibration and
//! options, and what every search loop does the same way around its
//! search: build the evaluator, write or reopen the journal (with its
//! provenance header), and the shared final protocol.

use crate::device::describe;
use crate::evaluation::{Evaluator, LiveEvaluator, TableEvaluator};
use crate::journal::JournalWriter;
use crate::machine::{cpu_model, host_name, slurm_ids};
use crate::meter::Meter;
use crate::options::RunOptions;
use crate::plan::{Plan, Unit, UnitKind};
use crate::progress::{ProgressEvent, UnitLabel};
use crate::segmentation::evaluator::SegEvaluator;
use crate::{Error, Result};
use candle_core::Device;
use nasarena_core::{Arch, Budget, BudgetUnit, Cost, EffectiveSchedule};
use nasarena_results::{FinalRecord, Header, Journal, Record, SCHEMA_VERSION};
use nasarena_spaces::Realize;

/// Everything a unit's run needs from outside its search loop.
#[derive(Debug)]
pub struct UnitContext<'a> {
    /// The plan the unit belongs to.
    pub plan: &'a Plan,
    /// The unit.
    pub unit: &'a Unit,
    /// Where training runs.
    pub device: &'a Device,
    /// Seconds of the calibration workload on the machine that pays the
    /// costs (a table's build machine for table replays).
    pub calibration: f64,
    /// The unit's budget: the plan's, or for a supernet trained on a
    /// table's images the same budget in normalised units (see
    /// [`UnitContext::new`]).
    pub budget: Budget,
    /// Options of the whole invocation.
    pub opts: &'a RunOptions,
    /// The unit's name in progress events.
    pub label: UnitLabel,
}

/// What a search hands to the final protocol.
#[derive(Clone, Debug)]
pub struct Searched {
    /// The architecture to retrain, if the search found one.
    pub recommended: Option<Arch>,
    /// Its validation accuracy during the search (the search signal).
    pub search_val_accuracy: Option<f64>,
    /// Evaluations (black-box) or epochs (one-shot) the search ran.
    pub evaluations: u64,
}

/// What opening a unit's journal found.
#[derive(Debug)]
pub enum Opened {
    /// The run finished earlier; nothing to do.
    Finished,
    /// A new journal with its header written.
    Fresh(JournalWriter),
    /// An unfinished journal to continue, with what it holds so far.
    Resumed(JournalWriter, Box<Journal>),
}

impl<'a> UnitContext<'a> {
    /// The context of `unit`, whose costs are paid on a machine with
    /// `calibration` seconds; names it for progress events.
    ///
    /// A supernet trained on a table's images pays in this machine's
    /// seconds while the table's replays pay in its build machine's, so a
    /// time budget is equal for both in normalised units (device seconds
    /// over calibration seconds): here it is the plan's limit scaled by
    /// this machine's calibration over the table's.
    pub fn new(
        plan: &'a Plan,
        unit: &'a Unit,
        device: &'a Device,
        calibration: f64,
        opts: &'a RunOptions,
    ) -> Self {
        let label = UnitLabel {
            index: unit.index,
            total: plan.units.len(),
            name: plan.unit_name(unit),
        };
        let mut budget = plan.budget;
        let timed = matches!(
            budget.unit,
            BudgetUnit::DeviceSeconds | BudgetUnit::DeviceHours
        );
        let recorded = plan
            .table
            .as_ref()
            .and_then(|t| t.table.header().calibration_seconds);
        if let Some(recorded) = recorded.filter(|_| timed && plan.measured_here(unit)) {
            let scaled = budget.limit * calibration / recorded;
            if scaled.is_finite() && scaled > 0.0 {
                budget.limit = scaled;
            }
        }
        UnitContext {
            plan,
            unit,
            device,
            calibration,
            budget,
            opts,
            label,
        }
    }

    /// The unit's search space.
    pub fn space(&self) -> &'a dyn Realize {
        self.plan.spaces[self.unit.space].as_ref()
    }

    /// The log span every record of the unit's run is emitted inside.
    pub fn span(&self) -> tracing::Span {
        tracing::info_span!("unit", n = self.label.index + 1, run = %self.label.name)
    }

    /// The unit's evaluator: lookups in the experiment's table (which also
    /// hands a one-shot unit the table's images to train its supernet on),
    /// live training on the repetition's split, or on segmentation scenes.
    pub fn evaluator(&self) -> Result<Box<dyn Evaluator + 'a>> {
        let images = self.plan.table_images.as_ref();
        let trains = matches!(self.unit.kind, UnitKind::OneShot(_));
        if let Some(scenes) = &self.plan.scenes {
            return Ok(Box::new(SegEvaluator::new(scenes, self.device)));
        }
        Ok(match &self.plan.table {
            Some(t) => Box::new(TableEvaluator::new(t).training_on(images.filter(|_| trains))),
            None => Box::new(LiveEvaluator::new(
                self.plan.repetition_data(self.unit)?,
                self.device,
            )),
        })
    }

    fn header(
        &self,
        evaluator: &dyn Evaluator,
        schedule: Option<&EffectiveSchedule>,
    ) -> Result<Header> {
        let (plan, unit, opts) = (self.plan, self.unit, self.opts);
        let exp = &plan.experiment;
        let st = &unit.config;
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
            budget: self.budget,
            config: serde_json::to_value(exp).map_err(|e| Error::Internal(e.to_string()))?,
            crate_version: opts.build.version.clone(),
            git_revision: opts.build.git_revision.clone(),
            features: opts.build.features.clone(),
            device: describe(self.device),
            cpu_model: cpu_model(),
            // Inside a `--jobs` worker this is the worker's pool.
            threads: rayon::current_num_threads(),
            dataset: evaluator.dataset_info(&exp.dataset.name),
            calibration_seconds: self.calibration,
            cost_note: evaluator.cost_note(),
            host: host_name(),
            slurm: slurm_ids(),
            search_schedule: schedule.cloned(),
        })
    }

    /// Creates the unit's journal (its header records a one-shot run's
    /// `schedule`), or reopens it on `--resume` after checking that it
    /// belongs to this run; tells the progress sink the run starts (or was
    /// finished earlier).
    pub fn open_journal(
        &self,
        evaluator: &dyn Evaluator,
        schedule: Option<&EffectiveSchedule>,
    ) -> Result<Opened> {
        let opened = self.open_or_create(evaluator, schedule)?;
        let budget = self.budget;
        if matches!(opened, Opened::Finished) {
            self.opts
                .progress
                .event(&self.label, ProgressEvent::Skipped);
        } else {
            tracing::info!(budget = ?budget, "run started");
            let started = ProgressEvent::Started { budget };
            self.opts.progress.event(&self.label, started);
        }
        Ok(opened)
    }

    fn open_or_create(
        &self,
        evaluator: &dyn Evaluator,
        schedule: Option<&EffectiveSchedule>,
    ) -> Result<Opened> {
        let unit = self.unit;
        if !unit.journal.exists() {
            let header = self.header(evaluator, schedule)?;
            let writer = JournalWriter::create(&unit.journal, &header)?;
            return Ok(Opened::Fresh(writer.with_sync(evaluator.journal_sync())));
        }
        if !self.opts.resume {
            return Err(Error::JournalMismatch {
                path: unit.journal.clone(),
                reason:
                    "a journal already exists; pass --resume to continue it or remove the runs folder"
                        .into(),
            });
        }
        let (writer, journal) = JournalWriter::reopen(&unit.journal)?;
        if journal.header.seed != unit.seed.0 || journal.header.label != unit.config.label() {
            return Err(Error::JournalMismatch {
                path: unit.journal.clone(),
                reason: "the journal was written by a different experiment configuration".into(),
            });
        }
        if journal.final_record().is_some() {
            return Ok(Opened::Finished);
        }
        Ok(Opened::Resumed(
            writer.with_sync(evaluator.journal_sync()),
            Box::new(journal),
        ))
    }

    /// Tells the progress sink a run continues from its journal.
    pub fn report_resumed(&self, done: u64, meter: &Meter) {
        let resumed = ProgressEvent::Resumed {
            done,
            budget: meter.progress().fraction(),
        };
        self.opts.progress.event(&self.label, resumed);
    }

    /// The shared final protocol: retrain and test what the search
    /// recommends (or look it up), and journal the final record with the
    /// search's cost.
    pub fn final_protocol(
        &self,
        searched: &Searched,
        evaluator: &dyn Evaluator,
        meter: &Meter,
        writer: &mut JournalWriter,
    ) -> Result<()> {
        let plan = self.plan;
        let space = self.space();
        let schedule = &plan.experiment.final_protocol.schedule;
        let search_cost = meter.spent();
        let budget = self.budget;
        let overshoot = (search_cost.amount(budget.unit) - budget.limit).max(0.0);
        let mut record = FinalRecord {
            arch: String::new(),
            search_val_accuracy: None,
            test_accuracy: None,
            failure: Some("no architecture was evaluated successfully".into()),
            macs: 0,
            params: 0,
            epochs: schedule.epochs,
            cost: Cost::default(),
            search_cost,
            normalised_search_cost: search_cost.device_seconds / self.calibration,
            evaluations: searched.evaluations,
            budget_overshoot: overshoot,
            weights: None,
        };
        if let Some(arch) = &searched.recommended {
            let retraining = ProgressEvent::Retraining {
                arch: space.format(arch),
                looked_up: !evaluator.final_test_retrains(),
            };
            self.opts.progress.event(&self.label, retraining);
            let _span = tracing::info_span!("final_protocol").entered();
            let cost_report = space.cost(arch)?;
            let seed = self.unit.seed.derive("final", 0);
            let report = evaluator.final_test(space, arch, schedule, seed)?;
            // Saved before the final record: a run killed in between
            // resumes into the final protocol and writes both again.
            let weights = match &report.network {
                Some(net) => Some(crate::saved::save(net, &self.unit.journal)?),
                None => None,
            };
            record = FinalRecord {
                arch: space.format(arch),
                search_val_accuracy: searched.search_val_accuracy,
                test_accuracy: report.test_accuracy,
                failure: report.failure,
                macs: cost_report.macs,
                params: cost_report.params,
                cost: report.cost,
                weights,
                ..record
            };
        }
        let finished = ProgressEvent::Finished {
            arch: record.arch.clone(),
            test_accuracy: record.test_accuracy,
        };
        tracing::info!(arch = %record.arch, test_accuracy = ?record.test_accuracy, "run finished");
        writer.append(&Record::Final(record))?;
        self.opts.progress.event(&self.label, finished);
        Ok(())
    }
}
