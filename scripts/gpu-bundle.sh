#!/usr/bin/env bash
# Builds, here (a Rust toolchain, no GPU or driver needed), the folder that
# a GPU machine with only the NVIDIA driver and PyTorch runs the GPU check
# from (issue #26): no Rust, no network there.
#   target/gpu-bundle/target/cuda-dist.tar.xz   nasarena and the GPU test
#       executables (scripts/cuda-build.sh), stripped: 231 MiB, 41 MiB
#       packed (each embeds candle's compiled kernels; one solid xz archive
#       stores them once); bench/gpu_check.sh unpacks it with Python
#   target/gpu-bundle/bench/                    gpu_check.sh and the PyTorch peers
# On the GPU machine, from the bundle's folder:
#   bash bench/gpu_check.sh        # PASS/FAIL per check, logs in gpu-check/
# gpu_check.sh puts the CUDA 13 libraries of PyTorch's pip packages
# (site-packages/nvidia/) on LD_LIBRARY_PATH itself; the binaries load them
# at run time (scripts/cuda-workspace.sh). The folder must stay under
# 60 MiB (what one device call carries); the script refuses a larger one.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-target/gpu-bundle}
limit_mib=60
bash scripts/cuda-build.sh
rm -rf "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/cuda-dist" "$out/target" "$out/bench"
for bin in target/cuda-dist/*; do
  strip -o "$stage/cuda-dist/$(basename "$bin")" "$bin"
done
ls -la "$stage/cuda-dist"
# -9e: a 64 MiB window, so the kernels every executable embeds are stored once.
tar -C "$stage" -cf - cuda-dist | xz -9e -T1 > "$out/target/cuda-dist.tar.xz"
cp bench/gpu_check.sh bench/*.py "$out/bench/"
size_mib=$(du -sm "$out" | cut -f1)
ls -la "$out/target" "$out/bench"
echo "bundle: $out, $size_mib MiB"
if [ "$size_mib" -gt "$limit_mib" ]; then
  echo "gpu-bundle: $out is $size_mib MiB, over the $limit_mib MiB a device call carries" >&2
  exit 1
fi
