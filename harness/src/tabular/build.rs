//! Building a table with nasarena's own trainer (`nasarena tabulate
//! build`): every canonical architecture of a small space is trained once
//! per seed with [`crate::trainer::train_recording`] (the trainer live
//! evaluation uses), recording validation and test accuracy, losses and
//! device seconds after every epoch, as NAS-Bench-201 (Dong & Yang 2020)
//! does. Progress goes to an append-only journal ([`super::build_journal`])
//! so a killed build resumes; `--shard i/n` trains every n-th architecture
//! so several processes can share the work ([`super::merge`] joins them).
//!
//! Every entry depends only on (architecture, seed, settings): the data
//! split is seeded by the build seed and training seed `k` is
//! `seed.derive("train", k)` for every architecture, so neither the order
//! of training, a resume, nor sharding changes a value. Device seconds are
//! measurements and do differ between builds; [`super::Table::same_results`]
//! compares tables without them.

use super::build_journal::{journal_path, BuildJournal, JournalEntry, JournalHead};
use super::shard::{canonical_archs, BuildSettings, Shard};
use super::table::{EntryData, EpochValues, Recorded, Table, TableHeader, TableSettings, VALUES};
use crate::data::prepare_splits;
use crate::trainer::{train_recording, TestEval};
use crate::{Error, Result};
use candle_core::Device;
use nasarena_core::{Arch, Seed};
use nasarena_datasets::{load_named, Dataset, Splits};
use nasarena_spaces::{build_space, Realize, SpaceOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How a build runs (none of it changes the table's values).
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The table file to write.
    pub out: PathBuf,
    /// Which part of the space to train.
    pub shard: Shard,
    /// Continue from the journal instead of refusing to touch it.
    pub resume: bool,
    /// Provenance written into the header (tool version, command, ...).
    pub provenance: BTreeMap<String, String>,
    /// Print a line per finished architecture.
    pub progress: bool,
}

/// What a build did.
#[derive(Clone, Debug)]
pub struct BuildSummary {
    /// Architectures in the table (this shard's).
    pub entries: usize,
    /// Architectures found in the journal at the start.
    pub resumed: usize,
    /// Wall seconds of this process's training.
    pub seconds: f64,
    /// The table written.
    pub table: Table,
}

/// The data split of a build, checked against the space's input.
pub fn build_data(settings: &BuildSettings, space: &dyn Realize) -> Result<Splits> {
    let data = load_named(&settings.dataset, None)?;
    let shape = data.train.shape();
    let have = [shape.channels, shape.height, shape.width];
    if have != space.input_shape() || data.train.num_classes() != space.classes() {
        return Err(Error::DataMismatch(format!(
            "dataset `{}` has {}x{}x{} images in {} classes, space `{}` expects {:?} in {}; set the space's `input` and `classes` options",
            settings.dataset, have[0], have[1], have[2], data.train.num_classes(),
            settings.space, space.input_shape(), space.classes()
        )));
    }
    prepare_splits(
        &data,
        settings.val_fraction,
        settings.train_limit,
        Seed(settings.seed),
    )
}

/// Builds (or resumes building) the table of `settings` into `opts.out`.
pub fn build(settings: &BuildSettings, opts: &BuildOptions) -> Result<BuildSummary> {
    if settings.seeds == 0 || settings.schedule.epochs == 0 {
        return Err(Error::BadSetting {
            setting: "--seeds/--epochs".into(),
            reason: "seeds and epochs must be at least 1".into(),
        });
    }
    let space = build_space(
        &settings.space,
        SpaceOptions::from_pairs(&settings.space, settings.space_options.clone()),
    )?;
    let all = canonical_archs(space.as_ref())?;
    let mine: Vec<Arch> = all
        .iter()
        .enumerate()
        .filter(|(p, _)| opts.shard.holds(*p))
        .map(|(_, a)| a.clone())
        .collect();
    let data = build_data(settings, space.as_ref())?;
    if opts.out.exists() && !opts.resume {
        return Err(Error::Io {
            path: opts.out.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the table exists; remove it or choose another --out",
            ),
        });
    }
    let jpath = journal_path(&opts.out);
    let head = JournalHead {
        settings: settings.clone(),
        shard: opts.shard,
    };
    let (mut journal, recorded) = if opts.resume && jpath.exists() {
        BuildJournal::resume(&jpath, &head)?
    } else {
        (BuildJournal::create(&jpath, &head)?, Vec::new())
    };
    let done = check_recorded(&jpath, &recorded, &mine)?;
    let todo: Vec<&Arch> = mine
        .iter()
        .filter(|a| !done.contains(a.choices()))
        .collect();
    if opts.progress {
        eprintln!(
            "{} of {} canonical architectures (shard {}); {} in the journal, {} to train, {} seed(s) x {} epoch(s) each",
            mine.len(),
            all.len(),
            opts.shard,
            done.len(),
            todo.len(),
            settings.seeds,
            settings.schedule.epochs
        );
    }
    let started = Instant::now();
    for (k, arch) in todo.iter().enumerate() {
        let t0 = Instant::now();
        let entry = train_entry(settings, space.as_ref(), arch, &data)?;
        journal.append(&entry)?;
        if opts.progress {
            let eta =
                started.elapsed().as_secs_f64() / (k + 1) as f64 * (todo.len() - k - 1) as f64;
            progress(&entry, done.len() + k + 1, mine.len(), t0, eta);
        }
    }
    drop(journal);
    let (_, entries) = BuildJournal::resume(&jpath, &head)?;
    let table = finish(settings, opts, space.as_ref(), &data, &entries)?;
    super::reader::write(&table, &opts.out)?;
    Ok(BuildSummary {
        entries: table.len(),
        resumed: done.len(),
        seconds: started.elapsed().as_secs_f64(),
        table,
    })
}

