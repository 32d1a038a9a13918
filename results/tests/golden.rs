//! Golden tests: the checked-in journals under `tests/fixtures` (real
//! black-box journals from a small experiment, hand-generated one-shot
//! journals, and a folder of corrupt ones) must render byte-identical
//! Markdown, CSV, LaTeX and JSON. To accept a deliberate change, run with
//! `NASARENA_UPDATE_GOLDEN=1` and review the diff of `tests/fixtures/expected`.

use nasarena_results::format::{csv, json, latex, markdown};
use nasarena_results::{load_runs, summarise};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn check(expected: &Path, actual: &str) {
    if std::env::var_os("NASARENA_UPDATE_GOLDEN").is_some() {
        let dir = expected.parent().expect("expected files live in a folder");
        std::fs::create_dir_all(dir).expect("create the expected folder");
        std::fs::write(expected, actual).expect("write the expected file");
        return;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with NASARENA_UPDATE_GOLDEN=1 to create it",
            expected.display()
        )
    });
    if want != actual {
        let line = want
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map_or(want.lines().count().min(actual.lines().count()), |i| i);
        panic!(
            "{} differs at line {}:\n  expected: {:?}\n  actual:   {:?}\n(run with NASARENA_UPDATE_GOLDEN=1 to accept)",
            expected.display(),
            line + 1,
            want.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

fn golden(case: &str) {
    let loaded = load_runs(&fixtures().join(case)).expect("fixtures load");
    let s = summarise(&loaded);
    let dir = fixtures().join("expected").join(case);
    check(&dir.join("table.md"), &markdown::render(&s));
    check(&dir.join("table.csv"), &csv::render(&s));
    check(&dir.join("table.tex"), &latex::render(&s));
    check(&dir.join("summary.json"), &json::render(&s));
}

#[test]
fn golden_journals() {
    golden("journals");
}

#[test]
fn golden_corrupt() {
    golden("corrupt");
}

#[test]
fn summary_json_round_trips() {
    let s = summarise(&load_runs(&fixtures().join("journals")).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("summary.json");
    std::fs::write(&p, json::render(&s)).unwrap();
    assert_eq!(json::read(&p).unwrap(), s);
    std::fs::write(&p, "{\"spaces\": []}").unwrap();
    let err = json::read(&p).unwrap_err().to_string();
    assert!(err.contains("nasarena-summary"), "{err}");
}

#[test]
fn corrupt_journals_are_named_with_file_and_line() {
    let loaded = load_runs(&fixtures().join("corrupt")).unwrap();
    let named: Vec<String> = loaded
        .skipped
        .iter()
        .map(|s| format!("{}:{:?}", s.file, s.line))
        .collect();
    assert_eq!(
        named,
        [
            "evolution_nb201/seed-2-no-header.jsonl:Some(1)",
            "reinforce-bad-line.jsonl:Some(3)",
            "reinforce-schema-v1.jsonl:Some(1)",
        ]
    );
    assert!(loaded.skipped[0].reason.contains("missing header"));
    assert!(loaded.skipped[2].reason.contains("schema version 1"));
    // The torn journal lost its final record: unfinished, with a warning.
    assert_eq!(loaded.unfinished.len(), 1);
    assert_eq!(loaded.unfinished[0].file, "random/seed-2-torn.jsonl");
    assert!(loaded.warnings[0].reason.contains("torn last line"));
    assert_eq!(loaded.runs.len(), 4);
}

#[test]
fn one_shot_rows_and_pairing() {
    let s = summarise(&load_runs(&fixtures().join("journals")).unwrap());
    let t = &s.spaces[0];
    assert_eq!(t.rows.len(), 4);
    let g = t.rows.iter().find(|r| r.label == "gumbel/fbnet").unwrap();
    assert!(g.one_shot);
    assert_eq!(g.runs.len(), 3);
    // Same seeds for every strategy: paired tests throughout.
    assert_eq!(t.tests_used(), ["wilcoxon"]);
    assert_eq!(t.random.as_deref(), Some("random"));
    // Ranks per seed average to (k + 1) / 2 over k strategies.
    let mean_rank: f64 = t.rows.iter().filter_map(|r| r.avg_rank).sum::<f64>() / 4.0;
    assert!((mean_rank - 2.5).abs() < 1e-12);
}
