#!/usr/bin/env bash
# Builds the libFuzzer target bpt-fuzz (clang 22, -fsanitize=fuzzer,address;
# our libraries carry coverage, the Debian MLIR libraries do not) in
# build-fuzz/ and fuzzes bpt-opt's parser and every bpt pass and pipeline,
# seeded with the test suite's MLIR (split at `// -----`).
#   scripts/fuzz.sh [seconds] [extra libFuzzer flags]   default: 60 seconds
# The corpus grows in build-fuzz/corpus; a crash, sanitizer report, hang
# (-timeout) or a pass that succeeds leaving invalid IR writes its input to
# build-fuzz/artifacts/. At the end, tools/bpt-fuzz/triage.py replays each
# saved input and sorts the reports into bpt-mlir's and upstream MLIR's
# (a frame in this repository's code decides); the script fails when one is
# bpt-mlir's. BPT_FUZZ_JOBS=N runs N fuzzing processes. Reproduce one with
#   build-fuzz/bin/bpt-fuzz build-fuzz/artifacts/crash-...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BPT_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_TO_RUN="${1:-60}"
shift || true
BPT_SANITIZERS=1 BPT_NO_BUILD=1 "$ROOT/scripts/setup.sh"
if [[ ! -f "$BUILD/build.ninja" ]]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_CXX_FLAGS="-g1" \
    -DLLVM_USE_SANITIZER=Address -DLLVM_USE_SANITIZE_COVERAGE=ON \
    -DBPT_FUZZ=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DBPT_PYTHON="$ROOT/.venv/bin/python" >/dev/null
fi
ninja -C "$BUILD" bpt-fuzz

# Seeds: every MLIR file of the test suite, one seed per `// -----` split.
SEEDS="$BUILD/seeds"
rm -rf "$SEEDS" && mkdir -p "$SEEDS" "$BUILD/corpus" "$BUILD/artifacts"
"$ROOT/.venv/bin/python" - "$ROOT/test" "$SEEDS" <<'PY'
import pathlib, sys
root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
n = 0
for f in sorted(root.rglob("*.mlir")):
    for i, part in enumerate(f.read_text().split("// -----")):
        if part.strip():
            (out / f"{f.stem}-{n}-{i}.mlir").write_text(part)
            n += 1
print(f"[fuzz] {n} seeds from {root}")
PY

# Fork mode: a crash is saved and fuzzing goes on, so that one upstream parser
# bug does not end the run; the triage below sorts what was saved.
# allow_user_poisoning=0: LLVM's allocators poison memory by hand in code
# built with ASan; the Debian MLIR libraries are not, so the two disagree on
# what is poisoned (false use-after-poison reports).
export ASAN_OPTIONS="detect_leaks=0:allow_user_poisoning=0:allocator_may_return_null=1"
rm -f "$BUILD"/artifacts/*
"$BUILD/bin/bpt-fuzz" "$BUILD/corpus" "$SEEDS" \
  -dict="$ROOT/tools/bpt-fuzz/mlir.dict" \
  -artifact_prefix="$BUILD/artifacts/" \
  -fork="${BPT_FUZZ_JOBS:-1}" -ignore_crashes=1 -ignore_timeouts=1 \
  -ignore_ooms=1 \
  -max_total_time="$SECONDS_TO_RUN" -timeout=60 -rss_limit_mb=6144 \
  -max_len=16384 -print_final_stats=1 "$@" 2>&1 | tee "$BUILD/fuzz.log" \
  | grep -E "^#[0-9]+: |INFO: fuzzed|crashes|^==.*ERROR" || true
"$ROOT/.venv/bin/python" "$ROOT/tools/bpt-fuzz/triage.py" "$BUILD"
