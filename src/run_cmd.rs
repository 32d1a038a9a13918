//! `nasarena run`.

use anyhow::Result;
use nasarena_harness::machine::BuildInfo;
use nasarena_harness::run::{run_plan, RunOptions};
use nasarena_harness::{experiment, plan};
use std::path::Path;

/// Version, git revision and features of this binary, for provenance.
pub(crate) fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_revision: env!("NASARENA_GIT_REV").to_string(),
        features: env!("NASARENA_FEATURES").to_string(),
    }
}

/// Validates, plans and runs an experiment, then prints the result table.
pub fn run(
    path: &Path,
    runs_root: &Path,
    resume: bool,
    check_only: bool,
    quiet: bool,
    jobs: usize,
) -> Result<()> {
    let (exp, text) = experiment::load(path)?;
    let plan = plan::plan(exp, &text, path, runs_root)?;
    eprintln!(
        "experiment `{}`: {} runs ({} spaces x {} strategies x {} seeds), budget {} {:?} each",
        plan.experiment.name,
        plan.units.len(),
        plan.experiment.space.len(),
        plan.experiment.strategy.len(),
        plan.experiment.repeats,
        plan.budget.limit,
        plan.budget.unit,
    );
    if check_only {
        for u in &plan.units {
            println!("{}", u.journal.display());
        }
        return Ok(());
    }
    if plan.table.is_some() && std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Table runs do no training; the only tensor work is a strategy's
        // tiny controller update, where candle's per-matmul thread hand-off
        // costs far more than it saves, and runs go one per core anyway.
        // Set before any worker thread starts.
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let started = std::time::Instant::now();
    let opts = RunOptions {
        build: build_info(),
        resume,
        quiet,
        only_unit: None,
        jobs,
    };
    run_plan(&plan, &opts)?;
    eprintln!("finished in {:.1} s", started.elapsed().as_secs_f64());
    crate::report_cmd::print_markdown(&plan.runs_dir)?;
    println!("journals: {}", plan.runs_dir.display());
    Ok(())
}
