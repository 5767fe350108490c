#!/usr/bin/env bash
# Runs every test of bpt-mlir: set-up if needed, build, then lit (IR tests
# and CPU execution tests), pytest (the Python package) and a 45-second fuzzing
# smoke run (scripts/fuzz.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BPT_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"

status=0
echo "== lit =="
ninja -C "$BUILD"
/usr/lib/llvm-22/bin/lit -sv "$BUILD/test" || status=1

echo "== pytest =="
cd "$ROOT"
set +e
BPT_TOOLS_DIR="$BUILD/bin" "$ROOT/.venv/bin/python" -m pytest -q python/tests
rc=$?
set -e
# pytest exits 5 when it collects no test: that is not a pass.
if [[ $rc -ne 0 ]]; then status=1; fi

# A short libFuzzer run over the parser and every bpt pass (its own clang
# build in build-fuzz/, about two minutes); BPT_SKIP_FUZZ=1 leaves it out.
if [[ "${BPT_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== fuzz smoke (45 s) =="
  "$ROOT/scripts/fuzz.sh" 45 -seed=1 || status=1
fi

if [[ $status -eq 0 ]]; then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit $status
