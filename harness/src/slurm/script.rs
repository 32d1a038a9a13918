//! The `sbatch` array script. Each task runs one unit with `--resume`, so
//! a requeued task continues its journal. The batch shell receives the
//! early warning signal (`--signal=B:USR1@60`) and passes it on; nasarena
//! finishes its current record and exits with `INTERRUPTED_EXIT` (75), and
//! the shell requeues the task. Preemption and `scancel` send SIGTERM to
//! every process of the job: nasarena stops the same way, and Slurm
//! decides whether the job is requeued.

use crate::stop::INTERRUPTED_EXIT;
use crate::{Error, Result};
use std::fmt::Write;
use std::path::PathBuf;

/// Seconds before the time limit at which Slurm warns the task.
const WARNING_SECONDS: u32 = 60;

/// Site-specific `sbatch` options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--gpus-per-task`.
    pub gpus_per_task: Option<u32>,
    /// `--time` (Slurm syntax, e.g. `2:00:00`).
    pub time: Option<String>,
    /// At most this many tasks at once (`--array=...%K`).
    pub max_parallel: Option<usize>,
}

/// What every array task runs (all paths absolute).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskCommand {
    /// The nasarena binary.
    pub binary: PathBuf,
    /// The experiment file.
    pub experiment_file: PathBuf,
    /// The `--runs-dir`.
    pub runs_root: PathBuf,
    /// The working directory.
    pub workdir: PathBuf,
    /// The experiment folder (the script, logs and record live in its `slurm/`).
    pub experiment_dir: PathBuf,
    /// The experiment's name, for the job name.
    pub experiment: String,
}

/// `--array` syntax for `indices`: runs of consecutive ids as ranges,
/// e.g. `0-3,7,9-10`, with `%K` when at most K may run at once.
pub fn array_spec(indices: &[usize], max_parallel: Option<usize>) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        while i + 1 < sorted.len() && sorted[i + 1] == sorted[i] + 1 {
            i += 1;
        }
        parts.push(if sorted[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", sorted[i])
        });
        i += 1;
    }
    let mut spec = parts.join(",");
    if let Some(k) = max_parallel {
        let _ = write!(spec, "%{k}");
    }
    spec
}

/// Quotes `s` for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn path_str(p: &std::path::Path) -> Result<&str> {
    p.to_str().ok_or_else(|| {
        Error::Slurm(format!(
            "{}: the path is not UTF-8 and cannot go into a batch script",
            p.display()
        ))
    })
}

/// Rejects option values that would break the script's `#SBATCH` lines.
fn check_value(flag: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c == '#') {
        return Err(Error::Slurm(format!(
            "{flag} `{value}`: expected one word without spaces or `#`"
        )));
    }
    Ok(())
}