/// The choices recorded in the journal, each checked to belong to this
/// shard and to appear once.
fn check_recorded(
    path: &Path,
    recorded: &[JournalEntry],
    mine: &[Arch],
) -> Result<BTreeSet<Vec<u32>>> {
    let mine: BTreeSet<&[u32]> = mine.iter().map(|a| a.choices()).collect();
    let mut done = BTreeSet::new();
    for e in recorded {
        if !mine.contains(e.arch.as_slice()) || !done.insert(e.arch.clone()) {
            return Err(Error::JournalMismatch {
                path: path.to_path_buf(),
                reason: format!(
                    "entry {} ({:?}) is not one this build trains, or is recorded twice; delete the journal to start over",
                    e.genotype, e.arch
                ),
            });
        }
    }
    Ok(done)
}

fn progress(e: &JournalEntry, done: usize, total: usize, t0: Instant, eta: f64) {
    let last = e.values.first().and_then(|s| s.last());
    let pct = |i: usize| {
        last.and_then(|v| v[i])
            .map_or("failed".into(), |x| format!("{:.1}%", 100.0 * x))
    };
    eprintln!(
        "[{done}/{total}] {}: val {} test {} ({:.1} s); ETA {:.0} min {:02.0} s",
        e.genotype,
        pct(0),
        pct(2),
        t0.elapsed().as_secs_f64(),
        (eta / 60.0).floor(),
        eta % 60.0
    );
}

/// Trains one architecture for every seed.
pub(super) fn train_entry(
    settings: &BuildSettings,
    space: &dyn Realize,
    arch: &Arch,
    data: &Splits,
) -> Result<JournalEntry> {
    let cost = space.cost(arch)?;
    let mut values = Vec::with_capacity(settings.seeds);
    let mut failures = Vec::with_capacity(settings.seeds);
    for k in 0..settings.seeds {
        let seed = Seed(settings.seed).derive("train", k as u64);
        let report = train_recording(
            space,
            arch,
            data,
            &settings.schedule,
            seed,
            &Device::Cpu,
            TestEval::EveryEpoch,
        )?;
        let per_epoch = (0..settings.schedule.epochs)
            .map(|e| match report.epochs.get(e) {
                Some(s) => [
                    Some(s.val_accuracy as f32),
                    Some(s.val_loss as f32).filter(|x| x.is_finite()),
                    s.test.map(|t| t.accuracy as f32),
                    Some(s.train_loss as f32).filter(|x| x.is_finite()),
                    Some(s.device_seconds as f32),
                ],
                None => [None; VALUES],
            })
            .collect();
        values.push(per_epoch);
        failures.push(report.failure);
    }
    Ok(JournalEntry {
        arch: arch.choices().to_vec(),
        genotype: space.format(arch),
        macs: cost.macs,
        params: cost.params,
        values,
        failures,
    })
}

/// The table of a complete journal.
fn finish(
    settings: &BuildSettings,
    opts: &BuildOptions,
    space: &dyn Realize,
    data: &Splits,
    entries: &[JournalEntry],
) -> Result<Table> {
    let to_entry = |e: &JournalEntry| {
        let arch = Arch::new(e.arch.clone());
        EntryData {
            canonical: space.canonical(&arch),
            arch,
            macs: e.macs,
            params: e.params,
            values: e
                .values
                .iter()
                .map(|seed| {
                    seed.iter()
                        .map(|v| {
                            let f = |i: usize| v[i].map_or(f64::NAN, f64::from);
                            EpochValues {
                                val_accuracy: f(0),
                                val_loss: f(1),
                                test_accuracy: f(2),
                                train_loss: f(3),
                                device_seconds: f(4),
                            }
                        })
                        .collect()
                })
                .collect(),
        }
    };
    let mut provenance = opts.provenance.clone();
    provenance.insert("tool".into(), "nasarena tabulate build".into());
    provenance.insert("seed".into(), settings.seed.to_string());
    provenance.insert("data_checksum".into(), data.checksum().to_string());
    if opts.shard != Shard::WHOLE {
        provenance.insert("shard".into(), opts.shard.to_string());
    }
    let header = TableHeader {
        space: settings.space.clone(),
        space_options: settings.space_options.clone(),
        dataset: settings.dataset.clone(),
        decisions: space.decisions().len(),
        fidelities: (1..=settings.schedule.epochs).collect(),
        seeds: settings.seeds,
        entries: entries.len(),
        recorded: Recorded {
            val_loss: true,
            train_loss: true,
            device_seconds: true,
        },
        settings: TableSettings {
            schedule: settings.schedule.clone(),
            splits: [data.train.len(), data.val.len(), data.test.len()],
            val_fraction: Some(settings.val_fraction),
            train_limit: settings.train_limit,
            note: format!(
                "built by `nasarena tabulate build`: each canonical architecture trained once per seed (training seed k = derive(\"train\", k) of build seed {}; data split seeded by it too); values recorded after every epoch of one {}-epoch schedule",
                settings.seed, settings.schedule.epochs
            ),
        },
        calibration_seconds: crate::machine::calibrate(&Device::Cpu).ok(),
        cost_note: "device seconds per epoch (training and validation, after a device synchronisation) measured while building the table; a lookup at e epochs charges the first e epochs of the full schedule".into(),
        provenance,
    };
    Table::from_entries(header, entries.iter().map(to_entry).collect())
}
