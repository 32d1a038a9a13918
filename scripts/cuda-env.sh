# shellcheck shell=bash
# Source this file (`. scripts/cuda-env.sh`) to get a CUDA 13.0 toolkit for
# building nasarena with `--features cuda`, from PyPI, without a system
# CUDA install and without a GPU. It creates (once) a Python virtual
# environment with NVIDIA's toolkit wheels and exports what candle's build
# scripts look for: nvcc on PATH, CUDA_ROOT/CUDA_HOME/CUDA_PATH,
# CUDA_COMPUTE_CAP, and the library paths.
#
# Why 13.0: the lent GPU machine runs driver 580 (CUDA 13.0); a driver loads
# PTX from its own CUDA version or older, so the kernels must not be
# compiled by a newer nvcc. CUDA_COMPUTE_CAP=90 is the H200 (Hopper); set it
# before sourcing for another GPU (e.g. 80 for A100, 89 for L4/RTX 40xx).
#
# Variables: NASARENA_CUDA_VENV (default: .cuda-venv in the repository),
# NASARENA_CUDA_LIBS=1 to also install the runtime libraries a full build
# links and a run loads (cuBLAS, cuRAND, NVRTC; about 1 GB), which
# `cargo check` does not need.

_nasarena_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NASARENA_CUDA_VENV="${NASARENA_CUDA_VENV:-$_nasarena_root/.cuda-venv}"
_nasarena_cuda_pkgs=(
  "nvidia-cuda-nvcc==13.0.*"    # nvcc, ptxas, fatbinary
  "nvidia-nvvm==13.0.*"         # cicc (nvcc's device front end), libnvvm
  "nvidia-cuda-crt==13.0.*"     # crt/ headers nvcc includes
  "nvidia-cuda-runtime==13.0.*" # cuda_runtime.h, cuda_fp16.h, libcudart
  "nvidia-cuda-cccl==13.0.*"    # cub/thrust/libcu++ headers
)
if [ "${NASARENA_CUDA_LIBS:-0}" = 1 ]; then
  _nasarena_cuda_pkgs+=(
    "nvidia-cublas==13.0.*"
    "nvidia-curand==10.4.0.*"   # the cuRAND of CUDA 13.0
    "nvidia-cuda-nvrtc==13.0.*"
  )
fi

if [ ! -x "$NASARENA_CUDA_VENV/bin/python" ]; then
  python3 -m venv "$NASARENA_CUDA_VENV" || return 1 2>/dev/null || exit 1
fi
"$NASARENA_CUDA_VENV/bin/pip" install --quiet --disable-pip-version-check \
  "${_nasarena_cuda_pkgs[@]}" || return 1 2>/dev/null || exit 1

CUDA_ROOT="$("$NASARENA_CUDA_VENV/bin/python" -c \
  'import nvidia, os; print(os.path.join(nvidia.__path__[0], "cu13"))')"
export CUDA_ROOT CUDA_HOME="$CUDA_ROOT" CUDA_PATH="$CUDA_ROOT"
export PATH="$CUDA_ROOT/bin:$PATH"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
export LIBRARY_PATH="$CUDA_ROOT/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$CUDA_ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
unset _nasarena_root _nasarena_cuda_pkgs
