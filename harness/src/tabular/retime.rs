//! Re-timing a built table's entries (`nasarena tabulate retime`).
//!
//! A table's device seconds are measurements: if something else ran on the
//! machine while part of it was built, those entries' costs are inflated,
//! and every search replayed on the table is charged too much for them.
//! Their accuracies are not affected (training is seeded and runs on a
//! fixed number of threads), so the remedy is to train exactly those
//! entries again, on the same kind of machine and with the same settings,
//! check that every accuracy and loss comes out bit for bit the same (the
//! proof that the same computation was timed), and replace only their
//! device seconds.
//!
//! Which entries: those whose device seconds exceed `factor` times those of
//! the same architecture in a reference table of the same space and
//! schedule (e.g. an earlier build); plus `controls` entries drawn at random
//! (seeded) from the rest, retrained but not replaced, whose ratio of new to
//! recorded seconds shows whether the re-timing machine runs at the speed
//! of the original build (a ratio near 1) or not. Work is split into shards
//! (`--shard i/n`, one process per core, as the build ran) with one
//! resumable journal each; [`apply`] joins the journals into a new table.

use super::build::train_entry;
use super::check_journal;
use super::shard::{BuildSettings, Shard};
use super::source::TableSource;
use super::table::{EntryData, Table, VALUES};
use super::table_images;
use crate::{Error, Result};
use nasarena_core::Seed;
use nasarena_results::stats::quantile;
use nasarena_spaces::{build_space, SpaceOptions};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// What a re-timing does (every shard's journal starts with it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetimeSettings {
    /// The table's sha256.
    pub table_sha256: String,
    /// The reference table's sha256.
    pub reference_sha256: String,
    /// Entries slower than this multiple of the reference are re-timed.
    pub factor: f64,
    /// Control entries re-timed but not replaced.
    pub controls: usize,
    /// Seeds the choice of controls.
    pub seed: u64,
    /// The part of the work this journal holds.
    pub shard: Shard,
}

/// One retrained entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetimedEntry {
    /// Genotype string.
    pub genotype: String,
    /// The entry's choices.
    pub arch: Vec<u32>,
    /// A control (measured, not replaced).
    pub control: bool,
    /// Device seconds the table records, summed over seeds and epochs.
    pub recorded_seconds: f64,
    /// The reference table's seconds for the same architecture.
    pub reference_seconds: f64,
    /// The new measurement, `[seed][epoch]`.
    pub seconds: Vec<Vec<f64>>,
}

impl RetimedEntry {
    /// New seconds summed over seeds and epochs.
    pub fn total_seconds(&self) -> f64 {
        self.seconds.iter().flatten().sum()
    }
}

/// The entries to re-time, in work order: `(entry, control)`.
pub fn selection(
    table: &Table,
    reference: &Table,
    s: &RetimeSettings,
) -> Result<Vec<(usize, bool)>> {
    check_comparable(table, reference)?;
    if !(s.factor.is_finite() && s.factor > 1.0) {
        return Err(bad(
            "--factor",
            format!("must be a number above 1, got {}", s.factor),
        ));
    }
    let mut slow = Vec::new();
    let mut rest = Vec::new();
    for i in (0..table.len()).filter(|&i| table.canonical_of(i) == i) {
        let r = reference.find(table.arch(i).choices()).ok_or_else(|| {
            bad(
                "--reference",
                format!("it has no entry for {:?}", table.arch(i).choices()),
            )
        })?;
        if total_seconds(table, i) > s.factor * total_seconds(reference, r) {
            slow.push((i, false));
        } else {
            rest.push((i, true));
        }
    }
    rest.shuffle(&mut Seed(s.seed).derive("retime-controls", 0).rng());
    rest.truncate(s.controls);
    slow.extend(rest);
    Ok(slow)
}

/// The entries of `chosen` that `shard` re-times.
fn shard_part(chosen: &[(usize, bool)], shard: Shard) -> Vec<(usize, bool)> {
    chosen
        .iter()
        .enumerate()
        .filter(|(p, _)| shard.holds(*p))
        .map(|(_, &e)| e)
        .collect()
}

