#!/usr/bin/env bash
# GPU check of nasarena's CUDA build, in one go (about 5 minutes on an
# H200 once built). Run from the repository root on a machine with an
# NVIDIA GPU, a driver for CUDA 13 and python3 with PyTorch:
#
#   bench/gpu_check.sh            # writes its logs to ${OUT:-gpu-check}/
#
# Steps, each reported PASS/FAIL at the end (exit 1 if any failed):
#   1. facts: nvidia-smi, nvcc, torch
#   2. binaries: target/cuda-dist/ from scripts/cuda-build.sh, unpacked
#      from target/cuda-dist.tar.xz when the folder came from
#      scripts/gpu-bundle.sh, built here when cargo is available and they
#      are missing. (The lent H200 image has PyTorch but no Rust toolchain:
#      run scripts/gpu-bundle.sh on a machine with one, no driver needed,
#      and carry target/gpu-bundle; run bench/gpu_check.sh from inside it.)
#   3. GPU tests: fused BN and grouped conv fall back to candle on CUDA and
#      match the CPU; training on the GPU follows the CPU run; device time
#      is taken after a synchronisation; the header names the GPU
#   4. a short FBNet supernet search (`--device cuda:0`), then its report
#      (whose cost column must say GPU-h)
#   5. PyTorch peer on the same GPU: bench/compare_train.py --device cuda:0
#      prints nasarena/PyTorch throughput ratios (training and eval)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu-check}"
mkdir -p "$OUT"
DIST="${NASARENA_CUDA_DIST:-target/cuda-dist}"
PYTHON="${PYTHON:-python3}"
declare -a RESULTS=()
ok() { RESULTS+=("PASS  $1"); echo "== PASS: $1"; }
bad() { RESULTS+=("FAIL  $1"); echo "== FAIL: $1 (log: $2)"; }
step() { echo; echo "== $1"; }

summary() {
  echo; echo "== summary"
  printf '%s\n' "${RESULTS[@]}"
  printf '%s\n' "${RESULTS[@]}" >"$OUT/summary.txt"
  if printf '%s\n' "${RESULTS[@]}" | grep -q '^FAIL'; then exit 1; fi
}

step "1. facts"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv \
    || echo "nvidia-smi failed: no GPU or no driver"
  command -v nvcc >/dev/null && nvcc --version | tail -1
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())'
} 2>&1 | tee "$OUT/facts.txt"

step "2. binaries"
if [ ! -x "$DIST/nasarena" ] && [ -f "$DIST.tar.xz" ]; then
  # The carried bundle (scripts/gpu-bundle.sh): unpacked with Python, which
  # a PyTorch machine has even where xz is missing.
  "$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
    "$DIST.tar.xz" "$(dirname "$DIST")" || { bad "unpack $DIST.tar.xz" "-"; summary; }
fi
if [ ! -x "$DIST/nasarena" ] && command -v cargo >/dev/null; then
  scripts/cuda-build.sh >"$OUT/build.log" 2>&1 || { bad "build (scripts/cuda-build.sh)" "$OUT/build.log"; summary; }
fi
if [ ! -x "$DIST/nasarena" ]; then
  bad "no CUDA build in $DIST and no cargo here: run scripts/cuda-build.sh on a machine with Rust and carry $DIST" "-"
  summary
fi
# The cuBLAS/cuRAND/NVRTC/cudart of CUDA 13 the binaries load: from the
# pip packages next to PyTorch when there is no system toolkit.
libs="$("$PYTHON" - <<'PY' 2>/dev/null
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except ImportError:
    roots = []
dirs = set()
for r in roots:
    for f in glob.glob(os.path.join(r, "**", "lib*.so*"), recursive=True):
        dirs.add(os.path.dirname(f))
print(":".join(sorted(dirs)))
PY
)"
export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if "$DIST/nasarena" --version | tee "$OUT/version.txt" | grep -q cuda; then
  ok "binary runs and was built with the cuda feature"
else
  bad "binary --version does not list the cuda feature" "$OUT/version.txt"
fi

step "3. GPU tests"
for t in ops_bn ops_conv harness_cuda; do
  if [ ! -x "$DIST/$t" ]; then bad "test $t missing from $DIST" "-"; continue; fi
  # Only the CUDA tests and their CPU counterparts: the CPU suite runs in CI.
  filter=cuda
  [ "$t" = harness_cuda ] && filter=""
  if timeout 300 "$DIST/$t" $filter --test-threads=1 >"$OUT/test-$t.log" 2>&1; then
    ok "tests $t: $(grep -E '^test result' "$OUT/test-$t.log" | tail -1)"
  else
    bad "tests $t" "$OUT/test-$t.log"
  fi
done

step "4. short FBNet supernet search on cuda:0"
cat >"$OUT/gpu-fbnet.toml" <<'TOML'
name = "gpu-fbnet"
seed = 2026
repeats = 1

[dataset]
name = "fashion-mnist-subset"
val_fraction = 0.1

[[space]]
name = "fbnet-28"
options = { width = "0.25" }

[[strategy]]
name = "gumbel"
preset = "fbnet"
overrides = { cost_unit_macs = 1e5 }

[[strategy]]
name = "random"

[evaluator]
epochs = 1
batch_size = 64
optimizer = { lr = 0.05, momentum = 0.9, nesterov = true, weight_decay = 4e-5 }

[budget]
unit = "train_samples"
limit = 12000

[final]
schedule = { epochs = 1, batch_size = 64, optimizer = { lr = 0.05, momentum = 0.9 } }
TOML
rm -rf "$OUT/runs"
if timeout 360 "$DIST/nasarena" -v run "$OUT/gpu-fbnet.toml" --device cuda:0 \
     --runs-dir "$OUT/runs" >"$OUT/search.md" 2>"$OUT/search.log"; then
  if grep -q '"device":"cuda:0' "$OUT"/runs/gpu-fbnet/*/*.jsonl 2>/dev/null \
     && grep -q 'GPU-h' "$OUT/search.md"; then
    ok "supernet search on cuda:0 ($(grep -c '"kind":"epoch"' "$OUT"/runs/gpu-fbnet/*/*.jsonl | paste -sd' ') epochs; table in search.md)"
  else
    bad "search ran but journals/report do not say cuda:0 / GPU-h" "$OUT/search.log"
  fi
else
  bad "supernet search on cuda:0" "$OUT/search.log"
fi

step "5. PyTorch peer on cuda:0"
if PYTHONUNBUFFERED=1 timeout 300 "$PYTHON" bench/compare_train.py --bin "$DIST/nasarena" \
     --python "$PYTHON" --device cuda:0 --threads "$(nproc)" --batch 256 --steps 20 \
     --repeats 1 --json "$OUT/compare.json" >"$OUT/compare.md" 2>"$OUT/compare.log"; then
  cat "$OUT/compare.md"
  ok "PyTorch comparison (ratios in compare.md)"
else
  bad "PyTorch comparison" "$OUT/compare.log"
fi
summary
