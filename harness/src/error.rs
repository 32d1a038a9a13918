//! The error type of nasarena-harness.

use crate::experiment::Problem;
use std::path::PathBuf;

/// Errors raised by nasarena-harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The experiment file has problems; all of them are listed.
    #[error("{}: {} problem(s):\n{}", path.display(), problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Config {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An existing journal does not match what this run would do.
    #[error("{}: {reason}", path.display())]
    JournalMismatch { path: PathBuf, reason: String },
    /// A table file is unusable (corrupted, truncated, another version,
    /// space or dataset).
    #[error("table {}: {reason}", path.display())]
    Table { path: PathBuf, reason: String },
    /// A community table could not be imported; every problem is listed
    /// (with its line).
    #[error("{}: {} problem(s) (nothing was written):\n{}", path.display(), problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Import {
        path: PathBuf,
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
    /// `--unit` names a unit the plan does not have.
    #[error("--unit {unit} is out of range: the experiment has {units} units, numbered 0 to {}", units.saturating_sub(1))]
    UnitOutOfRange { unit: usize, units: usize },
    /// A Slurm command failed or a Slurm experiment folder is unusable.
    #[error("{0}")]
    Slurm(String),
    /// A bug: an invariant did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result alias of nasarena-harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;
