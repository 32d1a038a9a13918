//! Tabular benchmarks: every architecture of a (small) space trained once
//! and its results stored, so that a black-box search can be replayed in
//! milliseconds by looking evaluations up instead of training
//! (NAS-Bench-101, Ying et al. 2019; NAS-Bench-201, Dong & Yang 2020).
//!
//! A [`Table`] holds, per architecture: its choices, the entry of its
//! canonical class (isomorphic cells share one), MACs and parameters, and
//! per seed and recorded fidelity (epochs): validation accuracy and loss,
//! test accuracy, training loss and device seconds of that epoch. Values a
//! source does not record (an imported table has no times or losses) are
//! NaN in memory and declared in the header ([`TableHeader::recorded`]).
//! The file format is in [`format`], validation in [`reader`], the
//! NAS-Bench-201 CSV importer in [`import_nb201`], the images a built
//! table was trained on (for one-shot searches scored on it) in [`images`],
//! test accuracies by genotype for reports in [`scores`], the check that a
//! built table ranks as a longer schedule does in [`rank_check`].

mod assemble;
pub mod build;
pub mod build_journal;
pub mod check;
mod check_journal;
pub mod format;
pub mod images;
pub mod import_nb201;
pub mod merge;
mod nb201_csv;
pub mod rank_check;
pub mod reader;
pub mod retime;
#[cfg(test)]
mod retime_tests;
pub mod scores;
pub mod shard;
pub mod source;
mod table;
#[cfg(test)]
mod tests;
mod validate;

pub use images::table_images;
pub use scores::TableScores;
pub use shard::{canonical_archs, BuildSettings, Shard, MAX_ARCHITECTURES};
pub use source::TableSource;
pub use table::{
    first_difference, EntryData, EpochValues, Recorded, Table, TableHeader, TableSettings, VALUES,
};
