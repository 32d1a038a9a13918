//! Joining the shards of a sharded `tabulate build` into one table. The
//! shards must have been built with the same settings (everything in the
//! header but provenance, entry counts and the machine calibration), must
//! be the parts `1/n` .. `n/n` of one split, must not overlap, and together
//! must hold every canonical architecture of the space; every refusal names
//! the file and the setting or architecture at fault.

use super::shard::{canonical_archs, Shard};
use super::table::{first_difference, Table};
use crate::{Error, Result};
use nasarena_spaces::{build_space, SpaceOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn bad(path: &Path, reason: String) -> Error {
    Error::Table {
        path: path.to_path_buf(),
        reason,
    }
}

/// What shards must agree on, in the order a difference is reported: the
/// build settings first, then what follows from them (the header's other
/// fields, the data checksum), so the message names the cause.
fn settings_of(t: &Table) -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let h = t.header();
    let s = &h.settings;
    let prov = |k: &str| json!(h.provenance.get(k));
    vec![
        ("space", json!(h.space)),
        ("space_options", json!(h.space_options)),
        ("dataset", json!(h.dataset)),
        ("val_fraction", json!(s.val_fraction)),
        ("train_limit", json!(s.train_limit)),
        (
            "schedule",
            serde_json::to_value(&s.schedule).unwrap_or_default(),
        ),
        ("seeds", json!(h.seeds)),
        ("seed", prov("seed")),
        ("fidelities", json!(h.fidelities)),
        ("decisions", json!(h.decisions)),
        (
            "recorded",
            serde_json::to_value(h.recorded).unwrap_or_default(),
        ),
        ("splits", json!(s.splits)),
        ("note", json!(s.note)),
        ("cost_note", json!(h.cost_note)),
        ("data_checksum", prov("data_checksum")),
    ]
}

fn settings_difference(a: &Table, b: &Table) -> Option<(String, String, String)> {
    settings_of(a)
        .iter()
        .zip(settings_of(b))
        .find_map(|((key, x), (_, y))| first_difference(key, x, &y))
}

fn shard_of(path: &Path, t: &Table) -> Result<Shard> {
    let text = t.header().provenance.get("shard").ok_or_else(|| {
        bad(
            path,
            "not a shard (its provenance has no `shard`; build shards with `tabulate build --shard i/n`)".into(),
        )
    })?;
    Shard::parse(text).map_err(|e| bad(path, format!("provenance `shard`: {e}")))
}

/// Merges shard tables (path, table) into the table a single build makes.
pub fn merge(parts: &[(PathBuf, Table)]) -> Result<Table> {
    let Some((first_path, first)) = parts.first() else {
        return Err(Error::BadSetting {
            setting: "tabulate merge".into(),
            reason: "no shard tables given: name at least one table to merge".into(),
        });
    };
    let mut seen: BTreeMap<usize, &Path> = BTreeMap::new();
    let count = shard_of(first_path, first)?.count;
    for (path, t) in parts {
        if let Some((key, was, now)) = settings_difference(first, t) {
            return Err(bad(
                path,
                format!(
                    "built with different settings than {}: `{key}` is {now} here, {was} there",
                    first_path.display()
                ),
            ));
        }
        let shard = shard_of(path, t)?;
        if shard.count != count {
            return Err(bad(
                path,
                format!(
                    "shard {shard} of a {}-way split, but {} is a shard of a {count}-way split",
                    shard.count,
                    first_path.display()
                ),
            ));
        }
        if let Some(other) = seen.insert(shard.index, path) {
            return Err(bad(
                path,
                format!("shard {shard} is given twice (also {})", other.display()),
            ));
        }
    }
    if let Some(missing) = (1..=count).find(|i| !seen.contains_key(i)) {
        return Err(bad(
            first_path,
            format!("shard {missing}/{count} is missing from the merge"),
        ));
    }
    let mut entries = Vec::new();
    let mut owner: BTreeMap<Vec<u32>, &Path> = BTreeMap::new();
    for (path, t) in parts {
        for i in 0..t.len() {
            let e = t.entry(i);
            if let Some(other) = owner.insert(e.arch.choices().to_vec(), path) {
                return Err(bad(
                    path,
                    format!(
                        "architecture {:?} is also in {}: the shards overlap",
                        e.arch.choices(),
                        other.display()
                    ),
                ));
            }
            entries.push(e);
        }
    }
    let h = first.header();
    let space = build_space(
        &h.space,
        SpaceOptions::from_pairs(&h.space, h.space_options.clone()),
    )?;
    let all = canonical_archs(space.as_ref())?;
    if let Some(gap) = all.iter().find(|a| !owner.contains_key(a.choices())) {
        return Err(bad(
            first_path,
            format!(
                "the shards hold {} of the {} canonical architectures; missing e.g. {}",
                owner.len(),
                all.len(),
                space.format(gap)
            ),
        ));
    }
    let mut header = h.clone();
    header.provenance.remove("shard");
    header
        .provenance
        .insert("merged_from".into(), format!("{count} shards"));
    let calibrations: Vec<f64> = parts
        .iter()
        .filter_map(|(_, t)| t.header().calibration_seconds)
        .collect();
    header.calibration_seconds = (!calibrations.is_empty())
        .then(|| calibrations.iter().sum::<f64>() / calibrations.len() as f64);
    Table::from_entries(header, entries)
}
