//! The run loop of a black-box strategy: ask -> evaluate -> charge -> tell,
//! until the budget cannot afford the next evaluation; then the shared
//! final protocol. Every trial is journaled before the strategy hears of
//! it, and a run resumes by replaying its journal: the strategy is rebuilt
//! from its seed and told the recorded observations in order, which
//! restores its state exactly (ask is deterministic given its state), and
//! the recorded costs are charged to the meter again.

#[cfg(test)]
mod tests;

use crate::context::{Opened, Searched, UnitContext};
use crate::evaluation::Evaluator;
use crate::journal::JournalWriter;
use crate::meter::Meter;
use crate::progress::{ProgressEvent, ProgressSink, TrialResult, UnitLabel};
use crate::stop::StopFlag;
use crate::strategies::build_black_box;
use crate::trainer::Schedule;
use crate::{Error, Result};
use nasarena_core::{BlackBoxStrategy, BudgetUnit, Cost, Observation, Outcome, Seed};
use nasarena_results::{Incumbent, Record, TrialRecord};
use nasarena_spaces::Realize;
use std::path::Path;

/// What a black-box search loop works with, wherever it came from.
#[derive(Debug)]
pub struct BlackBoxSearch<'a> {
    /// The space searched.
    pub space: &'a dyn Realize,
    /// How candidates are evaluated.
    pub evaluator: &'a dyn Evaluator,
    /// The evaluation schedule (its epochs are the fidelity).
    pub schedule: &'a Schedule,
    /// The unit's seed; trial `t` is evaluated with `seed.derive("trial", t)`.
    pub seed: Seed,
    /// The journal's path, for errors.
    pub journal: &'a Path,
    /// Raised to stop after the current record.
    pub stop: &'a StopFlag,
    /// Receives a progress event per trial.
    pub progress: &'a dyn ProgressSink,
    /// The unit's name in progress events.
    pub label: &'a UnitLabel,
}

/// Where a black-box search stands.
#[derive(Debug)]
pub struct SearchState {
    /// What was charged against the budget.
    pub meter: Meter,
    /// The cost of every evaluation so far.
    pub history: Vec<Cost>,
    /// The best architecture by validation accuracy so far.
    pub incumbent: Option<Incumbent>,
}

impl SearchState {
    /// A search that has spent nothing of `meter`'s budget.
    pub fn new(meter: Meter) -> Self {
        SearchState {
            meter,
            history: Vec::new(),
            incumbent: None,
        }
    }

    /// The next trial's number.
    pub fn trial(&self) -> u64 {
        self.history.len() as u64
    }
}

/// The predicted cost of evaluating an architecture of `macs` MACs, in the
/// budget's unit, before spending it: exact for sample, MAC and evaluation
/// budgets, the mean of past evaluations for time budgets.
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

