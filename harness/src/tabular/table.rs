//! The in-memory table: header, entries, lookups and comparisons.

use crate::trainer::Schedule;
use nasarena_core::Arch;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Number of values stored per (entry, seed, fidelity).
pub const VALUES: usize = 5;

/// What a table says about itself: the JSON header of the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableHeader {
    /// Registered space name, e.g. `cell`.
    pub space: String,
    /// The options of the space: written out in full by the importer, as
    /// given by `tabulate build`; an experiment on the table gives the same.
    pub space_options: BTreeMap<String, String>,
    /// Dataset name, e.g. `cifar10`.
    pub dataset: String,
    /// Decisions per architecture.
    pub decisions: usize,
    /// Epochs at which results are recorded, strictly increasing.
    pub fidelities: Vec<usize>,
    /// Training seeds per architecture.
    pub seeds: usize,
    /// Number of entries (architectures).
    pub entries: usize,
    /// Which of the per-epoch values the source recorded.
    pub recorded: Recorded,
    /// How the entries were trained.
    pub settings: TableSettings,
    /// Calibration seconds of the machine that measured the times, if any
    /// (see `machine::calibrate`).
    #[serde(default)]
    pub calibration_seconds: Option<f64>,
    /// What the costs of a search on this table are counted in, in words.
    pub cost_note: String,
    /// Where the table came from: tool, command, source file and checksum.
    pub provenance: BTreeMap<String, String>,
}

/// Which per-epoch values the source recorded (the others are NaN).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// Validation loss.
    pub val_loss: bool,
    /// Training loss.
    pub train_loss: bool,
    /// Device seconds per epoch.
    pub device_seconds: bool,
}

/// The training settings behind a table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSettings {
    /// The training schedule at the largest fidelity.
    pub schedule: Schedule,
    /// Sizes of the train, validation and test parts the entries used.
    pub splits: [usize; 3],
    /// The experiment-style validation fraction, when the validation part
    /// was carved from the training set by nasarena (`None` for imported
    /// benchmarks with their own splits).
    #[serde(default)]
    pub val_fraction: Option<f64>,
    /// Training samples limit, as in an experiment's `dataset.train_limit`.
    #[serde(default)]
    pub train_limit: Option<usize>,
    /// Anything else worth knowing, in words.
    pub note: String,
}

/// The values recorded for one entry, seed and fidelity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochValues {
    /// Validation accuracy in [0, 1]; NaN when training failed.
    pub val_accuracy: f64,
    /// Mean validation cross-entropy (NaN when not recorded).
    pub val_loss: f64,
    /// Test accuracy in [0, 1] (NaN when not recorded or failed).
    pub test_accuracy: f64,
    /// Mean training loss of the epoch (NaN when not recorded).
    pub train_loss: f64,
    /// Device seconds of this epoch (NaN when not recorded).
    pub device_seconds: f64,
}

impl EpochValues {
    pub(super) fn to_array(self) -> [f32; VALUES] {
        [
            self.val_accuracy as f32,
            self.val_loss as f32,
            self.test_accuracy as f32,
            self.train_loss as f32,
            self.device_seconds as f32,
        ]
    }

    fn from_slice(v: &[f32]) -> Self {
        Self::from_array(std::array::from_fn(|i| {
            v.get(i).map_or(f64::NAN, |&x| f64::from(x))
        }))
    }

    /// The inverse of [`Self::to_array`], in f64.
    fn from_array(a: [f64; VALUES]) -> Self {
        EpochValues {
            val_accuracy: a[0],
            val_loss: a[1],
            test_accuracy: a[2],
            train_loss: a[3],
            device_seconds: a[4],
        }
    }
}

/// One architecture's row while a table is being built.
#[derive(Clone, Debug, PartialEq)]
pub struct EntryData {
    /// The architecture.
    pub arch: Arch,
    /// Its canonical representative (must be an entry of the table too).
    pub canonical: Arch,
    /// MACs, batch 1.
    pub macs: u64,
    /// Trainable parameters.
    pub params: u64,
    /// `values[seed][fidelity]`.
    pub values: Vec<Vec<EpochValues>>,
}

/// A loaded, validated table. Entries are sorted by architecture, so a
/// lookup is a binary search and loading needs no index.
#[derive(Clone)]
pub struct Table {
    pub(super) header: TableHeader,
    pub(super) choices: Vec<u16>,
    pub(super) canonical: Vec<u32>,
    pub(super) macs: Vec<u64>,
    pub(super) params: Vec<u64>,
    pub(super) values: Vec<f32>,
    pub(super) checksum: String,
}

impl PartialEq for Table {
    /// Equal content, NaN (not recorded) equal to NaN.
    fn eq(&self, other: &Self) -> bool {
        self.header == other.header
            && self.choices == other.choices
            && self.canonical == other.canonical
            && self.macs == other.macs
            && self.params == other.params
            && self.values.len() == other.values.len()
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("space", &self.header.space)
            .field("dataset", &self.header.dataset)
            .field("entries", &self.len())
            .field("checksum", &self.checksum)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// The header.
    pub fn header(&self) -> &TableHeader {
        &self.header
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.macs.len()
    }

    /// True when the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.macs.is_empty()
    }

