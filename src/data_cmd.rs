//! `nasarena data list`, `nasarena data check PATH` and `nasarena data
//! scenes` (writes the Fashion-MNIST scenes segmentation dataset).

use anyhow::{Context, Result};
use clap::Subcommand;
use nasarena_datasets::{check_path, data_dir_from_env, list_available, locate::DATA_DIR_ENV};
use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// Write Fashion-MNIST scenes (a segmentation dataset made from the
    /// real Fashion-MNIST images, deterministic) in the Cityscapes layout.
    Scenes {
        /// The output folder (leftImg8bit/, gtFine/, classes.txt, SHA256SUMS).
        #[arg(long)]
        out: PathBuf,
        /// Scenes per split: train, val, test.
        #[arg(long, value_delimiter = ',', default_value = "50000,10000,10000")]
        counts: Vec<usize>,
        /// Canvas side in pixels.
        #[arg(long, default_value_t = 64)]
        canvas: usize,
        /// The source dataset (default: the full Fashion-MNIST from Debian's
        /// `dataset-fashion-mnist` or the data folder).
        #[arg(long, default_value = "fashion-mnist")]
        source: String,
        /// Seeds every scene.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

/// Runs one `data` action, printing to stdout.
pub fn run(action: DataAction) -> Result<()> {
    let text = match action {
        DataAction::List { data_dir } => list_text(data_dir)?,
        DataAction::Check { path } => check_path(&path)
            .with_context(|| format!("checking {}", path.display()))?
            .to_string(),
        DataAction::Scenes {
            out,
            counts,
            canvas,
            source,
            seed,
        } => scenes_text(&out, &counts, canvas, &source, seed)?,
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

fn scenes_text(
    out: &Path,
    counts: &[usize],
    canvas: usize,
    source: &str,
    seed: u64,
) -> Result<String> {
    use nasarena_datasets::segmentation::scenes::{write_scenes, ScenesConfig};
    let [train, val, test] = counts[..] else {
        anyhow::bail!("--counts takes three numbers: train,val,test");
    };
    if out.exists() && std::fs::read_dir(out).map_or(true, |mut d| d.next().is_some()) {
        anyhow::bail!(
            "--out {}: the folder exists and is not empty; choose a new one",
            out.display()
        );
    }
    let data = nasarena_datasets::load_named(source, None)
        .with_context(|| format!("loading the source dataset `{source}`"))?;
    let cfg = ScenesConfig {
        canvas,
        seed,
        ..ScenesConfig::default()
    };
    let sums = write_scenes(out, &data, [train, val, test], &cfg)
        .with_context(|| format!("writing scenes to {}", out.display()))?;
    let files = sums.lines().count();
    Ok(format!(
        "wrote {train} train, {val} val and {test} test scenes ({canvas}x{canvas}, from `{source}`, seed {seed}) to {} in the Cityscapes layout: {files} files, checksums in SHA256SUMS\n",
        out.display()
    ))
}
