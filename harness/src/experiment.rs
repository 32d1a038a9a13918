//! Experiment files: typed TOML (unknown keys rejected everywhere), then
//! [`ExperimentFile::check`] validates everything before any compute is
//! spent and reports every problem with its key path (and line, where the
//! key can be found in the file).

use crate::error::Problem;
use crate::trainer::Schedule;
use nasarena_core::{Budget, BudgetUnit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An experiment file as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Experiment name; journals go to `runs/<name>/`.
    pub name: String,
    /// Experiment seed; each run's seed is derived from it.
    pub seed: u64,
    /// Number of seeds (repetitions) per (space, strategy), unless a
    /// strategy sets its own.
    pub repeats: usize,
    /// The data.
    pub dataset: DatasetConfig,
    /// Search spaces (one or more).
    pub space: Vec<SpaceConfig>,
    /// Strategies (one or more).
    pub strategy: Vec<StrategyConfig>,
    /// Schedule used to score a black-box candidate.
    pub evaluator: Schedule,
    /// The search budget of every (space, strategy, seed) run.
    pub budget: BudgetConfig,
    /// The final protocol, identical for every strategy.
    #[serde(rename = "final")]
    pub final_protocol: FinalConfig,
    /// Look black-box evaluations up in a tabular benchmark instead of
    /// training (see `crate::table`); absent: train live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableConfig>,
}

/// A tabular benchmark standing in for training: `[table]`.
///
/// The experiment must still describe what the table measured, and
/// `check` compares it with the table's header before anything runs:
/// `[[space]]` (one, options written out in full) and `dataset.name` must
/// be the table's; `evaluator.epochs` and `final.schedule.epochs` must be
/// recorded fidelities, and both schedules otherwise equal the table's
/// training schedule (see `nasarena tabulate info`). No images are loaded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// The table file (relative paths: from the experiment file's folder).
    pub path: PathBuf,
    /// Expected sha256 of the file (as `tabulate info` prints it): pins
    /// the exact table a published comparison used.
    #[serde(default)]
    pub sha256: Option<String>,
    /// When journal records are made durable (see `JournalSync`).
    #[serde(default)]
    pub journal_sync: crate::journal::JournalSync,
}

/// Which data, and how it is split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// `fashion-mnist-subset` (bundled), `fashion-mnist`, `mnist`, `cifar10`, ...
    pub name: String,
    /// Folder holding the files (default: auto-detection; relative paths:
    /// from the experiment file's folder).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Fraction of the training set carved out for validation.
    pub val_fraction: f64,
    /// Use only this many training samples (class-stratified, seeded): for
    /// quick comparisons. The validation part is carved before.
    #[serde(default)]
    pub train_limit: Option<usize>,
}

/// One search space with its options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceConfig {
    /// Registered space name.
    pub name: String,
    /// `key = "value"` options of the space.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl SpaceConfig {
    /// Options as `key=value` strings, sorted by key.
    pub fn option_strings(&self) -> Vec<String> {
        self.options
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }
}

/// One strategy with its preset and overrides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Registered strategy name (`random`, `evolution`, `ga`, `reinforce`, ...).
    pub name: String,
    /// Named preset (e.g. `nb201`); default: the strategy's default.
    #[serde(default)]
    pub preset: Option<String>,
    /// Overrides of the preset's settings.
    #[serde(default)]
    pub overrides: BTreeMap<String, toml::Value>,
    /// Label in tables (default: `name/preset`).
    #[serde(default)]
    pub label: Option<String>,
    /// One-shot strategies only: a latency table from `nasarena bench lut`
    /// (relative paths: from the experiment file's folder) whose per-candidate
    /// nanoseconds replace MACs in the search's cost term (FBNet's
    /// latency-aware loss); `cost_unit_macs` then divides nanoseconds.
    /// Journals still record MACs.
    #[serde(default)]
    pub latency_table: Option<std::path::PathBuf>,
    /// Seeds of this strategy (default: the experiment's `repeats`). Its
    /// seed k is the same as every other strategy's seed k, so runs of
    /// equal k still pair (a table replay takes milliseconds, a supernet
    /// minutes: a trade-off study runs 100 seeds of the one, 10 of the
    /// other).
    #[serde(default)]
    pub repeats: Option<usize>,
}

impl StrategyConfig {
    /// Seeds of this strategy given the experiment's `repeats`.
    pub fn seeds(&self, experiment_repeats: usize) -> usize {
        self.repeats.unwrap_or(experiment_repeats)
    }

    /// The label used in tables and journal paths.
    pub fn label(&self) -> String {
        match (&self.label, &self.preset) {
            (Some(l), _) => l.clone(),
            (None, Some(p)) => format!("{}/{}", self.name, p),
            (None, None) => self.name.clone(),
        }
    }
}

/// The budget of every run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// `device_seconds`, `device_hours`, `train_samples`, `macs` or `evaluations`.
    pub unit: BudgetUnit,
    /// The limit in that unit.
    pub limit: f64,
}

/// The final protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalConfig {
    /// The schedule the recommended architecture is retrained with.
    pub schedule: Schedule,
}

/// Parses an experiment file; syntax and schema errors name the key path
/// (`repeats`, `strategy[1].preset`; `(file)` for the top level) and the
/// line.
pub fn parse(text: &str, origin: &Path) -> crate::Result<ExperimentFile> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        // serde_path_to_error writes `.` for the root: errors there (an
        // unknown top-level key, a syntax error) belong to the whole file.
        let key = match e.path().to_string() {
            p if p == "." => "(file)".to_string(),
            p => p,
        };
        let inner = e.into_inner();
        let line = inner
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .or_else(|| find_line(text, &key));
        crate::Error::Config {
            path: origin.to_path_buf(),
            problems: vec![Problem {
                key,
                line,
                message: inner.message().to_string(),
            }],
        }
    })
}

