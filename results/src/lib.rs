//! nasarena-results: the journal record schema, and tables, statistics,
//! plots and regression comparisons derived from journals (pure functions
//! over files the harness wrote).

pub mod anytime_svg;
pub mod budget_curve;
pub mod compare;
pub mod cost_target;
pub mod curve;
mod error;
pub mod families;
pub mod format;
pub mod journal;
pub mod load;
pub mod plot;
pub mod record;
pub mod stats;
pub mod summary;

pub use error::{Error, Result};
pub use journal::{find_journals, read_journal, Journal};
pub use load::{load_runs, Loaded};
pub use record::{
    DatasetInfo, DeriveRecord, EpochRecord, FinalRecord, Header, HeaderLine, Incumbent, Record,
    SavedWeights, ScoreMetric, ScoredArch, SlurmIds, TrialRecord, SCHEMA_VERSION,
};
pub use summary::{summarise, Summary};
