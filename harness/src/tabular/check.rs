//! Checking an experiment's `[table]` against the table before any run:
//! the table must be readable and intact and must have been built for the
//! experiment's space (options in full), dataset, fidelities and training
//! schedule, so a result on the table means what the experiment says.

use super::source::TableSource;
use super::table::Table;
use crate::experiment::{resolve_path, ExperimentFile, TableConfig};
use crate::trainer::Schedule;
use nasarena_core::BudgetUnit;
use nasarena_spaces::Realize;
use std::path::Path;

fn schedule_problems(key: &str, given: &Schedule, table: &Table, out: &mut Vec<(String, String)>) {
    let h = table.header();
    if table.fidelity_index(given.epochs).is_none() {
        out.push((
            format!("{key}.epochs"),
            format!(
                "the table records results at {:?} epochs, not {}",
                h.fidelities, given.epochs
            ),
        ));
    }
    let mut want = h.settings.schedule.clone();
    want.epochs = given.epochs;
    if &want != given {
        let show = |s: &Schedule| serde_json::to_string(s).unwrap_or_default();
        out.push((
            key.to_string(),
            format!("the table was trained with {}, the experiment gives {}; write the table's schedule (`nasarena tabulate info`)", show(&want), show(given)),
        ));
    }
}

/// Loads the table of `cfg` (a relative path: from `base`, the experiment
/// file's folder) and lists every way `exp` disagrees with it, as
/// `(key, message)`.
pub fn check(
    exp: &ExperimentFile,
    cfg: &TableConfig,
    base: &Path,
    spaces: &[Box<dyn Realize>],
) -> (Option<TableSource>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let path = resolve_path(base, &cfg.path);
    let table = match super::reader::open(&path) {
        Ok(t) => t,
        Err(e) => return (None, vec![("table.path".into(), e.to_string())]),
    };
    if let Some(pin) = &cfg.sha256 {
        if !pin.eq_ignore_ascii_case(table.checksum()) {
            out.push((
                "table.sha256".into(),
                format!(
                    "the table's sha256 is {}, the experiment pins {pin}",
                    table.checksum()
                ),
            ));
        }
    }
    if exp.space.len() != 1 {
        out.push((
            "space".into(),
            format!(
                "a table covers one space; give exactly one [[space]], not {}",
                exp.space.len()
            ),
        ));
    }
    if let Some(s) = exp.space.first() {
        for (key, message) in table.mismatches(&s.name, &s.options, &exp.dataset.name) {
            let key = match key {
                "space" => "space[0].name".to_string(),
                "space.options" => "space[0].options".to_string(),
                other => other.to_string(),
            };
            out.push((key, message));
        }
    }
    if out.is_empty() {
        if let Some(space) = spaces.first() {
            if let Err(e) = table.check_space(space.as_ref(), &path) {
                out.push(("table.path".into(), e.to_string()));
            }
        }
    }
    schedule_problems("evaluator", &exp.evaluator, &table, &mut out);
    schedule_problems(
        "final.schedule",
        &exp.final_protocol.schedule,
        &table,
        &mut out,
    );
    let h = table.header();
    if let Some(vf) = h.settings.val_fraction {
        if (vf - exp.dataset.val_fraction).abs() > 1e-12 {
            out.push((
                "dataset.val_fraction".into(),
                format!("the table used val_fraction = {vf}"),
            ));
        }
    }
    if h.settings.train_limit != exp.dataset.train_limit {
        out.push((
            "dataset.train_limit".into(),
            format!("the table used train_limit = {:?}", h.settings.train_limit),
        ));
    }
    if exp.dataset.data_dir.is_some() {
        out.push((
            "dataset.data_dir".into(),
            "a table experiment reads no images but the table's own (for one-shot strategies, from where `tabulate build` read them); remove it".into(),
        ));
    }
    let timed = matches!(
        exp.budget.unit,
        BudgetUnit::DeviceSeconds | BudgetUnit::DeviceHours
    );
    if timed && !h.recorded.device_seconds {
        out.push(("budget.unit".into(), "the table records no training times; count the budget in `evaluations` (or `train_samples`)".into()));
    }
    let source = TableSource {
        written: cfg.path.clone(),
        path,
        table,
        sync: cfg.journal_sync,
    };
    (Some(source), out)
}
