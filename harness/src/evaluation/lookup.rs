//! Table evaluation: results looked up in a tabular benchmark and charged
//! the cost the table recorded, so a replayed search spends what the live
//! one would have. A one-shot search on a table gets the table's own
//! images to train its supernet on (charged what it measures), and its
//! recommendation is looked up like every other (NAS-Bench-201, Dong &
//! Yang 2020: one-shot methods are scored on the benchmark's table).

use super::{Evaluator, FinalTest};
use crate::journal::JournalSync;
use crate::tabular::TableSource;
use crate::trainer::Schedule;
use crate::{Error, Result};
use nasarena_core::{Arch, Cost, Metrics, Outcome, Seed};
use nasarena_datasets::Splits;
use nasarena_results::DatasetInfo;
use nasarena_spaces::Realize;
use rand::Rng;

/// Looks evaluations up in a table.
#[derive(Debug)]
pub struct TableEvaluator<'a> {
    source: &'a TableSource,
    images: Option<&'a Splits>,
}

impl<'a> TableEvaluator<'a> {
    /// Evaluates by lookups in `source`.
    pub fn new(source: &'a TableSource) -> Self {
        TableEvaluator {
            source,
            images: None,
        }
    }

    /// Also hands a one-shot search `images`, the table's own split
    /// ([`crate::tabular::table_images`]), to train its supernet on.
    pub fn training_on(self, images: Option<&'a Splits>) -> Self {
        TableEvaluator { images, ..self }
    }
}

impl Evaluator for TableEvaluator<'_> {
    fn dataset_info(&self, name: &str) -> DatasetInfo {
        let t = self.source;
        let [train, val, test] = t.table.header().settings.splits;
        DatasetInfo {
            name: name.to_string(),
            checksum: format!("table:{}", t.table.checksum()),
            train,
            val,
            test,
            metric: nasarena_results::ScoreMetric::Accuracy,
        }
    }

    fn cost_note(&self) -> String {
        let t = self.source;
        if self.images.is_some() {
            return format!(
                "supernet trained on the images that table {} (sha256 {}) was built on, device time measured on this machine after a device synchronisation and normalised by this machine's calibration; the recommended architecture's accuracy looked up in the table (its recorded cost is normalised by the build machine's calibration, {} s)",
                t.written.display(),
                t.table.checksum(),
                t.table.header().calibration_seconds.map_or("not recorded".into(), |c| c.to_string())
            );
        }
        let h = t.table.header();
        let normalised = h.calibration_seconds.map_or(String::new(), |c| {
            format!("; normalised by the build machine's calibration, {c} s")
        });
        format!(
            "evaluations looked up in table {} (sha256 {}); {}{normalised}",
            t.written.display(),
            t.table.checksum(),
            h.cost_note
        )
    }

    fn journal_sync(&self) -> JournalSync {
        // A supernet's epochs take seconds: every record is worth keeping.
        if self.images.is_some() {
            JournalSync::PerRecord
        } else {
            self.source.sync
        }
    }

    fn samples_per_epoch(&self) -> (u64, u64) {
        let [train, val, _] = self.source.table.header().settings.splits;
        (train as u64, val as u64)
    }

    fn evaluate(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        seed: Seed,
    ) -> Result<(Outcome, Cost)> {
        let t = self.source;
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
        Ok((outcome, table_cost(t, i, s, f, schedule.epochs)))
    }

    fn final_test_retrains(&self) -> bool {
        false
    }

    fn final_test(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        seed: Seed,
    ) -> Result<FinalTest> {
        let t = self.source;
        let (i, s, f) = locate(t, space, arch, schedule, seed)?;
        let test = t.table.values(i, s, f).test_accuracy;
        Ok(FinalTest {
            test_accuracy: test.is_finite().then_some(test),
            failure: (!test.is_finite())
                .then(|| "the table records no test accuracy (failed training)".to_string()),
            cost: Cost {
                evaluations: 0,
                ..table_cost(t, i, s, f, schedule.epochs)
            },
            network: None,
        })
    }

    fn splits(&self) -> Option<&Splits> {
        self.images
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
fn table_cost(t: &TableSource, i: usize, s: usize, f: usize, epochs: usize) -> Cost {
    let table = &t.table;
    let seconds = if table.header().recorded.device_seconds {
        (0..=f).map(|k| table.values(i, s, k).device_seconds).sum()
    } else {
        0.0
    };
    let [train, val, _] = t.table.header().settings.splits;
    let (train, val) = (train as u64, val as u64);
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
