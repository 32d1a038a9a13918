//! The final protocol saves the trained network next to the journal
//! (safetensors, sha256 in the final record) and `nasarena export` turns it
//! into files another framework loads; damaged or mismatched files and runs
//! without a saved network are refused with the reason.

mod common;

use common::{journals, nasarena, ok, TINY};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

fn last_line(journal: &Path) -> Value {
    let text = std::fs::read_to_string(journal).expect("journal");
    serde_json::from_str(text.lines().last().expect("a line")).expect("json")
}

fn rewrite_final(journal: &Path, edit: impl Fn(&mut Value)) {
    let text = std::fs::read_to_string(journal).expect("journal");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut last: Value = serde_json::from_str(lines.last().expect("line")).expect("json");
    edit(&mut last);
    *lines.last_mut().expect("line") = last.to_string();
    std::fs::write(journal, lines.join("\n") + "\n").expect("write");
}

#[test]
fn a_trained_network_is_saved_and_exported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // One strategy of TINY: three evaluations and the final retrain.
    let text = TINY.replace(
        "[[strategy]]\nname = \"evolution\"\npreset = \"nb201\"\noverrides = { population_size = 2, sample_size = 1 }\n",
        "",
    );
    assert_ne!(text, TINY, "TINY changed");
    std::fs::write(d.join("exp.toml"), text).expect("write");
    ok(&nasarena(
        &["run", "exp.toml", "--runs-dir", "r", "--quiet"],
        d,
    ));
    let journal = journals(&d.join("r")).pop().expect("a journal");
    let last = last_line(&journal);
    assert_eq!(last["kind"], "final");
    let weights = &last["weights"];
    let file = journal.with_file_name(weights["file"].as_str().expect("file"));
    assert_eq!(file, journal.with_extension("safetensors"));
    let bytes = std::fs::read(&file).expect("weights next to the journal");
    assert_eq!(
        weights["sha256"].as_str(),
        Some(format!("{:x}", Sha256::digest(&bytes)).as_str())
    );
    assert_eq!(weights["input_mean"].as_array().map(Vec::len), Some(1));

    let out = d.join("export");
    let printed = ok(&nasarena(
        &["export", journal.to_str().expect("utf8"), "--out", "export"],
        d,
    ));
    assert!(printed.contains("exported |"), "{printed}");
    assert_eq!(
        std::fs::read(out.join("model.safetensors")).expect("model"),
        bytes
    );
    let arch: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("architecture.json")).expect("architecture.json"),
    )
    .expect("json");
    assert_eq!(arch["genotype"], last["arch"]);
    assert_eq!(arch["params"], last["params"]);
    assert_eq!(arch["macs"], last["macs"]);
    assert_eq!(arch["test_accuracy"], last["test_accuracy"]);
    assert_eq!(arch["nodes"][0]["op"], "input");
    assert_eq!(arch["input"], serde_json::json!([1, 28, 28]));
    assert!(std::fs::read_to_string(out.join("README.md"))
        .expect("README")
        .contains("load_export.py"));

    // The journal names another architecture: its tensors are not these.
    let other = d.join("other.jsonl");
    std::fs::copy(&journal, &other).expect("copy");
    std::fs::copy(&file, other.with_extension("safetensors")).expect("copy");
    rewrite_final(&other, |f| {
        f["arch"] = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|".into();
        f["weights"]["file"] = "other.safetensors".into();
    });
    let refused = nasarena(&["export", "other.jsonl", "--out", "x"], d);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success()
            && err.contains("does not hold the recorded architecture's tensors"),
        "{err}"
    );

    // A changed weights file fails its checksum.
    let mut damaged = bytes.clone();
    let n = damaged.len();
    damaged[n - 1] ^= 1;
    std::fs::write(&file, damaged).expect("write");
    let refused = nasarena(
        &["export", journal.to_str().expect("utf8"), "--out", "y"],
        d,
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("differs from the journal's"),
        "{err}"
    );

    // A run that saved nothing (a table lookup, an older journal).
    rewrite_final(&journal, |f| {
        f.as_object_mut().expect("object").remove("weights");
    });
    let refused = nasarena(
        &["export", journal.to_str().expect("utf8"), "--out", "z"],
        d,
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("saved no network"),
        "{err}"
    );
    assert!(!d.join("x").exists() && !d.join("y").exists() && !d.join("z").exists());
}
