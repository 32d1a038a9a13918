//! A class-balanced training-samples limit: small runs (tests, the main
//! job's bundled subset, table builds) train on the same number of images
//! from every class, chosen by a seeded shuffle.

use crate::{Dataset, ImageDataset, Result};
use nasarena_core::Seed;
use rand::seq::SliceRandom;

/// At most `limit` samples of `data`, the same number from every class
/// (as far as classes allow), chosen by a seeded shuffle; original order.
pub fn stratified_limit(data: &ImageDataset, limit: usize, seed: Seed) -> Result<ImageDataset> {
    if limit >= data.len() {
        return Ok(data.clone());
    }
    let mut by_class = vec![Vec::new(); data.num_classes()];
    for (i, &l) in data.labels().iter().enumerate() {
        by_class[usize::from(l)].push(i);
    }
    for (c, members) in by_class.iter_mut().enumerate() {
        members.shuffle(&mut seed.derive("train-limit", c as u64).rng());
    }
    let mut chosen = Vec::with_capacity(limit);
    let mut round = 0;
    while chosen.len() < limit {
        let before = chosen.len();
        for members in &by_class {
            if chosen.len() < limit {
                if let Some(&i) = members.get(round) {
                    chosen.push(i);
                }
            }
        }
        if chosen.len() == before {
            break;
        }
        round += 1;
    }
    chosen.sort_unstable();
    data.subset(&chosen, data.name().to_string())
}