/// Retrains this shard's part of the selection, appending to `journal`
/// (resuming what it holds), and returns every entry it holds.
pub fn retime(
    source: &TableSource,
    reference: &Table,
    settings: &RetimeSettings,
    journal: &Path,
    progress: bool,
) -> Result<Vec<RetimedEntry>> {
    let table = &source.table;
    if settings.table_sha256 != table.checksum()
        || settings.reference_sha256 != reference.checksum()
    {
        return Err(bad(
            "table",
            "a checksum in the settings does not match the tables".into(),
        ));
    }
    let build = build_settings(source)?;
    let space = build_space(
        &build.space,
        SpaceOptions::from_pairs(&build.space, build.space_options.clone()),
    )?;
    let data = table_images(source)?;
    let mine = shard_part(&selection(table, reference, settings)?, settings.shard);
    let (mut file, mut done) = check_journal::open(journal, settings, "retime")?;
    for (k, &(i, control)) in mine.iter().enumerate().skip(done.len()) {
        let t0 = Instant::now();
        let trained = train_entry(&build, space.as_ref(), &table.arch(i), &data)?;
        let old = table.entry(i);
        check_same_results(&old, &trained.values, &trained.genotype)?;
        let entry = RetimedEntry {
            genotype: trained.genotype,
            arch: trained.arch,
            control,
            recorded_seconds: total_seconds(table, i),
            reference_seconds: reference
                .find(table.arch(i).choices())
                .map_or(f64::NAN, |r| total_seconds(reference, r)),
            seconds: trained
                .values
                .iter()
                .map(|seed| {
                    seed.iter()
                        .map(|v| v[4].map_or(f64::NAN, f64::from))
                        .collect()
                })
                .collect(),
        };
        check_journal::append(&mut file, journal, &entry)?;
        if progress {
            eprintln!(
                "[{}/{}] {}{}: recorded {:.1} s, reference {:.1} s, now {:.1} s; accuracies identical ({:.0} s)",
                k + 1,
                mine.len(),
                entry.genotype,
                if control { " (control)" } else { "" },
                entry.recorded_seconds,
                entry.reference_seconds,
                entry.total_seconds(),
                t0.elapsed().as_secs_f64()
            );
        }
        done.push(entry);
    }
    Ok(done)
}

/// Reads a shard's journal (settings and entries) for [`apply`].
pub fn read_journal(path: &Path) -> Result<(RetimeSettings, Vec<RetimedEntry>)> {
    check_journal::read(path, "retime")
}

/// What [`apply`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct RetimeSummary {
    /// Entries whose seconds were replaced.
    pub replaced: usize,
    /// Their recorded and new seconds, summed.
    pub replaced_seconds: [f64; 2],
    /// Controls measured.
    pub controls: usize,
    /// Median of new / recorded seconds over the controls (NaN if none).
    pub control_median_ratio: f64,
    /// The table's device seconds, summed, before and after.
    pub table_seconds: [f64; 2],
}

