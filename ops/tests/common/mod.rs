//! Helpers shared by the op tests (each test file is its own crate and
//! uses a subset, hence the allowance below).
#![allow(dead_code)]

use candle_core::{Device, Tensor};
use nasarena_core::Seed;
use rand::Rng;

/// A convolution case: `(n, c_in, h, w, c_out, k, stride, padding,
/// dilation, groups)`.
pub type ConvCase = (
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
);

/// A case's convolution hyper-parameters.
pub fn conv_params(c: ConvCase) -> nasarena_ops::ConvParams {
    let (_, _, _, _, _, _, stride, padding, dilation, groups) = c;
    nasarena_ops::ConvParams {
        stride,
        padding,
        dilation,
        groups,
    }
}

/// A CPU f32 tensor of `dims` with values drawn uniformly from `lo..hi`
/// by `seed`'s generator.
pub fn random_in(seed: Seed, dims: &[usize], lo: f32, hi: f32) -> Tensor {
    let mut rng = seed.rng();
    let len: usize = dims.iter().product();
    let data: Vec<f32> = (0..len).map(|_| rng.random_range(lo..hi)).collect();
    Tensor::from_vec(data, dims, &Device::Cpu).expect("shape matches data")
}

/// [`random_in`] over `-1..1`.
pub fn random(seed: Seed, dims: &[usize]) -> Tensor {
    random_in(seed, dims, -1.0, 1.0)
}

/// Runs this test binary again once per other instruction-set path the
/// CPU has (`NASARENA_ISA`), so that every test of the file checks every
/// path; panics if a run fails. In a run that already forces a path it
/// only checks that the forced path is the one selected.
pub fn on_every_other_isa(this_test: &str) {
    use nasarena_ops::{isa, Isa, ISA_ENV};
    if let Some(forced) = std::env::var(ISA_ENV).ok().filter(|v| !v.is_empty()) {
        let want: Isa = forced.parse().expect("NASARENA_ISA names a path");
        assert_eq!(isa(), want, "the forced path must be the one selected");
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    for other in Isa::available().into_iter().filter(|&i| i != isa()) {
        let out = rerun(&exe)
            .env(ISA_ENV, other.name())
            .args(["--skip", this_test, "--test-threads", "2"])
            .output()
            .expect("rerun the test binary");
        assert!(
            out.status.success(),
            "tests failed on the {other} path:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A command that runs the test binary `exe` again: through the emulator
/// named by `NASARENA_TEST_RUNNER` (e.g. `qemu-aarch64 -L
/// /usr/aarch64-linux-gnu` for a cross-built binary, which the host cannot
/// start itself), or directly.
pub fn rerun(exe: &std::path::Path) -> std::process::Command {
    let runner = std::env::var("NASARENA_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = std::process::Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
        None => std::process::Command::new(exe),
    }
}
