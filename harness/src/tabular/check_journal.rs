//! The resumable JSON-lines journal of the table checks that retrain
//! architectures one by one (`tabulate rank-check`, `tabulate retime`):
//! a first line with the check's settings, then one line per finished
//! architecture, each fsynced before the next starts. A rerun with the
//! same journal resumes after the last line; one started with other
//! settings is refused.

use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Opens (or starts, writing `settings` as its first line) the journal at
/// `path` and returns it, appending, with the records it already holds.
pub fn open<S, R>(path: &Path, settings: &S, what: &str) -> Result<(std::fs::File, Vec<R>)>
where
    S: Serialize + DeserializeOwned + PartialEq,
    R: DeserializeOwned,
{
    let io = |e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let corrupt = |line: usize, reason: String| Error::JournalMismatch {
        path: path.to_path_buf(),
        reason: format!("line {line}: {reason}"),
    };
    if !path.exists() {
        let mut file = std::fs::File::create(path).map_err(io)?;
        let head = serde_json::to_string(settings).map_err(|e| corrupt(1, e.to_string()))?;
        writeln!(file, "{head}")
            .and_then(|_| file.sync_data())
            .map_err(io)?;
        return Ok((file, Vec::new()));
    }
    let (head, done) = read::<S, R>(path, what)?;
    if &head != settings {
        let line = serde_json::to_string(&head).unwrap_or_default();
        return Err(corrupt(
            1,
            format!("it was started with other settings ({line}); use another --journal or the same settings"),
        ));
    }
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io)?;
    Ok((file, done))
}

/// Reads a finished journal: its settings line and its records.
pub fn read<S, R>(path: &Path, what: &str) -> Result<(S, Vec<R>)>
where
    S: DeserializeOwned,
    R: DeserializeOwned,
{
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let corrupt = |line: usize, reason: String| Error::JournalMismatch {
        path: path.to_path_buf(),
        reason: format!("line {line}: {reason}"),
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return Err(corrupt(1, format!("empty, not a {what} journal")));
    };
    let head =
        serde_json::from_str(first).map_err(|e| corrupt(1, format!("not a {what} header: {e}")))?;
    let records = lines
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| corrupt(n + 1, format!("not a {what} record: {e}")))
        })
        .collect::<Result<Vec<R>>>()?;
    Ok((head, records))
}

/// Appends one record and syncs it to disk.
pub fn append<R: Serialize>(file: &mut std::fs::File, path: &Path, record: &R) -> Result<()> {
    let line = serde_json::to_string(record).map_err(|e| Error::JournalMismatch {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    writeln!(file, "{line}")
        .and_then(|_| file.sync_data())
        .map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })
}
