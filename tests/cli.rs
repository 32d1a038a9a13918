//! End-to-end tests of the `nasarena` binary: real processes, real exit codes.

use std::process::{Command, Output};

fn nasarena(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(args)
        .output()
        .expect("the nasarena binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_every_subcommand() {
    let out = nasarena(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for sub in [
        "run", "report", "compare", "macs", "spaces", "data", "bench", "tabulate",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(sub)),
            "`{sub}` missing from --help:\n{help}"
        );
    }
}

#[test]
fn version_names_revision_and_features() {
    let out = nasarena(&["--version"]);
    assert!(out.status.success());
    let version = text(&out.stdout);
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    assert!(version.contains("rev "), "{version}");
    assert!(version.contains("features: cpu"), "{version}");
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = nasarena(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--no-such-flag"));
}

#[test]
fn spaces_lists_registered_spaces() {
    let out = nasarena(&["spaces"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).trim().is_empty());
}

#[test]
fn unbuilt_subcommands_fail_loudly() {
    let out = nasarena(&["bench"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not built yet"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn closed_stdout_pipe_is_not_a_panic() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .arg("spaces")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take()); // the reader goes away, as with `| head -0`
    let out = child.wait_with_output().expect("wait");
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}
