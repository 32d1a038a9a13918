//! End-to-end tests of `nasarena tabulate build` and `merge` on a tiny
//! reduced cell space (ops none and skip_connect: 8 canonical cells, about
//! a second each): a build killed with SIGKILL and resumed gives the same
//! table as an uninterrupted one, so do three merged shards, merges of
//! mismatched or incomplete shards are refused with the reason, and a
//! built table that is damaged, truncated, of another format version or
//! for another space stops an experiment before anything runs. Tables are
//! compared with `Table::same_results`: everything but provenance, the
//! machine calibration and the measured device seconds.

mod common;

use common::{expect_refused, nasarena, nasarena_command, ok};
use nasarena_harness::tabular::{reader, Table};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

const OPS: &str = "ops=none,skip_connect";

fn build_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "tabulate",
        "build",
        "--space",
        "cell",
        "--opt",
        "C=2",
        "--opt",
        "N=1",
        "--opt",
        "input=1x28x28",
        "--opt",
        "classes=10",
        "--opt",
        OPS,
        "--dataset",
        "fashion-mnist-subset",
        "--train-limit",
        "100",
        "--val-fraction",
        "0.02",
        "--schedule",
        r#"{"epochs":2,"batch_size":50,"optimizer":{"lr":0.1}}"#,
        "--threads",
        "1",
        "--out",
        out,
    ];
    a.extend_from_slice(extra);
    a
}

fn fails(out: &Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected a refusal");
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "`{n}` missing from:\n{err}");
    }
}

fn open(dir: &Path, name: &str) -> Table {
    reader::open(&dir.join(name)).expect("a valid table")
}

fn assert_same(a: &Table, b: &Table) {
    assert_eq!(a.same_results(b), None, "the tables differ");
}

/// Starts a build, SIGKILLs it once two architectures are in its journal,
/// and returns how many architectures the journal then holds.
fn kill_mid_build(dir: &Path, out: &str) -> usize {
    let mut child = nasarena_command(&build_args(out, &["--quiet"]), dir)
        .spawn()
        .expect("the nasarena binary starts");
    let journal = dir.join(format!("{out}.journal"));
    let complete_lines =
        || std::fs::read_to_string(&journal).map_or(0, |t| t.matches('\n').count());
    let started = Instant::now();
    while complete_lines() < 3 {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the build ended before it could be killed"
        );
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    // Counted after the kill: another line may have landed meanwhile.
    complete_lines() - 1
}

#[test]
fn killed_and_resumed_or_sharded_builds_give_the_uninterrupted_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let whole = ok(&nasarena(&build_args("whole.nastable", &[]), d));
    assert!(whole.contains("wrote whole.nastable (8 entries"), "{whole}");
    let reference = open(d, "whole.nastable");
    assert_eq!(reference.header().fidelities, vec![1, 2]);
    assert!(reference.header().recorded.device_seconds);

    let recorded = kill_mid_build(d, "killed.nastable");
    assert!(recorded < 8, "the build was killed before it finished");
    assert!(!d.join("killed.nastable").exists());
    // A write torn by the kill: half a line at the end of the journal.
    let journal = d.join("killed.nastable.journal");
    let mut text = std::fs::read_to_string(&journal).expect("journal");
    text.push_str("{\"arch\":[1,0,");
    std::fs::write(&journal, text).expect("tear");
    fails(
        &nasarena(&build_args("killed.nastable", &[]), d),
        &["journal already exists", "--resume"],
    );
    let resumed = ok(&nasarena(&build_args("killed.nastable", &["--resume"]), d));
    assert!(
        resumed.contains(&format!("{recorded} from the journal")),
        "{resumed}"
    );
    assert_same(&reference, &open(d, "killed.nastable"));

    let mut shards = Vec::new();
    for i in 1..=3 {
        let (out, shard) = (format!("s{i}.nastable"), format!("{i}/3"));
        ok(&nasarena(&build_args(&out, &["--shard", &shard]), d));
        shards.push(out);
    }
    let mut merge = vec!["tabulate", "merge"];
    merge.extend(shards.iter().map(String::as_str));
    merge.extend(["--out", "merged.nastable"]);
    ok(&nasarena(&merge, d));
    assert_same(&reference, &open(d, "merged.nastable"));

    merge_refusals(d);
}

fn merge_refusals(d: &Path) {
    fails(
        &nasarena(
            &[
                "tabulate",
                "merge",
                "s1.nastable",
                "s2.nastable",
                "--out",
                "m",
            ],
            d,
        ),
        &["shard 3/3 is missing"],
    );
    fails(
        &nasarena(
            &[
                "tabulate",
                "merge",
                "s1.nastable",
                "s1.nastable",
                "s3.nastable",
                "--out",
                "m",
            ],
            d,
        ),
        &["given twice"],
    );
    fails(
        &nasarena(&["tabulate", "merge", "whole.nastable", "--out", "m"], d),
        &["not a shard"],
    );
    let other = build_args("o2.nastable", &["--shard", "2/3"])
        .into_iter()
        .map(|a| if a == "100" { "120" } else { a })
        .collect::<Vec<_>>();
    ok(&nasarena(&other, d));
    fails(
        &nasarena(
            &[
                "tabulate",
                "merge",
                "s1.nastable",
                "o2.nastable",
                "s3.nastable",
                "--out",
                "m",
            ],
            d,
        ),
        &[
            "o2.nastable",
            "different settings",
            "`train_limit` is 120 here, 100 there",
        ],
    );
    assert!(!d.join("m").exists(), "a refused merge writes nothing");
}