/// The full array script for tasks `indices`.
pub fn array_script(cmd: &TaskCommand, opts: &ScriptOptions, indices: &[usize]) -> Result<String> {
    if opts.max_parallel == Some(0) {
        return Err(Error::Slurm(
            "--max-parallel 0: at least one task must be able to run".into(),
        ));
    }
    let logs = cmd
        .experiment_dir
        .join(super::SLURM_DIR)
        .join(super::LOG_DIR);
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# Written by `nasarena slurm submit` for experiment `{}`: one array task per",
        cmd.experiment
    );
    let _ = writeln!(
        s,
        "# unit (space, strategy, seed); task i runs unit i and writes only its journal."
    );
    let _ = writeln!(s, "# Adapt the #SBATCH lines to your site.");
    let name = format!("nasarena-{}", cmd.experiment);
    let mut directive = |flag: &str, value: &str| -> Result<()> {
        check_value(&format!("--{flag}"), value)?;
        let _ = writeln!(s, "#SBATCH --{flag}={value}");
        Ok(())
    };
    directive(
        "job-name",
        &name.replace(|c: char| c.is_whitespace() || c == '#', "_"),
    )?;
    directive("array", &array_spec(indices, opts.max_parallel))?;
    directive("ntasks", "1")?;
    directive("output", &format!("{}/%A_%a.out", path_str(&logs)?))?;
    directive("chdir", path_str(&cmd.workdir)?)?;
    directive("signal", &format!("B:USR1@{WARNING_SECONDS}"))?;
    directive("open-mode", "append")?;
    if let Some(p) = &opts.partition {
        directive("partition", p)?;
    }
    if let Some(t) = &opts.time {
        directive("time", t)?;
    }
    if let Some(g) = opts.gpus_per_task {
        directive("gpus-per-task", &g.to_string())?;
    }
    let _ = writeln!(s, "#SBATCH --requeue");
    let _ = write!(
        s,
        r#"
echo "nasarena: unit $SLURM_ARRAY_TASK_ID, job $SLURM_JOB_ID on $(hostname -s), restart ${{SLURM_RESTART_COUNT:-0}}"
{binary} run {experiment} --runs-dir {runs} --unit "$SLURM_ARRAY_TASK_ID" --resume &
child=$!
requeue=0
# Before the time limit: stop after the current record, then requeue.
trap 'requeue=1; kill -USR1 "$child" 2>/dev/null' USR1
# Preemption or scancel: stop after the current record; Slurm decides.
trap 'kill -TERM "$child" 2>/dev/null' TERM
# `wait` returns early whenever a trap runs: wait until the run has ended.
while kill -0 "$child" 2>/dev/null; do wait "$child"; done
wait "$child"
status=$?
if [ "$status" -eq {interrupted} ] && [ "$requeue" -eq 1 ]; then
  echo "nasarena: unit $SLURM_ARRAY_TASK_ID stopped before the time limit; requeueing"
  scontrol requeue "$SLURM_JOB_ID"
fi
exit "$status"
"#,
        binary = shell_quote(path_str(&cmd.binary)?),
        experiment = shell_quote(path_str(&cmd.experiment_file)?),
        runs = shell_quote(path_str(&cmd.runs_root)?),
        interrupted = INTERRUPTED_EXIT,
    );
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_specs_compress_runs_of_ids() {
        assert_eq!(array_spec(&[0, 1, 2, 3], None), "0-3");
        assert_eq!(array_spec(&[9, 0, 2, 3, 7, 10], Some(2)), "0,2-3,7,9-10%2");
        assert_eq!(array_spec(&[5], None), "5");
    }

    fn command() -> TaskCommand {
        TaskCommand {
            binary: "/opt/nas arena/nasarena".into(),
            experiment_file: "/home/u/it's.toml".into(),
            runs_root: "/scratch/runs".into(),
            workdir: "/home/u".into(),
            experiment_dir: "/scratch/runs/tiny".into(),
            experiment: "tiny".into(),
        }
    }

    #[test]
    fn script_runs_each_unit_with_resume_and_requeues_on_the_warning() {
        let opts = ScriptOptions {
            partition: Some("gpu".into()),
            gpus_per_task: Some(1),
            time: Some("2:00:00".into()),
            max_parallel: Some(4),
        };
        let s = array_script(&command(), &opts, &[0, 1, 2]).expect("script");
        for line in [
            "#SBATCH --array=0-2%4",
            "#SBATCH --partition=gpu",
            "#SBATCH --gpus-per-task=1",
            "#SBATCH --time=2:00:00",
            "#SBATCH --requeue",
            "#SBATCH --signal=B:USR1@60",
            "#SBATCH --output=/scratch/runs/tiny/slurm/logs/%A_%a.out",
            "'/opt/nas arena/nasarena' run '/home/u/it'\\''s.toml' --runs-dir '/scratch/runs' --unit \"$SLURM_ARRAY_TASK_ID\" --resume &",
            "if [ \"$status\" -eq 75 ] && [ \"$requeue\" -eq 1 ]; then",
        ] {
            assert!(s.lines().any(|l| l == line), "`{line}` missing:\n{s}");
        }
    }

    #[test]
    fn bad_option_values_are_refused_by_name() {
        let opts = ScriptOptions {
            partition: Some("gpu\n#SBATCH --x".into()),
            ..ScriptOptions::default()
        };
        let err = array_script(&command(), &opts, &[0]).expect_err("newline");
        assert!(err.to_string().contains("--partition"), "{err}");
        let opts = ScriptOptions {
            max_parallel: Some(0),
            ..ScriptOptions::default()
        };
        let err = array_script(&command(), &opts, &[0]).expect_err("zero");
        assert!(err.to_string().contains("--max-parallel"), "{err}");
    }
}
