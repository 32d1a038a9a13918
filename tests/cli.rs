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
    assert!(version.contains("isa: "), "{version}");
}

#[test]
fn a_forced_instruction_set_path_is_reported_or_refused() {
    let run = |isa: &str| {
        Command::new(env!("CARGO_BIN_EXE_nasarena"))
            .args(["--version"])
            .env("NASARENA_ISA", isa)
            .output()
            .expect("run nasarena")
    };
    let out = run("portable");
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("isa: portable)"),
        "{}",
        text(&out.stdout)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(["spaces"])
        .env("NASARENA_ISA", "sse9")
        .output()
        .expect("run nasarena");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("sse9") && err.contains("avx512, avx2, neon, portable"),
        "{err}"
    );
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
fn bench_train_and_describe_print_json() {
    let target = [
        "--space",
        "cell",
        "--arch",
        "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|",
        "--opt",
        "C=4",
        "--opt",
        "N=1",
        "--opt",
        "input=3x8x8",
        "--json",
    ];
    let mut args = vec!["bench", "train"];
    args.extend(target);
    args.extend([
        "--batch",
        "2",
        "--steps",
        "1",
        "--warmup",
        "0",
        "--threads",
        "1",
    ]);
    let out = nasarena(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json = text(&out.stdout);
    for key in [
        "train_img_s",
        "eval_img_s",
        "params",
        "macs",
        "threads",
        "batch",
    ] {
        assert!(
            json.contains(&format!("\"{key}\"")),
            "{key} missing: {json}"
        );
    }
    let mut args = vec!["bench", "describe"];
    args.extend(target);
    let out = nasarena(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"nodes\""));
    let out = nasarena(&["bench", "train", "--space", "cell", "--arch", "nonsense"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn compare_of_missing_folders_is_an_input_error() {
    let out = nasarena(&["compare", "no-such-a", "no-such-b"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no-such-a"),
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
