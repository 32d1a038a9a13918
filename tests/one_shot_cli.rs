//! End-to-end tests of one-shot (supernet) searches through the real
//! binary: epoch and derive records, budgets in train samples, identical
//! journals for identical commands, and an exact resume after SIGKILL from
//! the per-epoch checkpoint.

mod common;

use common::{journals, nasarena, normalised_lines};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// 160 training images: 130 train the weights, 30 the architecture (a
/// stratified 80/20 split). 480 train samples afford fbnet three epochs of
/// 160 (per-epoch alternation, no warm-up at this length) and gdas two: a
/// weight-only warm-up epoch of 130, then 130 weight images in five
/// batches, each followed by an architecture batch of all 30 (per-step
/// alternation), 280 in all.
const TINY: &str = r#"
name = "tiny-one-shot"
seed = 11
repeats = 1

[dataset]
name = "fashion-mnist-subset"
val_fraction = 0.02
train_limit = 160

[[space]]
name = "cell"
options = { C = "4", N = "1", input = "1x28x28", classes = "10" }

[[strategy]]
name = "gumbel"
preset = "gdas"

[[strategy]]
name = "gumbel"
preset = "fbnet"
overrides = { derive_samples = 2, cost_unit_macs = 1e5 }

[evaluator]
epochs = 1
batch_size = 32
optimizer = { lr = 0.05, momentum = 0.9 }

[budget]
unit = "train_samples"
limit = 480

[final]
schedule = { epochs = 1, batch_size = 32, optimizer = { lr = 0.05, momentum = 0.9 } }
"#;

fn files_in(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for j in journals(dir) {
        if let Ok(entries) = std::fs::read_dir(j.parent().expect("parent")) {
            names.extend(
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned()),
            );
        }
    }
    names.sort();
    names
}

fn run_ok(args: &[&str], cwd: &Path) {
    let out = nasarena(args, cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn one_shot_runs_are_journaled_deterministic_and_resume_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("exp.toml"), TINY).expect("write");
    run_ok(
        &["run", "exp.toml", "--runs-dir", "a", "--quiet"],
        dir.path(),
    );
    let first = journals(&dir.path().join("a"));
    assert_eq!(first.len(), 2);
    for j in &first {
        let lines = normalised_lines(j);
        let epochs: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "epoch").collect();
        let expected: &[u64] = if j.to_string_lossy().contains("gdas") {
            &[130, 280]
        } else {
            &[160, 160, 160]
        };
        assert_eq!(epochs.len(), expected.len(), "{}", j.display());
        for (e, rec) in epochs.iter().enumerate() {
            assert_eq!(rec["epoch"], e);
            assert_eq!(rec["entropy"].as_array().expect("entropy").len(), 6);
            assert_eq!(rec["cost"]["train_samples"], expected[e]);
            assert!(rec["val_accuracy"].as_f64().is_some());
        }
        let derive = lines
            .iter()
            .find(|l| l["kind"] == "derive")
            .expect("derive record");
        let n = derive["candidates"].as_array().expect("candidates").len();
        assert!((1..=3).contains(&n));
        let last = lines.last().expect("lines");
        assert_eq!(last["kind"], "final");
        assert_eq!(last["arch"], derive["chosen"]);
        let spent: u64 = expected.iter().sum();
        assert_eq!(last["search_cost"]["train_samples"], spent);
        assert_eq!(last["budget_overshoot"], 0.0);
    }
    // gdas's tau falls linearly from 10 to 0.1 over its two epochs.
    let gdas = first
        .iter()
        .find(|p| p.to_string_lossy().contains("gdas"))
        .expect("gdas");
    let taus: Vec<f64> = normalised_lines(gdas)
        .iter()
        .filter(|l| l["kind"] == "epoch")
        .map(|l| l["tau"].as_f64().expect("tau"))
        .collect();
    assert_eq!(taus, vec![10.0, 0.1]);
    assert!(
        !files_in(&dir.path().join("a"))
            .iter()
            .any(|f| f.contains("ckpt")),
        "finished runs leave no checkpoints"
    );

    run_ok(
        &["run", "exp.toml", "--runs-dir", "b", "--quiet"],
        dir.path(),
    );
    for (a, b) in first.iter().zip(&journals(&dir.path().join("b"))) {
        assert_eq!(normalised_lines(a), normalised_lines(b), "{}", a.display());
    }

    // Kill once the first epoch is recorded, resume, compare.
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(["run", "exp.toml", "--runs-dir", "c", "--quiet"])
        .current_dir(dir.path())
        .spawn()
        .expect("spawn");
    let watched = dir.path().join("c");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while std::time::Instant::now() < deadline {
        let epochs: usize = journals(&watched)
            .iter()
            .map(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .matches("\"kind\":\"epoch\"")
                    .count()
            })
            .sum();
        if epochs >= 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    run_ok(
        &["run", "exp.toml", "--runs-dir", "c", "--resume", "--quiet"],
        dir.path(),
    );
    for (a, c) in first.iter().zip(&journals(&watched)) {
        assert_eq!(normalised_lines(a), normalised_lines(c), "{}", c.display());
    }
}

#[test]
fn one_shot_config_problems_are_named_before_training() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = TINY
        .replace("unit = \"train_samples\"", "unit = \"evaluations\"")
        .replace("preset = \"fbnet\"", "preset = \"fbnet\"\nlabel = \"fb\"")
        .replace("derive_samples = 2,", "derive_samples = 2, warmup = 3,");
    std::fs::write(dir.path().join("exp.toml"), bad).expect("write");
    let out = nasarena(&["run", "exp.toml", "--runs-dir", "a"], dir.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("budget.unit") && err.contains("one-shot"),
        "{err}"
    );
    assert!(err.contains("warmup"), "{err}");
    assert!(journals(&dir.path().join("a")).is_empty(), "nothing ran");

    let macro_space = TINY.replace("name = \"cell\"\noptions = { C = \"4\", N = \"1\", input = \"1x28x28\", classes = \"10\" }", "name = \"macro\"\noptions = { input = \"1x28x28\", classes = \"10\" }");
    std::fs::write(dir.path().join("exp.toml"), macro_space).expect("write");
    let out = nasarena(&["run", "exp.toml", "--runs-dir", "a"], dir.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("supernet"), "{err}");
}
