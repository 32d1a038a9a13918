//! Tests of the table format, reader and NAS-Bench-201 importer.

use super::import_nb201::{import, Nb201Dataset};
use super::*;
use nasarena_core::SearchSpace;
use nasarena_spaces::cell::canonical::all_cells;
use nasarena_spaces::cell::genotype;
use nasarena_spaces::Realize;
use std::path::Path;

/// A full synthetic NB201-style CSV: accuracies are a deterministic
/// function of the architecture (no RNG needed).
fn synthetic_csv() -> String {
    let mut s = String::from("index,arch,cifar10-test,cifar10-val,cifar100-test,cifar100-val,imagenet-test,imagenet-val\n");
    for (i, arch) in all_cells().enumerate() {
        let score: u32 = arch.choices().iter().map(|&c| c * 3 + 1).sum();
        let val = 10.0 + f64::from(score);
        let test = val + 0.25;
        // Reverse order: the importer must not rely on row order.
        let index = 15_624 - i;
        s.push_str(&format!(
            "{index},{},{test:.4},{val:.4},1,1,1,1\n",
            genotype::format(&arch)
        ));
    }
    s
}

fn imported() -> (Table, import_nb201::ImportReport) {
    import(
        synthetic_csv().as_bytes(),
        Path::new("syn.csv"),
        Nb201Dataset::Cifar10,
        12,
        2.0,
    )
    .expect("imports")
}

#[test]
fn import_round_trips_and_looks_up() {
    let (t, report) = imported();
    assert_eq!(t.len(), 15_625);
    assert_eq!(report.classes, 6_466);
    let space = nasarena_spaces::cell::CellSpace::from_options(
        nasarena_spaces::SpaceOptions::from_pairs("cell", t.header().space_options.clone()),
    )
    .expect("space");
    t.check_space(&space, Path::new("t"))
        .expect("consistent with the space");
    let arch = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|").expect("arch");
    let i = t.find(arch.choices()).expect("present");
    let v = t.values(i, 0, 0);
    let score: u32 = arch.choices().iter().map(|&c| c * 3 + 1).sum();
    assert!((v.val_accuracy - (10.0 + f64::from(score)) / 100.0).abs() < 1e-6);
    assert!(v.device_seconds.is_nan() && v.train_loss.is_nan());
    assert_eq!(t.macs(i), space.cost(&arch).expect("cost").macs);
    let bytes = format::encode(&t).expect("encode");
    let back = format::decode(&bytes, Path::new("x")).expect("decode");
    assert_eq!(back, t);
    // Deterministic: importing again gives the same bytes and checksum.
    let (again, _) = imported();
    assert_eq!(again.checksum(), t.checksum());
    assert_eq!(format::encode(&again).expect("encode"), bytes);
}

#[test]
fn isomorphic_rows_with_different_accuracies_are_reported() {
    // The synthetic accuracies depend on every choice, so dead edges make
    // rows of one class disagree; with a huge tolerance nothing is flagged.
    let (_, report) = imported();
    assert!(report.shared_classes > 1_000);
    assert!(!report.inconsistent.is_empty());
    let worst = &report.inconsistent[0];
    assert!(worst.val_spread > 2.0 && worst.lines.0 != worst.lines.1);
    let (_, lenient) = import(
        synthetic_csv().as_bytes(),
        Path::new("syn.csv"),
        Nb201Dataset::Cifar10,
        12,
        1e9,
    )
    .expect("imports");
    assert!(lenient.inconsistent.is_empty());
}

fn import_err(csv: &str) -> String {
    import(
        csv.as_bytes(),
        Path::new("bad.csv"),
        Nb201Dataset::Cifar10,
        12,
        2.0,
    )
    .expect_err("rejected")
    .to_string()
}

#[test]
fn bad_rows_are_rejected_with_line_numbers() {
    let good = synthetic_csv();
    let lines: Vec<&str> = good.lines().collect();
    // Unknown op on line 3.
    let mut l = lines.clone();
    let bad = l[2].replacen("none~0", "conv_9x9~0", 1);
    l[2] = &bad;
    let err = import_err(&(l.join("\n") + "\n"));
    assert!(err.contains("line 3") && err.contains("conv_9x9"), "{err}");
    // Duplicate index: line 5 repeats line 4's index.
    let mut l = lines.clone();
    let idx4 = l[3].split(',').next().expect("index").to_string();
    let dup = format!("{idx4},{}", l[4].split_once(',').expect("row").1);
    l[4] = &dup;
    let err = import_err(&(l.join("\n") + "\n"));
    assert!(
        err.contains("line 5: index") && err.contains("already given on line 4"),
        "{err}"
    );
    // Malformed rows: too few fields, a bad number.
    let mut l = lines.clone();
    l[6] = "17,|none~0|";
    let mut f: Vec<&str> = l[7].split(',').collect();
    f[3] = "abc";
    let bad_num = f.join(",");
    l[7] = &bad_num;
    let err = import_err(&(l.join("\n") + "\n"));
    assert!(err.contains("line 7: 2 fields"), "{err}");
    assert!(err.contains("line 8: `cifar10-val` = `abc`"), "{err}");
    // A missing column and an incomplete table.
    assert!(import_err("index,arch,cifar10-test\n").contains("no column `cifar10-val`"));
    let short: String = lines[..100].join("\n");
    assert!(import_err(&short).contains("99 rows"));
}

