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

pub fn nasarena(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(args)
        .current_dir(cwd)
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
