//! `tabulate rank-check` on the shipped toy table: retrains a sample with
//! a longer schedule, journals every architecture as it finishes, resumes
//! an interrupted check to the same result, and refuses a journal started
//! with other settings.

use nasarena_harness::journal::JournalSync;
use nasarena_harness::tabular::rank_check::{rank_check, RankCheckSettings};
use nasarena_harness::tabular::{reader, TableSource};
use std::path::PathBuf;

fn shipped() -> TableSource {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/tables/fmnist-cell3-1ep.nastable");
    TableSource {
        table: reader::open(&path).expect("shipped table"),
        written: path.clone(),
        path,
        sync: JournalSync::PerRecord,
    }
}

#[test]
fn retrains_a_sample_and_resumes_to_the_same_result() {
    let source = shipped();
    let settings = RankCheckSettings {
        table_sha256: source.table.checksum().to_string(),
        cells: 3,
        factor: 2,
        seed: 5,
        chance_margin: 0.02,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("check.jsonl");
    let first = rank_check(&source, &settings, &journal, false).expect("check");
    assert_eq!(first.archs.len(), 3);
    assert_eq!(first.epochs, [1, 2]);
    for c in &first.archs {
        assert!(c.table_val > 0.12, "degenerate cell sampled: {c:?}");
        assert!(
            (0.0..=1.0).contains(&c.long_val) && c.device_seconds > 0.0,
            "{c:?}"
        );
        let i = source.table.find(&c.arch).expect("a table entry");
        assert_eq!(source.table.values(i, 0, 0).val_accuracy, c.table_val);
    }
    assert!(
        (-1.0..=1.0).contains(&first.spearman_val),
        "{}",
        first.spearman_val
    );

    // Interrupted after the first architecture: the rerun trains the
    // other two and gets the same values (seeded training).
    let text = std::fs::read_to_string(&journal).expect("journal");
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&journal, kept.join("\n") + "\n").expect("truncate");
    let resumed = rank_check(&source, &settings, &journal, false).expect("resume");
    let strip = |s: &nasarena_harness::tabular::rank_check::RankCheckSummary| {
        s.archs
            .iter()
            .map(|c| (c.genotype.clone(), c.long_val, c.long_test))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&resumed), strip(&first));
    assert_eq!(
        std::fs::read_to_string(&journal)
            .expect("journal")
            .lines()
            .count(),
        4
    );

    let other = RankCheckSettings {
        seed: 6,
        ..settings
    };
    let err = rank_check(&source, &other, &journal, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("started with other settings"), "{err}");
}
