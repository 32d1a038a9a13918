//! `nasarena slurm submit | status | resubmit`: an experiment as a Slurm
//! job array (the logic lives in `nasarena_harness::slurm`).

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use nasarena_harness::slurm::{
    self, array_script, array_spec, check_folder, check_unchanged, sacct_tasks, sbatch,
    squeue_tasks, unit_states, write_atomically, JournalProgress, RecordedJob, ScriptOptions,
    Submission, TaskCommand, UnitState,
};
use nasarena_harness::{experiment, plan};
use std::path::{Path, PathBuf};

/// What `nasarena slurm` does with an experiment's job array. (Each
/// variant's doc comment is its subcommand's help text.)
#[derive(Debug, Subcommand)]
pub enum SlurmAction {
    /// Plan the experiment, write its array script into the experiment
    /// folder and submit it with `sbatch` (one task per unit).
    Submit {
        /// The experiment file.
        experiment: PathBuf,
        /// Where run folders go (as for `run`).
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        /// `sbatch --partition`.
        #[arg(long)]
        partition: Option<String>,
        /// `sbatch --gpus-per-task`.
        #[arg(long, value_name = "N")]
        gpus_per_task: Option<u32>,
        /// `sbatch --time` (Slurm syntax, e.g. 2:00:00); tasks get a
        /// warning 60 s before it, stop cleanly and are requeued.
        #[arg(long, value_name = "T")]
        time: Option<String>,
        /// At most K tasks at once.
        #[arg(long, value_name = "K")]
        max_parallel: Option<usize>,
        /// Print the script; write and submit nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Which units are done, running, pending, failed or missing.
    Status {
        /// The experiment folder (`RUNS_DIR/<experiment name>`).
        experiment_dir: PathBuf,
    },
    /// Submit the unfinished units again (they resume from their journals).
    Resubmit {
        /// The experiment folder (`RUNS_DIR/<experiment name>`).
        experiment_dir: PathBuf,
        /// At most K tasks at once.
        #[arg(long, value_name = "K")]
        max_parallel: Option<usize>,
        /// Print the sbatch command; submit nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Carries out one `nasarena slurm` action; errors name the file or the
/// Slurm command that failed.
pub fn run(action: SlurmAction) -> Result<()> {
    match action {
        SlurmAction::Submit {
            experiment,
            runs_dir,
            partition,
            gpus_per_task,
            time,
            max_parallel,
            dry_run,
        } => {
            let opts = ScriptOptions {
                partition,
                gpus_per_task,
                time,
                max_parallel,
            };
            submit(&experiment, &runs_dir, &opts, dry_run)
        }
        SlurmAction::Status { experiment_dir } => status(&experiment_dir),
        SlurmAction::Resubmit {
            experiment_dir,
            max_parallel,
            dry_run,
        } => resubmit(&experiment_dir, max_parallel, dry_run),
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))
}

fn submit(path: &Path, runs_dir: &Path, opts: &ScriptOptions, dry_run: bool) -> Result<()> {
    let experiment_file = absolute(path)?;
    let runs_root = absolute(runs_dir)?;
    let (exp, text) = experiment::load(&experiment_file)?;
    let plan = plan::plan(exp, &text, &experiment_file, &runs_root)?;
    let dir = plan.runs_dir.clone();
    let existing = check_folder(&plan, &dir)?;
    if let Some(record) = &existing {
        refuse_if_queued(record)?;
    }
    let cmd = TaskCommand {
        binary: std::env::current_exe().context("finding the nasarena binary")?,
        experiment_file: experiment_file.clone(),
        runs_root: runs_root.clone(),
        workdir: std::env::current_dir().context("reading the working directory")?,
        experiment_dir: dir.clone(),
        experiment: plan.experiment.name.clone(),
    };
    let indices: Vec<usize> = plan.units.iter().map(|u| u.index).collect();
    let script = array_script(&cmd, opts, &indices)?;
    let script_path = dir.join(slurm::SLURM_DIR).join(slurm::SCRIPT_FILE);
    if dry_run {
        print!("{script}");
        eprintln!(
            "dry run: {} units; nothing written or submitted (the script goes to {})",
            indices.len(),
            script_path.display()
        );
        return Ok(());
    }
    write_atomically(&script_path, &script)?;
    let logs = dir.join(slurm::SLURM_DIR).join(slurm::LOG_DIR);
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut record = match existing {
        Some(r) => r,
        None => Submission::of_plan(&plan, experiment_file, runs_root, cmd.workdir)?,
    };
    let job_id = sbatch(&script_path, None)?;
    record.jobs.push(RecordedJob {
        job_id: job_id.clone(),
        array: array_spec(&indices, opts.max_parallel),
    });
    record.save(&dir).with_context(|| {
        format!("job {job_id} was submitted, but its record could not be written")
    })?;
    println!("submitted job {job_id}: {} tasks", indices.len());
    println!("experiment folder: {}", dir.display());
    println!("follow it with: nasarena slurm status {}", dir.display());
    Ok(())
}

/// Refuses a submission while tasks of earlier jobs are queued: two tasks
/// on one journal would interleave their records.
fn refuse_if_queued(record: &Submission) -> Result<()> {
    let ids: Vec<String> = record.jobs.iter().map(|j| j.job_id.clone()).collect();
    let Some(queued) = squeue_tasks(&ids)? else {
        if ids.is_empty() {
            return Ok(());
        }
        bail!("`squeue` is not on PATH, so whether tasks of jobs {} still run cannot be checked; refusing to submit units that may be running", ids.join(", "));
    };
    if !queued.is_empty() {
        let tasks: Vec<String> = queued.keys().map(|k| k.to_string()).collect();
        bail!(
            "tasks {} of experiment `{}` are still queued or running (jobs {}); wait for them, or `scancel` them, then `nasarena slurm resubmit`",
            tasks.join(","),
            record.experiment,
            ids.join(", ")
        );
    }
    Ok(())
}

/// The submission record of `dir`; without one, names the experiment
/// folders inside `dir` (a runs folder passed instead of an experiment's).
fn load_record(dir: &Path) -> Result<Submission> {
    if let Some(record) = Submission::load(dir)? {
        return Ok(record);
    }
    let inside: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| Submission::path_in(p).is_file())
        .map(|p| p.display().to_string())
        .collect();
    let hint = if inside.is_empty() {
        "pass the experiment folder that `nasarena slurm submit` printed".to_string()
    } else {
        format!("experiment folders inside it: {}", inside.join(", "))
    };
    bail!(
        "{} has no Slurm submission record ({}); {hint}",
        dir.display(),
        Submission::path_in(dir).display()
    )
}

fn status(dir: &Path) -> Result<()> {
    let record = load_record(dir)?;
    let ids: Vec<String> = record.jobs.iter().map(|j| j.job_id.clone()).collect();
    let queued = match squeue_tasks(&ids) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("warning: {e}; states come from the journals only");
            None
        }
    };
    if queued.is_none() {
        eprintln!(
            "note: `squeue` is not on PATH; running and pending tasks show as failed or missing"
        );
    }
    let accounted = sacct_tasks(&ids);
    let states = unit_states(&record, dir, queued.as_ref(), accounted.as_ref())?;
    println!(
        "experiment `{}`, jobs {}",
        record.experiment,
        if ids.is_empty() {
            "-".into()
        } else {
            ids.join(", ")
        }
    );
    println!(
        "{:>5}  {:<8} {:<14} {:<16} unit",
        "task", "state", "journal", "slurm"
    );
    for s in &states {
        let journal = match s.journal {
            JournalProgress::Missing => "-".to_string(),
            JournalProgress::Started(n) => format!("{n} records"),
            JournalProgress::Done => "final".to_string(),
        };
        let slurm = s
            .scheduler
            .as_ref()
            .map_or("-".to_string(), |t| format!("{} {}", t.job_id, t.state));
        println!(
            "{:>5}  {:<8} {:<14} {:<16} {}",
            s.index,
            s.state.name(),
            journal,
            slurm,
            s.label
        );
    }
    let count = |st: UnitState| states.iter().filter(|s| s.state == st).count();
    println!(
        "{} done, {} running, {} pending, {} failed, {} missing",
        count(UnitState::Done),
        count(UnitState::Running),
        count(UnitState::Pending),
        count(UnitState::Failed),
        count(UnitState::Missing)
    );
    Ok(())
}

