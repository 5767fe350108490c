# Blocks that --bpt-blockwise refuses to fuse per query block (each with its
# remark, see test/Dialect/BPT/Transforms/bpt-blockwise-block.mlir) still
# compute what the reference lowering computes. Tolerance 2e-5 (f32).
#
# RUN: %python %s

import sys
from pathlib import Path

import numpy as np

from bpt.testing import compare_lowerings

source = (Path(__file__).parents[3] / "test" / "Dialect" / "BPT" /
          "Transforms" / "bpt-blockwise-block.mlir").read_text()
cases = {"two_results": 1, "reshaped_result": 1, "pooled": 1,
         "attention_unused": 1}
failed = 0
for chunk in source.split("// -----"):
    for name in cases:
        if f"func.func @{name}(" not in chunk:
            continue
        rng = np.random.default_rng(len(name))
        x = rng.standard_normal((1, 1, 16, 8)).astype(np.float32)
        ok, err = compare_lowerings(chunk, name,
                                    ["--bpt-blockwise=q-block=8 kv-block=8"],
                                    ["--bpt-decompose"], [x], 2e-5)
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}: {name}: max err {err:.2e}")
print(f"{len(cases) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
