# Sourced by scripts/cuda-build.sh and scripts/cuda-check.sh: prepares
# target/cuda-ws/, where the CUDA build runs, and sets CUDA_WS to its
# source folder.
#
# Why: candle-core 0.11.1 asks cudarc for `dynamic-linking`, so a CUDA
# build of it links against the driver's libcuda.so, cuBLAS, cuRAND and
# NVRTC and cannot even start on a machine without them. cudarc can
# instead load those libraries when they are first used
# (`dynamic-loading`), which gives one binary for CPU and GPU machines:
# it runs on the CPU anywhere and reports a missing driver when asked for
# `--device cuda`. Nothing from candle is kept in this repository:
#   1. candle-core's published source is taken from cargo's registry cache
#      (`cargo fetch`) and copied to target/cuda-ws/candle-core, where its
#      one cudarc feature `dynamic-linking` becomes `dynamic-loading`;
#   2. the repository's tracked files are copied to target/cuda-ws/src
#      with a `[patch.crates-io]` for that copy, so the CUDA build's
#      Cargo.lock changes there, never in the checkout.
#   3. candle-kernels links the CUDA runtime (`-lcudart`, for its MoE
#      kernels); target/cuda-ws/link holds `libcudart.a`, a link to the
#      toolkit's libcudart_static.a, first on LIBRARY_PATH, so the runtime
#      is linked in statically (it loads the driver itself when first used)
#      and the binary needs no CUDA library to start.
# The CUDA build keeps its own target folder (target/cuda by default).

_nasarena_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_ws="$_nasarena_root/target/cuda-ws"

cargo fetch --manifest-path "$_nasarena_root/Cargo.toml" --quiet
_candle=$(cargo metadata --manifest-path "$_nasarena_root/Cargo.toml" --format-version 1 |
  python3 -c '
import json, os, sys
meta = json.load(sys.stdin)
for p in meta["packages"]:
    if p["name"] == "candle-core" and p["source"] and p["source"].startswith("registry+"):
        print(os.path.dirname(p["manifest_path"]))
        break
')
if [ -z "$_candle" ]; then
  echo "cuda-workspace: candle-core not found in cargo's registry cache" >&2
  return 1 2>/dev/null || exit 1
fi

rm -rf "$_ws/candle-core" "$_ws/src"
mkdir -p "$_ws/src"
# Timestamps are kept (cp -p, tar), so cargo does not rebuild what did
# not change since the last CUDA build.
cp -rp "$_candle" "$_ws/candle-core"
chmod -R u+w "$_ws/candle-core"
if ! grep -q '"dynamic-linking",' "$_ws/candle-core/Cargo.toml"; then
  echo "cuda-workspace: $_candle/Cargo.toml no longer asks cudarc for dynamic-linking; revisit this script" >&2
  return 1 2>/dev/null || exit 1
fi
sed -i 's/"dynamic-linking",/"dynamic-loading",/' "$_ws/candle-core/Cargo.toml"
touch -r "$_candle/Cargo.toml" "$_ws/candle-core/Cargo.toml"

git -C "$_nasarena_root" ls-files -z | (cd "$_nasarena_root" && tar --null -T - -cf -) |
  tar -xf - -C "$_ws/src"
mkdir -p "$_ws/src/.cargo"
cat >> "$_ws/src/.cargo/config.toml" <<'EOF'

# Added by scripts/cuda-workspace.sh: candle-core with cudarc's
# dynamic-loading (see that script).
[patch.crates-io]
candle-core = { path = "../candle-core" }
EOF
_cudart=""
for _dir in "${CUDA_ROOT:-}/lib" "${CUDA_ROOT:-}/lib64" "$(dirname "$(command -v nvcc)")/../lib64"; do
  if [ -f "$_dir/libcudart_static.a" ]; then
    _cudart="$_dir/libcudart_static.a"
    break
  fi
done
if [ -z "$_cudart" ]; then
  echo "cuda-workspace: libcudart_static.a not found next to nvcc or in CUDA_ROOT" >&2
  return 1 2>/dev/null || exit 1
fi
mkdir -p "$_ws/link"
ln -sf "$(realpath "$_cudart")" "$_ws/link/libcudart.a"
export LIBRARY_PATH="$_ws/link${LIBRARY_PATH:+:$LIBRARY_PATH}"

CUDA_WS="$_ws/src"
export CUDA_WS
unset _nasarena_root _ws _candle _cudart _dir
