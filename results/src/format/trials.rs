//! Per-trial CSV (`report --format trials-csv`): one row per black-box
//! evaluation, one-shot search epoch or scored derivation candidate, for
//! loading into pandas or R without parsing journals. RFC 4180 quoting
//! (genotypes hold `|`, `~` and, in some spaces, commas).
//!
//! Accuracies are fractions in [0, 1] as journals record them (tables show
//! percent); costs are the run's cumulative cost after the row, in every
//! unit a budget can be counted in.

use super::csv::field;
use crate::journal::Journal;
use crate::record::Record;
use nasarena_core::Cost;
use std::fmt::Write;

const COLUMNS: &[&str] = &[
    "experiment",
    "space",
    "space_options",
    "strategy",
    "seed",
    "journal",
    "kind",
    "step",
    "architecture",
    "canonical",
    "status",
    "val_accuracy",
    "macs",
    "params",
    "cum_device_seconds",
    "cum_device_hours",
    "cum_train_samples",
    "cum_eval_samples",
    "cum_macs",
    "cum_evaluations",
];

/// The cells of one row after the run's own columns.
struct Row<'a> {
    kind: &'a str,
    step: u64,
    arch: &'a str,
    canonical: &'a str,
    /// `None`: a failed evaluation.
    val: Option<f64>,
    macs: u64,
    params: Option<u64>,
    cumulative: &'a Cost,
}

fn push_row(out: &mut String, run: &str, r: &Row<'_>) {
    let c = r.cumulative;
    let _ = writeln!(
        out,
        "{run},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        r.kind,
        r.step,
        field(r.arch),
        field(r.canonical),
        if r.val.is_some() { "ok" } else { "failed" },
        r.val.map_or(String::new(), |v| v.to_string()),
        r.macs,
        r.params.map_or(String::new(), |p| p.to_string()),
        c.device_seconds,
        c.device_hours(),
        c.train_samples,
        c.eval_samples,
        c.macs,
        c.evaluations,
    );
}

/// The header line.
pub fn header() -> String {
    format!("{}\n", COLUMNS.join(","))
}

/// Appends the rows of one journal (`file`: its path relative to the runs
/// folder, which names the run uniquely). Epoch rows have no parameter
/// count (journals record only the derived architecture's MACs per epoch).
pub fn append(out: &mut String, j: &Journal, file: &str) {
    let h = &j.header;
    let run = [
        field(&h.experiment),
        field(&h.space),
        field(&h.space_options.join(" ")),
        field(&h.label),
        h.seed.to_string(),
        field(file),
    ]
    .join(",");
    let mut epochs = 0u64;
    for rec in &j.records {
        match rec {
            Record::Trial(t) => push_row(
                out,
                &run,
                &Row {
                    kind: "trial",
                    step: t.trial,
                    arch: &t.arch,
                    canonical: &t.canonical,
                    val: t.outcome.val_accuracy(),
                    macs: t.macs,
                    params: Some(t.params),
                    cumulative: &t.cumulative,
                },
            ),
            Record::Epoch(e) => {
                epochs = e.epoch as u64 + 1;
                push_row(
                    out,
                    &run,
                    &Row {
                        kind: "epoch",
                        step: e.epoch as u64,
                        arch: &e.derived,
                        canonical: "",
                        val: Some(e.val_accuracy),
                        macs: e.derived_macs,
                        params: None,
                        cumulative: &e.cumulative,
                    },
                );
            }
            Record::Derive(d) => {
                for c in &d.candidates {
                    push_row(
                        out,
                        &run,
                        &Row {
                            kind: if c.argmax {
                                "derive_argmax"
                            } else {
                                "derive_sample"
                            },
                            step: epochs,
                            arch: &c.arch,
                            canonical: "",
                            val: Some(c.val_accuracy),
                            macs: c.macs,
                            params: Some(c.params),
                            cumulative: &d.cumulative,
                        },
                    );
                }
            }
            Record::Final(_) => {}
        }
    }
}

/// The CSV of `journals` (each with its path relative to the runs folder),
/// header first, journals in the order given.
pub fn render(journals: &[(String, Journal)]) -> String {
    let mut out = header();
    for (file, j) in journals {
        append(&mut out, j, file);
    }
    out
}
