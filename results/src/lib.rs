//! nasarena-results: the journal record schema, and tables, statistics and
//! regression comparisons derived from journals (pure functions over files
//! the harness wrote).

pub mod anytime_svg;
pub mod budget_curve;
mod error;
pub mod journal;
pub mod record;
pub mod table;

pub use error::{Error, Result};
pub use journal::{find_journals, read_journal, Journal};
pub use record::{
    DatasetInfo, DeriveRecord, EpochRecord, FinalRecord, Header, HeaderLine, Incumbent, Record,
    ScoredArch, TrialRecord, SCHEMA_VERSION,
};
