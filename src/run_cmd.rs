//! `nasarena run`.

use anyhow::Result;
use nasarena_harness::machine::BuildInfo;
use nasarena_harness::progress::ProgressSink;
use nasarena_harness::run::{run_plan, RunOptions};
use nasarena_harness::{experiment, plan};
use std::path::Path;
use std::sync::Arc;

fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_revision: env!("NASARENA_GIT_REV").to_string(),
        features: env!("NASARENA_FEATURES").to_string(),
    }
}

/// What `nasarena run` was asked to do.
#[derive(Debug)]
pub struct RunRequest<'a> {
    pub experiment: &'a Path,
    pub runs_root: &'a Path,
    pub resume: bool,
    pub check_only: bool,
    pub jobs: usize,
    pub device: nasarena_harness::device::DeviceChoice,
    /// Where the runs' progress events go.
    pub progress: Arc<dyn ProgressSink>,
    /// No summary lines either (the table still goes to stdout).
    pub quiet: bool,
}

/// Validates, plans and runs an experiment, then prints the result table.
pub fn run(req: &RunRequest<'_>) -> Result<()> {
    let path = req.experiment;
    let (exp, text) = experiment::load(path)?;
    let plan = plan::plan(exp, &text, path, req.runs_root)?;
    if !req.quiet {
        eprintln!(
            "experiment `{}`: {} runs ({} spaces x {} strategies x {} seeds), budget {} {} each",
            plan.experiment.name,
            plan.units.len(),
            plan.experiment.space.len(),
            plan.experiment.strategy.len(),
            plan.experiment.repeats,
            plan.budget.limit,
            crate::progress_view::unit_name(plan.budget.unit),
        );
    }
    if req.check_only {
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
        resume: req.resume,
        progress: req.progress.clone(),
        only_unit: None,
        jobs: req.jobs,
        device: req.device,
    };
    run_plan(&plan, &opts)?;
    if !req.quiet {
        eprintln!("finished in {:.1} s", started.elapsed().as_secs_f64());
    }
    crate::report_cmd::print_markdown(&plan.runs_dir)?;
    println!("journals: {}", plan.runs_dir.display());
    Ok(())
}
