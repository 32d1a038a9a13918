#!/usr/bin/env bash
# Smoke test of a CUDA build on a machine without an NVIDIA driver (issue
# #26: one binary for CPU and GPU machines). Usage:
#   scripts/cuda-smoke.sh path/to/nasarena
# Checks, each printed PASS/FAIL (exit 1 if any failed):
#   1. the binary starts and names the cuda feature (`--version`);
#   2. a small search trains and finishes on the CPU;
#   3. `--device cuda:0` is refused with an error that names the missing
#      CUDA libraries, and writes no journal.
# Where a driver is present, check 3 is skipped (bench/gpu_check.sh covers
# that machine).
set -uo pipefail
bin=$(realpath "${1:?usage: scripts/cuda-smoke.sh path/to/nasarena}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
pass() { echo "PASS $1"; }
fail() {
  echo "FAIL $1"
  sed 's/^/    /' "$2" | tail -n 20
  failed=1
}

if "$bin" --version >"$work/version" 2>&1 && grep -q "cuda" "$work/version"; then
  pass "starts without a driver: $(cat "$work/version")"
else
  fail "starts and names the cuda feature" "$work/version"
fi

cat >"$work/exp.toml" <<'EOF'
name = "cuda-smoke"
seed = 7
repeats = 1

[dataset]
name = "fashion-mnist-subset"
val_fraction = 0.05
train_limit = 160

[[space]]
name = "cell"
options = { C = "4", N = "1", input = "1x28x28", classes = "10" }

[[strategy]]
name = "random"

[evaluator]
epochs = 1
batch_size = 32
optimizer = { lr = 0.05, momentum = 0.9 }

[budget]
unit = "evaluations"
limit = 2

[final]
schedule = { epochs = 1, batch_size = 32, optimizer = { lr = 0.05, momentum = 0.9 } }
EOF
if (cd "$work" && "$bin" run exp.toml --runs-dir cpu --quiet) >"$work/cpu.log" 2>&1 &&
  grep -q '"kind":"final"' "$work"/cpu/cuda-smoke/*/random/seed-0.jsonl; then
  pass "a search trains and finishes on the CPU"
else
  fail "a search trains and finishes on the CPU" "$work/cpu.log"
fi

if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so'; then
  echo "SKIP --device cuda:0 without a driver (this machine has libcuda)"
else
  (cd "$work" && "$bin" run exp.toml --runs-dir gpu --device cuda:0 --quiet) >"$work/gpu.log" 2>&1
  status=$?
  if [ "$status" -ne 0 ] && grep -q "CUDA libraries could not be loaded" "$work/gpu.log" &&
    ! grep -qi "panicked" "$work/gpu.log" && [ -z "$(find "$work/gpu" -name '*.jsonl' 2>/dev/null)" ]; then
    pass "--device cuda:0 without a driver: $(head -n 1 "$work/gpu.log" | cut -c1-160)"
  else
    fail "--device cuda:0 without a driver is a clear error (exit $status)" "$work/gpu.log"
  fi
fi
exit "$failed"
