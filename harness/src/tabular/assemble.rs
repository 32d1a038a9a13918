//! Assembling a table from trained or imported entries: sorted, linked to
//! canonical representatives, and encoded once so its checksum is that of
//! the file it will be written as.

use super::format;
use super::table::{EntryData, Table, TableHeader, VALUES};

impl Table {
    /// Builds a table from entries (any order), encoding it once to fix
    /// its checksum. Fails when entries are duplicated, a canonical
    /// representative is missing, or shapes disagree with the header.
    pub fn from_entries(
        mut header: TableHeader,
        mut entries: Vec<EntryData>,
    ) -> crate::Result<Table> {
        let bad = |reason: String| crate::Error::Table {
            path: "(new table)".into(),
            reason,
        };
        entries.sort_by(|a, b| a.arch.cmp(&b.arch));
        header.entries = entries.len();
        let d = header.decisions;
        let per_entry = header.seeds * header.fidelities.len() * VALUES;
        let mut t = Table {
            choices: Vec::with_capacity(entries.len() * d),
            canonical: Vec::with_capacity(entries.len()),
            macs: Vec::with_capacity(entries.len()),
            params: Vec::with_capacity(entries.len()),
            values: Vec::with_capacity(entries.len() * per_entry),
            header,
            checksum: String::new(),
        };
        for e in &entries {
            if e.arch.len() != d {
                return Err(bad(format!(
                    "entry {:?} has {} decisions, the table {d}",
                    e.arch.choices(),
                    e.arch.len()
                )));
            }
            for &c in e.arch.choices() {
                t.choices.push(u16::try_from(c).map_err(|_| {
                    bad(format!(
                        "choice {c} does not fit the format (at most 65,535)"
                    ))
                })?);
            }
            t.macs.push(e.macs);
            t.params.push(e.params);
            if e.values.len() != t.header.seeds
                || e.values
                    .iter()
                    .any(|s| s.len() != t.header.fidelities.len())
            {
                return Err(bad(format!(
                    "entry {:?}: values for {} seeds, expected {} seeds x {} fidelities",
                    e.arch.choices(),
                    e.values.len(),
                    t.header.seeds,
                    t.header.fidelities.len()
                )));
            }
            for v in e.values.iter().flatten() {
                t.values.extend_from_slice(&v.to_array());
            }
        }
        for e in &entries {
            let rep = t.find(e.canonical.choices()).ok_or_else(|| {
                bad(format!(
                    "the canonical form {:?} of {:?} is not in the table",
                    e.canonical.choices(),
                    e.arch.choices()
                ))
            })?;
            t.canonical.push(rep as u32);
        }
        let bytes = format::encode(&t)?;
        t = format::decode(&bytes, std::path::Path::new("(new table)"))?;
        Ok(t)
    }
}