fn file_bytes() -> Vec<u8> {
    let (t, _) = imported();
    format::encode(&t).expect("encode")
}

#[test]
fn corrupted_truncated_and_foreign_files_are_rejected() {
    let bytes = file_bytes();
    let decode = |b: &[u8]| {
        format::decode(b, Path::new("t.nastable"))
            .expect_err("rejected")
            .to_string()
    };
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    assert!(decode(&flipped).contains("checksum mismatch"));
    assert!(decode(&bytes[..bytes.len() - 10]).contains("truncated"));
    assert!(decode(&bytes[..bytes.len() / 3]).contains("truncated"));
    assert!(decode(&bytes[..5]).contains("truncated"));
    let mut other = bytes.clone();
    other[8..12].copy_from_slice(&2u32.to_le_bytes());
    let err = decode(&other);
    assert!(
        err.contains("version 2") && err.contains("reads version 1"),
        "{err}"
    );
    assert!(
        decode(b"index,arch\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
            .contains("not a nasarena table")
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode(&longer).contains("unexpected bytes"));
}

#[test]
fn tables_for_other_spaces_or_datasets_are_named() {
    let (t, _) = imported();
    let opts = t.header().space_options.clone();
    assert!(t.mismatches("cell", &opts, "cifar10").is_empty());
    let m = t.mismatches("cell", &opts, "cifar100");
    assert_eq!(m.len(), 1);
    assert!(m[0].1.contains("`cifar10`, not `cifar100`"));
    let m = t.mismatches("fbnet", &opts, "cifar10");
    assert!(m[0].1.contains("space `cell`"));
    let mut fewer = opts.clone();
    fewer.remove("C");
    let m = t.mismatches("cell", &fewer, "cifar10");
    assert!(m[0].1.contains("C=16"), "{}", m[0].1);
}

#[test]
fn write_and_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (t, _) = imported();
    let path = dir.path().join("t.nastable");
    let n = reader::write(&t, &path).expect("write");
    assert!(n < 1_000_000, "{n} bytes");
    assert_eq!(reader::open(&path).expect("open"), t);
}

/// The imported one-seed table turned into a two-seed one: seed 1's values
/// are seed 0's plus known offsets, and entry 0's seed 1 failed (NaN).
fn two_seed_table() -> Table {
    let (t, _) = imported();
    let mut header = t.header().clone();
    header.seeds = 2;
    let entries = (0..t.len())
        .map(|i| {
            let mut e = t.entry(i);
            // The import records no device seconds: give each seed some.
            e.values[0].iter_mut().for_each(|v| v.device_seconds = 2.0);
            let mut second = e.values[0].clone();
            for v in &mut second {
                v.val_accuracy += 0.02;
                v.test_accuracy -= 0.04;
                v.device_seconds = 3.0;
                if i == 0 {
                    v.val_accuracy = f64::NAN;
                }
            }
            e.values.push(second);
            e
        })
        .collect();
    Table::from_entries(header, entries).expect("two-seed table")
}

#[test]
fn mean_over_seeds_averages_every_value_and_keeps_failures() {
    let (one, _) = imported();
    let last = one.header().fidelities.len() - 1;
    // Bit for bit, NaN (not recorded) included.
    let bits = |v: EpochValues| v.to_array().map(f32::to_bits);
    for i in [0, 7, one.len() - 1] {
        assert_eq!(
            bits(one.mean_over_seeds(i, last)),
            bits(one.values(i, 0, last))
        );
    }
    let two = two_seed_table();
    assert!(two.mean_over_seeds(0, last).val_accuracy.is_nan());
    for i in [1, 7, two.len() - 1] {
        let (a, b) = (two.values(i, 0, last), two.values(i, 1, last));
        let mean = two.mean_over_seeds(i, last);
        let close = |m: f64, x: f64, y: f64| (m - (x + y) / 2.0).abs() < 1e-6;
        assert!(close(mean.val_accuracy, a.val_accuracy, b.val_accuracy));
        assert!(close(mean.test_accuracy, a.test_accuracy, b.test_accuracy));
        assert_eq!(mean.device_seconds, 2.5);
        assert!(mean.test_accuracy < a.test_accuracy, "{mean:?} vs {a:?}");
    }
}
