//! Helpers shared by the end-to-end tests of the binary: running it,
//! finding the journals a run wrote, and reading them without the timing
//! fields that legitimately differ between runs.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
