//! The sections of `report` and `run` for runs scored on a tabular
//! benchmark, cost-to-target and the family comparison: their incumbents'
//! test accuracies are looked up in the table (nasarena-harness), the
//! statistics come from `nasarena_results::cost_target` and
//! `nasarena_results::families`.

use anyhow::{bail, Context, Result};
use nasarena_harness::tabular::{reader, TableScores};
use nasarena_results::cost_target::{self, target_tables};
use nasarena_results::families::{self, family_reports};
use nasarena_results::load::RunData;
use nasarena_results::Loaded;
use std::path::{Path, PathBuf};

/// The table the runs' headers name (`table.path` of the experiment as
/// written), when that file is where it says.
fn table_of(runs: &[&RunData]) -> Option<PathBuf> {
    runs.iter()
        .filter_map(|r| r.header.config.get("table")?.get("path")?.as_str())
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// What a report adds for runs scored on a table (Markdown).
pub struct TableSections {
    /// Cost-to-target per strategy and space.
    pub cost_to_target: String,
    /// Families compared, and the papers' claims next to the measurements.
    pub families: String,
}

/// The table sections of the finished runs scored on a table: `table`, or
/// the one their headers name. `None` when no run was scored on a table,
/// or the table is not found (a note says so).
pub fn section(loaded: &Loaded, table: Option<&Path>, gap: f64) -> Result<Option<TableSections>> {
    if !(gap.is_finite() && gap >= 0.0) {
        bail!("--target-gap is in accuracy points, a finite number >= 0; got {gap}");
    }
    let on_tables: Vec<&RunData> = loaded
        .runs
        .iter()
        .filter(|r| r.table_checksum().is_some())
        .collect();
    if on_tables.is_empty() {
        return Ok(None);
    }
    let Some(path) = table
        .map(Path::to_path_buf)
        .or_else(|| table_of(&on_tables))
    else {
        eprintln!("note: cost-to-target needs the table the runs were scored on; its path in the journals' headers is not found from here: pass --table FILE");
        return Ok(None);
    };
    let table = reader::open(&path).with_context(|| format!("reading {}", path.display()))?;
    let (runs, others): (Vec<&RunData>, Vec<&RunData>) = on_tables
        .into_iter()
        .partition(|r| r.table_checksum() == Some(table.checksum()));
    if !others.is_empty() {
        eprintln!(
            "note: {} run(s) scored on another table than {} (sha256 {}) are left out of cost-to-target",
            others.len(),
            path.display(),
            table.checksum()
        );
    }
    let Some(epochs) = runs
        .iter()
        .find_map(|r| r.final_record.as_ref().map(|f| f.epochs))
    else {
        return Ok(None);
    };
    if let Some(r) = runs
        .iter()
        .find(|r| r.final_record.as_ref().is_some_and(|f| f.epochs != epochs))
    {
        bail!(
            "{}: its final protocol trains {} epochs, other runs {epochs}; cost-to-target compares runs scored at one fidelity",
            r.file,
            r.final_record.as_ref().map_or(0, |f| f.epochs)
        );
    }
    let scores = TableScores::new(&table, &path, epochs)?;
    let Some(best) = scores.best() else {
        bail!("{}: the table records no test accuracy", path.display());
    };
    let test_of = |arch: &str| scores.test_accuracy(arch);
    let best = 100.0 * best;
    Ok(Some(TableSections {
        cost_to_target: cost_target::markdown(&target_tables(&runs, &test_of, best, gap)),
        families: families::markdown(&family_reports(&runs, &test_of, best, gap)),
    }))
}
