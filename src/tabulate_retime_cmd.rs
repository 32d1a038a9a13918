//! `nasarena tabulate retime` and `retime-apply`: measure again the device
//! seconds of a table's entries whose recorded times are out of line with
//! a reference table, and write a table with the new times (see
//! `nasarena_harness::tabular::retime`).

use anyhow::{Context, Result};
use clap::Args;
use nasarena_harness::journal::JournalSync;
use nasarena_harness::tabular::retime::{self, RetimeSettings};
use nasarena_harness::tabular::{reader, Shard, TableSource};
use std::path::PathBuf;

/// Arguments of `tabulate retime`.
#[derive(Debug, Args)]
pub struct RetimeArgs {
    /// The table (built by `nasarena tabulate build`).
    table: PathBuf,
    /// A table of the same space and schedule whose times are trusted.
    #[arg(long)]
    reference: PathBuf,
    /// Re-time entries recorded as slower than this multiple of the
    /// reference's time for the same architecture.
    #[arg(long, default_value_t = 1.5)]
    factor: f64,
    /// Also re-time this many other entries (not replaced) to compare this
    /// machine's speed with the build's.
    #[arg(long, default_value_t = 20)]
    controls: usize,
    /// Seeds the choice of controls.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Re-time only part `i` of `n` (1-based): one process per core, as the
    /// table was built.
    #[arg(long, value_parser = Shard::parse, default_value = "1/1")]
    shard: Shard,
    /// This shard's progress journal (JSON lines; a rerun resumes it).
    #[arg(long)]
    journal: PathBuf,
    /// Worker threads for training: the table's build used (see its
    /// provenance command).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
}

/// Arguments of `tabulate retime-apply`.
#[derive(Debug, Args)]
pub struct RetimeApplyArgs {
    /// The table that was re-timed.
    table: PathBuf,
    /// The reference table given to `retime`.
    #[arg(long)]
    reference: PathBuf,
    /// Every shard's journal (repeat the flag).
    #[arg(long = "journal", required = true)]
    journals: Vec<PathBuf>,
    /// The new table.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `tabulate retime`.
pub fn run(a: RetimeArgs) -> Result<()> {
    crate::tabulate_build_cmd::set_training_threads(a.threads)?;
    let table = reader::open(&a.table)?;
    let reference = reader::open(&a.reference)?;
    let settings = RetimeSettings {
        table_sha256: table.checksum().to_string(),
        reference_sha256: reference.checksum().to_string(),
        factor: a.factor,
        controls: a.controls,
        seed: a.seed,
        shard: a.shard,
    };
    let source = TableSource {
        path: a.table.clone(),
        written: a.table.clone(),
        table,
        sync: JournalSync::PerRecord,
    };
    let done = retime::retime(&source, &reference, &settings, &a.journal, !a.quiet)?;
    let (controls, replaced): (Vec<_>, Vec<_>) = done.iter().partition(|e| e.control);
    let sum = |es: &[&retime::RetimedEntry], f: fn(&retime::RetimedEntry) -> f64| -> f64 {
        es.iter().map(|e| f(e)).sum::<f64>() + 0.0 // an empty sum is -0
    };
    println!(
        "shard {}: {} entries to replace ({:.0} s recorded, {:.0} s now), {} controls ({:.0} s recorded, {:.0} s now); journal {}",
        a.shard,
        replaced.len(),
        sum(&replaced, |e| e.recorded_seconds),
        sum(&replaced, retime::RetimedEntry::total_seconds),
        controls.len(),
        sum(&controls, |e| e.recorded_seconds),
        sum(&controls, retime::RetimedEntry::total_seconds),
        a.journal.display()
    );
    Ok(())
}

/// Runs `tabulate retime-apply`.
pub fn run_apply(a: RetimeApplyArgs) -> Result<()> {
    let table = reader::open(&a.table)?;
    let reference = reader::open(&a.reference)?;
    let mut journals = Vec::with_capacity(a.journals.len());
    for path in &a.journals {
        let (settings, entries) = retime::read_journal(path)?;
        journals.push((path.clone(), settings, entries));
    }
    let (out, s) = retime::apply(&table, &reference, &journals)?;
    if let Some(difference) = out.same_results(&table) {
        anyhow::bail!("internal error: re-timing changed a result ({difference})");
    }
    let size =
        reader::write(&out, &a.out).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "replaced the device seconds of {} entries ({:.0} s recorded -> {:.0} s measured); {} controls ran at {:.3}x their recorded seconds (median); table total {:.0} s -> {:.0} s",
        s.replaced, s.replaced_seconds[0], s.replaced_seconds[1], s.controls, s.control_median_ratio, s.table_seconds[0], s.table_seconds[1]
    );
    println!(
        "wrote {} ({size} bytes), sha256 {}",
        a.out.display(),
        out.checksum()
    );
    Ok(())
}
