//! Tests of [`super::retime`]: a small table built here, re-timed in two
//! shards, resumed and applied; a table this build cannot reproduce refused.
use super::retime::*;
use super::shard::{BuildSettings, Shard};
use super::source::TableSource;
use super::table::Table;
use crate::journal::JournalSync;
use std::path::Path;

/// A small table built here by `tabulate build` (every 25th cell of
/// the toy table's space), so that it reproduces on this build.
fn built(dir: &Path) -> TableSource {
    let settings = BuildSettings {
        space: "cell".into(),
        space_options: [
            ("C", "2"),
            ("N", "1"),
            ("input", "1x28x28"),
            ("classes", "10"),
            ("ops", "none,skip_connect,nor_conv_3x3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        dataset: "fashion-mnist-subset".into(),
        val_fraction: 0.05,
        train_limit: Some(300),
        schedule: serde_json::from_str(r#"{"epochs":1,"batch_size":16,"optimizer":{"lr":0.2}}"#)
            .expect("schedule"),
        seeds: 1,
        seed: 7,
    };
    let path = dir.join("t.nastable");
    let opts = super::build::BuildOptions {
        out: path.clone(),
        shard: Shard {
            index: 1,
            count: 25,
        },
        resume: false,
        provenance: Default::default(),
        progress: false,
    };
    let table = super::build::build(&settings, &opts).expect("builds").table;
    TableSource {
        table,
        written: path.clone(),
        path,
        sync: JournalSync::PerRecord,
    }
}

/// `table` with the entries `scaled` having their seconds multiplied.
fn with_seconds(table: &Table, scaled: &[usize], by: f64) -> Table {
    let entries = (0..table.len())
        .map(|i| {
            let mut e = table.entry(i);
            if scaled.contains(&i) {
                e.values
                    .iter_mut()
                    .flatten()
                    .for_each(|v| v.device_seconds *= by);
            }
            e
        })
        .collect();
    Table::from_entries(table.header().clone(), entries).expect("table")
}

fn settings(table: &Table, reference: &Table, shard: Shard) -> RetimeSettings {
    RetimeSettings {
        table_sha256: table.checksum().into(),
        reference_sha256: reference.checksum().into(),
        factor: 1.5,
        controls: 1,
        seed: 3,
        shard,
    }
}

#[test]
fn retimes_only_the_slow_entries_and_keeps_every_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = built(dir.path());
    let table = &source.table;
    let slow: Vec<usize> = (0..table.len())
        .filter(|&i| table.canonical_of(i) == i)
        .take(2)
        .collect();
    // The reference says these two should have taken a tenth of the time.
    let reference = with_seconds(table, &slow, 0.1);
    let whole = settings(table, &reference, Shard::WHOLE);
    let chosen = selection(table, &reference, &whole).expect("selection");
    assert_eq!(
        chosen,
        vec![(slow[0], false), (slow[1], false), (chosen[2].0, true)]
    );
    assert!(!slow.contains(&chosen[2].0));

    let mut journals = Vec::new();
    for index in 1..=2 {
        let s = settings(table, &reference, Shard { index, count: 2 });
        let path = dir.path().join(format!("retime{index}.jsonl"));
        let done = retime(&source, &reference, &s, &path, false).expect("retimes");
        let resumed = retime(&source, &reference, &s, &path, false).expect("resumes");
        assert_eq!(done, resumed, "a rerun trains nothing new");
        let (read, entries) = read_journal(&path).expect("journal");
        assert_eq!(read, s);
        journals.push((path, read, entries));
    }
    let (out, summary) = apply(table, &reference, &journals).expect("applies");
    assert_eq!((summary.replaced, summary.controls), (2, 1));
    assert!(out.same_results(table).is_none(), "only times change");
    for e in journals.iter().flat_map(|(_, _, es)| es) {
        let i = out.find(&e.arch).expect("entry");
        let now = out.values(i, 0, 0).device_seconds;
        let want = if e.control {
            table.values(i, 0, 0).device_seconds
        } else {
            f64::from(e.seconds[0][0] as f32)
        };
        assert_eq!(now.to_bits(), want.to_bits(), "{}", e.genotype);
    }
    assert!(out.header().provenance["retimed"].contains("2 entries"));

    let e = apply(table, &reference, &journals[..1]).expect_err("a shard missing");
    assert!(e.to_string().contains("shards [1] of 2"), "{e}");
}

#[test]
fn refuses_a_table_it_does_not_reproduce() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut source = built(dir.path());
    let i = (0..source.table.len())
        .find(|&i| source.table.canonical_of(i) == i)
        .expect("an entry");
    let entries = (0..source.table.len())
        .map(|k| {
            let mut e = source.table.entry(k);
            if k == i {
                e.values[0][0].test_accuracy += 0.01;
            }
            e
        })
        .collect();
    source.table = Table::from_entries(source.table.header().clone(), entries).expect("table");
    let reference = with_seconds(&source.table, &[i], 0.1);
    let s = RetimeSettings {
        controls: 0,
        ..settings(&source.table, &reference, Shard::WHOLE)
    };
    let e = retime(&source, &reference, &s, &dir.path().join("j"), false)
        .expect_err("the test accuracy differs");
    assert!(
        e.to_string().contains("test accuracy") && e.to_string().contains("does not reproduce"),
        "{e}"
    );
}
