//! Reading journals back: header, records, and a torn last line.

use crate::record::{Header, HeaderLine, Record, SCHEMA_VERSION};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// A parsed journal.
#[derive(Clone, Debug)]
pub struct Journal {
    /// Where it was read from.
    pub path: PathBuf,
    /// The provenance header.
    pub header: Header,
    /// The records after the header, in order.
    pub records: Vec<Record>,
    /// Bytes of a torn (incomplete, unparsable) last line, if any: the
    /// process was killed mid-write. Never kept as data.
    pub torn_tail: Option<usize>,
}

impl Journal {
    /// The final record, if the run finished.
    pub fn final_record(&self) -> Option<&crate::record::FinalRecord> {
        self.records.iter().rev().find_map(|r| match r {
            Record::Final(f) => Some(f),
            _ => None,
        })
    }

    /// Byte length of the valid prefix (header and complete records).
    pub fn valid_len(text: &str) -> usize {
        match text.rfind('\n') {
            Some(i) => i + 1,
            None => 0,
        }
    }
}

/// Reads a journal. A last line without a newline that does not parse is
/// reported in `torn_tail`; any other unparsable line is an error naming the
/// file and line.
pub fn read_journal(path: &Path) -> Result<Journal> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let valid = Journal::valid_len(&text);
    let torn_tail = (valid < text.len()).then(|| text.len() - valid);
    let mut lines = text[..valid].lines().enumerate();
    let header = match lines.next() {
        Some((_, line)) => parse_header(path, line)?,
        None => {
            return Err(Error::Journal {
                path: path.to_path_buf(),
                reason: "empty journal: no header line".into(),
            })
        }
    };
    let mut records = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let record =
            serde_json::from_str::<Record>(line).map_err(|e| Error::parse(path, i + 1, e))?;
        records.push(record);
    }
    Ok(Journal {
        path: path.to_path_buf(),
        header,
        records,
        torn_tail,
    })
}

/// The header line: a record of another kind (the header is missing) or of
/// another schema version is named as such, before strict parsing.
fn parse_header(path: &Path, line: &str) -> Result<Header> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| Error::parse(path, 1, e))?;
    let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if kind != "header" {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line: 1,
            reason: format!(
                "missing header: the first line is {} instead of the provenance header",
                if kind.is_empty() {
                    "not a record".to_string()
                } else {
                    format!("a `{kind}` record")
                }
            ),
        });
    }
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(SCHEMA_VERSION)) {
        return Err(Error::Schema {
            path: path.to_path_buf(),
            found: version.map_or("none".to_string(), |v| v.to_string()),
            expected: SCHEMA_VERSION,
        });
    }
    match serde_json::from_value::<HeaderLine>(value) {
        Ok(HeaderLine::Header(h)) => Ok(h),
        Err(e) => Err(Error::parse(path, 1, e)),
    }
}

/// Every `*.jsonl` journal below `dir`, sorted by path.
pub fn find_journals(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::Io {
            path: d.clone(),
            source: e,
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
