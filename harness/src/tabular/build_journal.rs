//! The append-only progress file of `nasarena tabulate build`, kept next
//! to the output as `TABLE.journal`: one JSON line with the build settings,
//! then one line per finished architecture, each written and fsynced before
//! the next architecture starts. A build killed at any moment loses at most
//! the architecture in training; `--resume` drops a torn last line, checks
//! that the settings are the same, and skips the architectures recorded.

use super::shard::{BuildSettings, Shard};
use super::table::VALUES;
use crate::journal::io;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first line of a build journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalHead {
    /// What is being built.
    pub settings: BuildSettings,
    /// Which part of the space this build trains.
    pub shard: Shard,
}

/// One finished architecture. Values are stored as f32 (what the table
/// holds), `null` where not recorded (a failed training's later epochs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// The architecture's choices.
    pub arch: Vec<u32>,
    /// Its genotype, for people reading the file.
    pub genotype: String,
    /// MACs, batch 1.
    pub macs: u64,
    /// Trainable parameters.
    pub params: u64,
    /// `values[seed][epoch]` = [val acc, val loss, test acc, train loss,
    /// device seconds].
    pub values: Vec<Vec<[Option<f32>; VALUES]>>,
    /// Why training failed, per seed (`None` when it did not).
    pub failures: Vec<Option<String>>,
}

/// The journal path of an output table.
pub fn journal_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// An open journal, appending.
#[derive(Debug)]
pub struct BuildJournal {
    path: PathBuf,
    file: File,
}

fn mismatch(path: &Path, reason: String) -> Error {
    Error::JournalMismatch {
        path: path.to_path_buf(),
        reason,
    }
}

impl BuildJournal {
    /// Starts a new journal (refusing to overwrite one).
    pub fn create(path: &Path, head: &JournalHead) -> Result<Self> {
        if path.exists() {
            return Err(mismatch(
                path,
                "a build journal already exists here: pass --resume to continue that build, or delete it to start over".into(),
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)
            .map_err(io(path))?;
        let mut j = BuildJournal {
            path: path.to_path_buf(),
            file,
        };
        j.append_line(&serde_json::to_string(head).map_err(internal)?)?;
        Ok(j)
    }

    /// Reopens a journal for `--resume`: checks its settings against
    /// `head`, drops a torn last line, and returns the recorded entries.
    pub fn resume(path: &Path, head: &JournalHead) -> Result<(Self, Vec<JournalEntry>)> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let (entries, good_len) = parse(path, &text, head)?;
        if good_len < text.len() {
            eprintln!(
                "{}: dropping a torn last line ({} bytes) left by an interrupted write",
                path.display(),
                text.len() - good_len
            );
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io(path))?;
            f.set_len(good_len as u64).map_err(io(path))?;
            f.sync_all().map_err(io(path))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io(path))?;
        Ok((
            BuildJournal {
                path: path.to_path_buf(),
                file,
            },
            entries,
        ))
    }

    /// Appends one finished architecture, durably.
    pub fn append(&mut self, entry: &JournalEntry) -> Result<()> {
        self.append_line(&serde_json::to_string(entry).map_err(internal)?)
    }

    fn append_line(&mut self, line: &str) -> Result<()> {
        let path = self.path.clone();
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .map_err(io(&path))?;
        self.file.sync_data().map_err(io(&path))
    }
}

fn internal(e: serde_json::Error) -> Error {
    Error::Internal(e.to_string())
}

/// Entries of a journal and the length of its intact prefix. Only the last
/// line may be torn (no newline, or not valid JSON); a bad line before it
/// means the file was damaged, which is an error naming the line.
fn parse(path: &Path, text: &str, want: &JournalHead) -> Result<(Vec<JournalEntry>, usize)> {
    let mut good_len = 0usize;
    let mut entries = Vec::new();
    let mut lines = text.split_inclusive('\n').enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let last = lines.peek().is_none();
        let complete = line.ends_with('\n');
        if n == 0 {
            let head: JournalHead = serde_json::from_str(line.trim_end())
                .ok()
                .filter(|_| complete)
                .ok_or_else(|| {
                    mismatch(path, "the first line is not a build journal header; delete the file to start over".into())
                })?;
            check_head(path, &head, want)?;
        } else {
            match serde_json::from_str::<JournalEntry>(line.trim_end()) {
                Ok(e) if complete => entries.push(e),
                // Only the last line can lack its newline: a torn write.
                Ok(_) => break,
                Err(_) if last => break,
                Err(e) => {
                    return Err(mismatch(
                        path,
                        format!(
                            "line {} is damaged ({e}); delete the file to start over",
                            n + 1
                        ),
                    ))
                }
            }
        }
        good_len += line.len();
    }
    if good_len == 0 {
        return Err(mismatch(
            path,
            "the journal is empty; delete it to start over".into(),
        ));
    }
    Ok((entries, good_len))
}

fn check_head(path: &Path, got: &JournalHead, want: &JournalHead) -> Result<()> {
    if got.shard != want.shard {
        return Err(mismatch(
            path,
            format!(
                "this journal builds shard {}, not {}",
                got.shard, want.shard
            ),
        ));
    }
    if let Some((key, was, now)) = got.settings.first_difference(&want.settings) {
        return Err(mismatch(
            path,
            format!("--resume with different settings: `{key}` was {was} in the journal, {now} now; resume with the same arguments or delete the journal"),
        ));
    }
    Ok(())
}
