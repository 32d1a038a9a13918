//! Tests of experiment parsing: unknown keys, type errors and value
//! problems name their key path and line; relative paths resolve against
//! the experiment file's folder.

use super::*;

const DEFAULT: &str = include_str!("../../../experiments/default.toml");

/// A live-training experiment (the main job before it moved to a table)
/// whose text the parse-error tests edit: they anchor on its keys and line
/// numbers, so it must not change with the shipped default.
const SAMPLE: &str = include_str!("testdata/sample.toml");

#[test]
fn shipped_default_parses_and_has_no_value_problems() {
    let exp = parse(DEFAULT, Path::new("default.toml")).expect("parses");
    assert_eq!(exp.name, "default");
    assert!(exp.repeats >= 3, "the main job uses at least 3 seeds");
    assert!(
        exp.value_problems().is_empty(),
        "{:?}",
        exp.value_problems()
    );
}

/// Every struct rejects unknown keys: insert `bogus = 1` into each table
/// of the default experiment and expect an error naming it.
#[test]
fn unknown_keys_are_rejected_in_every_table() {
    let tables = [
        ("name = \"default\"", "top level"),
        ("[dataset]", "dataset"),
        ("[[space]]", "space"),
        ("[[strategy]]", "strategy"),
        ("[evaluator]", "evaluator"),
        ("[budget]", "budget"),
        ("[final]", "final"),
        ("[table]", "table"),
    ];
    let with_table = format!("{SAMPLE}\n[table]\npath = \"t.nastable\"\n");
    for (anchor, what) in tables {
        let text = with_table.replacen(anchor, &format!("{anchor}\nbogus = 1"), 1);
        let err = parse(&text, Path::new("x.toml"))
            .expect_err(what)
            .to_string();
        assert!(err.contains("bogus"), "{what}: {err}");
        assert!(err.contains("line "), "{what}: {err}");
    }
    let nested = SAMPLE.replacen("nesterov = true", "nesterov = true, bogus = 1", 1);
    let err = parse(&nested, Path::new("x.toml"))
        .expect_err("optimizer")
        .to_string();
    assert!(err.contains("bogus"), "{err}");
    let nested = SAMPLE.replacen("schedule = { epochs", "schedule = { bogus = 2, epochs", 1);
    assert_ne!(
        nested, SAMPLE,
        "the anchor exists in the default experiment"
    );
    assert!(parse(&nested, Path::new("x.toml")).is_err());
}

#[test]
fn value_problems_name_their_keys() {
    let mut exp = parse(SAMPLE, Path::new("d.toml")).expect("parses");
    exp.repeats = 0;
    exp.evaluator.batch_size = 0;
    exp.final_protocol.schedule.optimizer.lr = -1.0;
    exp.dataset.val_fraction = 1.5;
    exp.strategy[1].repeats = Some(0);
    let keys: Vec<String> = exp.value_problems().into_iter().map(|(k, _)| k).collect();
    for key in [
        "repeats",
        "evaluator.batch_size",
        "final.schedule.optimizer.lr",
        "dataset.val_fraction",
        "strategy[1].repeats",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
    }
}

/// Type errors name the key path, not just `(file)`, and the line.
#[test]
fn type_errors_name_the_key_path() {
    for (from, to, key, line) in [
        ("repeats = 3", "repeats = \"three\"", "`repeats`", "line "),
        (
            "unit = \"train_samples\"",
            "unit = 5",
            "`budget.unit`",
            "line ",
        ),
        (
            "preset = \"nb201\"",
            "preset = 7",
            "`strategy[1].preset`",
            "line 32",
        ),
        (
            "epochs = 1\n",
            "epochs = -1\n",
            "`evaluator.epochs`",
            "line ",
        ),
    ] {
        let text = SAMPLE.replacen(from, to, 1);
        assert_ne!(text, SAMPLE, "the anchor `{from}` exists");
        let err = parse(&text, Path::new("x.toml")).expect_err(to).to_string();
        assert!(err.contains(key) && err.contains(line), "{to}: {err}");
    }
    let err = parse("name = 1\n", Path::new("x.toml"))
        .expect_err("name")
        .to_string();
    assert!(err.contains("`name`"), "{err}");
}

#[test]
fn relative_paths_resolve_against_the_experiment_folder() {
    let mut exp = parse(SAMPLE, Path::new("d.toml")).expect("parses");
    exp.table = Some(TableConfig {
        path: "../data/t.nastable".into(),
        sha256: None,
        journal_sync: Default::default(),
    });
    exp.dataset.data_dir = Some("/abs/data".into());
    exp.strategy[0].latency_table = Some("lut.json".into());
    let base = base_dir(Path::new("/w/experiments/x.toml"));
    let r = exp.with_paths_from(base);
    let table = r.table.as_ref().map(|t| t.path.clone());
    assert_eq!(table, Some("/w/experiments/../data/t.nastable".into()));
    assert_eq!(r.dataset.data_dir, Some("/abs/data".into()));
    assert_eq!(
        r.strategy[0].latency_table,
        Some("/w/experiments/lut.json".into())
    );
    assert_eq!(base_dir(Path::new("x.toml")).join("a"), Path::new("a"));
}

#[test]
fn lines_are_found_for_keys() {
    assert_eq!(
        find_line("a = 1\n[budget]\nlimit = 3\n", "budget.limit"),
        Some(3)
    );
    assert_eq!(
        find_line("[[strategy]]\nname = \"x\"\n", "strategy[0]"),
        Some(1)
    );
    assert_eq!(find_line("a = 1\n", "zzz"), None);
}
