//! `nasarena tabulate build` and `nasarena tabulate merge`: train every
//! canonical architecture of a small space into a table (resumable,
//! shardable), and join shards.

use anyhow::{bail, Context, Result};
use clap::Args;
use nasarena_harness::tabular::build::{build, BuildOptions};
use nasarena_harness::tabular::{merge, reader, BuildSettings, Shard};
use nasarena_harness::trainer::Schedule;
use nasarena_spaces::SpaceOptions;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `tabulate build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The search space (see `nasarena spaces`).
    #[arg(long)]
    space: String,
    /// A space option `key=value` (repeatable); experiments on the table
    /// must give the same options.
    #[arg(long = "opt", value_name = "KEY=VALUE")]
    opts: Vec<String>,
    /// The dataset (see `nasarena data list`).
    #[arg(long)]
    dataset: String,
    /// Fraction of the training set held out for validation.
    #[arg(long, default_value_t = 0.1)]
    val_fraction: f64,
    /// Train on at most this many (stratified) training samples.
    #[arg(long)]
    train_limit: Option<usize>,
    /// The training schedule as JSON, the form `tabulate info` prints, e.g.
    /// `{"epochs":2,"batch_size":64,"optimizer":{"lr":0.05}}`.
    #[arg(long)]
    schedule: String,
    /// Training seeds per architecture.
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// The build seed (data split and training seeds derive from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The table file; progress goes to `<out>.journal` next to it.
    #[arg(long)]
    out: PathBuf,
    /// Train only part `i` of `n` (1-based) of the architectures.
    #[arg(long, value_parser = Shard::parse, default_value = "1/1")]
    shard: Shard,
    /// Continue from `<out>.journal` after an interruption.
    #[arg(long)]
    resume: bool,
    /// Worker threads for training (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
}

/// Arguments of `tabulate merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard tables (`tabulate build --shard i/n` outputs), all of them.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// The merged table file.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `tabulate build`; `command` is the command line for provenance.
pub fn run_build(a: BuildArgs, command: String) -> Result<()> {
    set_training_threads(a.threads)?;
    if !(0.0..1.0).contains(&a.val_fraction) || a.val_fraction <= 0.0 {
        bail!("--val-fraction must be in (0, 1), got {}", a.val_fraction);
    }
    if a.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let schedule: Schedule = serde_json::from_str(&a.schedule).with_context(|| {
        format!("--schedule `{}` is not a schedule in JSON (keys: epochs, batch_size, optimizer {{lr, momentum, nesterov, weight_decay, decoupled_weight_decay}}, warmup_epochs, grad_clip, crop_padding, horizontal_flip)", a.schedule)
    })?;
    if schedule.epochs == 0 || schedule.batch_size == 0 {
        bail!("--schedule: epochs and batch_size must be at least 1");
    }
    let space_options = SpaceOptions::parse(&a.space, &a.opts)?.pairs().clone();
    let settings = BuildSettings {
        space: a.space,
        space_options,
        dataset: a.dataset,
        val_fraction: a.val_fraction,
        train_limit: a.train_limit,
        schedule,
        seeds: a.seeds,
        seed: a.seed,
    };
    let provenance = BTreeMap::from([
        (
            "nasarena".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        (
            "git_revision".to_string(),
            env!("NASARENA_GIT_REV").to_string(),
        ),
        ("command".to_string(), command),
    ]);
    let opts = BuildOptions {
        out: a.out,
        shard: a.shard,
        resume: a.resume,
        provenance,
        progress: !a.quiet,
    };
    let summary = build(&settings, &opts)?;
    println!(
        "wrote {} ({} entries, {} from the journal; trained for {:.1} s)",
        opts.out.display(),
        summary.entries,
        summary.resumed,
        summary.seconds
    );
    println!("sha256 {}", summary.table.checksum());
    Ok(())
}

/// Sizes the training thread pool from `--threads` (every core when not
/// given). Must run before any worker thread starts: candle's CPU kernels
/// use the global rayon pool, sized from `RAYON_NUM_THREADS`.
pub fn set_training_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
    Ok(())
}

/// Runs `tabulate merge`.
pub fn run_merge(a: MergeArgs) -> Result<()> {
    let mut parts = Vec::with_capacity(a.shards.len());
    for path in &a.shards {
        parts.push((path.clone(), reader::open(path)?));
    }
    let table = merge::merge(&parts)?;
    let size = reader::write(&table, &a.out)?;
    println!(
        "merged {} shards into {} ({} entries, {size} bytes)",
        parts.len(),
        a.out.display(),
        table.len()
    );
    println!("sha256 {}", table.checksum());
    Ok(())
}