fn experiment(dir: &Path, table: &str, ops: &str, dataset: &str) -> PathBuf {
    let schedule = "{ epochs = 2, batch_size = 50, optimizer = { lr = 0.1 } }";
    let text = format!(
        r#"name = "tiny"
seed = 1
repeats = 2

[table]
path = "{table}"

[dataset]
name = "{dataset}"
val_fraction = 0.02
train_limit = 100

[[space]]
name = "cell"
options = {{ C = "2", N = "1", input = "1x28x28", classes = "10", ops = "{ops}" }}

[[strategy]]
name = "random"

[evaluator]
epochs = 2
batch_size = 50
optimizer = {{ lr = 0.1 }}

[budget]
unit = "device_seconds"
limit = 2.0

[final]
schedule = {schedule}
"#
    );
    let path = dir.join(format!("{table}-{dataset}.toml"));
    std::fs::write(&path, text).expect("write experiment");
    path
}

#[test]
fn a_built_table_runs_searches_and_damaged_or_foreign_copies_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    ok(&nasarena(&build_args("t.nastable", &["--quiet"]), d));
    let good = experiment(
        d,
        "t.nastable",
        OPS.trim_start_matches("ops="),
        "fashion-mnist-subset",
    );
    let table = ok(&nasarena(
        &[
            "run",
            good.to_str().expect("utf8"),
            "--runs-dir",
            "runs",
            "--quiet",
        ],
        d,
    ));
    assert!(table.contains("| random | 2 |"), "{table}");
    let info = ok(&nasarena(&["tabulate", "info", "t.nastable"], d));
    assert!(
        info.contains("fidelities [1, 2]") && info.contains("device seconds"),
        "{info}"
    );

    let bytes = std::fs::read(d.join("t.nastable")).expect("table");
    let variants: [(&str, Vec<u8>, &str); 3] = [
        (
            "damaged",
            flip(&bytes, bytes.len() / 2),
            "checksum mismatch",
        ),
        ("truncated", bytes[..bytes.len() - 40].to_vec(), "truncated"),
        ("v2", with_version(&bytes, 2), "table format version 2"),
    ];
    for (name, content, needle) in variants {
        let file = format!("{name}.nastable");
        std::fs::write(d.join(&file), content).expect("write");
        let exp = experiment(d, &file, "none,skip_connect", "fashion-mnist-subset");
        expect_refused(&exp, d, &["table.path", needle]);
    }
    let other_space = experiment(d, "t.nastable", "none,nor_conv_3x3", "fashion-mnist-subset");
    expect_refused(
        &other_space,
        d,
        &["space[0].options", "ops=none,skip_connect"],
    );
    let other_data = experiment(d, "t.nastable", "none,skip_connect", "mnist");
    expect_refused(&other_data, d, &["dataset.name", "not `mnist`"]);
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 1;
    b
}

fn with_version(bytes: &[u8], version: u32) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[8..12].copy_from_slice(&version.to_le_bytes());
    b
}

/// `tabulate retime` and `retime-apply` end to end: with the table as its
/// own reference nothing is out of line, so only the controls are trained
/// (reproducing the table bit for bit, else the command fails) and the
/// applied table has every result and every time of the original; a
/// reference of another space and an incomplete set of shards are refused.
#[test]
fn retime_trains_controls_and_refuses_foreign_references_and_missing_shards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    ok(&nasarena(&build_args("t.nastable", &["--quiet"]), d));
    let retime = |shard: &str, reference: &str| {
        nasarena(
            &[
                "tabulate",
                "retime",
                "t.nastable",
                "--reference",
                reference,
                "--controls",
                "2",
                "--threads",
                "1",
                "--shard",
                shard,
                "--journal",
                &format!("r{}.jsonl", &shard[..1]),
                "--quiet",
            ],
            d,
        )
    };
    let first = ok(&retime("1/2", "t.nastable"));
    assert!(
        first.contains("0 entries to replace") && first.contains("1 controls"),
        "{first}"
    );
    let apply = |journals: &[&str]| {
        let mut args = vec![
            "tabulate",
            "retime-apply",
            "t.nastable",
            "--reference",
            "t.nastable",
            "--out",
            "u.nastable",
        ];
        for j in journals {
            args.extend(["--journal", j]);
        }
        nasarena(&args, d)
    };
    fails(&apply(&["r1.jsonl"]), &["r1.jsonl", "shards [1] of 2"]);
    ok(&retime("2/2", "t.nastable"));
    let applied = ok(&apply(&["r1.jsonl", "r2.jsonl"]));
    assert!(
        applied.contains("of 0 entries") && applied.contains("2 controls"),
        "{applied}"
    );
    let (before, after) = (open(d, "t.nastable"), open(d, "u.nastable"));
    assert_same(&before, &after);
    let seconds = |t: &Table| {
        (0..t.len())
            .map(|i| t.values(i, 0, 1).device_seconds.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(seconds(&before), seconds(&after), "no time replaced");

    let mut other = build_args("o.nastable", &["--quiet"]);
    let ops = other.iter().position(|a| *a == OPS).expect("ops");
    other[ops] = "ops=none,nor_conv_1x1";
    other.extend(["--shard", "1/4"]);
    ok(&nasarena(&other, d));
    fails(
        &retime("1/2", "o.nastable"),
        &["--reference", "not a table of the same space"],
    );
}
