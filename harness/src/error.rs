//! The error type of nasarena-harness.

use std::path::PathBuf;

/// One problem found in an experiment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `strategy[1].preset`.
    pub key: String,
    /// 1-based line of the key in the file, when it can be found.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: `{}`: {}", self.key, self.message),
            None => write!(f, "`{}`: {}", self.key, self.message),
        }
    }
}

/// Errors raised by nasarena-harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The experiment file has problems; all of them are listed.
    #[error("{}: {} problem(s):\n{}", path.display(), problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Config {
        /// The experiment file.
        path: PathBuf,
        /// Every problem found, with its key and line.
        problems: Vec<Problem>,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// An existing journal does not match what this run would do.
    #[error("{}: {reason}", path.display())]
    JournalMismatch {
        /// The journal.
        path: PathBuf,
        /// What does not match, and what to do.
        reason: String,
    },
    /// A table file is unusable (corrupted, truncated, another version,
    /// space or dataset).
    #[error("table {}: {reason}", path.display())]
    Table {
        /// The table file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A community table could not be imported; every problem is listed
    /// (with its line).
    #[error("{}: {} problem(s) (nothing was written):\n{}", path.display(), problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Import {
        /// The file imported.
        path: PathBuf,
        /// Every problem, each naming its line.
        problems: Vec<String>,
    },
    /// A space error.
    #[error(transparent)]
    Space(#[from] nasarena_spaces::Error),
    /// A dataset error.
    #[error(transparent)]
    Data(#[from] nasarena_datasets::Error),
    /// A strategy error.
    #[error(transparent)]
    Strategy(#[from] nasarena_strategies::Error),
    /// A core error.
    #[error(transparent)]
    Core(#[from] nasarena_core::CoreError),
    /// A journal could not be read.
    #[error(transparent)]
    Results(#[from] nasarena_results::Error),
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// The budget cannot pay for the smallest unit of work a strategy
    /// needs (found once the data and a timing probe are known).
    #[error("budget: {0}")]
    Budget(String),
    /// A stop was asked for (a signal); every journal is consistent and
    /// `--resume` continues it.
    #[error("stopped by a signal after the last complete record; `--resume` continues the unfinished runs")]
    Interrupted,
    /// A run needs images but the experiment evaluates on a table.
    #[error("this experiment evaluates on a table and loads no images; runs that train (one-shot strategies) need `[dataset]` images")]
    NoImages,
    /// `--unit` names a unit the plan does not have.
    #[error("--unit {unit} is out of range: the experiment has {units} units, numbered 0 to {}", units.saturating_sub(1))]
    UnitOutOfRange {
        /// The unit asked for.
        unit: usize,
        /// Units the plan has.
        units: usize,
    },
    /// A Slurm command failed or a Slurm experiment folder is unusable.
    #[error("{0}")]
    Slurm(String),
    /// The requested device cannot be used.
    #[error("device: {0}")]
    Device(String),
    /// A setting given on the command line or in a build configuration is
    /// out of range.
    #[error("{setting}: {reason}")]
    BadSetting {
        /// The setting (flag or key) as the user wrote it.
        setting: String,
        /// Why its value cannot be used.
        reason: String,
    },
    /// The dataset does not fit the space (image shape or classes).
    #[error("{0}")]
    DataMismatch(String),
    /// The space cannot do what was asked (e.g. describe or time its
    /// candidates alone).
    #[error("{0}")]
    Unsupported(String),
    /// A run's saved network cannot be exported (or its file is damaged).
    #[error("{}: {reason}", path.display())]
    Export {
        /// The journal or weights file.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// A dataset split with no images where one is needed.
    #[error("dataset `{0}` is empty: nothing to evaluate")]
    EmptyDataset(String),
    /// A bug: an invariant did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result alias of nasarena-harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;
