//! `nasarena tabulate rank-check`: does a built table rank architectures
//! as a longer schedule would? (see `nasarena_harness::tabular::rank_check`).

use anyhow::{bail, Context, Result};
use clap::Args;
use nasarena_harness::journal::JournalSync;
use nasarena_harness::tabular::rank_check::{rank_check, RankCheckSettings, RankCheckSummary};
use nasarena_harness::tabular::{reader, TableSource};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RankCheckArgs {
    /// The table (built by `nasarena tabulate build`).
    table: PathBuf,
    /// Architectures to retrain.
    #[arg(long, default_value_t = 40)]
    cells: usize,
    /// The longer schedule's epochs as a multiple of the table's (1: the
    /// table's schedule with another seed, the seed-to-seed agreement).
    #[arg(long, default_value_t = 4)]
    factor: usize,
    /// Seeds the sample and the retraining.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Architectures within this many percentage points of chance
    /// (validation accuracy in the table) are degenerate and not sampled.
    #[arg(long, default_value_t = 2.0)]
    chance_margin: f64,
    /// The progress journal (JSON lines; a rerun resumes it).
    #[arg(long)]
    journal: PathBuf,
    /// Also write the summary as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Worker threads for training (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(a: RankCheckArgs) -> Result<()> {
    crate::tabulate_build_cmd::set_training_threads(a.threads)?;
    if !(a.chance_margin.is_finite() && (0.0..100.0).contains(&a.chance_margin)) {
        bail!(
            "--chance-margin must be a number of points in [0, 100), got {}",
            a.chance_margin
        );
    }
    let table = reader::open(&a.table)?;
    let settings = RankCheckSettings {
        table_sha256: table.checksum().to_string(),
        cells: a.cells,
        factor: a.factor,
        seed: a.seed,
        chance_margin: a.chance_margin / 100.0,
    };
    let source = TableSource {
        path: a.table.clone(),
        written: a.table.clone(),
        table,
        sync: JournalSync::PerRecord,
    };
    let summary = rank_check(&source, &settings, &a.journal, !a.quiet)?;
    print_summary(&summary);
    if let Some(path) = &a.json {
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn print_summary(s: &RankCheckSummary) {
    println!(
        "{} architectures, table {} epochs vs {} epochs (seed {}):",
        s.archs.len(),
        s.epochs[0],
        s.epochs[1],
        s.settings.seed
    );
    println!("  Spearman rho, validation accuracy: {:.3}", s.spearman_val);
    println!("  Kendall tau-b, validation accuracy: {:.3}", s.kendall_val);
    println!(
        "  Spearman rho, test accuracy:       {:.3}",
        s.spearman_test
    );
    let seconds: f64 = s.archs.iter().map(|c| c.device_seconds).sum();
    println!("  device seconds of the longer schedule: {seconds:.0}");
}
