//! Talking to Slurm through its client programs (`sbatch`, `squeue`,
//! `sacct`), as users do; nasarena links no Slurm library.

use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The first `name` on `PATH` that is a file.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn require(name: &str, what: &str) -> Result<PathBuf> {
    find_program(name).ok_or_else(|| {
        Error::Slurm(format!(
            "`{name}` is not on PATH: {what} needs the Slurm client programs (run it on a cluster login node; `--dry-run` writes nothing and needs none)"
        ))
    })
}

/// Submits `script` with `sbatch --parsable` (the tasks of `array` when
/// given, overriding the script's own `--array`); returns the job id.
pub fn sbatch(script: &Path, array: Option<&str>) -> Result<String> {
    let program = require("sbatch", "submitting")?;
    let mut cmd = Command::new(program);
    cmd.arg("--parsable");
    if let Some(a) = array {
        cmd.arg(format!("--array={a}"));
    }
    let out = cmd.arg(script).output().map_err(|source| Error::Io {
        path: PathBuf::from("sbatch"),
        source,
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(Error::Slurm(format!(
            "sbatch refused {} ({}): {}",
            script.display(),
            out.status,
            stderr.trim()
        )));
    }
    // `--parsable` prints `JOBID` or `JOBID;CLUSTER`.
    let id = stdout.trim().split(';').next().unwrap_or_default();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Slurm(format!(
            "sbatch accepted {} but printed no job id (stdout `{}`, stderr `{}`); check `squeue` before submitting again",
            script.display(),
            stdout.trim(),
            stderr.trim()
        )));
    }
    Ok(id.to_string())
}

/// One array task as the scheduler reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskState {
    /// The array job id.
    pub job_id: String,
    /// Slurm's state name, e.g. `RUNNING`, `PENDING`, `FAILED`.
    pub state: String,
}

/// Parses `ARRAYJOB|TASK|STATE` lines into task id -> state, keeping the
/// last line of each task (later submissions and attempts come later).
fn parse_task_lines(text: &str) -> BTreeMap<usize, TaskState> {
    let mut tasks = BTreeMap::new();
    for line in text.lines() {
        let mut fields = line.trim().split('|');
        let (Some(job), Some(task), Some(state)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if let Ok(task) = task.parse::<usize>() {
            tasks.insert(
                task,
                TaskState {
                    job_id: job.to_string(),
                    state: state.split_whitespace().next().unwrap_or(state).to_string(),
                },
            );
        }
    }
    tasks
}

/// The queued (pending, running, completing...) tasks of `jobs`, by array
/// task id; `Ok(None)` when `squeue` is not on PATH.
pub fn squeue_tasks(jobs: &[String]) -> Result<Option<BTreeMap<usize, TaskState>>> {
    let Some(program) = find_program("squeue") else {
        return Ok(None);
    };
    if jobs.is_empty() {
        return Ok(Some(BTreeMap::new()));
    }
    let mut all = BTreeMap::new();
    // One job at a time: squeue fails for the whole list when one job id
    // is no longer known to the controller.
    for job in jobs {
        let out = Command::new(&program)
            .args(["--noheader", "--array", "--format=%F|%K|%T"])
            .arg(format!("--jobs={job}"))
            .output()
            .map_err(|source| Error::Io {
                path: program.clone(),
                source,
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            if stderr.contains("Invalid job id") {
                continue; // finished long ago and forgotten
            }
            return Err(Error::Slurm(format!(
                "squeue failed ({}): {}",
                out.status,
                stderr.trim()
            )));
        }
        all.extend(parse_task_lines(&String::from_utf8_lossy(&out.stdout)));
    }
    Ok(Some(all))
}

/// How the last attempt of each task of `jobs` ended, from the accounting
/// database; `None` when `sacct` is missing or accounting is disabled.
pub fn sacct_tasks(jobs: &[String]) -> Option<BTreeMap<usize, TaskState>> {
    let program = find_program("sacct")?;
    if jobs.is_empty() {
        return Some(BTreeMap::new());
    }
    let out = Command::new(program)
        .args(["--noheader", "--parsable2", "--format=JobID,State"])
        .arg(format!("--jobs={}", jobs.join(",")))
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    // `123_4|FAILED`; steps (`123_4.batch`) are skipped.
    let lines: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (id, state) = l.split_once('|')?;
            let (job, task) = id.split_once('_')?;
            (!task.contains('.')).then(|| format!("{job}|{task}|{state}\n"))
        })
        .collect();
    Some(parse_task_lines(&lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_lines_keep_the_last_state_and_skip_non_array_lines() {
        let tasks = parse_task_lines("12|0|RUNNING\n12|1|PENDING\n13|N/A|RUNNING\n14|0|PENDING\n");
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[&0].job_id, "14");
        assert_eq!(tasks[&1].state, "PENDING");
    }

    #[test]
    fn missing_programs_are_reported_by_name() {
        assert!(find_program("nasarena-no-such-program").is_none());
        let err = require("nasarena-no-such-program", "testing").expect_err("missing");
        assert!(err.to_string().contains("not on PATH"), "{err}");
    }
}
