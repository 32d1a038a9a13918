//! Writing journals: append-only JSONL, flushed and fsynced per record (by
//! default; see [`JournalSync`]), so
//! a crash or kill never loses a record that was reported as written.

use crate::{Error, Result};
use nasarena_results::{read_journal, Header, HeaderLine, Journal, Record};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// When appended records are made durable (fsync).
///
/// `per_record` (the default) is the crash-safety rule: a record reported
/// as written survives a power loss. `run_end` writes every record at once
/// (one `write` call, so a killed process still leaves at most one torn
/// line and resume works) but fsyncs only with the final record; a power
/// loss or OS crash may lose the tail of an unfinished run, which resume
/// then recomputes. Meant for table runs, whose trials take microseconds
/// and whose per-record fsync would otherwise dominate the run time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalSync {
    /// fsync after every record.
    #[default]
    PerRecord,
    /// fsync after the final record only.
    RunEnd,
}

/// An open journal that records are appended to.
#[derive(Debug)]
pub struct JournalWriter {
    path: PathBuf,
    file: File,
    sync: JournalSync,
}

/// Maps an I/O error on `path` to [`Error::Io`].
pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl JournalWriter {
    /// Creates a new journal (failing if one exists) and writes the header.
    /// The header goes to a temporary file renamed into place, so a journal
    /// either has a complete header or does not exist.
    pub fn create(path: &Path, header: &Header) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let tmp = path.with_extension("jsonl.tmp");
        {
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            write_line(&mut f, &HeaderLine::Header(header.clone()), &tmp, true)?;
        }
        std::fs::rename(&tmp, path).map_err(io(path))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io(path))?;
        Ok(JournalWriter {
            path: path.to_path_buf(),
            file,
            sync: JournalSync::PerRecord,
        })
    }

    /// Reopens an existing journal for appending, after reading it. A torn
    /// last line (a kill mid-write) is cut off with a warning on stderr.
    pub fn reopen(path: &Path) -> Result<(Self, Journal)> {
        let journal = read_journal(path)?;
        if let Some(bytes) = journal.torn_tail {
            let len = std::fs::metadata(path).map_err(io(path))?.len();
            eprintln!(
                "warning: {}: discarding a torn last line ({bytes} bytes) left by an interrupted write",
                path.display()
            );
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io(path))?;
            f.set_len(len - bytes as u64).map_err(io(path))?;
            f.sync_all().map_err(io(path))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io(path))?;
        Ok((
            JournalWriter {
                path: path.to_path_buf(),
                file,
                sync: JournalSync::PerRecord,
            },
            journal,
        ))
    }

    /// The same writer with another durability policy.
    pub fn with_sync(mut self, sync: JournalSync) -> Self {
        self.sync = sync;
        self
    }

    /// Appends one record and, unless the policy is `run_end` and this is
    /// not the final record, makes it durable before returning.
    pub fn append(&mut self, record: &Record) -> Result<()> {
        let durable = self.sync == JournalSync::PerRecord || matches!(record, Record::Final(_));
        write_line(&mut self.file, record, &self.path, durable)
    }

    /// Makes everything appended so far durable (a run stopping early
    /// under the `run_end` policy).
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(io(&self.path))
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn write_line<T: Serialize>(file: &mut File, value: &T, path: &Path, durable: bool) -> Result<()> {
    let mut line = serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))?;
    line.push('\n');
    // One write call per record: a kill leaves at most one torn line.
    file.write_all(line.as_bytes()).map_err(io(path))?;
    if durable {
        file.sync_data().map_err(io(path))?;
    }
    Ok(())
}
