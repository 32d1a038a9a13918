//! A table's test accuracies by genotype string, for what reports derive
//! from journals: the test accuracy of the architecture a run would have
//! returned at any point (NAS-Bench-201, Dong & Yang 2020, scores every
//! search this way) and the best the table holds, the target of
//! cost-to-target.

use super::table::Table;
use crate::{Error, Result};
use nasarena_spaces::{build_space, Realize, SpaceOptions};
use std::path::Path;

/// Test accuracies of one table at one fidelity.
pub struct TableScores<'a> {
    table: &'a Table,
    space: Box<dyn Realize>,
    fidelity: usize,
}

impl std::fmt::Debug for TableScores<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableScores")
            .field("table", self.table)
            .field("fidelity", &self.fidelity)
            .finish_non_exhaustive()
    }
}

impl<'a> TableScores<'a> {
    /// The scores of `table` (read from `path`) after `epochs` epochs.
    pub fn new(table: &'a Table, path: &Path, epochs: usize) -> Result<Self> {
        let h = table.header();
        let fidelity = table.fidelity_index(epochs).ok_or_else(|| Error::Table {
            path: path.to_path_buf(),
            reason: format!(
                "no results at {epochs} epochs (it records {:?})",
                h.fidelities
            ),
        })?;
        let options = SpaceOptions::from_pairs(&h.space, h.space_options.clone());
        let space = build_space(&h.space, options)?;
        Ok(TableScores {
            table,
            space,
            fidelity,
        })
    }

    fn entry_accuracy(&self, i: usize) -> Option<f64> {
        // Mean over the table's seeds: the expected test accuracy.
        let tests: Vec<f64> = (0..self.table.header().seeds)
            .map(|s| self.table.values(i, s, self.fidelity).test_accuracy)
            .filter(|v| v.is_finite())
            .collect();
        (!tests.is_empty()).then(|| tests.iter().sum::<f64>() / tests.len() as f64)
    }

    /// Test accuracy in [0, 1] of the architecture `genotype` (or its
    /// canonical form); `None` when it does not parse, is not in the
    /// table, or its training failed.
    pub fn test_accuracy(&self, genotype: &str) -> Option<f64> {
        let arch = self.space.parse(genotype).ok()?;
        let i = self
            .table
            .find(arch.choices())
            .or_else(|| self.table.find(self.space.canonical(&arch).choices()))?;
        self.entry_accuracy(i)
    }

    /// The best test accuracy in the table, in [0, 1].
    pub fn best(&self) -> Option<f64> {
        (0..self.table.len())
            .filter_map(|i| self.entry_accuracy(i))
            .max_by(f64::total_cmp)
    }
}
