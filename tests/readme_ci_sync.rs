//! The README's two set-up commands are the product's front door: CI must
//! run exactly the README's test command, and the main job must be the one
//! documented.

use std::path::Path;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The commands inside the first fenced block of the README.
fn readme_setup_commands() -> Vec<String> {
    let readme = read("README.md");
    let block = readme
        .split("```")
        .nth(1)
        .expect("README starts with a fenced block of set-up commands");
    block
        .lines()
        .skip(1) // the info string (`sh`)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn readme_has_exactly_two_setup_commands() {
    let commands = readme_setup_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(commands[0], "cargo run --release -- run");
    assert!(commands[1].starts_with("cargo test"), "{commands:?}");
}

#[test]
fn ci_runs_the_readme_test_command_verbatim() {
    let test_command = &readme_setup_commands()[1];
    let ci = read(".ci/run");
    let runs: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("cargo test"))
        .collect();
    assert_eq!(
        runs,
        vec![test_command.as_str()],
        "CI must run `{test_command}`"
    );
}
