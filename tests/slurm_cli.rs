//! End-to-end tests of running experiments as Slurm job arrays: stopping a
//! unit by signal and resuming it exactly, `nasarena slurm` errors, and,
//! on a real single-node Slurm started by the tests (see
//! `slurm_cluster`), an array whose report equals a local `--jobs 2` run
//! and a preempted task that is requeued and ends with the journal of an
//! uninterrupted run. The Slurm tests need `slurm-wlm` and `munge` and
//! root; without them they print why they are skipped, or fail when
//! `NASARENA_REQUIRE_SLURM=1` (CI).

mod common;
mod slurm_cluster;

use common::{journals, nasarena, normalised_lines, TINY};
use serde_json::Value;
use slurm_cluster::Cluster;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One cluster at a time: each Slurm test starts and stops its own.
static CLUSTER: Mutex<()> = Mutex::new(());

/// `TINY` with one strategy: one image unit (trials take about a second),
/// long enough to signal it between records.
fn one_unit() -> String {
    let evolution = "[[strategy]]\nname = \"evolution\"\npreset = \"nb201\"\noverrides = { population_size = 2, sample_size = 1 }\n";
    let text = TINY
        .replace("name = \"tiny\"", "name = \"one-unit\"")
        .replace(evolution, "");
    assert!(!text.contains("evolution"), "TINY changed: {text}");
    text
}

/// [`one_unit`] with a budget of 30 trials (about 0.1 s each here), so
/// that a signal sent after the first trial always lands before the budget
/// is spent, however fast the engine gets.
fn long_unit() -> String {
    let text = one_unit().replace("limit = 3\n", "limit = 30\n");
    assert!(text.contains("limit = 30\n"), "TINY changed: {text}");
    text
}

/// Ten table units (no training; each runs in milliseconds).
fn table_experiment() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("experiments/nb201-cifar10.toml"))
        .expect("shipped experiment");
    let table = root.join("data/tables/nb201-cifar10-12ep.nastable");
    shipped
        .replace("name = \"nb201-cifar10\"", "name = \"nb201-array\"")
        .replace("repeats = 100", "repeats = 2")
        .replace("limit = 200", "limit = 20")
        .replace(
            "path = \"../data/tables/nb201-cifar10-12ep.nastable\"",
            &format!("path = \"{}\"", table.display()),
        )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write experiment");
    path.to_str().expect("utf8").to_string()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// `nasarena` run against `cluster`.
fn nasarena_on(cluster: &Cluster, args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(args)
        .current_dir(cwd)
        .env("SLURM_CONF", cluster.conf())
        .output()
        .expect("the nasarena binary starts")
}

/// The last line of `nasarena slurm status FOLDER`: the count of units
/// in each state.
fn status_summary(cluster: &Cluster, folder: &str, cwd: &Path) -> String {
    let out = ok(&nasarena_on(cluster, &["slurm", "status", folder], cwd));
    out.lines().last().unwrap_or_default().to_string()
}

/// Journal lines without timing, thread count and Slurm ids (which differ
/// between a local run and a Slurm task).
fn comparable(path: &Path) -> Vec<Value> {
    let mut lines = normalised_lines(path);
    if let Some(Value::Object(h)) = lines.first_mut() {
        h.remove("threads");
        h.remove("slurm");
    }
    lines
}

fn trials(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .matches("\"kind\":\"trial\"")
        .count()
}

