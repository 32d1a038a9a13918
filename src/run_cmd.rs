//! `nasarena run`.

use anyhow::Result;
use nasarena_harness::machine::BuildInfo;
use nasarena_harness::run::{run_plan, RunOptions};
use nasarena_harness::stop::{StopFlag, INTERRUPTED_EXIT};
use nasarena_harness::{experiment, plan};
use std::path::Path;
use std::process::ExitCode;

/// Version, git revision and features of this binary, for provenance.
pub(crate) fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_revision: env!("NASARENA_GIT_REV").to_string(),
        features: env!("NASARENA_FEATURES").to_string(),
    }
}

/// The switches of `nasarena run`.
#[derive(Clone, Copy, Debug)]
pub struct Flags {
    /// Continue unfinished runs from their journals.
    pub resume: bool,
    /// Validate and print the plan only.
    pub check_only: bool,
    /// No progress lines.
    pub quiet: bool,
    /// Runs at once.
    pub jobs: usize,
    /// Only this unit.
    pub unit: Option<usize>,
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
pub fn run(path: &Path, runs_root: &Path, flags: &Flags) -> Result<()> {
    let (exp, text) = experiment::load(path)?;
    let plan = plan::plan(exp, &text, path, runs_root)?;
    if let Some(unit) = flags.unit.filter(|&u| u >= plan.units.len()) {
        return Err(nasarena_harness::Error::UnitOutOfRange {
            unit,
            units: plan.units.len(),
        }
        .into());
    }
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
    if flags.check_only {
        for u in plan
            .units
            .iter()
            .filter(|u| flags.unit.is_none_or(|i| i == u.index))
        {
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
        resume: flags.resume,
        quiet: flags.quiet,
        only_unit: flags.unit,
        jobs: flags.jobs,
        stop: stop_on_signals()?,
    };
    let journals = run_plan(&plan, &opts)?;
    eprintln!("finished in {:.1} s", started.elapsed().as_secs_f64());
    if flags.unit.is_some() {
        // One task of an array: the table waits for the others.
        for j in journals {
            println!("journal: {}", j.display());
        }
        return Ok(());
    }
    crate::report_cmd::print_markdown(&plan.runs_dir)?;
    println!("journals: {}", plan.runs_dir.display());
    Ok(())
}
