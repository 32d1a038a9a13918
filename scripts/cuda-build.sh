#!/usr/bin/env bash
# Builds the CUDA binary and the GPU test executables into
# target/cuda-dist/ (nasarena, ops_bn, ops_conv, harness_cuda), the folder
# bench/gpu_check.sh runs from. Needs a Rust toolchain and the CUDA 13.0
# toolkit (scripts/cuda-env.sh installs it from PyPI when `nvcc` is not on
# PATH); no driver: the build runs in target/cuda-ws
# (scripts/cuda-workspace.sh), where cudarc loads the CUDA libraries at run
# time, so the binaries start on any machine and use a GPU where there is
# one.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvcc >/dev/null; then
  # shellcheck source=scripts/cuda-env.sh
  NASARENA_CUDA_LIBS=1 . scripts/cuda-env.sh
fi
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/cuda}"
dist=$root/target/cuda-dist
mkdir -p "$dist"
# shellcheck source=scripts/cuda-workspace.sh
. scripts/cuda-workspace.sh
cd "$CUDA_WS"
cargo build --release --features cuda --bin nasarena
cp "$CARGO_TARGET_DIR/release/nasarena" "$dist/nasarena"
# The test executables, found by name in cargo's JSON messages.
cargo test --release --features cuda --no-run --message-format=json \
  -p nasarena-ops --test bn --test conv -p nasarena-harness --test cuda \
  | python3 -c '
import json, os, shutil, sys
names = {("ops", "bn"): "ops_bn", ("ops", "conv"): "ops_conv", ("harness", "cuda"): "harness_cuda"}
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    crate_dir = os.path.basename(os.path.dirname(m["manifest_path"]))
    key = (crate_dir, m["target"]["name"])
    if key in names:
        shutil.copy(m["executable"], sys.argv[1] + "/" + names[key])
        print("built", names[key])
' "$dist"
ls -la "$dist"