/// Waits until `path` holds at least one trial record.
fn wait_for_first_trial(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while trials(path) == 0 {
        assert!(Instant::now() < deadline, "no trial in {}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn only_journal(dir: &Path) -> PathBuf {
    let found = journals(dir);
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

#[test]
fn a_signal_stops_a_unit_after_its_record_and_resume_matches_an_uninterrupted_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exp = write(dir.path(), "one.toml", &long_unit());
    ok(&nasarena(
        &["run", &exp, "--runs-dir", "a", "--unit", "0", "--quiet"],
        dir.path(),
    ));
    let uninterrupted = only_journal(&dir.path().join("a"));

    let child = Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(["run", &exp, "--runs-dir", "b", "--unit", "0", "--quiet"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let journal = dir.path().join("b").join(
        uninterrupted
            .strip_prefix(dir.path().join("a"))
            .expect("under a"),
    );
    wait_for_first_trial(&journal);
    let sent = Command::new("kill")
        .args(["-USR1", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let out = child.wait_with_output().expect("reaped");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("stopped by a signal"), "{stderr}");
    let lines = normalised_lines(&journal);
    assert!(trials(&journal) < 30, "the run stopped early");
    assert_ne!(lines.last().expect("lines")["kind"], "final");

    ok(&nasarena(
        &[
            "run",
            &exp,
            "--runs-dir",
            "b",
            "--unit",
            "0",
            "--resume",
            "--quiet",
        ],
        dir.path(),
    ));
    assert_eq!(comparable(&uninterrupted), comparable(&journal));
}

#[test]
fn bad_units_missing_sbatch_and_foreign_folders_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exp = write(dir.path(), "one.toml", &one_unit());
    let err = failed(&nasarena(
        &["run", &exp, "--unit", "1", "--check"],
        dir.path(),
    ));
    assert!(
        err.contains("--unit 1 is out of range") && err.contains("1 units"),
        "{err}"
    );

    // The dry run shows the whole script and writes nothing.
    let script = ok(&nasarena(
        &[
            "slurm",
            "submit",
            &exp,
            "--runs-dir",
            "r",
            "--dry-run",
            "--time",
            "1:00:00",
        ],
        dir.path(),
    ));
    assert!(script.starts_with("#!/bin/bash"), "{script}");
    assert!(script.contains("#SBATCH --array=0\n") && script.contains("#SBATCH --time=1:00:00"));
    assert!(!dir.path().join("r").exists());

    // No sbatch on PATH: a clear error, nothing recorded.
    let empty = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(["slurm", "submit", &exp, "--runs-dir", "r"])
        .current_dir(dir.path())
        .env("PATH", empty.path())
        .output()
        .expect("runs");
    let err = failed(&out);
    assert!(err.contains("`sbatch` is not on PATH"), "{err}");
    assert!(!dir.path().join("r/one-unit/slurm/submission.json").exists());
    let err = failed(&nasarena(&["slurm", "status", "r"], dir.path()));
    assert!(err.contains("no Slurm submission record"), "{err}");

    // Journals of another configuration under the same experiment name.
    ok(&nasarena(
        &["run", &exp, "--runs-dir", "r", "--quiet"],
        dir.path(),
    ));
    let other = write(
        dir.path(),
        "other.toml",
        &one_unit().replace("seed = 7", "seed = 8"),
    );
    let err = failed(&nasarena(
        &["slurm", "submit", &other, "--runs-dir", "r", "--dry-run"],
        dir.path(),
    ));
    assert!(
        err.contains("another configuration of experiment `one-unit`"),
        "{err}"
    );
}

/// Runs `test` on a fresh cluster in a temporary folder (one cluster at a
/// time), when the machine can run one.
fn on_cluster(name: &str, test: impl FnOnce(&Cluster, &tempfile::TempDir)) {
    if !slurm_cluster::available(name) {
        return;
    }
    let _one_at_a_time = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = Cluster::start(&dir.path().join("cluster"));
    test(&cluster, &dir);
}

#[test]
fn slurm_array_report_equals_the_local_run() {
    on_cluster("slurm_array_report_equals_the_local_run", array_report);
}

fn array_report(cluster: &Cluster, dir: &tempfile::TempDir) {
    let exp = write(dir.path(), "tab.toml", &table_experiment());
    ok(&nasarena(
        &["run", &exp, "--runs-dir", "local", "--jobs", "2", "--quiet"],
        dir.path(),
    ));
    let local = ok(&nasarena(&["report", "local/nb201-array"], dir.path()));

    let out = ok(&nasarena_on(
        cluster,
        &[
            "slurm",
            "submit",
            &exp,
            "--runs-dir",
            "array",
            "--max-parallel",
            "4",
        ],
        dir.path(),
    ));
    assert!(out.starts_with("submitted job "), "{out}");
    cluster.wait_until_idle(Duration::from_secs(120));
    let folder = "array/nb201-array";
    assert_eq!(
        status_summary(cluster, folder, dir.path()),
        "10 done, 0 running, 0 pending, 0 failed, 0 missing"
    );
    let on_slurm = ok(&nasarena(&["report", folder], dir.path()));
    assert_eq!(local, on_slurm);
    let out = ok(&nasarena_on(
        cluster,
        &["slurm", "resubmit", folder],
        dir.path(),
    ));
    assert!(out.contains("nothing to resubmit"), "{out}");

    // One journal lost, one cut before its final record: resubmit sends
    // exactly those two units, which start again or resume.
    let written = journals(&dir.path().join(folder));
    let unit_of = |p: &Path| normalised_lines(p)[0]["unit"].as_u64().expect("unit");
    let (lost, cut) = (&written[2], &written[7]);
    let mut units = [unit_of(lost), unit_of(cut)];
    units.sort_unstable();
    std::fs::remove_file(lost).expect("remove");
    let text = std::fs::read_to_string(cut).expect("read");
    let without_final = &text[..text.trim_end().rfind('\n').expect("lines") + 1];
    std::fs::write(cut, without_final).expect("cut");
    assert_eq!(
        status_summary(cluster, folder, dir.path()),
        "8 done, 0 running, 0 pending, 1 failed, 1 missing"
    );
    let out = ok(&nasarena_on(
        cluster,
        &["slurm", "resubmit", folder],
        dir.path(),
    ));
    let listed = |a: u64, b: u64| {
        out.contains(&format!("tasks {a},{b}"))
            || (b == a + 1 && out.contains(&format!("tasks {a}-{b}")))
    };
    assert!(listed(units[0], units[1]), "{out}");
    cluster.wait_until_idle(Duration::from_secs(120));
    assert_eq!(
        status_summary(cluster, folder, dir.path()),
        "10 done, 0 running, 0 pending, 0 failed, 0 missing"
    );
    assert_eq!(local, ok(&nasarena(&["report", folder], dir.path())));

    // Each header names its host and array task.
    for j in journals(&dir.path().join(folder)) {
        let header = &normalised_lines(&j)[0];
        let slurm = &header["slurm"];
        assert_eq!(
            header["host"],
            Value::String(command_text("hostname", &["-s"]))
        );
        assert_eq!(slurm["array_task_id"], header["unit"].to_string().as_str());
        assert!(slurm["job_id"].is_string() && slurm["array_job_id"].is_string());
    }

    // A submission Slurm refuses: its message is shown.
    let err = failed(&nasarena_on(
        cluster,
        &[
            "slurm",
            "submit",
            &exp,
            "--runs-dir",
            "array",
            "--partition",
            "nosuch",
        ],
        dir.path(),
    ));
    assert!(
        err.contains("sbatch refused") && err.contains("partition"),
        "{err}"
    );
}

fn command_text(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().expect("runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The job id of array task `task` of the submission printed as `out`.
fn task_id(out: &str, task: usize) -> String {
    let job = out
        .strip_prefix("submitted job ")
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("no job id in {out}"));
    format!("{job}_{task}")
}

#[test]
fn a_preempted_task_is_requeued_and_ends_with_the_uninterrupted_journal() {
    on_cluster(
        "a_preempted_task_is_requeued_and_ends_with_the_uninterrupted_journal",
        preempt_and_requeue,
    );
}

fn preempt_and_requeue(cluster: &Cluster, dir: &tempfile::TempDir) {
    let exp = write(dir.path(), "one.toml", &long_unit());
    ok(&nasarena(
        &["run", &exp, "--runs-dir", "local", "--quiet"],
        dir.path(),
    ));
    let uninterrupted = only_journal(&dir.path().join("local"));

    let out = ok(&nasarena_on(
        cluster,
        &["slurm", "submit", &exp, "--runs-dir", "array"],
        dir.path(),
    ));
    let task = task_id(&out, 0);
    let journal = dir.path().join("array").join(
        uninterrupted
            .strip_prefix(dir.path().join("local"))
            .expect("under local"),
    );
    wait_for_first_trial(&journal);

    // The time-limit warning: the batch shell passes it on, the run stops
    // after its current record and the task requeues itself.
    let sent = cluster.command("scancel", &["--signal=USR1", "--batch", &task]);
    assert!(sent.status.success(), "{sent:?}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let shown = cluster.show_job(&task);
        if shown.contains("Restarts=1") && shown.contains("JobState=PENDING") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the task was not requeued:\n{shown}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A second submission while the task waits, requeued, would share
    // its journal.
    let err = failed(&nasarena_on(
        cluster,
        &["slurm", "submit", &exp, "--runs-dir", "array"],
        dir.path(),
    ));
    assert!(err.contains("still queued or running"), "{err}");
    let stopped_at = trials(&journal);
    assert!(
        stopped_at < 30,
        "the unit stopped before its budget was spent"
    );
    let folder = "array/one-unit";
    assert_eq!(
        status_summary(cluster, folder, dir.path()),
        "0 done, 0 running, 1 pending, 0 failed, 0 missing"
    );
    // Slurm holds a requeued job back for two minutes; start it now, once
    // the node has cleaned up after the first attempt. slurmd refuses a
    // launch credential not newer than the kill of the same job id, in
    // whole seconds ("already killed, do not launch"), hence the pause.
    cluster.wait_for_idle_node(Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    let update = cluster.command(
        "scontrol",
        &["update", &format!("JobId={task}"), "StartTime=now"],
    );
    assert!(update.status.success(), "{update:?}");
    cluster.wait_until_idle(Duration::from_secs(120));

    let log: String = std::fs::read_dir(dir.path().join(folder).join("slurm/logs"))
        .expect("logs")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    let last = normalised_lines(&journal).pop().expect("lines");
    assert_eq!(last["kind"], "final", "{}\n{log}", cluster.show_job(&task));
    assert_eq!(comparable(&uninterrupted), comparable(&journal));
    assert_eq!(journals(&dir.path().join(folder)).len(), 1);
    assert!(
        log.contains("requeueing") && log.contains("restart 1"),
        "{log}"
    );
    assert!(
        log.contains(&format!("resumed after {stopped_at} recorded steps")),
        "{log}"
    );
}
