#!/usr/bin/env bash
# Set-up of bpt-mlir on a Debian bookworm machine: installs what is missing
# (Debian packages, a Python virtual environment), configures and builds.
# Idempotent: a second run only rebuilds what changed.
#
#   scripts/setup.sh            install + configure + build
#   BPT_BUILD_DIR=dir           build directory (default: build)
#   BPT_SKIP_APT=1              do not call apt-get (packages managed by hand)
#   BPT_BENCH=1                 also install the benchmarks' extras (PyTorch,
#                               matplotlib) into the virtual environment
#   BPT_NO_BUILD=1              install only; do not configure or build
#   BPT_SANITIZERS=1            also install clang 22 and its sanitizer and
#                               libFuzzer runtimes (scripts/sanitize.sh,
#                               scripts/fuzz.sh)
#   BPT_CORPUS=1                also install what regenerates the raising
#                               corpus (PyTorch, torch-mlir, ml_dtypes; about
#                               1 GiB): python/tools/gen_torch_corpus.py
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BPT_BUILD_DIR:-$ROOT/build}"
VENV="$ROOT/.venv"
LLVM_PREFIX=/usr/lib/llvm-22

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- Debian packages --------------------------------------------------------
PACKAGES=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools lld-22 libomp-22-dev
  cmake ninja-build ccache g++ python3-venv
  openmpi-bin libopenmpi-dev
)
if [[ "${BPT_SANITIZERS:-0}" == 1 ]]; then
  PACKAGES+=(clang-22 libclang-rt-22-dev)
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ "${BPT_SKIP_APT:-0}" == 1 ]]; then
    log "missing packages (BPT_SKIP_APT=1, not installing): ${missing[*]}"
    exit 1
  fi
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  log "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Python virtual environment ---------------------------------------------
PY="${BPT_SYSTEM_PYTHON:-python3}"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating the virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import numpy, pytest, matplotlib" 2>/dev/null; then
  log "installing Python packages into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r "$ROOT/python/requirements.txt"
fi

# NVIDIA's disassembler (the toolkit here has none): the SASS tests of the
# kernels (python -m bpt.gpu sass), where the CUDA toolkit is present.
CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
if [[ -x "$CUDA_HOME/bin/ptxas" && ! -x "$CUDA_HOME/bin/nvdisasm" ]] &&
  ! compgen -G "$VENV/lib/python3*/site-packages/nvidia/cu1[23]/bin/nvdisasm" >/dev/null; then
  log "installing nvdisasm (nvidia-cuda-nvdisasm) into $VENV"
  "$VENV/bin/python" -m pip install -q -r "$ROOT/python/requirements-cuda.txt"
fi

# The package itself, editable: `import bpt` and the `bpt` command.
if [[ ! -x "$VENV/bin/bpt" ]]; then
  log "installing the bpt package (editable) into $VENV"
  "$VENV/bin/python" -m pip install -q -e "$ROOT/python"
fi

if [[ "${BPT_BENCH:-0}" == 1 ]] && \
   ! "$VENV/bin/python" -c "import torch, matplotlib" 2>/dev/null; then
  log "installing the benchmarks' extras (PyTorch, matplotlib)"
  "$VENV/bin/python" -m pip install -q -r "$ROOT/python/requirements-bench.txt"
fi

if [[ "${BPT_CORPUS:-0}" == 1 ]] && \
   ! "$VENV/bin/python" -c "import torch, torch_mlir, ml_dtypes" 2>/dev/null; then
  log "installing the corpus generator's extras (PyTorch, torch-mlir)"
  "$VENV/bin/python" -m pip install -q -r "$ROOT/python/requirements-corpus.txt"
  "$VENV/bin/python" -m pip install -q --no-deps "torch-mlir==20261001"
fi

# --- Configure and build -----------------------------------------------------
# BPT_NO_BUILD=1: install only (the sanitizer and fuzzing scripts build their
# own trees).
if [[ "${BPT_NO_BUILD:-0}" == 1 ]]; then exit 0; fi
if [[ ! -f "$BUILD/build.ninja" ]]; then
  log "configuring $BUILD"
  cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
    -DBPT_PYTHON="$VENV/bin/python" >/dev/null
fi
log "building"
ninja -C "$BUILD"
