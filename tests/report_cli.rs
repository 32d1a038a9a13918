//! End-to-end tests of `nasarena report` and `nasarena compare` through the
//! real binary: the regression gate on synthetic journals (one strategy
//! made clearly worse; a re-run differing only in timing noise), outputs
//! written by `--out`, and a runs folder with corrupt journals.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nasarena(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(args)
        .output()
        .expect("the nasarena binary starts")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("results/tests/fixtures")
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// A real header of the checked-in fixtures, to be varied.
fn template_header() -> Value {
    let path = fixtures().join("journals/cell/random/seed-0.jsonl");
    let first = std::fs::read_to_string(path)
        .expect("fixture journal")
        .lines()
        .next()
        .expect("header line")
        .to_string();
    serde_json::from_str(&first).expect("header JSON")
}

fn cost(seconds: f64, samples: u64, evaluations: u64) -> Value {
    json!({"device_seconds": seconds, "train_samples": samples, "eval_samples": samples / 2,
           "macs": samples * 2_000_000, "evaluations": evaluations})
}

/// Writes 6 seeds x {random, evolution} of black-box journals. `drop` is
/// subtracted from every evolution accuracy; `time(seed, trial)` scales
/// device time (timing noise).
fn synthesise(dir: &Path, drop: f64, time: impl Fn(u64, u64) -> f64) {
    for (k, (strategy, label, bonus)) in [
        ("random", "random", 0.0),
        ("evolution", "evolution/nb201", 0.03),
    ]
    .into_iter()
    .enumerate()
    {
        for s in 0..6u64 {
            let mut header = template_header();
            header["seed"] = json!(1000 + s);
            header["unit"] = json!(k as u64 * 6 + s);
            header["strategy"] = json!(strategy);
            header["label"] = json!(label);
            let mut lines = vec![header];
            let (mut seconds, mut best) = (0.0, 0.0f64);
            for t in 0..5u64 {
                let acc = 0.60 + 0.02 * t as f64 + 0.01 * ((s * 7 + t * 3) % 5) as f64 + bonus
                    - if strategy == "evolution" { drop } else { 0.0 };
                let dt = (2.0 + 0.1 * ((s + t) % 3) as f64) * time(s, t);
                seconds += dt;
                best = best.max(acc);
                let arch = format!("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~{}|", t % 3);
                lines.push(json!({
                    "kind": "trial", "trial": t, "arch": arch, "canonical": arch,
                    "choices": [3, 1, 0, 0, 2, 4], "epochs": 1,
                    "outcome": {"status": "evaluated", "val_accuracy": acc, "val_loss": 1.0 - acc,
                                "val_accuracy_per_epoch": [acc], "macs": 800_000 + 1000 * t, "params": 9000},
                    "cost": cost(dt, 160, 1), "cumulative": cost(seconds, 160 * (t + 1), t + 1),
                    "incumbent": {"arch": arch, "val_accuracy": best, "trial": t},
                    "macs": 800_000 + 1000 * t, "params": 9000
                }));
            }
            lines.push(json!({
                "kind": "final", "arch": "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~0|",
                "search_val_accuracy": best, "test_accuracy": best - 0.02, "failure": null,
                "macs": 800_000, "params": 9000, "epochs": 2, "cost": cost(3.0 * time(s, 9), 1600, 0),
                "search_cost": cost(seconds, 800, 5), "normalised_search_cost": seconds / 0.04,
                "evaluations": 5, "budget_overshoot": 0.0
            }));
            let folder = dir.join(strategy);
            std::fs::create_dir_all(&folder).expect("mkdir");
            let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(folder.join(format!("seed-{s}.jsonl")), body).expect("write journal");
        }
    }
}

/// Deterministic timing noise in [0.85, 1.15] (no unseeded randomness).
fn noise(s: u64, t: u64) -> f64 {
    let h = (s * 2_654_435_761 + t * 40_503 + 12_345) % 1_000;
    0.85 + 0.3 * h as f64 / 1_000.0
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf8 path").to_string()
}

