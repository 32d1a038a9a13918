//! End-to-end tests of `nasarena macs` and `nasarena spaces` through the
//! real binary.

use std::process::{Command, Output};

fn nasarena(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(args)
        .output()
        .expect("the nasarena binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const NB201_LARGEST: &str =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";

#[test]
fn macs_json_for_a_cell() {
    let out = nasarena(&["macs", "--space", "cell", "--arch", NB201_LARGEST, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["space"], "cell");
    assert_eq!(v["arch"], NB201_LARGEST);
    assert_eq!(v["macs"], 220_119_680u64);
    assert_eq!(v["params"], 1_531_546u64);
    let layers = v["layers"].as_array().expect("layers");
    let sum: u64 = layers
        .iter()
        .map(|l| l["macs"].as_u64().expect("macs"))
        .sum();
    assert_eq!(sum, 220_119_680);
    assert!(layers
        .iter()
        .any(|l| l["name"] == "edge3<-2" && l["candidate"] == "nor_conv_3x3"));
}

#[test]
fn macs_reports_the_canonical_cell_and_options() {
    // Node 1 receives nothing, so the conv on edge 2<-1 is dead.
    let arch = "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_1x1~2|";
    let out = nasarena(&[
        "macs", "--space", "cell", "--arch", arch, "--opt", "C=8", "--opt", "N=1", "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["arch"], arch);
    assert_eq!(
        v["canonical"],
        "|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"
    );
    // C=8, N=1, 32x32: the 3x3 conv on edge 2<-1 runs at 8, 16, 32 channels.
    let edge = v["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["name"] == "edge2<-1")
        .expect("edge2<-1")
        .clone();
    assert_eq!(edge["macs"], 3 * 32 * 32 * 8 * 8 * 9u64);
}

#[test]
fn macs_table_for_macro() {
    let out = nasarena(&[
        "macs",
        "--space",
        "macro",
        "--arch",
        "3x5:36:-|1x1:24:0|7x7:64:0,1",
        "--opt",
        "layers=3",
        "--opt",
        "input=3x8x8",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("12,201,856"), "{s}");
    assert!(s.contains("7x7:64:0,1"), "{s}");
}

#[test]
fn bad_genotypes_fail_with_position_and_choices() {
    let bad = NB201_LARGEST.replace("nor_conv_3x3~1|+", "conv_9x9~1|+");
    let out = nasarena(&["macs", "--space", "cell", "--arch", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("node 2, edge 2") && err.contains("avg_pool_3x3"),
        "{err}"
    );
    let out = nasarena(&["macs", "--space", "macro", "--arch", "3x5:36:-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("expected 6 layers"));
    let out = nasarena(&[
        "macs",
        "--space",
        "cell",
        "--arch",
        NB201_LARGEST,
        "--opt",
        "C=x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`C`"));
    let out = nasarena(&["macs", "--space", "nope", "--arch", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("registered spaces"));
    assert!(out.stdout.is_empty());
}

#[test]
fn spaces_lists_options_counts_and_examples() {
    let out = nasarena(&["spaces"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("architectures: 15,625"), "{s}");
    assert!(
        s.contains("options:       C, N, input, classes, ops"),
        "{s}"
    );
    assert!(
        s.contains("options:       layers, input, classes, strides"),
        "{s}"
    );
    // Every listed example is a valid genotype of its space.
    let mut name = String::new();
    for line in s.lines() {
        if !line.starts_with(' ') {
            name = line.trim().to_string();
        } else if let Some(example) = line.trim().strip_prefix("example:") {
            let out = nasarena(&["macs", "--space", &name, "--arch", example.trim(), "--json"]);
            assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        }
    }
}