    /// Hex sha256 of the file's contents (the file's last 32 bytes).
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    pub(super) fn choices_of(&self, i: usize) -> &[u16] {
        let d = self.header.decisions;
        &self.choices[i * d..(i + 1) * d]
    }

    /// The architecture of entry `i`.
    pub fn arch(&self, i: usize) -> Arch {
        Arch::new(self.choices_of(i).iter().map(|&c| u32::from(c)).collect())
    }

    /// The entry holding exactly these choices (binary search).
    pub fn find(&self, choices: &[u32]) -> Option<usize> {
        if choices.len() != self.header.decisions {
            return None;
        }
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let ord = self
                .choices_of(mid)
                .iter()
                .map(|&c| u32::from(c))
                .cmp(choices.iter().copied());
            match ord {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The entry of the canonical class of entry `i`.
    pub fn canonical_of(&self, i: usize) -> usize {
        self.canonical[i] as usize
    }

    /// MACs (batch 1) of entry `i`.
    pub fn macs(&self, i: usize) -> u64 {
        self.macs[i]
    }

    /// Parameters of entry `i`.
    pub fn params(&self, i: usize) -> u64 {
        self.params[i]
    }

    /// Position of `epochs` among the recorded fidelities.
    pub fn fidelity_index(&self, epochs: usize) -> Option<usize> {
        self.header.fidelities.iter().position(|&f| f == epochs)
    }

    /// The values of entry `i` for `seed` at fidelity position `f`.
    pub fn values(&self, i: usize, seed: usize, f: usize) -> EpochValues {
        let fids = self.header.fidelities.len();
        let start = ((i * self.header.seeds + seed) * fids + f) * VALUES;
        EpochValues::from_slice(self.values.get(start..start + VALUES).unwrap_or(&[]))
    }

    /// The values of entry `i` at fidelity position `f`, each averaged over
    /// the table's seeds (NaN where any seed failed). The expected result
    /// of training the architecture once, as NAS-Bench-201 reports it; for
    /// a one-seed table it equals `values(i, 0, f)` exactly.
    pub fn mean_over_seeds(&self, i: usize, f: usize) -> EpochValues {
        let seeds = self.header.seeds.max(1);
        let mut sum = [0.0f64; VALUES];
        for s in 0..seeds {
            for (acc, v) in sum.iter_mut().zip(self.values(i, s, f).to_array()) {
                *acc += f64::from(v);
            }
        }
        EpochValues::from_array(sum.map(|x| x / seeds as f64))
    }

    /// Entry `i` as built (its canonical link as an architecture).
    pub fn entry(&self, i: usize) -> EntryData {
        let fids = self.header.fidelities.len();
        EntryData {
            arch: self.arch(i),
            canonical: self.arch(self.canonical_of(i)),
            macs: self.macs(i),
            params: self.params(i),
            values: (0..self.header.seeds)
                .map(|s| (0..fids).map(|f| self.values(i, s, f)).collect())
                .collect(),
        }
    }

    /// Where `self` and `other` hold different results, ignoring what two
    /// builds of the same table legitimately differ in: provenance, the
    /// machine calibration and measured device seconds. `None` when they
    /// are the same table (NaN equal to NaN, all else bit for bit).
    pub fn same_results(&self, other: &Table) -> Option<String> {
        let strip = |t: &Table| {
            let mut v = serde_json::to_value(&t.header).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.remove("provenance");
                o.remove("calibration_seconds");
            }
            v
        };
        if let Some((key, a, b)) = first_difference("", &strip(self), &strip(other)) {
            return Some(format!("header `{key}`: {a} vs {b}"));
        }
        if self.choices != other.choices || self.canonical != other.canonical {
            return Some("different architectures or canonical links".into());
        }
        if self.macs != other.macs || self.params != other.params {
            return Some("different MACs or parameters".into());
        }
        let per = self.header.seeds * self.header.fidelities.len() * VALUES;
        let differs = self
            .values
            .iter()
            .zip(&other.values)
            .enumerate()
            .find(|(k, (a, b))| k % VALUES != 4 && a.to_bits() != b.to_bits());
        differs.map(|(k, (a, b))| {
            format!(
                "entry {} ({:?}): value {} is {a} vs {b}",
                k / per,
                self.choices_of(k / per),
                k % VALUES
            )
        })
    }

    /// True when every epoch from 1 to the largest fidelity is recorded,
    /// so per-epoch curves and summed epoch times are complete.
    pub fn every_epoch(&self) -> bool {
        self.header
            .fidelities
            .iter()
            .enumerate()
            .all(|(k, &f)| f == k + 1)
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
