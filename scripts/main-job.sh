#!/usr/bin/env bash
# The main job of bpt-mlir: set-up if needed, build, then compile the shipped
# GPT-2-small block (examples/gpt2_small_block.mlir, S = 4096) through the
# bpt package (bpt-opt pipelines), run it on the CPU,
# check it against NumPy and print memory figures.
#   scripts/main-job.sh [--mlir FILE] [--seed N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
export PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}"
export BPT_TOOLS_DIR="${BPT_BUILD_DIR:-$ROOT/build}/bin"
exec "$ROOT/.venv/bin/python" -m bpt.demo "$@"
