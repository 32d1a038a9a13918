//! A table an experiment evaluates on, as the planner loaded and checked it.

use super::table::Table;
use crate::journal::JournalSync;
use std::path::PathBuf;

/// A table an experiment evaluates on, loaded and checked by the planner.
#[derive(Clone, Debug)]
pub struct TableSource {
    /// Where it was read from.
    pub path: PathBuf,
    /// The table.
    pub table: Table,
    /// Journal durability for runs on it.
    pub sync: JournalSync,
}
