#!/usr/bin/env bash
# Compile-checks the CUDA build (`--features cuda`: candle's CUDA backend,
# cudarc, candle's kernels compiled by nvcc, and the `#[cfg(feature =
# "cuda")]` tests) on a machine without a GPU. The toolkit comes from PyPI
# (scripts/cuda-env.sh). The check uses its own target folder, so the CPU
# build's cache in target/ stays valid.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/cuda-env.sh
. scripts/cuda-env.sh
nvcc --version | tail -1
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/cuda-check}" \
  cargo check --release --workspace --all-targets --features cuda
