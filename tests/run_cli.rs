//! End-to-end tests of `nasarena run`/`report` through the real binary on
//! the bundled Fashion-MNIST subset: journals, budgets, determinism,
//! kill-and-resume, `compare` of a re-run, and configuration errors
//! reported before training.

mod common;

use common::{journals, nasarena, normalised_lines, TINY};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn write_experiment(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("exp.toml");
    std::fs::write(&path, text).expect("write experiment");
    path
}

#[test]
fn tiny_experiment_runs_is_deterministic_and_resumes_after_kill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exp = write_experiment(dir.path(), TINY);
    let exp = exp.to_str().expect("utf8");
    // Not a terminal: progress comes as plain lines on stderr.
    let out = nasarena(&["run", exp, "--runs-dir", "a"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_progress_lines(&String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("| random |") && table.contains("| evolution/nb201 |"),
        "{table}"
    );

    let first = journals(&dir.path().join("a"));
    assert_eq!(first.len(), 2);
    for j in &first {
        let lines = normalised_lines(j);
        assert_eq!(lines[0]["kind"], "header");
        let trials: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "trial").collect();
        assert_eq!(trials.len(), 3, "budget of 3 evaluations is spent exactly");
        let last = lines.last().expect("lines");
        assert_eq!(last["kind"], "final");
        assert_eq!(last["evaluations"], 3);
        assert_eq!(last["budget_overshoot"], 0.0);
        let acc = last["test_accuracy"].as_f64().expect("test accuracy");
        assert!((0.0..=1.0).contains(&acc));
    }

    // Same command again, quiet: identical journals apart from timing
    // fields, and nothing at all on stderr.
    let out = nasarena(&["run", exp, "--runs-dir", "b", "--quiet"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "--quiet prints nothing"
    );
    let second = journals(&dir.path().join("b"));
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(normalised_lines(a), normalised_lines(b), "{}", a.display());
    }

    // Two runs at once, each on its own share of the cores: same journals
    // (the thread count aside, which the header records). `-v` logs each
    // run's events inside its span, and changes no journal either.
    let out = nasarena(
        &[
            "-v",
            "run",
            exp,
            "--runs-dir",
            "d",
            "--quiet",
            "--jobs",
            "2",
        ],
        dir.path(),
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    for needle in [
        "INFO unit{n=1 run=cell random seed 0}: run started",
        "INFO unit{n=2 run=cell evolution/nb201 seed 0}: trial journaled trial=2",
        "run finished",
    ] {
        assert!(log.contains(needle), "`{needle}` missing from:\n{log}");
    }
    let parallel = journals(&dir.path().join("d"));
    assert_eq!(parallel.len(), first.len());
    for (a, d) in first.iter().zip(&parallel) {
        let without_threads = |p: &Path| {
            let mut lines = normalised_lines(p);
            if let Some(Value::Object(h)) = lines.first_mut() {
                h.remove("threads");
            }
            lines
        };
        assert_eq!(without_threads(a), without_threads(d), "{}", d.display());
    }

    // Kill mid-run, resume: the same records as the uninterrupted run.
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(["run", exp, "--runs-dir", "c", "--quiet"])
        .current_dir(dir.path())
        .spawn()
        .expect("spawn");
    let watched = dir.path().join("c");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let trial_lines = journals(&watched)
            .iter()
            .map(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .matches("\"kind\":\"trial\"")
                    .count()
            })
            .sum::<usize>();
        if trial_lines >= 2 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    // Simulate a torn write on one journal as well.
    if let Some(j) = journals(&watched).first() {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(j)
            .expect("open");
        std::io::Write::write_all(&mut f, b"{\"kind\":\"trial\",\"tri").expect("torn write");
    }
    let out = nasarena(
        &["run", exp, "--runs-dir", "c", "--resume", "--quiet"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("torn last line"));
    let resumed = journals(&watched);
    assert_eq!(resumed.len(), 2);
    for (a, c) in first.iter().zip(&resumed) {
        assert_eq!(normalised_lines(a), normalised_lines(c), "{}", c.display());
    }

    // report reads the journals back.
    let out = nasarena(&["report", "a"], dir.path());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("test acc"));

    // b is a real re-run of a that differs only in timing: the gate passes.
    for metric in ["anytime-auc", "final-accuracy"] {
        let out = nasarena(&["compare", "a", "b", "--metric", metric], dir.path());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The plain progress format (README, "Progress"): every line names its
/// run; each run starts, reports each trial with the budget and an ETA,
/// and finishes with the test accuracy.
fn check_progress_lines(stderr: &str) {
    for run in [
        "[1/2] cell random seed 0",
        "[2/2] cell evolution/nb201 seed 0",
    ] {
        let lines: Vec<&str> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix(run)?.strip_prefix(": "))
            .collect();
        assert_eq!(
            lines.first().copied(),
            Some("started, budget 3 evaluations"),
            "{stderr}"
        );
        let trial = lines
            .iter()
            .find(|l| l.starts_with("trial 0 val "))
            .unwrap_or_else(|| panic!("no first trial line for {run} in:\n{stderr}"));
        assert!(trial.contains(" budget 33.3% eta "), "{trial}");
        let last = lines.last().expect("lines");
        assert!(
            last.starts_with("finished |") && last.contains(" test ") && last.ends_with('%'),
            "{last}"
        );
    }
}

fn expect_config_error(text: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let exp = write_experiment(dir.path(), text);
    let out = nasarena(
        &["run", exp.to_str().expect("utf8"), "--runs-dir", "r"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "`{n}` missing from:\n{err}");
    }
    assert!(
        !dir.path().join("r").exists(),
        "nothing may run before the checks pass"
    );
}

#[test]
fn typo_key_is_named_with_its_line() {
    let text = TINY.replace("val_fraction", "val_fracton");
    expect_config_error(&text, &["val_fracton", "line 8"]);
}

#[test]
fn wrong_type_is_named() {
    let text = TINY.replace("repeats = 1", "repeats = \"one\"");
    expect_config_error(&text, &["line 4", "`repeats`", "invalid type"]);
}

/// A relative `data_dir` is read from the experiment's folder, not from
/// the working directory, and the error names where it looked.
#[test]
fn relative_data_dir_is_read_from_the_experiment_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    std::fs::create_dir(dir.path().join("fm")).expect("mkdir");
    let text = TINY.replace(
        "name = \"fashion-mnist-subset\"",
        "name = \"fashion-mnist\"\ndata_dir = \"fm\"",
    );
    let exp = write_experiment(&sub, &text);
    let out = nasarena(&["run", "sub/exp.toml", "--runs-dir", "r"], dir.path());
    assert_eq!(exp, sub.join("exp.toml"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "folder {} does not exist",
        Path::new("sub").join("fm").display()
    );
    assert!(
        err.contains("dataset.data_dir") && err.contains(&want),
        "{err}"
    );
}

#[test]
fn missing_dataset_folder_is_named() {
    let text = TINY.replace(
        "name = \"fashion-mnist-subset\"",
        "name = \"fashion-mnist\"\ndata_dir = \"/nonexistent/fmnist\"",
    );
    expect_config_error(&text, &["dataset.data_dir", "/nonexistent/fmnist"]);
}

#[test]
fn impossible_budget_is_named() {
    let text = TINY.replace("limit = 3", "limit = 0");
    expect_config_error(&text, &["budget.limit", "positive"]);
}

#[test]
fn unknown_strategy_and_bad_space_option_are_all_reported() {
    let text = TINY
        .replace("name = \"random\"", "name = \"randomm\"")
        .replace("C = \"4\"", "C = \"four\"");
    expect_config_error(&text, &["strategy[0].name", "randomm", "space[0]", "`C`"]);
}

/// A CPU build refuses `--device cuda:0` before any training and says how
/// to get CUDA; a device name that means nothing is a usage error.
#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_device_in_a_cpu_build_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exp = write_experiment(dir.path(), TINY);
    let exp = exp.to_str().expect("utf8");
    let out = nasarena(
        &["run", exp, "--runs-dir", "r", "--device", "cuda:0"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`cuda:0`")
            && err.contains("built without CUDA")
            && err.contains("--features cuda"),
        "{err}"
    );
    assert!(journals(&dir.path().join("r")).is_empty(), "nothing ran");
    let out = nasarena(&["run", exp, "--device", "gpu0"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown device `gpu0`"));
}

/// Every experiment shipped in `experiments/` passes the pre-run check
/// (`cell.toml` needs Debian's full Fashion-MNIST, which CI installs).
#[test]
fn shipped_experiments_pass_the_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let full_installed = nasarena_datasets::locate::locate("fashion-mnist", None).is_some();
    for entry in std::fs::read_dir(root.join("experiments")).expect("experiments/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        if text.contains("name = \"fashion-mnist\"") && !full_installed {
            eprintln!(
                "{}: dataset-fashion-mnist not installed; skipped",
                path.display()
            );
            continue;
        }
        // Relative paths in an experiment are read from its folder, so it
        // checks the same from the repository root (given as a relative
        // path) and from an unrelated folder (given as an absolute one).
        let dir = tempfile::tempdir().expect("tempdir");
        let runs = dir.path().join("r");
        let relative = path.strip_prefix(root).expect("under the root");
        for (file, cwd) in [(relative, root), (path.as_path(), dir.path())] {
            let out = nasarena(
                &[
                    "run",
                    file.to_str().expect("utf8"),
                    "--check",
                    "--runs-dir",
                    runs.to_str().expect("utf8"),
                ],
                cwd,
            );
            assert!(
                out.status.success(),
                "{} from {}: {}",
                file.display(),
                cwd.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            journals(&dir.path().join("r")).is_empty(),
            "--check runs nothing"
        );
    }
}

/// A strategy's own `repeats` sets its seeds; seed k's journal is the
/// same seed k whatever the counts, so runs still pair by seed.
#[test]
fn a_strategy_can_run_its_own_number_of_seeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = TINY.replacen("repeats = 1", "repeats = 3", 1).replacen(
        "preset = \"nb201\"",
        "preset = \"nb201\"\nrepeats = 1",
        1,
    );
    let exp = write_experiment(dir.path(), &text);
    let out = nasarena(&["run", exp.to_str().expect("utf8"), "--check"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    let runs = |label: &str| {
        let mut seeds: Vec<String> = listed
            .lines()
            .filter(|l| l.contains(&format!("/{label}/")))
            .map(|l| l.rsplit('/').next().unwrap_or_default().to_string())
            .collect();
        seeds.sort();
        seeds
    };
    assert_eq!(
        runs("random"),
        ["seed-0.jsonl", "seed-1.jsonl", "seed-2.jsonl"],
        "{listed}"
    );
    assert_eq!(runs("evolution_nb201"), ["seed-0.jsonl"], "{listed}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1-3 seeds"), "{stderr}");

    let zero = text.replacen("repeats = 1", "repeats = 0", 1);
    let exp = write_experiment(dir.path(), &zero);
    let out = nasarena(&["run", exp.to_str().expect("utf8"), "--check"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "repeats = 0 accepted");
    assert!(stderr.contains("strategy[1].repeats"), "{stderr}");
}
