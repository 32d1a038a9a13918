//! A table an experiment evaluates on, as the planner loaded and checked it.

use super::table::Table;
use crate::journal::JournalSync;
use std::path::PathBuf;

/// A table an experiment evaluates on, loaded and checked by the planner.
#[derive(Clone, Debug)]
pub struct TableSource {
    /// Where it was read from.
    pub path: PathBuf,
    /// The path as the experiment writes it: journals record this one, so
    /// a journal does not depend on the folder a run was started from.
    pub written: PathBuf,
    /// The table.
    pub table: Table,
    /// Journal durability for runs on it.
    pub sync: JournalSync,
}
