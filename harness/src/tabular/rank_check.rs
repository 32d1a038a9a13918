//! Is a built table's ranking faithful? `nasarena tabulate rank-check`
//! retrains a seeded random sample of the table's non-degenerate
//! architectures with a schedule `factor` times longer (same data split,
//! another training seed) and reports Spearman's and Kendall's rank
//! correlation between the table's final validation accuracy (the mean
//! over its seeds, what a table-scored search is judged by) and the
//! longer schedule's. Factor 1 retrains with the table's own schedule: how
//! well the ranking survives another training seed alone. NAS-Bench-201 (Dong & Yang 2020, Sec. 5) judges its
//! short-schedule results the same way, by how well they rank
//! architectures against the full schedule.
//!
//! Every retrained architecture is appended to a JSON-lines journal as
//! soon as it finishes, so an interrupted check resumes where it stopped;
//! the journal's first line pins the table (checksum) and the check's
//! settings, and a resume with others is refused.

use super::check_journal;
use super::source::TableSource;
use super::table_images;
use crate::trainer::{train_recording, TestEval};
use crate::{Error, Result};
use candle_core::Device;
use nasarena_core::Seed;
use nasarena_results::stats::{kendall_tau_b, spearman};
use nasarena_spaces::{build_space, SpaceOptions};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// What a check does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankCheckSettings {
    /// The table's sha256.
    pub table_sha256: String,
    /// Architectures retrained.
    pub cells: usize,
    /// The longer schedule's epochs (and warm-up) over the table's.
    pub factor: usize,
    /// Seeds the sample and the retraining seeds.
    pub seed: u64,
    /// Architectures whose table validation accuracy is within this many
    /// points (fraction) of chance are degenerate and not sampled.
    pub chance_margin: f64,
}

/// One retrained architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckedArch {
    /// Genotype string.
    pub genotype: String,
    /// The table entry's choices.
    pub arch: Vec<u32>,
    /// The table's validation accuracy at its last epoch (seed mean).
    pub table_val: f64,
    /// The table's test accuracy at its last epoch (seed mean).
    pub table_test: f64,
    /// Validation accuracy after the longer schedule.
    pub long_val: f64,
    /// Test accuracy after the longer schedule.
    pub long_test: f64,
    /// Device seconds of the longer schedule (training and validation).
    pub device_seconds: f64,
}

/// The outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankCheckSummary {
    /// How it was run.
    pub settings: RankCheckSettings,
    /// The table's epochs and the longer schedule's.
    pub epochs: [usize; 2],
    /// Every retrained architecture, in sample order.
    pub archs: Vec<CheckedArch>,
    /// Spearman's rho, table validation vs longer-schedule validation.
    pub spearman_val: f64,
    /// Kendall's tau-b of the same pairs.
    pub kendall_val: f64,
    /// Spearman's rho, table test vs longer-schedule test accuracy.
    pub spearman_test: f64,
}

/// Retrains the sample of `settings` (resuming from `journal`) and
/// summarises it.
pub fn rank_check(
    source: &TableSource,
    settings: &RankCheckSettings,
    journal: &Path,
    progress: bool,
) -> Result<RankCheckSummary> {
    let table = &source.table;
    let h = table.header();
    if settings.table_sha256 != table.checksum() {
        return Err(bad_setting(
            "table",
            "the checksum does not match the table",
        ));
    }
    if settings.factor < 1 || settings.cells < 3 {
        return Err(bad_setting(
            "--factor/--cells",
            "the schedule factor must be at least 1, and a rank correlation needs at least 3 architectures",
        ));
    }
    let space = build_space(
        &h.space,
        SpaceOptions::from_pairs(&h.space, h.space_options.clone()),
    )?;
    let data = table_images(source)?;
    let last = h.fidelities.len() - 1;
    let sample = sample(source, settings, space.classes())?;
    let mut schedule = h.settings.schedule.clone();
    schedule.epochs *= settings.factor;
    schedule.warmup_epochs *= settings.factor;
    let (mut file, mut done) = check_journal::open(journal, settings, "rank-check")?;
    for (k, &i) in sample.iter().enumerate().skip(done.len()) {
        let t0 = Instant::now();
        let arch = table.arch(i);
        let seed = Seed(settings.seed).derive("rank-check-train", k as u64);
        let report = train_recording(
            space.as_ref(),
            &arch,
            &data,
            &schedule,
            seed,
            &Device::Cpu,
            TestEval::AtEnd,
        )?;
        let values = table.mean_over_seeds(i, last);
        let end = report.epochs.last();
        let checked = CheckedArch {
            genotype: space.format(&arch),
            arch: arch.choices().to_vec(),
            table_val: values.val_accuracy,
            table_test: values.test_accuracy,
            long_val: end.map_or(f64::NAN, |e| e.val_accuracy),
            long_test: report.test.map_or(f64::NAN, |t| t.accuracy),
            device_seconds: report.epochs.iter().map(|e| e.device_seconds).sum(),
        };
        check_journal::append(&mut file, journal, &checked)?;
        if progress {
            eprintln!(
                "[{}/{}] {}: table val {:.1}%, {}-epoch val {:.1}% test {:.1}% ({:.0} s)",
                k + 1,
                sample.len(),
                checked.genotype,
                100.0 * checked.table_val,
                schedule.epochs,
                100.0 * checked.long_val,
                100.0 * checked.long_test,
                t0.elapsed().as_secs_f64()
            );
        }
        done.push(checked);
    }
    let pairs =
        |f: fn(&CheckedArch) -> (f64, f64)| -> (Vec<f64>, Vec<f64>) { done.iter().map(f).unzip() };
    let (tv, lv) = pairs(|c| (c.table_val, c.long_val));
    let (tt, lt) = pairs(|c| (c.table_test, c.long_test));
    Ok(RankCheckSummary {
        settings: settings.clone(),
        epochs: [h.settings.schedule.epochs, schedule.epochs],
        spearman_val: spearman(&tv, &lv),
        kendall_val: kendall_tau_b(&tv, &lv),
        spearman_test: spearman(&tt, &lt),
        archs: done,
    })
}

fn bad_setting(setting: &str, reason: &str) -> Error {
    Error::BadSetting {
        setting: setting.into(),
        reason: reason.into(),
    }
}

/// The table entries to retrain: canonical entries whose seed-mean
/// validation accuracy is above chance by the margin, shuffled by the seed.
fn sample(
    source: &TableSource,
    settings: &RankCheckSettings,
    classes: usize,
) -> Result<Vec<usize>> {
    let table = &source.table;
    let last = table.header().fidelities.len() - 1;
    let chance = 1.0 / classes as f64;
    let mut pool: Vec<usize> = (0..table.len())
        .filter(|&i| table.canonical_of(i) == i)
        .filter(|&i| table.mean_over_seeds(i, last).val_accuracy > chance + settings.chance_margin)
        .collect();
    if pool.len() < settings.cells {
        return Err(Error::Table {
            path: source.path.clone(),
            reason: format!(
                "only {} non-degenerate architectures to sample {} from",
                pool.len(),
                settings.cells
            ),
        });
    }
    pool.shuffle(&mut Seed(settings.seed).derive("rank-check-sample", 0).rng());
    pool.truncate(settings.cells);
    Ok(pool)
}
