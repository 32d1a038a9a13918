//! The error type of nasarena-results.

use std::path::PathBuf;

/// Errors raised by nasarena-results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system reported.
        source: std::io::Error,
    },
    /// A journal line does not match the record schema.
    #[error("{}:{line}: not a valid journal record: {reason}", path.display())]
    Parse {
        /// The journal.
        path: PathBuf,
        /// The line, counted from 1.
        line: usize,
        /// What the JSON reader reported, with the column.
        reason: String,
    },
    /// A journal was written with another record schema version.
    #[error("{}:1: record schema version {found}, this build reads version {expected}; re-run it or report it with the matching nasarena version", path.display())]
    Schema {
        /// The journal.
        path: PathBuf,
        /// The schema version its header names.
        found: String,
        /// The version this build reads.
        expected: u32,
    },
    /// A summary file is not a `report --format json` summary.
    #[error("{}: not a nasarena summary: {reason}", path.display())]
    Summary {
        /// The file given as a summary.
        path: PathBuf,
        /// Why it is not one.
        reason: String,
    },
    /// A plot could not be drawn or written.
    #[error("plot {}: {reason}", path.display())]
    Plot {
        /// The plot file being written.
        path: PathBuf,
        /// What the plotting backend reported.
        reason: String,
    },
    /// A journal is structurally wrong.
    #[error("{}: {reason}", path.display())]
    Journal {
        /// The journal.
        path: PathBuf,
        /// What is structurally wrong (e.g. a missing header).
        reason: String,
    },
    /// No journals to report on.
    #[error("no journals found under {}", .0.display())]
    NoJournals(PathBuf),
}

impl Error {
    pub(crate) fn parse(path: &std::path::Path, line: usize, e: serde_json::Error) -> Self {
        // serde_json says "at line 1 column N" of the one-line record;
        // the journal line is named separately, so keep only the column.
        let msg = e.to_string();
        let reason = match msg.rfind(" at line ") {
            Some(i) => format!("{} (column {})", &msg[..i], e.column()),
            None => msg,
        };
        Error::Parse {
            path: path.to_path_buf(),
            line,
            reason,
        }
    }
}

/// Result alias of nasarena-results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
