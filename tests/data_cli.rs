//! End-to-end tests of `nasarena data list` and `nasarena data check`.

use std::path::Path;
use std::process::{Command, Output};

fn nasarena(args: &[&str], data_dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nasarena"));
    cmd.args(args).env_remove("NASARENA_DATA_DIR");
    if let Some(d) = data_dir {
        cmd.env("NASARENA_DATA_DIR", d);
    }
    cmd.output().expect("the nasarena binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// An MNIST-style folder of 4 training and 2 test images of 3x3.
fn write_mnist(dir: &Path) {
    for (split, n) in [("train", 4u32), ("t10k", 2)] {
        let labels: Vec<u8> = (0..n as u8).map(|i| i % 2).collect();
        let images = idx(0x803, &[n, 3, 3], &vec![7; 9 * n as usize]);
        std::fs::write(dir.join(format!("{split}-images-idx3-ubyte")), images).expect("write");
        std::fs::write(
            dir.join(format!("{split}-labels-idx1-ubyte")),
            idx(0x801, &[n], &labels),
        )
        .expect("write");
    }
}

#[test]
fn data_list_shows_bundled_and_data_dir_datasets() {
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(data.path().join("mnist")).expect("mkdir");
    write_mnist(&data.path().join("mnist"));
    let out = nasarena(&["data", "list"], Some(data.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("fashion-mnist-subset"), "{stdout}");
    assert!(stdout.contains("compiled in"), "{stdout}");
    let mnist = stdout
        .lines()
        .find(|l| l.starts_with("mnist "))
        .expect("mnist listed");
    assert!(
        mnist.contains(&data.path().join("mnist").display().to_string()),
        "{stdout}"
    );
    let bare = text(&nasarena(&["data", "list"], None).stdout);
    assert!(!bare.lines().any(|l| l.starts_with("mnist ")), "{bare}");
    // The same folder given on the command line instead of the environment.
    let dir = data.path().display().to_string();
    let out = nasarena(&["data", "list", "--data-dir", &dir], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let flag = text(&out.stdout);
    assert!(flag.contains(&mnist.to_string()), "{flag}");
    assert!(flag.contains("(--data-dir)"), "{flag}");
    let missing = nasarena(&["data", "list", "--data-dir", "/nonexistent/x"], None);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("/nonexistent/x: no such folder"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn data_check_reports_counts_balance_and_checksum() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_mnist(dir.path());
    let out = nasarena(&["data", "check", &dir.path().display().to_string()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("IDX"), "{stdout}");
    assert!(
        stdout.contains("train: 4 samples, images 1x3x3"),
        "{stdout}"
    );
    assert!(stdout.contains("test: 2 samples"), "{stdout}");
    assert!(stdout.contains("2 classes, balanced"), "{stdout}");
    let sums: Vec<&str> = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("sha256 "))
        .collect();
    assert_eq!(sums.len(), 2, "{stdout}");
    assert!(
        sums.iter().all(|l| l.trim().len() == "sha256 ".len() + 64),
        "{stdout}"
    );
}

#[test]
fn data_check_names_the_broken_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_mnist(dir.path());
    let labels = dir.path().join("train-labels-idx1-ubyte");
    std::fs::write(&labels, idx(0x801, &[3], &[0, 1, 0])).expect("write");
    let out = nasarena(&["data", "check", &dir.path().display().to_string()], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("train-labels-idx1-ubyte"), "{stderr}");
    assert!(
        stderr.contains("4 images") && stderr.contains("3 labels"),
        "{stderr}"
    );

    let missing = dir.path().join("nothing-here");
    let out = nasarena(&["data", "check", &missing.display().to_string()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("nothing-here"),
        "{}",
        text(&out.stderr)
    );
}

/// `data scenes` writes the Cityscapes layout with checksums, the same
/// files for the same seed, and refuses a non-empty folder or a wrong
/// count list.
#[test]
fn data_scenes_writes_a_reproducible_cityscapes_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, seed: &str| {
        let out = dir.path().join(name);
        let o = nasarena(
            &[
                "data",
                "scenes",
                "--out",
                out.to_str().expect("utf8"),
                "--counts",
                "3,2,2",
                "--source",
                "fashion-mnist-subset",
                "--seed",
                seed,
            ],
            None,
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(text(&o.stdout).contains("15 files"), "{}", text(&o.stdout));
        std::fs::read_to_string(out.join("SHA256SUMS")).expect("checksums")
    };
    let a = write("a", "1");
    assert_eq!(a, write("b", "1"));
    assert_ne!(a, write("c", "2"));
    assert!(
        a.contains("leftImg8bit/val/fmnist/scene_000001_leftImg8bit.png"),
        "{a}"
    );
    assert!(
        a.contains("gtFine/test/fmnist/scene_000001_gtFine_labelTrainIds.png"),
        "{a}"
    );
    let again = nasarena(
        &[
            "data",
            "scenes",
            "--out",
            dir.path().join("a").to_str().expect("utf8"),
            "--source",
            "fashion-mnist-subset",
        ],
        None,
    );
    assert!(
        !again.status.success() && text(&again.stderr).contains("not empty"),
        "{}",
        text(&again.stderr)
    );
    let counts = nasarena(
        &[
            "data",
            "scenes",
            "--out",
            dir.path().join("d").to_str().expect("utf8"),
            "--counts",
            "3,2",
        ],
        None,
    );
    assert!(
        !counts.status.success() && text(&counts.stderr).contains("three numbers"),
        "{}",
        text(&counts.stderr)
    );
}

/// `nasarena segment` trains a SqueezeNAS segmentation network on scenes
/// written by `data scenes`, reports validation mIoU per epoch, test mIoU
/// and the all-background floor, writes the JSON report, and names a
/// mismatch between the data and the space's options.
#[test]
fn segment_trains_on_scenes_and_names_a_class_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("scenes");
    let data = data.to_str().expect("utf8");
    let made = nasarena(
        &[
            "data",
            "scenes",
            "--out",
            data,
            "--counts",
            "16,4,4",
            "--source",
            "fashion-mnist-subset",
        ],
        None,
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let json = dir.path().join("report.json");
    let schedule = r#"{"epochs":2,"batch_size":8,"optimizer":{"lr":0.05,"momentum":0.9}}"#;
    let run = nasarena(
        &[
            "segment",
            "--data",
            data,
            "--opt",
            "input=1x64x64",
            "--opt",
            "classes=11",
            "--schedule",
            schedule,
            "--threads",
            "1",
            "--json",
            json.to_str().expect("utf8"),
        ],
        None,
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let err = text(&run.stderr);
    assert!(
        err.contains("epoch 2/2") && err.contains("val mIoU"),
        "{err}"
    );
    let out = text(&run.stdout);
    assert!(
        out.contains("test mIoU") && out.contains("background everywhere"),
        "{out}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("valid JSON");
    let miou = report["report"]["test"]["miou"]
        .as_f64()
        .expect("test mIoU");
    assert!((0.0..=1.0).contains(&miou), "{miou}");
    assert_eq!(report["report"]["epochs"].as_array().map(Vec::len), Some(2));

    let wrong = nasarena(
        &[
            "segment",
            "--data",
            data,
            "--opt",
            "input=1x64x64",
            "--opt",
            "classes=19",
        ],
        None,
    );
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("11 classes") && text(&wrong.stderr).contains("classes=N"),
        "{}",
        text(&wrong.stderr)
    );
}
