//! Loading a runs directory for `report` and `compare`: every journal that
//! reads cleanly becomes a [`RunData`]; unreadable ones (torn header,
//! missing header, another schema version, a bad line) are kept as
//! [`Skipped`] entries naming the file and line, so that one bad file never
//! hides the others. Runs without a final record are listed as unfinished.

use crate::journal::{find_journals, read_journal, Journal};
use crate::record::{FinalRecord, Header, Record};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One point of a best-so-far curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurvePoint {
    /// Search cost so far in the budget's unit.
    pub budget: f64,
    /// Search cost so far in device-hours.
    pub device_hours: f64,
    /// Best validation accuracy so far, percent.
    pub best_val: f64,
}

/// One evaluated architecture (accuracy-vs-MACs scatter).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluated {
    /// MACs, batch 1.
    pub macs: u64,
    /// Validation accuracy, percent.
    pub val: f64,
}

/// The architecture a search would return if stopped at some cost: a
/// black-box run's incumbent (best validation accuracy so far), a one-shot
/// run's argmax after each epoch, then the architecture its derivation
/// chose.
#[derive(Clone, Debug, PartialEq)]
pub struct IncumbentAt {
    /// Search cost so far in normalised units: device seconds over the
    /// calibration seconds of the machine that spent them.
    pub normalised: f64,
    /// Search cost so far in the budget's unit (for tables that record no
    /// times, where every normalised cost is 0).
    pub budget: f64,
    /// Genotype string.
    pub arch: String,
}

/// What a report needs from one journal.
#[derive(Clone, Debug)]
pub struct RunData {
    /// The journal's path relative to the runs directory.
    pub file: String,
    /// Provenance header.
    pub header: Header,
    /// The final record (`None`: unfinished).
    pub final_record: Option<FinalRecord>,
    /// Best-so-far validation accuracy after each trial or epoch.
    pub curve: Vec<CurvePoint>,
    /// Every architecture evaluated during search.
    pub evaluated: Vec<Evaluated>,
    /// What the search would have returned after each trial or epoch.
    pub incumbents: Vec<IncumbentAt>,
    /// Per-epoch entropies (nats) of each decision (one-shot runs only).
    pub entropy: Vec<Vec<f64>>,
    /// True for a one-shot (supernet) search.
    pub one_shot: bool,
}

/// A journal left out of the report, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skipped {
    /// Path relative to the runs directory.
    pub file: String,
    /// 1-based line of the problem, when there is one.
    pub line: Option<usize>,
    /// What was wrong.
    pub reason: String,
}

/// Everything read from a runs directory.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Finished runs.
    pub runs: Vec<RunData>,
    /// Runs without a final record.
    pub unfinished: Vec<RunData>,
    /// Journals that could not be read.
    pub skipped: Vec<Skipped>,
    /// Problems that did not stop a journal from being used (a torn last
    /// line after complete records).
    pub warnings: Vec<Skipped>,
}