#[test]
fn compare_fails_on_a_regression_and_passes_timing_noise() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (base, rerun, worse) = (
        p(tmp.path(), "base"),
        p(tmp.path(), "rerun"),
        p(tmp.path(), "worse"),
    );
    synthesise(Path::new(&base), 0.0, |_, _| 1.0);
    synthesise(Path::new(&rerun), 0.0, noise);
    synthesise(Path::new(&worse), 0.15, noise);

    for metric in [
        vec!["--metric", "anytime-auc"],
        vec!["--metric", "final-accuracy"],
        vec!["--metric", "cost-to-target", "--target", "62"],
    ] {
        // A re-run with timing noise only: no regression.
        let mut args = vec!["compare", base.as_str(), rerun.as_str()];
        args.extend(&metric);
        let out = nasarena(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{metric:?}\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains("no significant regression"));
    }

    for metric in ["anytime-auc", "final-accuracy"] {
        let out = nasarena(&["compare", &base, &worse, "--metric", metric]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{metric}\n{stdout}{}",
            text(&out.stderr)
        );
        let evo = stdout
            .lines()
            .find(|l| l.contains("| evolution/nb201 |"))
            .expect("evolution line");
        assert!(
            evo.contains("REGRESSED") && evo.contains("wilcoxon"),
            "{evo}"
        );
        let rnd = stdout
            .lines()
            .find(|l| l.contains("| random |"))
            .expect("random line");
        assert!(!rnd.contains("REGRESSED"), "{rnd}");
        assert!(stdout.contains("1 of 2 strategies regressed"), "{stdout}");
    }
    // 15 points worse is within a tolerance of 20 points.
    let out = nasarena(&[
        "compare",
        &base,
        &worse,
        "--metric",
        "final-accuracy",
        "--tolerance",
        "20",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // The JSON summary is a valid baseline, as committed by a CI job.
    let out = nasarena(&["report", &base, "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = tmp.path().join("baseline.json");
    std::fs::write(&summary, &out.stdout).expect("write summary");
    let summary = summary.to_str().expect("utf8");
    let out = nasarena(&["compare", summary, &worse]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let out = nasarena(&["compare", summary, &rerun]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn compare_usage_errors_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = p(tmp.path(), "base");
    synthesise(Path::new(&base), 0.0, |_, _| 1.0);
    let missing = p(tmp.path(), "nope");
    let out = nasarena(&["compare", &base, &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nope"), "{}", text(&out.stderr));
    let out = nasarena(&["compare", &base, &base, "--metric", "cost-to-target"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--target"));
    let out = nasarena(&["compare", &base, &base, "--alpha", "2"]);
    assert_eq!(out.status.code(), Some(2));
    let not_summary = tmp.path().join("x.json");
    std::fs::write(&not_summary, "{\"a\": 1}").expect("write");
    let out = nasarena(&["compare", not_summary.to_str().expect("utf8"), &base]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a nasarena summary"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn report_writes_every_format_and_plot() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out_dir = p(tmp.path(), "report");
    let runs = fixtures().join("journals");
    let runs = runs.to_str().expect("utf8");
    let out = nasarena(&["report", runs, "--out", &out_dir]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    assert!(
        md.contains("| gumbel/fbnet |") && md.contains("Wilcoxon signed-rank"),
        "{md}"
    );
    let out_dir = Path::new(&out_dir);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("table.md")).expect("table.md"),
        md
    );
    for f in ["table.csv", "table.tex", "summary.json"] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    let stem = "cell-c-4-n-1-classes-10-input-1x28x28";
    for f in ["anytime", "acc-macs", "final-macs", "gumbel-fbnet-entropy"] {
        assert!(out_dir.join(format!("{stem}-{f}.svg")).is_file(), "{f}");
    }
    // index.html: the tables and every SVG inline, nothing fetched.
    let html = std::fs::read_to_string(out_dir.join("index.html")).expect("index.html");
    assert!(html.contains("<table>") && html.contains("<td>gumbel/fbnet</td>"));
    assert_eq!(html.matches("<svg ").count(), 4, "every figure inline");
    let offline = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for remote in ["http:", "https:", "<script", "src=", "href=", "@import"] {
        assert!(!offline.contains(remote), "`{remote}` in index.html");
    }
    for (format, needle) in [
        ("csv", "space,strategy,runs"),
        ("latex", "\\toprule"),
        ("json", "\"nasarena-summary\""),
    ] {
        let out = nasarena(&["report", runs, "--format", format]);
        assert!(out.status.success());
        assert!(text(&out.stdout).contains(needle), "{format}");
    }
}

#[test]
fn report_on_corrupt_journals_names_them_and_still_reports() {
    let runs = fixtures().join("corrupt");
    let out = nasarena(&["report", runs.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stdout.contains("| random | 2 |") && stdout.contains("| evolution/nb201 | 2 |"),
        "{stdout}"
    );
    for needle in [
        "evolution_nb201/seed-2-no-header.jsonl:1: missing header",
        "reinforce-bad-line.jsonl:3:",
        "reinforce-schema-v1.jsonl:1: record schema version 1",
        "random/seed-2-torn.jsonl (random, seed",
    ] {
        assert!(
            stdout.contains(needle),
            "`{needle}` missing from:\n{stdout}"
        );
    }
    assert!(
        stderr.contains("warning: skipped") && stderr.contains("reinforce-bad-line.jsonl:3"),
        "{stderr}"
    );
    assert!(stderr.contains("torn last line"), "{stderr}");
}

#[test]
fn report_on_an_empty_folder_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = nasarena(&["report", tmp.path().to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no journals"),
        "{}",
        text(&out.stderr)
    );
}

/// Splits RFC 4180 CSV into rows of fields (quoted fields may hold commas,
/// doubled quotes and line breaks): the reader a spreadsheet or pandas uses.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

/// `--format trials-csv`: one row per trial, epoch and derivation candidate
/// of every journal, read back by a CSV parser with the genotype intact
/// even when it holds commas and quotes, and the journal's own numbers.
#[test]
fn trials_csv_has_a_row_per_evaluation_and_quotes_genotypes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = fixtures().join("journals/cell");
    let mut expected = 0;
    let mut last_random_seconds = 0.0;
    for strategy in ["random", "gumbel_fbnet"] {
        let dir = tmp.path().join(strategy);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let body = std::fs::read_to_string(src.join(strategy).join("seed-0.jsonl"))
            .expect("fixture")
            .replacen(
                "\"arch\":\"|nor_conv_3x3~0|",
                "\"arch\":\"odd,\\\"name\\\"|nor_conv_3x3~0|",
                1,
            );
        for line in body.lines().skip(1) {
            let v: Value = serde_json::from_str(line).expect("record");
            expected += match v["kind"].as_str() {
                Some("trial") | Some("epoch") => 1,
                Some("derive") => v["candidates"].as_array().expect("candidates").len(),
                _ => 0,
            };
            if strategy == "random" && v["kind"] == "trial" {
                last_random_seconds = v["cumulative"]["device_seconds"].as_f64().expect("f64");
            }
        }
        std::fs::write(dir.join("seed-0.jsonl"), body).expect("write");
    }
    let runs = tmp.path().to_str().expect("utf8");
    let out = nasarena(&["report", runs, "--format", "trials-csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = parse_csv(&text(&out.stdout));
    let head = &rows[0];
    let col = |name: &str| head.iter().position(|h| h == name).expect(name);
    assert_eq!(rows.len() - 1, expected, "one row per evaluation or epoch");
    assert!(rows.iter().all(|r| r.len() == head.len()), "ragged rows");
    let odd: Vec<_> = rows
        .iter()
        .filter(|r| r[col("architecture")].starts_with("odd,\"name\"|"))
        .collect();
    assert!(!odd.is_empty(), "the quoted genotype reads back intact");
    let random: Vec<_> = rows
        .iter()
        .filter(|r| r[col("strategy")] == "random")
        .collect();
    let last = random.last().expect("random rows");
    assert_eq!(last[col("kind")], "trial");
    let seconds: f64 = last[col("cum_device_seconds")].parse().expect("number");
    assert_eq!(seconds, last_random_seconds);
    assert!(rows
        .iter()
        .any(|r| r[col("kind")] == "epoch" && r[col("strategy")] == "gumbel/fbnet"));
}
