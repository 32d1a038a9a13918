//! What a black-box evaluation is: training live with the trainer, or a
//! lookup in a tabular benchmark (NAS-Bench-201, Dong & Yang 2020: "query
//! the validation accuracy at epoch e and the time it took"). The run loop
//! calls one [`Evaluator`] and cannot tell the difference: both return the
//! outcome the strategy is told and the cost the meter is charged.

use crate::plan::{Plan, Unit};
use crate::run::repetition_data;
use crate::table::Table;
use crate::trainer::{train_and_evaluate, Schedule, TrainReport};
use crate::{Error, Result};
use candle_core::Device;
use nasarena_core::{Arch, Cost, Metrics, Outcome, Seed};
use nasarena_datasets::{Dataset, Splits};
use nasarena_results::DatasetInfo;
use nasarena_spaces::Realize;
use rand::Rng;
use std::path::PathBuf;

/// A table an experiment evaluates on, loaded and checked by the planner.
#[derive(Clone, Debug)]
pub struct TableSource {
    /// Where it was read from.
    pub path: PathBuf,
    /// The table.
    pub table: Table,
    /// Journal durability for runs on it.
    pub sync: crate::journal::JournalSync,
}

/// How a run's evaluations are made.
#[derive(Debug)]
pub enum Evaluator<'a> {
    /// Train with the trainer on this repetition's data.
    Live {
        /// The repetition's split.
        data: Box<Splits>,
        /// Where training runs.
        device: &'a Device,
    },
    /// Look the results up.
    Table(&'a TableSource),
}

/// The result of the final protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalTest {
    /// Test accuracy, `None` when training failed.
    pub test_accuracy: Option<f64>,
    /// Why training failed.
    pub failure: Option<String>,
    /// What the final training cost (recorded cost for a table).
    pub cost: Cost,
}

fn outcome_of(report: &TrainReport, macs: u64, params: u64) -> Outcome {
    match (&report.failure, report.epochs.last()) {
        (Some(reason), _) => Outcome::Failed {
            reason: reason.clone(),
        },
        (None, None) => Outcome::Failed {
            reason: "no epoch finished".into(),
        },
        (None, Some(last)) => Outcome::Evaluated(Metrics {
            val_accuracy: last.val_accuracy,
            val_loss: last.val_loss,
            val_accuracy_per_epoch: report.epochs.iter().map(|e| e.val_accuracy).collect(),
            macs,
            params,
        }),
    }
}

impl<'a> Evaluator<'a> {
    /// The evaluator of one run of `plan`.
    pub fn for_unit(plan: &'a Plan, unit: &Unit, device: &'a Device) -> Result<Self> {
        Ok(match &plan.table {
            Some(t) => Evaluator::Table(t),
            None => Evaluator::Live {
                data: Box::new(repetition_data(plan, unit)?),
                device,
            },
        })
    }

    /// Dataset provenance for the journal header.
    pub fn dataset_info(&self, name: &str) -> DatasetInfo {
        match self {
            Evaluator::Live { data, .. } => DatasetInfo {
                name: name.to_string(),
                checksum: data.checksum().to_string(),
                train: data.train.len(),
                val: data.val.len(),
                test: data.test.len(),
            },
            Evaluator::Table(t) => {
                let [train, val, test] = t.table.header().settings.splits;
                DatasetInfo {
                    name: name.to_string(),
                    checksum: format!("table:{}", t.table.checksum()),
                    train,
                    val,
                    test,
                }
            }
        }
    }

    /// How costs are measured, for the journal header.
    pub fn cost_note(&self) -> String {
        match self {
            Evaluator::Live { .. } => {
                "device time measured on the host after a device synchronisation".into()
            }
            Evaluator::Table(t) => format!(
                "evaluations looked up in table {} (sha256 {}); {}",
                t.path.display(),
                t.table.checksum(),
                t.table.header().cost_note
            ),
        }
    }

    /// Journal durability of this run.
    pub fn journal_sync(&self) -> crate::journal::JournalSync {
        match self {
            Evaluator::Live { .. } => crate::journal::JournalSync::PerRecord,
            Evaluator::Table(t) => t.sync,
        }
    }

    /// Training and validation samples per epoch.
    pub fn samples_per_epoch(&self) -> (u64, u64) {
        match self {
            Evaluator::Live { data, .. } => (data.train.len() as u64, data.val.len() as u64),
            Evaluator::Table(t) => {
                let [train, val, _] = t.table.header().settings.splits;
                (train as u64, val as u64)
            }
        }
    }

