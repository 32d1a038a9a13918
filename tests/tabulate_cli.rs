//! End-to-end tests of `nasarena tabulate` and of experiments on a table:
//! the shipped NAS-Bench-201 table is reproduced byte for byte from the
//! shipped CSV (its checksum is stable), `info` describes it, a table
//! experiment runs, resumes and is summarised, and a damaged table or a
//! table for another dataset stops an experiment before anything runs.

mod common;

use common::{expect_refused, nasarena, ok};
use std::path::{Path, PathBuf};

/// sha256 of `data/tables/nb201-cifar10-12ep.nastable`; changes only when
/// the table format, the importer or the CSV change (then re-import, and
/// update `experiments/nb201-cifar10.toml` too).
const SHIPPED_SHA256: &str = "98e85cb9451bdf8f643a0440e12600f9ec7ed631267ba90b37a6f8e56f7929ae";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped_table() -> PathBuf {
    root().join("data/tables/nb201-cifar10-12ep.nastable")
}

#[test]
fn import_reproduces_the_shipped_table_and_info_describes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = root().join("data/nb201/nb201-12epoch.csv.gz");
    let out = ok(&nasarena(
        &[
            "tabulate",
            "import",
            "--format",
            "nb201-csv",
            csv.to_str().expect("utf8"),
            "--dataset",
            "cifar10",
            "--out",
            "t.nastable",
        ],
        dir.path(),
    ));
    assert!(out.contains(&format!("sha256 {SHIPPED_SHA256}")), "{out}");
    assert!(out.contains("canonical classes: 6466"), "{out}");
    let made = std::fs::read(dir.path().join("t.nastable")).expect("written");
    let shipped = std::fs::read(shipped_table()).expect("shipped table");
    assert!(
        made == shipped,
        "re-importing the shipped CSV must give the shipped table byte for byte"
    );

    let info = ok(&nasarena(
        &["tabulate", "info", shipped_table().to_str().expect("utf8")],
        dir.path(),
    ));
    for needle in [
        "cell (C=16, N=5, classes=10, input=3x32x32)",
        "cifar10",
        "15625 (6466 canonical classes)",
        "fidelities [12]",
        "not recorded: val loss, train loss, device seconds",
        SHIPPED_SHA256,
    ] {
        assert!(info.contains(needle), "`{needle}` missing from:\n{info}");
    }

    let err = nasarena(
        &[
            "tabulate",
            "import",
            "--format",
            "nb201-csv",
            csv.to_str().expect("utf8"),
            "--dataset",
            "mnist",
            "--out",
            "x",
        ],
        dir.path(),
    );
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("cifar100"));
}

fn experiment(dir: &Path, table: &Path, dataset: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("experiments/nb201-cifar10.toml"))
        .expect("shipped experiment")
        .replace("repeats = 100", "repeats = 4")
        .replace("limit = 200", "limit = 30")
        .replace(
            "path = \"../data/tables/nb201-cifar10-12ep.nastable\"",
            &format!("path = {:?}", table.to_str().expect("utf8")),
        )
        .replace("name = \"cifar10\"", &format!("name = {dataset:?}"));
    assert!(
        text.contains(&format!("path = {:?}", table.to_str().expect("utf8"))),
        "the shipped table path changed"
    );
    let path = dir.join("exp.toml");
    std::fs::write(&path, text).expect("write experiment");
    path
}