/// `path` as an experiment in folder `base` means it: relative paths are
/// relative to the experiment file, so an experiment runs the same from
/// any working directory; absolute paths are kept.
pub fn resolve_path(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// The folder relative paths in the experiment file `origin` start from.
pub fn base_dir(origin: &Path) -> &Path {
    origin.parent().unwrap_or(Path::new(""))
}

/// Reads and parses an experiment file.
pub fn load(path: &Path) -> crate::Result<(ExperimentFile, String)> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok((parse(&text, path)?, text))
}

/// The line on which `key = ...` (the last path segment) first appears.
pub fn find_line(text: &str, key_path: &str) -> Option<usize> {
    let last = key_path
        .rsplit('.')
        .next()
        .unwrap_or(key_path)
        .split('[')
        .next()
        .unwrap_or(key_path);
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with(last) && t[last.len()..].trim_start().starts_with('=')
                || t.starts_with(&format!("[{last}]"))
                || t.starts_with(&format!("[[{last}]]"))
        })
        .map(|i| i + 1)
}

fn schedule_problems(prefix: &str, s: &Schedule, out: &mut Vec<(String, String)>) {
    if s.epochs == 0 {
        out.push((format!("{prefix}.epochs"), "must be at least 1".into()));
    }
    if s.batch_size == 0 {
        out.push((format!("{prefix}.batch_size"), "must be at least 1".into()));
    }
    let o = &s.optimizer;
    if !(o.lr.is_finite() && o.lr > 0.0) {
        out.push((
            format!("{prefix}.optimizer.lr"),
            format!("must be positive, got {}", o.lr),
        ));
    }
    if !(0.0..1.0).contains(&o.momentum) {
        out.push((
            format!("{prefix}.optimizer.momentum"),
            format!("must be in [0, 1), got {}", o.momentum),
        ));
    }
    if !(o.weight_decay >= 0.0 && o.weight_decay.is_finite()) {
        out.push((
            format!("{prefix}.optimizer.weight_decay"),
            "must be non-negative".into(),
        ));
    }
    if s.warmup_epochs >= s.epochs && s.warmup_epochs > 0 {
        out.push((
            format!("{prefix}.warmup_epochs"),
            "must be fewer than epochs".into(),
        ));
    }
    if let Some(c) = s.grad_clip {
        if !(c.is_finite() && c > 0.0) {
            out.push((format!("{prefix}.grad_clip"), "must be positive".into()));
        }
    }
}

impl ExperimentFile {
    /// This experiment with every file path (`table.path`,
    /// `dataset.data_dir`, `strategy[i].latency_table`) resolved against
    /// `base` (see [`resolve_path`]). Journals record the experiment as
    /// written; the planner reads files through this copy.
    pub fn with_paths_from(&self, base: &Path) -> ExperimentFile {
        let mut out = self.clone();
        if let Some(t) = &mut out.table {
            t.path = resolve_path(base, &t.path);
        }
        if let Some(d) = &mut out.dataset.data_dir {
            *d = resolve_path(base, d);
        }
        for st in &mut out.strategy {
            if let Some(l) = &mut st.latency_table {
                *l = resolve_path(base, l);
            }
        }
        out
    }

    /// The structural problems of the file (values out of range, empty
    /// lists). Problems that need the registries (unknown space or strategy,
    /// bad options, missing data) are added by the planner.
    pub fn value_problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.name.trim().is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            out.push((
                "name".into(),
                "use letters, digits, `-`, `_` or `.` (it names the runs folder)".into(),
            ));
        }
        if self.repeats == 0 {
            out.push(("repeats".into(), "must be at least 1".into()));
        }
        let own_val = crate::segmentation::data::is_segmentation(&self.dataset.name);
        let in_range = self.dataset.val_fraction > 0.0 && self.dataset.val_fraction < 1.0;
        if !own_val && !in_range {
            out.push((
                "dataset.val_fraction".into(),
                format!("must be in (0, 1), got {}", self.dataset.val_fraction),
            ));
        }
        if self.dataset.train_limit == Some(0) {
            out.push(("dataset.train_limit".into(), "must be at least 1".into()));
        }
        if self.space.is_empty() {
            out.push(("space".into(), "give at least one [[space]]".into()));
        }
        if self.strategy.is_empty() {
            out.push(("strategy".into(), "give at least one [[strategy]]".into()));
        }
        if let Err(e) = Budget::new(self.budget.unit, self.budget.limit) {
            out.push(("budget.limit".into(), e.to_string()));
        }
        schedule_problems("evaluator", &self.evaluator, &mut out);
        schedule_problems("final.schedule", &self.final_protocol.schedule, &mut out);
        let mut labels = std::collections::BTreeSet::new();
        for (i, s) in self.strategy.iter().enumerate() {
            if s.repeats == Some(0) {
                out.push((
                    format!("strategy[{i}].repeats"),
                    "must be at least 1 (or left out: the experiment's repeats)".into(),
                ));
            }
            if !labels.insert(s.label()) {
                out.push((
                    format!("strategy[{i}].label"),
                    format!("label `{}` is used twice; set distinct labels", s.label()),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
