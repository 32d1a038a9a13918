//! End-to-end segmentation searches through the real binary: scenes made
//! by `nasarena data scenes` (32x32, from the bundled Fashion-MNIST
//! subset), `squeezenas-small` with its decoder, searched by random
//! search, regularized evolution and the SqueezeNAS Gumbel preset on its
//! segmentation supernet; journals say their scores are mean IoU, every
//! final record holds a test mIoU, and experiments that mix tasks are
//! refused before anything runs.

mod common;

use common::{journals, nasarena, normalised_lines};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn experiment(data_dir: &str, head: &str, val_fraction: &str) -> String {
    format!(
        r#"
name = "tiny-seg"
seed = 5
repeats = 1

[dataset]
name = "fashion-mnist-scenes"
data_dir = "{data_dir}"
val_fraction = {val_fraction}

[[space]]
name = "squeezenas-small"
options = {{ input = "1x32x32", classes = "11"{head} }}

[[strategy]]
name = "random"

[[strategy]]
name = "evolution"
preset = "nb201"
overrides = {{ population_size = 2, sample_size = 1 }}

[[strategy]]
name = "gumbel"
preset = "squeezenas"
overrides = {{ derive_samples = 1 }}

[evaluator]
epochs = 1
batch_size = 8
optimizer = {{ lr = 0.05, momentum = 0.9 }}
random_scale = [0.75, 1.25]

[budget]
unit = "train_samples"
limit = 72

[final]
schedule = {{ epochs = 1, batch_size = 8, optimizer = {{ lr = 0.05, momentum = 0.9 }} }}
"#
    )
}

fn make_scenes(dir: &Path) {
    let out = nasarena(
        &[
            "data",
            "scenes",
            "--out",
            "scenes",
            "--counts",
            "24,8,8",
            "--canvas",
            "32",
            "--source",
            "fashion-mnist-subset",
        ],
        dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_family_searches_a_segmentation_space_and_journals_miou() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_scenes(dir.path());
    std::fs::write(dir.path().join("seg.toml"), experiment("scenes", "", "0")).expect("write");
    let out = nasarena(
        &["run", "seg.toml", "--runs-dir", "runs", "--quiet"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = journals(&dir.path().join("runs"));
    assert_eq!(found.len(), 3);
    for j in &found {
        let lines = normalised_lines(j);
        let header = &lines[0];
        assert_eq!(header["dataset"]["metric"], "mean_iou", "{}", j.display());
        assert_eq!(header["dataset"]["train"], 24);
        let last = lines.last().expect("lines");
        assert_eq!(last["kind"], "final", "{}", j.display());
        let miou = last["test_accuracy"].as_f64().expect("a test mIoU");
        assert!((0.0..=1.0).contains(&miou), "{miou}");
        assert!(last["macs"].as_u64().expect("macs") > 0);
        let spent = last["search_cost"]["train_samples"].as_u64().expect("cost");
        if j.to_string_lossy().contains("gumbel") {
            // A weight-only warm-up epoch on the 19 weight scenes, then 19
            // weight scenes in 3 batches, each followed by an architecture
            // batch of the other 5 (per-step alternation): 19 + 34.
            let epochs = lines.iter().filter(|l| l["kind"] == "epoch").count();
            assert_eq!((epochs, spent), (2, 53), "warm-up and one search epoch");
            let derive = lines
                .iter()
                .find(|l| l["kind"] == "derive")
                .expect("derive");
            assert_eq!(last["arch"], derive["chosen"]);
        } else {
            let trials = lines.iter().filter(|l| l["kind"] == "trial").count();
            assert_eq!((trials, spent), (3, 72), "three one-epoch trainings on 24");
        }
    }
    let report = nasarena(&["report", "runs"], dir.path());
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.contains("mIoU"), "{text}");
}

/// The SqueezeNAS search alone: the same command gives the same journal,
/// and a run killed after its first supernet epoch resumes from the
/// checkpoint into that same journal.
#[test]
fn a_killed_segmentation_search_resumes_into_the_same_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_scenes(dir.path());
    let full = experiment("scenes", "", "0");
    let start = full.find("[[strategy]]").expect("strategies");
    let gumbel = full
        .find("[[strategy]]\nname = \"gumbel\"")
        .expect("gumbel");
    let only_gumbel = format!("{}{}", &full[..start], &full[gumbel..]);
    std::fs::write(dir.path().join("seg.toml"), only_gumbel).expect("write");
    let run = |runs: &str, resume: bool| {
        let mut args = vec!["run", "seg.toml", "--runs-dir", runs, "--quiet"];
        if resume {
            args.push("--resume");
        }
        let out = nasarena(&args, dir.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        journals(&dir.path().join(runs))
    };
    let first = run("a", false);
    assert_eq!(first.len(), 1);
    assert_eq!(
        normalised_lines(&first[0]),
        normalised_lines(&run("b", false)[0])
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_nasarena"))
        .args(["run", "seg.toml", "--runs-dir", "c", "--quiet"])
        .current_dir(dir.path())
        .spawn()
        .expect("spawn");
    let watched = dir.path().join("c");
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        let epochs: usize = journals(&watched)
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                text.matches("\"kind\":\"epoch\"").count()
            })
            .sum();
        if epochs >= 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let killed = std::fs::read_to_string(&journals(&watched)[0]).expect("journal");
    assert!(
        !killed.contains("\"kind\":\"final\""),
        "killed before the end"
    );
    let resumed = run("c", true);
    assert_eq!(normalised_lines(&first[0]), normalised_lines(&resumed[0]));
}

#[test]
fn mixing_segmentation_data_and_classification_spaces_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_scenes(dir.path());
    let cases = [
        (
            experiment("scenes", r#", head = "classify""#, "0"),
            "space[0].name",
        ),
        (experiment("scenes", "", "0.1"), "own `val` split"),
        (experiment("missing", "", "0"), "dataset.data_dir"),
    ];
    for (text, expected) in cases {
        std::fs::write(dir.path().join("bad.toml"), &text).expect("write");
        let out = nasarena(
            &["run", "bad.toml", "--runs-dir", "r", "--quiet"],
            dir.path(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(expected),
            "{expected}: {err}"
        );
    }
    let arch = vec!["k3_e6_g1"; 20].join(",");
    let bench = nasarena(
        &[
            "bench",
            "train",
            "--space",
            "squeezenas-small",
            "--opt",
            "input=1x32x32",
            "--arch",
            &arch,
            "--batch",
            "2",
            "--steps",
            "1",
            "--threads",
            "1",
        ],
        dir.path(),
    );
    let err = String::from_utf8_lossy(&bench.stderr);
    assert!(
        !bench.status.success() && err.contains("head=classify"),
        "{err}"
    );
    let classify = common::TINY.replace(
        r#"options = { C = "4", N = "1", input = "1x28x28", classes = "10" }"#,
        r#"options = { C = "4", N = "1", input = "1x28x28", classes = "10" }
[[space]]
name = "squeezenas-small"
options = { input = "1x32x32", classes = "10" }"#,
    );
    std::fs::write(dir.path().join("cls.toml"), classify).expect("write");
    let out = nasarena(
        &["run", "cls.toml", "--runs-dir", "r", "--quiet"],
        dir.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("space[1].options.head"),
        "{err}"
    );
}
