//! The instruction-set path is picked once, can be forced with
//! `NASARENA_ISA`, and a forced path is never silently replaced: every
//! kernel family a training step uses (dense GEMM, depthwise direct
//! kernels, fused batch norm) must report the selected path and no other.

use candle_core::Var;
use nasarena_core::Seed;
use nasarena_ops::{batch_norm_train, grouped_conv2d, isa, isas_used, Isa, ISA_ENV};

mod common;

use common::random;

#[test]
fn every_kernel_runs_the_selected_path_and_no_other() {
    let x = Var::from_tensor(&random(Seed(1), &[2, 8, 9, 9])).expect("var");
    let w_dense = Var::from_tensor(&random(Seed(2), &[12, 8, 3, 3])).expect("var");
    let w_dw = Var::from_tensor(&random(Seed(3), &[12, 1, 3, 3])).expect("var");
    let gamma = Var::from_tensor(&random(Seed(4), &[12])).expect("var");
    let beta = Var::from_tensor(&random(Seed(5), &[12])).expect("var");
    let y = grouped_conv2d(&x, &w_dense, 1, 1, 1, 1).expect("dense conv");
    let y = grouped_conv2d(&y, &w_dw, 1, 1, 1, 12).expect("depthwise conv");
    let (y, _) = batch_norm_train(&y, &gamma, &beta, 1e-5, true).expect("bn");
    let grads = y.sqr().and_then(|s| s.sum_all()).and_then(|l| l.backward());
    assert!(grads.expect("backward").get(&w_dense).is_some());
    assert_eq!(isas_used(), vec![isa()], "a kernel ran another path");
    if let Some(forced) = std::env::var(ISA_ENV).ok().filter(|v| !v.is_empty()) {
        assert_eq!(isa().name(), forced.trim().to_ascii_lowercase());
    }
}

#[test]
fn every_other_isa() {
    common::on_every_other_isa("every_other_isa");
}

/// A path the CPU lacks (or a name that is no path) makes the kernels
/// refuse to run with a message naming the paths it has, instead of
/// running another one.
#[test]
fn a_path_the_cpu_lacks_is_refused() {
    if std::env::var(ISA_ENV).is_ok_and(|v| !v.is_empty()) {
        return;
    }
    let missing = Isa::ALL.into_iter().find(|i| !i.supported());
    let exe = std::env::current_exe().expect("the test binary's path");
    for bad in missing.map(|i| i.name()).into_iter().chain(["sse9"]) {
        let out = common::rerun(&exe)
            .env(ISA_ENV, bad)
            .args([
                "--exact",
                "every_kernel_runs_the_selected_path_and_no_other",
            ])
            .output()
            .expect("rerun the test binary");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "NASARENA_ISA={bad} ran anyway");
        assert!(
            text.contains(bad) && text.contains("portable"),
            "unclear refusal of {bad}: {text}"
        );
    }
}