/// Joins the journals of every shard of one re-timing into a new table
/// (the old device seconds of the selected entries replaced, everything
/// else as it was). Refuses journals of other settings, a missing shard or
/// an incomplete one.
pub fn apply(
    table: &Table,
    reference: &Table,
    journals: &[(std::path::PathBuf, RetimeSettings, Vec<RetimedEntry>)],
) -> Result<(Table, RetimeSummary)> {
    let Some((_, first, _)) = journals.first() else {
        return Err(bad("--journal", "give every shard's journal".into()));
    };
    let count = first.shard.count;
    let mut shards: Vec<usize> = journals.iter().map(|(_, s, _)| s.shard.index).collect();
    shards.sort_unstable();
    if shards != (1..=count).collect::<Vec<_>>() {
        return Err(bad(
            "--journal",
            format!(
                "the journals given ({}) hold shards {shards:?} of {count}; give each of 1..={count} once",
                journals
                    .iter()
                    .map(|(p, _, _)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    // Every journal's settings equal the first's but for the shard, so one
    // selection serves them all.
    let chosen = selection(table, reference, first)?;
    for (path, s, entries) in journals {
        let whole = RetimeSettings {
            shard: first.shard,
            ..s.clone()
        };
        if whole != *first {
            return Err(mismatch(
                path,
                "it was made with other settings than the first journal",
            ));
        }
        let want = shard_part(&chosen, s.shard).len();
        if entries.len() != want {
            return Err(mismatch(path, &format!("it holds {} of its shard's {want} entries; finish it (rerun `tabulate retime` with it)", entries.len())));
        }
    }
    let mut new: Vec<EntryData> = (0..table.len()).map(|i| table.entry(i)).collect();
    let mut replaced = 0;
    let mut replaced_seconds = [0.0; 2];
    let mut ratios = Vec::new();
    for e in journals.iter().flat_map(|(_, _, es)| es) {
        let i = table
            .find(&e.arch)
            .ok_or_else(|| bad("--journal", format!("the table has no entry {:?}", e.arch)))?;
        if e.control {
            ratios.push(e.total_seconds() / e.recorded_seconds);
            continue;
        }
        for (seed, times) in new[i].values.iter_mut().zip(&e.seconds) {
            for (v, &t) in seed.iter_mut().zip(times) {
                v.device_seconds = f64::from(t as f32);
            }
        }
        replaced += 1;
        replaced_seconds[0] += e.recorded_seconds;
        replaced_seconds[1] += e.total_seconds();
    }
    let mut header = table.header().clone();
    let control_median_ratio = quantile(&ratios, 0.5).unwrap_or(f64::NAN);
    header.provenance.insert(
        "retimed".into(),
        format!(
            "device seconds of {replaced} entries (those above {}x the reference table sha256 {}) replaced by a re-timing on {} that reproduced their accuracies and losses bit for bit; {} control entries ran at {:.3}x their recorded seconds (median)",
            first.factor, first.reference_sha256, crate::machine::cpu_model(), ratios.len(), control_median_ratio
        ),
    );
    let sum = |t: &Table| (0..t.len()).map(|i| total_seconds(t, i)).sum::<f64>();
    let out = Table::from_entries(header, new)?;
    let summary = RetimeSummary {
        replaced,
        replaced_seconds,
        controls: ratios.len(),
        control_median_ratio,
        table_seconds: [sum(table), sum(&out)],
    };
    Ok((out, summary))
}

/// Device seconds of entry `i`, summed over seeds and recorded epochs.
fn total_seconds(table: &Table, i: usize) -> f64 {
    let h = table.header();
    (0..h.seeds)
        .flat_map(|s| (0..h.fidelities.len()).map(move |f| (s, f)))
        .map(|(s, f)| table.values(i, s, f).device_seconds)
        .sum()
}

/// The build settings a table records, for training its entries again.
fn build_settings(source: &TableSource) -> Result<BuildSettings> {
    let h = source.table.header();
    let seed = super::images::build_seed(h);
    let (Some(seed), Some(val_fraction), true) =
        (seed, h.settings.val_fraction, source.table.every_epoch())
    else {
        return Err(Error::Table {
            path: source.path.clone(),
            reason: "it was not built by `nasarena tabulate build` (no build seed, validation fraction or per-epoch record), so its entries cannot be trained again".into(),
        });
    };
    Ok(BuildSettings {
        space: h.space.clone(),
        space_options: h.space_options.clone(),
        dataset: h.dataset.clone(),
        val_fraction,
        train_limit: h.settings.train_limit,
        schedule: h.settings.schedule.clone(),
        seeds: h.seeds,
        seed,
    })
}

/// Refuses a reference table of another space or schedule.
fn check_comparable(table: &Table, reference: &Table) -> Result<()> {
    let (a, b) = (table.header(), reference.header());
    let same = a.space == b.space
        && a.space_options == b.space_options
        && a.settings.schedule == b.settings.schedule
        && a.seeds == b.seeds
        && a.fidelities == b.fidelities;
    if same {
        Ok(())
    } else {
        Err(bad(
            "--reference",
            "it is not a table of the same space, options, schedule, seeds and epochs".into(),
        ))
    }
}

/// Every value but the device seconds must be the table's, bit for bit.
fn check_same_results(
    old: &EntryData,
    new: &[Vec<[Option<f32>; VALUES]>],
    genotype: &str,
) -> Result<()> {
    const NAMES: [&str; 4] = [
        "validation accuracy",
        "validation loss",
        "test accuracy",
        "training loss",
    ];
    for (s, (old_seed, new_seed)) in old.values.iter().zip(new).enumerate() {
        for (e, (o, n)) in old_seed.iter().zip(new_seed).enumerate() {
            let o = [o.val_accuracy, o.val_loss, o.test_accuracy, o.train_loss];
            for (k, name) in NAMES.iter().enumerate() {
                let was = o[k] as f32;
                let now = n[k].unwrap_or(f32::NAN);
                if was.to_bits() != now.to_bits() && !(was.is_nan() && now.is_nan()) {
                    return Err(Error::BadSetting {
                        setting: "retime".into(),
                        reason: format!(
                            "{genotype} (seed {s}, epoch {}): {name} came out {now}, the table records {was}; this machine or build does not reproduce the table, so its times cannot replace the table's",
                            e + 1
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

fn bad(setting: &str, reason: String) -> Error {
    Error::BadSetting {
        setting: setting.into(),
        reason,
    }
}

fn mismatch(path: &Path, reason: &str) -> Error {
    Error::JournalMismatch {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}
