//! The summary as pretty-printed JSON, and reading it back: the stable
//! artifact a CI job commits as its baseline for `compare`.

use crate::summary::{Summary, SUMMARY_FORMAT, SUMMARY_VERSION};
use crate::{Error, Result};
use std::path::Path;

/// Renders the summary (ends with a newline).
pub fn render(s: &Summary) -> String {
    // Serialising plain structs of numbers and strings cannot fail; keep a
    // readable fallback rather than a panic all the same.
    match serde_json::to_string_pretty(s) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        Err(e) => format!("{{\"error\": \"{e}\"}}\n"),
    }
}

/// Reads a summary written by [`render`], checking its format and version.
pub fn read(path: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let bad = |reason: String| Error::Summary {
        path: path.to_path_buf(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(SUMMARY_FORMAT) {
        return Err(bad(format!(
            "no \"format\": \"{SUMMARY_FORMAT}\" field; write one with `nasarena report RUNS --format json`"
        )));
    }
    let version = value.get("version").and_then(|v| v.as_u64());
    if version != Some(u64::from(SUMMARY_VERSION)) {
        return Err(bad(format!(
            "summary version {version:?}, this build reads version {SUMMARY_VERSION}"
        )));
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}