impl BlackBoxSearch<'_> {
    /// Restores a strategy and search state from a journal's trial records:
    /// the rebuilt strategy is asked again and told the recorded outcomes,
    /// so its state is exactly that of the interrupted run.
    pub fn replay(
        &self,
        strategy: &mut dyn BlackBoxStrategy,
        records: &[Record],
        state: &mut SearchState,
    ) -> Result<()> {
        for t in records.iter().filter_map(|r| match r {
            Record::Trial(t) => Some(t),
            _ => None,
        }) {
            let trial = state.trial();
            let proposal = strategy.ask(trial, self.space, &state.meter.progress())?;
            if proposal.arch.choices() != t.choices.as_slice() {
                return Err(Error::JournalMismatch {
                    path: self.journal.to_path_buf(),
                    reason: format!("trial {trial}: the strategy proposes a different architecture on replay; was the journal written by another build?"),
                });
            }
            strategy.tell(&Observation {
                trial,
                arch: proposal.arch,
                outcome: t.outcome.clone(),
                cost: t.cost,
            })?;
            state.meter.charge(t.cost);
            state.history.push(t.cost);
            state.incumbent = t.incumbent.clone();
        }
        Ok(())
    }

    /// Asks, evaluates, journals and tells until the budget cannot afford
    /// the next evaluation; returns what the strategy recommends.
    pub fn run(
        &self,
        strategy: &mut dyn BlackBoxStrategy,
        state: &mut SearchState,
        writer: &mut JournalWriter,
    ) -> Result<Searched> {
        let space = self.space;
        let (train_len, val_len) = self.evaluator.samples_per_epoch();
        let epochs = self.schedule.epochs as u64;
        let unit = state.meter.progress().budget.unit;
        while !state.meter.exhausted() {
            self.stop.check(writer)?;
            let trial = state.trial();
            let arch = strategy.ask(trial, space, &state.meter.progress())?.arch;
            space.check(&arch)?;
            let cost_report = space.cost(&arch)?;
            let guess = predicted(
                unit,
                cost_report.macs,
                epochs * train_len,
                epochs * val_len,
                &state.history,
            );
            if !state.meter.affords(guess) {
                break;
            }
            let (outcome, cost) = {
                let _eval =
                    tracing::debug_span!("evaluate", trial, arch = %space.format(&arch)).entered();
                let seed = self.seed.derive("trial", trial);
                self.evaluator.evaluate(space, &arch, self.schedule, seed)?
            };
            state.meter.charge(cost);
            state.history.push(cost);
            if let Some(acc) = outcome.val_accuracy() {
                if state
                    .incumbent
                    .as_ref()
                    .is_none_or(|i| acc > i.val_accuracy)
                {
                    state.incumbent = Some(Incumbent {
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
                epochs: self.schedule.epochs,
                outcome: outcome.clone(),
                cost,
                cumulative: state.meter.spent(),
                incumbent: state.incumbent.clone(),
                macs: cost_report.macs,
                params: cost_report.params,
            }))?;
            self.report_trial(trial, &outcome, state, &cost);
            strategy.tell(&Observation {
                trial,
                arch,
                outcome,
                cost,
            })?;
        }
        self.stop.check(writer)?;
        Ok(Searched {
            recommended: strategy.recommend(),
            search_val_accuracy: state.incumbent.as_ref().map(|i| i.val_accuracy),
            evaluations: state.trial(),
        })
    }

    /// Tells the log and the progress sink about a journaled trial.
    fn report_trial(&self, trial: u64, outcome: &Outcome, state: &SearchState, cost: &Cost) {
        let result = match outcome {
            Outcome::Evaluated(m) => TrialResult::Evaluated(m.val_accuracy),
            Outcome::Failed { reason } => TrialResult::Failed(reason.clone()),
        };
        let best = state.incumbent.as_ref().map(|i| i.val_accuracy);
        let budget = state.meter.progress().fraction();
        tracing::info!(
            trial,
            ?result,
            ?best,
            budget,
            seconds = cost.device_seconds,
            "trial journaled"
        );
        let event = ProgressEvent::Trial {
            trial,
            result,
            best,
            budget,
            seconds: cost.device_seconds,
        };
        self.progress.event(self.label, event);
    }
}

/// Runs one (space, black-box strategy, seed) unit to its final record.
pub fn run_black_box_unit(ctx: &UnitContext) -> Result<()> {
    let (plan, unit) = (ctx.plan, ctx.unit);
    let evaluator = ctx.evaluator()?;
    let mut strategy = build_black_box(&unit.config, unit.seed.derive("strategy", 0), ctx.space())?;
    let mut state = SearchState::new(Meter::new(plan.budget));
    let search = BlackBoxSearch {
        space: ctx.space(),
        evaluator: evaluator.as_ref(),
        schedule: &plan.experiment.evaluator,
        seed: unit.seed,
        journal: &unit.journal,
        stop: &ctx.opts.stop,
        progress: ctx.opts.progress.as_ref(),
        label: &ctx.label,
    };
    let mut writer = match ctx.open_journal(evaluator.as_ref(), None)? {
        Opened::Finished => return Ok(()),
        Opened::Fresh(writer) => writer,
        Opened::Resumed(writer, journal) => {
            search.replay(strategy.as_mut(), &journal.records, &mut state)?;
            tracing::info!(trials = state.trial(), "resumed from the journal");
            ctx.report_resumed(state.trial(), &state.meter);
            writer
        }
    };
    let searched = search.run(strategy.as_mut(), &mut state, &mut writer)?;
    ctx.final_protocol(&searched, evaluator.as_ref(), &state.meter, &mut writer)
}
