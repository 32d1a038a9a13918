//! What decides a table build's values ([`BuildSettings`]), how a build is
//! split into shards ([`Shard`]), and the architectures a build trains.

use super::table::first_difference;
use crate::trainer::Schedule;
use crate::{Error, Result};
use nasarena_core::{Arch, SearchSpace};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The largest space `tabulate build` enumerates (all architectures, before
/// canonical classes are taken).
pub const MAX_ARCHITECTURES: f64 = 1_000_000.0;

/// Everything that decides a table's values (the journal's header; shards
/// and resumes must agree on all of it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSettings {
    /// Registered space name.
    pub space: String,
    /// Space options as given (experiments on the table give the same).
    pub space_options: BTreeMap<String, String>,
    /// Dataset name (see `nasarena data list`).
    pub dataset: String,
    /// Fraction of the training set held out for validation.
    pub val_fraction: f64,
    /// Training samples limit (stratified), if any.
    pub train_limit: Option<usize>,
    /// The training schedule; every epoch up to `epochs` is recorded.
    pub schedule: Schedule,
    /// Training seeds per architecture.
    pub seeds: usize,
    /// The build seed: the data split and every training seed derive from it.
    pub seed: u64,
}

impl BuildSettings {
    /// The first setting (dotted key) where `self` and `other` differ, with
    /// both values as JSON.
    pub fn first_difference(&self, other: &Self) -> Option<(String, String, String)> {
        let a = serde_json::to_value(self).unwrap_or_default();
        let b = serde_json::to_value(other).unwrap_or_default();
        first_difference("", &a, &b)
    }
}

/// Part `index` (1-based) of `count`: the architectures at positions
/// `index-1, index-1+count, ...` of the sorted canonical list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// 1-based part number.
    pub index: usize,
    /// Number of parts.
    pub count: usize,
}

impl Shard {
    /// The whole space.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Parses `i/n` with 1 <= i <= n.
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(format!(
                "expected `i/n` with 1 <= i <= n (e.g. `2/3`), got `{text}`"
            )),
        }
    }

    /// True when this shard trains the architecture at `position`.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Every canonical architecture of `space`, sorted.
pub fn canonical_archs(space: &dyn SearchSpace) -> Result<Vec<Arch>> {
    let sizes: Vec<u32> = space
        .decisions()
        .iter()
        .map(|d| d.options.len() as u32)
        .collect();
    let total: f64 = sizes.iter().map(|&s| f64::from(s)).product();
    if total > MAX_ARCHITECTURES {
        return Err(Error::BadSetting {
            setting: "--space".into(),
            reason: format!(
            "space `{}` has {total:.3e} architectures; `tabulate build` trains spaces of at most {MAX_ARCHITECTURES:.0} (reduce it with options, e.g. cell's `ops=`)",
            space.name()
        ),
        });
    }
    let mut out = Vec::new();
    let mut choices = vec![0u32; sizes.len()];
    loop {
        let arch = Arch::new(choices.clone());
        if space.canonical(&arch) == arch {
            out.push(arch);
        }
        // Increment the last decision first: archs come out sorted.
        let mut d = sizes.len();
        loop {
            if d == 0 {
                return Ok(out);
            }
            d -= 1;
            choices[d] += 1;
            if choices[d] < sizes[d] {
                break;
            }
            choices[d] = 0;
        }
    }
}
