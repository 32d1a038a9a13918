//! Reading and writing table files, with every check a search relies on:
//! the file's integrity (see [`super::format`]), its structure (entries
//! sorted and unique, canonical links valid, accuracies in [0, 1]), and
//! that it was built for the space, options and dataset an experiment
//! names. Every error says which file and what to do.

use super::format;
use super::table::Table;
use super::validate::bad;
use crate::{Error, Result};
use nasarena_core::SearchSpace;
use std::collections::BTreeMap;
use std::path::Path;

/// Reads and validates a table file.
pub fn open(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    format::decode(&bytes, path)
}

/// Writes a table atomically (temporary file, fsync, rename); returns the
/// number of bytes written.
pub fn write(table: &Table, path: &Path) -> Result<u64> {
    let bytes = format::encode(table)?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(bytes.len() as u64)
}

/// Options as `k=v, ...` for messages.
fn show(options: &BTreeMap<String, String>) -> String {
    options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Table {
    /// Problems (as `(key, message)`) when this table cannot stand in for
    /// training `space_name` with `options` on `dataset`.
    pub fn mismatches(
        &self,
        space_name: &str,
        options: &BTreeMap<String, String>,
        dataset: &str,
    ) -> Vec<(&'static str, String)> {
        let h = &self.header;
        let mut out = Vec::new();
        if h.space != space_name {
            out.push((
                "space",
                format!("the table is for space `{}`, not `{space_name}`", h.space),
            ));
        } else if &h.space_options != options {
            out.push((
                "space.options",
                format!(
                    "the table was built with options {{{}}}, the experiment gives {{{}}}; write the table's options out in full",
                    show(&h.space_options),
                    show(options)
                ),
            ));
        }
        if h.dataset != dataset {
            out.push((
                "dataset.name",
                format!("the table is for dataset `{}`, not `{dataset}`", h.dataset),
            ));
        }
        out
    }

    /// Checks that every entry is a valid architecture of `space` and that
    /// canonical links agree with the space's canonical form.
    pub fn check_space(&self, space: &dyn SearchSpace, path: &Path) -> Result<()> {
        if space.decisions().len() != self.header.decisions {
            return Err(bad(
                path,
                format!(
                    "the table has {} decisions per architecture, space `{}` has {}",
                    self.header.decisions,
                    space.name(),
                    space.decisions().len()
                ),
            ));
        }
        for i in 0..self.len() {
            let arch = self.arch(i);
            space
                .check(&arch)
                .map_err(|e| bad(path, format!("entry {i}: {e}")))?;
            let rep = self.arch(self.canonical_of(i));
            if space.canonical(&arch) != rep {
                return Err(bad(path, format!("entry {i} ({}): its canonical link {} disagrees with the space's canonical form", space.format(&arch), space.format(&rep))));
            }
        }
        Ok(())
    }
}
