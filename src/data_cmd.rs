//! `nasarena data list` and `nasarena data check PATH`.

use anyhow::{Context, Result};
use clap::Subcommand;
use nasarena_datasets::{check_path, data_dir_from_env, list_available, locate::DATA_DIR_ENV};
use std::io::Write;
use std::path::PathBuf;

/// The `data` subcommands. (Defined here, next to the code that runs them,
/// so this module never reaches back into `main.rs`.)
#[derive(Debug, Subcommand)]
pub enum DataAction {
    /// List the datasets nasarena can find and where.
    List,
    /// Check a dataset file or folder: format, counts, class balance, checksum.
    Check {
        /// The file or folder to check.
        path: PathBuf,
    },
}

/// Runs one `data` action, printing to stdout.
pub fn run(action: DataAction) -> Result<()> {
    let text = match action {
        DataAction::List => list_text(),
        DataAction::Check { path } => check_path(&path)
            .with_context(|| format!("checking {}", path.display()))?
            .to_string(),
    };
    // A closed pipe (`nasarena data check X | head`) is not an error.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn list_text() -> String {
    let dir = data_dir_from_env();
    let mut out = format!("{:<22} {:<14} location\n", "name", "format");
    for entry in list_available(dir.as_deref()) {
        out.push_str(&format!("{entry}\n"));
    }
    match dir {
        Some(d) => out.push_str(&format!(
            "\ndata folder ({DATA_DIR_ENV}): {}\n",
            d.display()
        )),
        None => out.push_str(&format!(
            "\nno data folder set; set {DATA_DIR_ENV} to search one\n"
        )),
    }
    out
}
