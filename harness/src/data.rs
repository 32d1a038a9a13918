//! Data preparation shared by runs and table builds: the validation part
//! carved from the training set and a class-balanced training limit, both
//! seeded, so every strategy of one repetition sees the same split.

use crate::Result;
use nasarena_core::Seed;
use nasarena_datasets::{split, stratified_limit, Normalization, Splits, TrainTest};

/// Carves the validation part from the training set and applies a
/// training-samples limit, all seeded by `seed` (the repetition's seed in a
/// run, the build seed of a table).
pub fn prepare_splits(
    data: &TrainTest,
    val_fraction: f64,
    train_limit: Option<usize>,
    seed: Seed,
) -> Result<Splits> {
    let mut s = split(
        &data.train,
        data.test.clone(),
        val_fraction,
        seed.derive("split", 0),
    )?;
    if let Some(limit) = train_limit {
        s.train = stratified_limit(&s.train, limit, seed.derive("split", 1))?;
        s.norm = Normalization::of(&s.train);
    }
    Ok(s)
}
