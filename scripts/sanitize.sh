#!/usr/bin/env bash
# Builds bpt-opt, its libraries and the C API test with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang of LLVM 22; the Debian MLIR libraries
# themselves are not instrumented) in build-asan/, then runs the lit suite
# with it (all but test/Embedding, whose plugin and downstream build load
# into uninstrumented tools). Any sanitizer report fails the test that
# triggered it.
#   scripts/sanitize.sh [lit options, e.g. build-asan/test/Dialect]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BPT_ASAN_BUILD_DIR:-$ROOT/build-asan}"
BPT_SANITIZERS=1 "$ROOT/scripts/setup.sh"
# LLVM_UBSAN_FLAGS: LLVM's own build defines them, an out-of-tree project
# must (without them "Address;Undefined" turns on ASan alone); vptr and
# function checks need RTTI, which LLVM is built without.
UBSAN_FLAGS="-fsanitize=undefined -fno-sanitize=vptr,function -fno-sanitize-recover=all"
if ! grep -q "LLVM_UBSAN_FLAGS:.*=$UBSAN_FLAGS" "$BUILD/CMakeCache.txt" 2>/dev/null; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DLLVM_UBSAN_FLAGS="$UBSAN_FLAGS" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_SANITIZER="Address;Undefined" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DBPT_PYTHON="$ROOT/.venv/bin/python" >/dev/null
fi
ninja -C "$BUILD" bpt-opt bpt-capi-test
# Leaks of MLIR's global registries at exit are not findings; every other
# report aborts the process with a non-zero status.
# allow_user_poisoning=0: see scripts/fuzz.sh.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allow_user_poisoning=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if [[ $# -eq 0 ]]; then set -- "$BUILD/test"; fi
/usr/lib/llvm-22/bin/lit -sv --filter-out "Embedding/" "$@"
