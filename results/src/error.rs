//! The error type of nasarena-results.

use std::path::PathBuf;

/// Errors raised by nasarena-results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A journal line does not match the record schema.
    #[error("{}:{line}: not a valid journal record: {reason}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// A journal is structurally wrong.
    #[error("{}: {reason}", path.display())]
    Journal { path: PathBuf, reason: String },
    /// No journals to report on.
    #[error("no journals found under {}", .0.display())]
    NoJournals(PathBuf),
}

impl Error {
    pub(crate) fn parse(path: &std::path::Path, line: usize, e: serde_json::Error) -> Self {
        Error::Parse {
            path: path.to_path_buf(),
            line,
            reason: e.to_string(),
        }
    }
}

/// Result alias of nasarena-results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
