//! `nasarena export RUN_JOURNAL --out DIR`: the trained network of a
//! finished run as safetensors, an architecture description and a README
//! (all logic in `nasarena_harness::export`).

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// The arguments of `nasarena export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run's journal (e.g. runs/default/cell-.../random/seed-0.jsonl);
    /// its weights file lies next to it.
    pub journal: PathBuf,
    /// The folder to write model.safetensors, architecture.json and README.md to.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs `nasarena export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let done = nasarena_harness::export::export(&args.journal, &args.out)?;
    let acc = done
        .test_accuracy
        .map_or("no test accuracy".to_string(), |a| {
            format!("test accuracy {:.2}%", 100.0 * a)
        });
    println!("exported {} ({acc})", done.arch);
    for f in &done.files {
        println!("  {}", f.display());
    }
    Ok(())
}
