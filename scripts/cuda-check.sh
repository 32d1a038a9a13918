#!/usr/bin/env bash
# Checks the CUDA build on a machine without a GPU or driver: compile-checks
# every target with `--features cuda` (candle's CUDA backend, cudarc,
# candle's kernels compiled by nvcc, the `#[cfg(feature = "cuda")]` tests),
# then builds the binary and runs scripts/cuda-smoke.sh on it: it must
# start without any CUDA library, train on the CPU, and refuse
# `--device cuda:0` with an error naming the missing libraries (issue
# #26). The toolkit comes from PyPI (scripts/cuda-env.sh); the build runs
# in target/cuda-ws (scripts/cuda-workspace.sh) with its own target folder,
# so the CPU build's cache in target/ stays valid.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/cuda-env.sh
. scripts/cuda-env.sh
nvcc --version | tail -1
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/cuda-check}"
# shellcheck source=scripts/cuda-workspace.sh
. scripts/cuda-workspace.sh
cd "$CUDA_WS"
cargo check --release --workspace --all-targets --features cuda
cargo build --release --features cuda --bin nasarena
# Without the toolkit's libraries on the path, as on a machine without CUDA.
env -u LD_LIBRARY_PATH bash "$root/scripts/cuda-smoke.sh" "$CARGO_TARGET_DIR/release/nasarena"
