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
    List {
        /// Also search this folder (default: $NASARENA_DATA_DIR).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Check a dataset file or folder: format, counts, class balance, checksum.
    Check {
        /// The file or folder to check.
        path: PathBuf,
    },
}

/// Runs one `data` action, printing to stdout.
pub fn run(action: DataAction) -> Result<()> {
    let text = match action {
        DataAction::List { data_dir } => list_text(data_dir)?,
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

fn list_text(data_dir: Option<PathBuf>) -> Result<String> {
    let given = data_dir.is_some();
    if let Some(d) = data_dir.as_ref().filter(|d| !d.is_dir()) {
        anyhow::bail!("--data-dir {}: no such folder", d.display());
    }
    let dir = data_dir.or_else(data_dir_from_env);
    let mut out = format!("{:<22} {:<14} location\n", "name", "format");
    for entry in list_available(dir.as_deref()) {
        out.push_str(&format!("{entry}\n"));
    }
    let source = if given { "--data-dir" } else { DATA_DIR_ENV };
    match dir {
        Some(d) => out.push_str(&format!("\ndata folder ({source}): {}\n", d.display())),
        None => out.push_str(&format!(
            "\nno data folder set; pass --data-dir or set {DATA_DIR_ENV} to search one\n"
        )),
    }
    Ok(out)
}