fn resubmit(dir: &Path, max_parallel: Option<usize>, dry_run: bool) -> Result<()> {
    let mut record = load_record(dir)?;
    check_unchanged(&record)?;
    let ids: Vec<String> = record.jobs.iter().map(|j| j.job_id.clone()).collect();
    let Some(queued) = squeue_tasks(&ids)? else {
        bail!("`squeue` is not on PATH: which units still run cannot be checked, so nothing is resubmitted");
    };
    let states = unit_states(&record, dir, Some(&queued), None)?;
    let unfinished: Vec<usize> = states
        .iter()
        .filter(|s| s.state.unfinished())
        .map(|s| s.index)
        .collect();
    if unfinished.is_empty() {
        println!("nothing to resubmit: every unit is done or queued");
        return Ok(());
    }
    if max_parallel == Some(0) {
        bail!("--max-parallel 0: at least one task must be able to run");
    }
    let spec = array_spec(&unfinished, max_parallel);
    let script = dir.join(slurm::SLURM_DIR).join(slurm::SCRIPT_FILE);
    if !script.is_file() {
        bail!(
            "{} is missing; submit the experiment again with `nasarena slurm submit`",
            script.display()
        );
    }
    if dry_run {
        println!("sbatch --parsable --array={spec} {}", script.display());
        return Ok(());
    }
    let job_id = sbatch(&script, Some(&spec))?;
    record.jobs.push(RecordedJob {
        job_id: job_id.clone(),
        array: spec.clone(),
    });
    record.save(dir).with_context(|| {
        format!("job {job_id} was submitted, but its record could not be written")
    })?;
    println!("submitted job {job_id}: tasks {spec}");
    Ok(())
}
