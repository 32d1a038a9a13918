//! Helpers shared by the end-to-end tests of the binary: running it,
//! finding the journals a run wrote, and reading them without the timing
//! fields that legitimately differ between runs.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A tiny image experiment: two black-box strategies, one seed, three
/// one-epoch evaluations each on 160 images of the bundled subset.
pub const TINY: &str = r#"
name = "tiny"
seed = 7
repeats = 1

[dataset]
name = "fashion-mnist-subset"
val_fraction = 0.05
train_limit = 160

[[space]]
name = "cell"
options = { C = "4", N = "1", input = "1x28x28", classes = "10" }

[[strategy]]
name = "random"

[[strategy]]
name = "evolution"
preset = "nb201"
overrides = { population_size = 2, sample_size = 1 }

[evaluator]
epochs = 1
batch_size = 32
optimizer = { lr = 0.05, momentum = 0.9 }

[budget]
unit = "evaluations"
limit = 3

[final]
schedule = { epochs = 1, batch_size = 32, optimizer = { lr = 0.05, momentum = 0.9 } }
"#;

/// The binary with `args`, run in `cwd` (not started yet).
pub fn nasarena_command(args: &[&str], cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nasarena"));
    c.args(args).current_dir(cwd);
    c
}

pub fn nasarena(args: &[&str], cwd: &Path) -> Output {
    nasarena_command(args, cwd)
        .output()
        .expect("the nasarena binary starts")
}

pub fn journals(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        // The folder may not exist yet while a run is starting.
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Journal lines with timing fields removed (they legitimately differ).
pub fn normalised_lines(path: &Path) -> Vec<Value> {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in [
                    "device_seconds",
                    "calibration_seconds",
                    "normalised_search_cost",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    std::fs::read_to_string(path)
        .expect("journal")
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("every journal line is JSON");
            strip(&mut v);
            v
        })
        .collect()
}

/// The stdout of a command that must succeed (its stderr on failure).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs experiment `exp` in `dir` and checks that it is refused (exit 1)
/// with every needle in the error, before any run folder is made.
pub fn expect_refused(exp: &Path, dir: &Path, needles: &[&str]) {
    let out = nasarena(
        &["run", exp.to_str().expect("utf8"), "--runs-dir", "r"],
        dir,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "`{n}` missing from:\n{err}");
    }
    assert!(
        !dir.join("r").exists(),
        "nothing may run before the checks pass"
    );
}
