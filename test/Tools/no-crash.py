# Runs every bpt pass and pipeline over every split of every .mlir input of
# the test suite (valid and invalid ones alike) and fails if bpt-opt crashes
# (a signal or a stack dump) instead of succeeding or giving a diagnostic.
#
# RUN: %python %s

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BPT_OPT = Path(os.environ["BPT_TOOLS_DIR"]) / "bpt-opt"
PIPELINES = [
    ["--bpt-decompose"],
    ["--bpt-blockwise"],
    ["--bpt-blockwise=attention-only"],
    ["--bpt-blockwise=q-block=3 kv-block=5 ffn-chunk=7"],
    ["--bpt-cpu-pipeline"],
    ["--bpt-blockwise", "--bpt-cpu-pipeline"],
    ["--bpt-reassociate-reductions"],
    ["--bpt-innermost-contiguous-loop"],
    ["--bpt-approximate-math"],
    ["--bpt-inline-alloca-scopes"],
    ["--bpt-vectorize-contractions"],
    ["--bpt-ring=devices=3"],
    ["--bpt-ring=devices=2 order=zigzag", "--bpt-blockwise", "--bpt-cpu-pipeline"],
    ["--bpt-convert-mpi-to-llvm"],
    ["--bpt-blockwise=q-block=3 kv-block=5 ffn-chunk=7",
     "--bpt-vectorize-contractions=m-tile=3 n-tile=5"],
    ["--bpt-raise=remarks=true"],
    ["--bpt-raise", "--bpt-blockwise=q-block=3 kv-block=5 ffn-chunk=7"],
    ["--bpt-raise-ffn", "--bpt-raise-block=remarks=true"],
    ["--bpt-raise", "--bpt-cpu-pipeline"],
    ["--bpt-gpu-attention"],
    ["--bpt-raise", "--bpt-gpu-pipeline=format=isa"],
]

inputs = sorted(p for p in (ROOT / "test").rglob("*.mlir")
                if "Inputs" not in p.parts)
crashes = runs = 0
for path in inputs:
    for passes in PIPELINES:
        runs += 1
        proc = subprocess.run([str(BPT_OPT), str(path), "--split-input-file",
                               *passes], capture_output=True, text=True,
                              timeout=120)
        crashed = proc.returncode not in (0, 1) or \
            "Stack dump" in proc.stderr or "PLEASE submit" in proc.stderr
        if crashed:
            crashes += 1
            print(f"CRASH (exit {proc.returncode}): bpt-opt "
                  f"{path.relative_to(ROOT)} {' '.join(passes)}")
print(f"{runs - crashes} passed, {crashes} failed")
sys.exit(1 if crashes else 0)
