//! `nasarena run`.

use anyhow::Result;
use nasarena_harness::machine::BuildInfo;
use nasarena_harness::options::RunOptions;
use nasarena_harness::progress::ProgressSink;
use nasarena_harness::runner::run_plan;
use nasarena_harness::stop::{StopFlag, INTERRUPTED_EXIT};
use nasarena_harness::{experiment, plan};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Version, git revision and features of this binary, for provenance.
pub(crate) fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_revision: env!("NASARENA_GIT_REV").to_string(),
        features: env!("NASARENA_FEATURES").to_string(),
    }
}

/// What `nasarena run` was asked to do.
#[derive(Debug)]
pub struct RunRequest<'a> {
    /// The experiment file (TOML) to check, plan and run.
    pub experiment: &'a Path,
    /// The folder under which the experiment's run folder is created.
    pub runs_root: &'a Path,
    /// Continue the journals of an earlier, interrupted run instead of
    /// refusing to overwrite them.
    pub resume: bool,
    /// Validate the experiment and print its plan; run nothing.
    pub check_only: bool,
    /// Units run at once (each unit is one space x strategy x seed).
    pub jobs: usize,
    /// Only this unit (one task of a job array).
    pub unit: Option<usize>,
    /// The device the units train on (`--device`).
    pub device: nasarena_harness::device::DeviceChoice,
    /// Where the runs' progress events go.
    pub progress: Arc<dyn ProgressSink>,
    /// No summary lines either (the table still goes to stdout).
    pub quiet: bool,
}

/// The process exit status of a `run`: a run stopped by a signal exits
/// with [`INTERRUPTED_EXIT`] (its journals resume), other errors with 1.
pub fn exit_code(outcome: Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            match err.downcast_ref::<nasarena_harness::Error>() {
                Some(nasarena_harness::Error::Interrupted) => ExitCode::from(INTERRUPTED_EXIT),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// Raises `stop` on SIGUSR1 (Slurm's early warning) and SIGTERM
/// (preemption, `scancel`, `kill`): the runs stop after their current
/// record. A repeated SIGTERM does not end the process at once: Slurm
/// sends it to the batch shell and to the run, and the shell passes it on;
/// SIGINT and SIGKILL still end a run immediately (resume handles that too).
fn stop_on_signals() -> Result<StopFlag> {
    let stop = StopFlag::new();
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGTERM, SIGUSR1};
        signal_hook::flag::register(SIGTERM, stop.shared())?;
        signal_hook::flag::register(SIGUSR1, stop.shared())?;
    }
    Ok(stop)
}

/// Validates, plans and runs an experiment (or one unit of it), then
/// prints the result table.
pub fn run(req: &RunRequest<'_>) -> Result<()> {
    let path = req.experiment;
    let (exp, text) = experiment::load(path)?;
    let plan = plan::plan(exp, &text, path, req.runs_root)?;
    let selected = plan.select(req.unit)?;
    if !req.quiet {
        eprintln!(
            "experiment `{}`: {} runs ({} spaces x {} strategies, {} seeds), budget {} {} each",
            plan.experiment.name,
            plan.units.len(),
            plan.experiment.space.len(),
            plan.experiment.strategy.len(),
            seed_counts(&plan.experiment),
            plan.budget.limit,
            crate::progress_view::unit_name(plan.budget.unit),
        );
    }
    if req.check_only {
        for u in selected {
            println!("{}", u.journal.display());
        }
        return Ok(());
    }
    if plan.single_threaded_kernels() && std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // The plan's thread policy, applied before any worker thread starts.
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let started = std::time::Instant::now();
    let opts = RunOptions {
        build: build_info(),
        resume: req.resume,
        progress: req.progress.clone(),
        only_unit: req.unit,
        jobs: req.jobs,
        device: req.device,
        stop: stop_on_signals()?,
    };
    let journals = run_plan(&plan, &opts)?;
    if !req.quiet {
        eprintln!("finished in {:.1} s", started.elapsed().as_secs_f64());
    }
    if req.unit.is_some() {
        // One task of an array: the table waits for the others.
        for j in journals {
            println!("journal: {}", j.display());
        }
        return Ok(());
    }
    let table = plan.table.as_ref().map(|t| t.path.as_path());
    crate::report_cmd::print_markdown(&plan.runs_dir, table)?;
    println!("journals: {}", plan.runs_dir.display());
    Ok(())
}

/// The seeds per strategy in words: one number when all agree, else the
/// range (`10-100`).
fn seed_counts(exp: &nasarena_harness::experiment::ExperimentFile) -> String {
    let counts: Vec<usize> = exp.strategy.iter().map(|s| s.seeds(exp.repeats)).collect();
    let (lo, hi) = (
        counts.iter().copied().min().unwrap_or(exp.repeats),
        counts.iter().copied().max().unwrap_or(exp.repeats),
    );
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}
