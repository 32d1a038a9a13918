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
use super::{EntryData, EpochValues, Recorded, Table, TableHeader, TableSettings, VALUES};
use crate::run::prepare_splits;
use crate::trainer::{train_recording, Schedule, TestEval};
use crate::{Error, Result};
use candle_core::Device;
use nasarena_core::{Arch, SearchSpace, Seed};
use nasarena_datasets::{load_named, Dataset, Splits};
use nasarena_spaces::{build_space, Realize, SpaceOptions};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The largest space `tabulate build` enumerates (all architectures, before
/// canonical classes are taken).
pub const MAX_ARCHITECTURES: f64 = 1_000_000.0;

/// Everything that decides a table's values (the journal's header; shards
/// and resumes must agree on all of it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSettings {
    /// Registered space name.
    pub space: String,
    /// Space options as given (experiments on the table give the same).
    pub space_options: BTreeMap<String, String>,
    /// Dataset name (see `nasarena data list`).
    pub dataset: String,
    /// Fraction of the training set held out for validation.
    pub val_fraction: f64,
    /// Training samples limit (stratified), if any.
    pub train_limit: Option<usize>,
    /// The training schedule; every epoch up to `epochs` is recorded.
    pub schedule: Schedule,
    /// Training seeds per architecture.
    pub seeds: usize,
    /// The build seed: the data split and every training seed derive from it.
    pub seed: u64,
}

impl BuildSettings {
    /// The first setting (dotted key) where `self` and `other` differ, with
    /// both values as JSON.
    pub fn first_difference(&self, other: &Self) -> Option<(String, String, String)> {
        let a = serde_json::to_value(self).unwrap_or_default();
        let b = serde_json::to_value(other).unwrap_or_default();
        first_difference("", &a, &b)
    }
}

/// The first dotted key where two JSON values differ.
pub fn first_difference(
    prefix: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value::Object;
    match (a, b) {
        (Object(x), Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let null = serde_json::Value::Null;
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                first_difference(&key, x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null))
            })
        }
        _ if a == b => None,
        _ => Some((prefix.to_string(), a.to_string(), b.to_string())),
    }
}

/// Part `index` (1-based) of `count`: the architectures at positions
/// `index-1, index-1+count, ...` of the sorted canonical list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// 1-based part number.
    pub index: usize,
    /// Number of parts.
    pub count: usize,
}

impl Shard {
    /// The whole space.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Parses `i/n` with 1 <= i <= n.
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(format!(
                "expected `i/n` with 1 <= i <= n (e.g. `2/3`), got `{text}`"
            )),
        }
    }

    /// True when this shard trains the architecture at `position`.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Every canonical architecture of `space`, sorted.
pub fn canonical_archs(space: &dyn SearchSpace) -> Result<Vec<Arch>> {
    let sizes: Vec<u32> = space
        .decisions()
        .iter()
        .map(|d| d.options.len() as u32)
        .collect();
    let total: f64 = sizes.iter().map(|&s| f64::from(s)).product();
    if total > MAX_ARCHITECTURES {
        return Err(Error::Internal(format!(
            "space `{}` has {total:.3e} architectures; `tabulate build` trains spaces of at most {MAX_ARCHITECTURES:.0} (reduce it with options, e.g. cell's `ops=`)",
            space.name()
        )));
    }
    let mut out = Vec::new();
    let mut choices = vec![0u32; sizes.len()];
    loop {
        let arch = Arch::new(choices.clone());
        if space.canonical(&arch) == arch {
            out.push(arch);
        }
        // Increment the last decision first: archs come out sorted.
        let mut d = sizes.len();
        loop {
            if d == 0 {
                return Ok(out);
            }
            d -= 1;
            choices[d] += 1;
            if choices[d] < sizes[d] {
                break;
            }
            choices[d] = 0;
        }
    }
}

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
        return Err(Error::Internal(format!(
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
        return Err(Error::Internal(
            "seeds and epochs must be at least 1".into(),
        ));
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
fn train_entry(
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