impl RunData {
    /// Extracts curves and points from a parsed journal.
    pub fn from_journal(j: &Journal, file: String) -> RunData {
        let unit = j.header.budget.unit;
        let mut best: Option<f64> = None;
        let mut curve = Vec::new();
        let mut evaluated = Vec::new();
        let mut entropy = Vec::new();
        let mut incumbents = Vec::new();
        let calibration = j.header.calibration_seconds;
        let mut at = |cum: &nasarena_core::Cost, arch: &str| {
            incumbents.push(IncumbentAt {
                normalised: normalised(cum, calibration),
                budget: cum.amount(unit),
                arch: arch.to_string(),
            });
        };
        let mut one_shot = false;
        let mut push = |best: Option<f64>, cum: &nasarena_core::Cost| {
            if let Some(b) = best {
                curve.push(CurvePoint {
                    budget: cum.amount(unit),
                    device_hours: cum.device_hours(),
                    best_val: 100.0 * b,
                });
            }
        };
        for r in &j.records {
            match r {
                Record::Trial(t) => {
                    if let Some(v) = t.outcome.val_accuracy() {
                        best = Some(best.map_or(v, |b: f64| b.max(v)));
                        evaluated.push(Evaluated {
                            macs: t.macs,
                            val: 100.0 * v,
                        });
                    }
                    push(best, &t.cumulative);
                    if let Some(i) = &t.incumbent {
                        at(&t.cumulative, &i.arch);
                    }
                }
                Record::Epoch(e) => {
                    one_shot = true;
                    best = Some(best.map_or(e.val_accuracy, |b: f64| b.max(e.val_accuracy)));
                    entropy.push(e.entropy.clone());
                    evaluated.push(Evaluated {
                        macs: e.derived_macs,
                        val: 100.0 * e.val_accuracy,
                    });
                    push(best, &e.cumulative);
                    at(&e.cumulative, &e.derived);
                }
                Record::Derive(d) => {
                    one_shot = true;
                    for c in &d.candidates {
                        best = Some(best.map_or(c.val_accuracy, |b: f64| b.max(c.val_accuracy)));
                        evaluated.push(Evaluated {
                            macs: c.macs,
                            val: 100.0 * c.val_accuracy,
                        });
                    }
                    push(best, &d.cumulative);
                    at(&d.cumulative, &d.chosen);
                }
                Record::Final(_) => {}
            }
        }
        RunData {
            file,
            header: j.header.clone(),
            final_record: j.final_record().cloned(),
            curve,
            evaluated,
            incumbents,
            entropy,
            one_shot,
        }
    }

    /// True when the run was scored on a tabular benchmark (its dataset
    /// checksum names the table), so its final accuracy is the table's.
    pub fn table_checksum(&self) -> Option<&str> {
        self.header.dataset.checksum.strip_prefix("table:")
    }

    /// The space as shown in tables: name and options.
    pub fn space_key(&self) -> String {
        let h = &self.header;
        if h.space_options.is_empty() {
            h.space.clone()
        } else {
            format!("{} ({})", h.space, h.space_options.join(", "))
        }
    }
}

/// Device seconds of `cost` over `calibration` seconds of the reference
/// workload on the machine that spent them (0 without a calibration):
/// recorded (table) and measured (live) costs on one axis.
pub fn normalised(cost: &nasarena_core::Cost, calibration: f64) -> f64 {
    if calibration > 0.0 && calibration.is_finite() {
        cost.device_seconds / calibration
    } else {
        0.0
    }
}

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn skipped(file: String, e: &Error) -> Skipped {
    let (line, reason) = match e {
        Error::Parse { line, reason, .. } => (Some(*line), reason.clone()),
        Error::Schema {
            found, expected, ..
        } => (
            Some(1),
            format!("record schema version {found}, this build reads version {expected}"),
        ),
        Error::Journal { reason, .. } => (None, reason.clone()),
        other => (None, other.to_string()),
    };
    Skipped { file, line, reason }
}

/// Reads every journal under `dir`. Fails only when `dir` cannot be read
/// or holds no journal at all.
pub fn load_runs(dir: &Path) -> Result<Loaded> {
    let paths = find_journals(dir)?;
    if paths.is_empty() {
        return Err(Error::NoJournals(dir.to_path_buf()));
    }
    let mut out = Loaded::default();
    for p in &paths {
        let file = relative(dir, p);
        let j = match read_journal(p) {
            Ok(j) => j,
            Err(e) => {
                out.skipped.push(skipped(file, &e));
                continue;
            }
        };
        let data = RunData::from_journal(&j, file.clone());
        if let Some(bytes) = j.torn_tail {
            out.warnings.push(Skipped {
                file,
                line: Some(j.records.len() + 2),
                reason: format!("torn last line ({bytes} bytes, an interrupted write) ignored"),
            });
        }
        if data.final_record.is_some() {
            out.runs.push(data);
        } else {
            out.unfinished.push(data);
        }
    }
    Ok(out)
}
