//! Structural checks of a table's header and body, shared by the decoder
//! and the reader.

use super::table::{Table, TableHeader, VALUES};
use crate::{Error, Result};
use std::path::Path;

/// A table error naming the file.
pub(super) fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Table {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Structural checks of a header.
pub fn validate_header(h: &TableHeader, path: &Path) -> Result<()> {
    if h.decisions == 0 || h.seeds == 0 || h.fidelities.is_empty() {
        return Err(bad(
            path,
            "the header declares no decisions, seeds or fidelities",
        ));
    }
    if h.fidelities.windows(2).any(|w| w[0] >= w[1]) || h.fidelities[0] == 0 {
        return Err(bad(
            path,
            format!(
                "fidelities {:?} must be positive and strictly increasing",
                h.fidelities
            ),
        ));
    }
    let every_epoch = h.fidelities.iter().enumerate().all(|(k, &f)| f == k + 1);
    if h.recorded.device_seconds && !every_epoch {
        return Err(bad(
            path,
            "a table with device times must record every epoch from 1",
        ));
    }
    if h.settings.schedule.epochs != *h.fidelities.last().unwrap_or(&0) {
        return Err(bad(
            path,
            "settings.schedule.epochs must be the largest fidelity",
        ));
    }
    Ok(())
}

/// Structural checks of the entries: sorted and unique, canonical links
/// pointing at entries that are their own representatives, accuracies in
/// [0, 1] or NaN, times non-negative.
pub fn validate_body(t: &Table, path: &Path) -> Result<()> {
    for i in 1..t.len() {
        if t.choices_of(i - 1) >= t.choices_of(i) {
            return Err(bad(
                path,
                format!("entry {i} is out of order or duplicated"),
            ));
        }
    }
    for i in 0..t.len() {
        let c = t.canonical[i] as usize;
        if c >= t.len() || t.canonical[c] as usize != c {
            return Err(bad(
                path,
                format!("entry {i}: its canonical link {c} is not a class representative"),
            ));
        }
    }
    let n = t.header.seeds * t.header.fidelities.len();
    for (k, v) in t.values.chunks_exact(VALUES).enumerate() {
        let acc_ok = |x: f32| x.is_nan() || (0.0..=1.0).contains(&x);
        if !acc_ok(v[0]) || !acc_ok(v[2]) || v[4] < 0.0 {
            return Err(bad(
                path,
                format!("entry {}: values {v:?} out of range", k / n),
            ));
        }
    }
    Ok(())
}
