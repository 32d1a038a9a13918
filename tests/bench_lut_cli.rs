//! `nasarena bench lut` through the real binary: the table's shape follows
//! the space's decisions, candidates that do work cost time and `none`
//! costs nothing, and a one-shot experiment searches with the table in its
//! loss (while a table for another space, or on a black-box strategy, is
//! refused before anything runs).

mod common;

use common::{journals, nasarena};
use serde_json::Value;
use std::path::Path;

/// A tiny cell space: 6 edges of 5 operations, one cell per stage.
const CELL_OPTS: [&str; 6] = ["--opt", "C=4", "--opt", "N=1", "--opt", "input=1x28x28"];

fn measure(dir: &Path, space: &str, opts: &[&str]) -> Value {
    let out_path = dir.join(format!("{space}.json"));
    let out_arg = out_path.to_str().expect("utf-8 path");
    let mut args = vec!["bench", "lut", "--space", space, "--out", out_arg];
    args.extend(opts);
    args.extend(["--repeats", "3", "--warmup", "1", "--threads", "1"]);
    let out = nasarena(&args, dir);
    assert!(
        out.status.success(),
        "bench lut failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&out_path).expect("table written");
    serde_json::from_str(&text).expect("table is JSON")
}

fn rows(table: &Value) -> Vec<Vec<u64>> {
    table["ns"]
        .as_array()
        .expect("ns rows")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("row")
                .iter()
                .map(|v| v.as_u64().expect("ns"))
                .collect()
        })
        .collect()
}

#[test]
fn cell_table_has_a_row_per_edge_and_none_is_free() {
    let dir = tempfile::tempdir().expect("tempdir");
    let table = measure(dir.path(), "cell", &CELL_OPTS);
    assert_eq!(table["space"], "cell");
    assert_eq!(
        table["options"],
        serde_json::json!(["C=4", "N=1", "input=1x28x28"])
    );
    assert!(
        table["fixed_ns"].as_u64().expect("fixed_ns") > 0,
        "the stem and head take time"
    );
    let ns = rows(&table);
    assert_eq!(ns.len(), 6, "one row per edge");
    for row in &ns {
        // none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3
        assert_eq!(row.len(), 5);
        assert_eq!(row[0], 0, "`none` does no work: {row:?}");
        assert!(row[2] > 0 && row[3] > 0 && row[4] > 0, "{row:?}");
    }
}

#[test]
fn fbnet_table_has_every_candidate_of_every_layer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let table = measure(dir.path(), "fbnet-28", &["--opt", "width=0.25"]);
    let ns = rows(&table);
    assert_eq!(ns.len(), 22);
    for row in &ns {
        assert_eq!(row.len(), 9);
        // every block candidate runs convolutions
        assert!(row[..8].iter().all(|&t| t > 0), "{row:?}");
    }
}

fn experiment(strategy: &str, table: &Path, options: &str) -> String {
    format!(
        r#"
name = "lut-search"
seed = 5
repeats = 1

[dataset]
name = "fashion-mnist-subset"
val_fraction = 0.02
train_limit = 80

[[space]]
name = "cell"
options = {{ {options} }}

[[strategy]]
{strategy}
latency_table = "{}"

[evaluator]
epochs = 1
batch_size = 16
optimizer = {{ lr = 0.05, momentum = 0.9 }}

[budget]
unit = "train_samples"
limit = 160

[final]
schedule = {{ epochs = 1, batch_size = 16, optimizer = {{ lr = 0.05, momentum = 0.9 }} }}
"#,
        table.display()
    )
}

#[test]
fn a_one_shot_search_uses_the_table_and_bad_tables_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    measure(dir.path(), "cell", &CELL_OPTS);
    let table = dir.path().join("cell.json");
    let fbnet = "name = \"gumbel\"\npreset = \"fbnet\"\noverrides = { derive_samples = 0, cost_unit_macs = 1e3 }";
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        experiment(fbnet, &table, "C = \"4\", N = \"1\", input = \"1x28x28\""),
    )
    .expect("write");
    let out = nasarena(&["run", "good.toml", "--quiet"], dir.path());
    assert!(
        out.status.success(),
        "search with a latency table failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(journals(&dir.path().join("runs")).len(), 1);

    // measured with C=4, searched with C=8
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        experiment(fbnet, &table, "C = \"8\", N = \"1\", input = \"1x28x28\""),
    )
    .expect("write");
    let out = nasarena(&["run", "other.toml", "--check"], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("strategy[0].latency_table") && err.contains("C=8"),
        "{err}"
    );

    let random = dir.path().join("random.toml");
    let options = "C = \"4\", N = \"1\", input = \"1x28x28\"";
    std::fs::write(&random, experiment("name = \"random\"", &table, options)).expect("write");
    let out = nasarena(&["run", "random.toml", "--check"], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("strategy[0].latency_table") && err.contains("black-box"),
        "{err}"
    );
}