    /// Evaluates `arch` with `schedule` (its epochs are the fidelity).
    pub fn evaluate(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        seed: Seed,
    ) -> Result<(Outcome, Cost)> {
        match self {
            Evaluator::Live { data, device } => {
                let cost_report = space.cost(arch)?;
                let report = train_and_evaluate(space, arch, data, schedule, seed, device, false)?;
                let mut cost = report.cost;
                cost.evaluations = 1;
                Ok((
                    outcome_of(&report, cost_report.macs, cost_report.params),
                    cost,
                ))
            }
            Evaluator::Table(t) => {
                let (i, s, f) = locate(t, space, arch, schedule, seed)?;
                let table = &t.table;
                let v = table.values(i, s, f);
                let outcome = if v.val_accuracy.is_nan() {
                    Outcome::Failed {
                        reason: "the table records a failed training".into(),
                    }
                } else {
                    Outcome::Evaluated(Metrics {
                        val_accuracy: v.val_accuracy,
                        // Not recorded by imported tables; 0 keeps journals valid JSON.
                        val_loss: if v.val_loss.is_finite() {
                            v.val_loss
                        } else {
                            0.0
                        },
                        val_accuracy_per_epoch: if table.every_epoch() {
                            (0..=f)
                                .map(|k| table.values(i, s, k).val_accuracy)
                                .collect()
                        } else {
                            Vec::new()
                        },
                        macs: table.macs(i),
                        params: table.params(i),
                    })
                };
                Ok((outcome, table_cost(self, t, i, s, f, schedule.epochs)))
            }
        }
    }

    /// The shared final protocol: retrain `arch` and test it, or look its
    /// test accuracy up (no retraining, as NAS-Bench-201 reports).
    pub fn final_test(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        seed: Seed,
    ) -> Result<FinalTest> {
        match self {
            Evaluator::Live { data, device } => {
                let report = train_and_evaluate(space, arch, data, schedule, seed, device, true)?;
                Ok(FinalTest {
                    test_accuracy: report.test.map(|t| t.accuracy),
                    failure: report.failure,
                    cost: report.cost,
                })
            }
            Evaluator::Table(t) => {
                let (i, s, f) = locate(t, space, arch, schedule, seed)?;
                let test = t.table.values(i, s, f).test_accuracy;
                Ok(FinalTest {
                    test_accuracy: test.is_finite().then_some(test),
                    failure: (!test.is_finite()).then(|| {
                        "the table records no test accuracy (failed training)".to_string()
                    }),
                    cost: Cost {
                        evaluations: 0,
                        ..table_cost(self, t, i, s, f, schedule.epochs)
                    },
                })
            }
        }
    }
}

/// Entry, seed and fidelity position of a lookup. The exact architecture
/// is used when present (imported tables hold every cell), else its
/// canonical representative (tables built once per class).
fn locate(
    t: &TableSource,
    space: &dyn Realize,
    arch: &Arch,
    schedule: &Schedule,
    seed: Seed,
) -> Result<(usize, usize, usize)> {
    let table = &t.table;
    let missing = |what: String| Error::Table {
        path: t.path.clone(),
        reason: what,
    };
    let i = table
        .find(arch.choices())
        .or_else(|| table.find(space.canonical(arch).choices()))
        .ok_or_else(|| {
            missing(format!(
                "{} is not in the table (nor its canonical form)",
                space.format(arch)
            ))
        })?;
    let f = table
        .fidelity_index(schedule.epochs)
        .ok_or_else(|| missing(format!("no results at {} epochs", schedule.epochs)))?;
    let seeds = table.header().seeds;
    let s = if seeds > 1 {
        seed.rng().random_range(0..seeds)
    } else {
        0
    };
    Ok((i, s, f))
}

/// The recorded cost of training entry `i` for `epochs`: summed epoch
/// times (0 when the table has none) and the samples and MACs that
/// training on the table's splits processes.
fn table_cost(
    ev: &Evaluator<'_>,
    t: &TableSource,
    i: usize,
    s: usize,
    f: usize,
    epochs: usize,
) -> Cost {
    let table = &t.table;
    let seconds = if table.header().recorded.device_seconds {
        (0..=f).map(|k| table.values(i, s, k).device_seconds).sum()
    } else {
        0.0
    };
    let (train, val) = ev.samples_per_epoch();
    let train_samples = train * epochs as u64;
    let eval_samples = val * epochs as u64;
    Cost {
        device_seconds: seconds,
        train_samples,
        eval_samples,
        macs: table.macs(i).saturating_mul(train_samples + eval_samples),
        evaluations: 1,
    }
}