#[test]
fn table_experiment_runs_resumes_and_is_summarised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exp = experiment(dir.path(), &shipped_table(), "cifar10");
    let exp = exp.to_str().expect("utf8");
    let table = ok(&nasarena(
        &["run", exp, "--runs-dir", "a", "--quiet"],
        dir.path(),
    ));
    assert!(table.contains("| reinforce/zoph2017 | 4 |"), "{table}");
    // Runs scored on a table get cost-to-target, here in evaluations (the
    // imported table records no times).
    assert!(
        table.contains("| reinforce/zoph2017 | black-box | 4 |")
            && table.contains("search cost in evaluations"),
        "{table}"
    );
    // And the family comparison, with the papers' claims stated even where
    // a family is missing (no one-shot strategy here).
    for needle in [
        "### Families: cell (C=16, N=5, classes=10, input=3x32x32)",
        "| evolutionary | evolution/nb201, ga | 8 |",
        "| RL controller | reinforce/nb201, reinforce/zoph2017 | 8 |",
        "- Search cost. Claim:",
        "no one-shot runs here, nothing to compare.",
        "- random search: ",
        "| random | random search | 4 |",
    ] {
        assert!(table.contains(needle), "`{needle}` missing from:\n{table}");
    }
    let runs = dir.path().join("a/nb201-cifar10");
    let journal = runs.join("cell-C_16-N_5-classes_10-input_3x32x32/evolution_nb201/seed-0.jsonl");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 30 + 1, "header, 30 trials, final");
    assert!(
        lines[0].contains("budgets are counted in evaluations"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(&format!("table:{SHIPPED_SHA256}")));
    assert!(lines[31].contains("\"test_accuracy\":0.8"), "{}", lines[31]);

    // Cut the journal after 10 trials and resume: the same journal again.
    std::fs::write(&journal, lines[..11].join("\n") + "\n").expect("truncate");
    ok(&nasarena(
        &["run", exp, "--runs-dir", "a", "--resume", "--quiet"],
        dir.path(),
    ));
    assert_eq!(std::fs::read_to_string(&journal).expect("journal"), text);

    let curve = ok(&nasarena(
        &[
            "tabulate",
            "curve",
            runs.to_str().expect("utf8"),
            "--table",
            shipped_table().to_str().expect("utf8"),
            "--at",
            "10,30",
        ],
        dir.path(),
    ));
    assert!(
        curve.contains("| strategy | runs | @10 | @30 | rank @30 |"),
        "{curve}"
    );
    assert!(
        curve.contains("| random | 4 |") && curve.contains("Wilcoxon"),
        "{curve}"
    );

    // `report --out` keeps both table sections as files and in the page.
    ok(&nasarena(
        &[
            "report",
            runs.to_str().expect("utf8"),
            "--table",
            shipped_table().to_str().expect("utf8"),
            "--out",
            "o",
        ],
        dir.path(),
    ));
    let read = |name: &str| std::fs::read_to_string(dir.path().join("o").join(name)).expect(name);
    let heading = "Families: cell (C=16, N=5, classes=10, input=3x32x32)";
    assert!(read("families.md").starts_with(&format!("### {heading}\n")));
    assert!(read("cost-to-target.md").contains("| random | black-box | 4 |"));
    assert!(read("index.html").contains(&format!("<h2>{heading}</h2>")));
}

#[test]
fn damaged_or_foreign_tables_stop_an_experiment_before_it_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = std::fs::read(shipped_table()).expect("shipped table");
    let damaged = dir.path().join("damaged.nastable");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&damaged, &bytes).expect("write");
    let exp = experiment(dir.path(), &damaged, "cifar10");
    expect_refused(&exp, dir.path(), &["table.path", "checksum mismatch"]);

    let truncated = dir.path().join("truncated.nastable");
    std::fs::write(&truncated, &bytes[..1000]).expect("write");
    let exp = experiment(dir.path(), &truncated, "cifar10");
    expect_refused(&exp, dir.path(), &["table.path", "truncated"]);

    let exp = experiment(dir.path(), &shipped_table(), "cifar100");
    expect_refused(
        &exp,
        dir.path(),
        &["dataset.name", "`cifar10`, not `cifar100`"],
    );

    let text = std::fs::read_to_string(&exp)
        .expect("exp")
        .replace("name = \"cifar100\"", "name = \"cifar10\"")
        .replace("epochs = 12\nbatch_size", "epochs = 200\nbatch_size")
        .replace("unit = \"evaluations\"", "unit = \"device_hours\"");
    std::fs::write(&exp, text).expect("write");
    expect_refused(
        &exp,
        dir.path(),
        &[
            "evaluator.epochs",
            "[12] epochs, not 200",
            "budget.unit",
            "no training times",
        ],
    );
}
