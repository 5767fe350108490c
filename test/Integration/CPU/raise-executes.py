# Every function of the raising tests (the hand-written linalg forms of
# test/Dialect/BPT/Transforms/bpt-raise-{attention,ffn}.mlir) computes the
# same as exported, after --bpt-raise --bpt-decompose and after --bpt-raise
# --bpt-blockwise (small blocks: several key blocks, ragged tiles), on random
# inputs. Boolean masks keep the first key of every row so that no row is
# fully masked (where the original gives NaN and bpt.attention 0).
# Tolerance: max abs error / max(1, max |ref|) <= 2e-5 (f32).
#
# RUN: %python %s

import re
import sys
from pathlib import Path

import numpy as np

from bpt import dtypes
from bpt.compiler import compile_mlir, run_bpt_opt
from bpt.testing import max_error

TESTS = Path(__file__).resolve().parents[2] / "Dialect" / "BPT" / "Transforms"
FILES = ["bpt-raise-attention.mlir", "bpt-raise-ffn.mlir"]
VARIANTS = {
    "raised, decomposed": ["--bpt-raise", "--bpt-decompose"],
    "raised, blockwise": ["--bpt-raise",
                          "--bpt-blockwise=q-block=8 kv-block=16 ffn-chunk=40"],
}
TOLERANCE = 2e-5


def inputs(fn, rng):
    args = []
    for t in fn.arg_types:
        if t.elem == "i1":
            m = rng.random(t.shape) < 0.7
            m[..., 0] = True
            args.append(m)
        elif t.elem == "bf16":
            args.append(dtypes.to_bf16(rng.standard_normal(t.shape)))
        else:
            args.append(rng.standard_normal(t.shape).astype(np.float32))
    return args


def error(got, want):
    got = got if isinstance(got, tuple) else (got,)
    return max(max_error(np.asarray(g, np.float64), w)
               for g, w in zip(got, want))


failed = checks = 0
for name in FILES:
    for chunk in (TESTS / name).read_text().split("// -----"):
        func = re.search(r"func\.func @(\w+)", chunk).group(1)
        raised = run_bpt_opt(chunk, ["--bpt-raise"], pipeline=None)
        checks += 1
        if "bpt.attention" not in raised and "bpt.ffn" not in raised:
            failed += 1
            print(f"FAIL: {func}: nothing raised")
            continue
        rng = np.random.default_rng(7)
        ref_fn = compile_mlir(chunk)[func]
        args = inputs(ref_fn, rng)
        want = ref_fn(*args)
        want = tuple(np.asarray(w, np.float64) for w in
                     (want if isinstance(want, tuple) else (want,)))
        for variant, passes in VARIANTS.items():
            err = error(compile_mlir(chunk, passes=passes)[func](*args), want)
            ok = err <= TOLERANCE
            checks += 1
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'}: {func} ({variant}): "
                  f"max err {err:.2e}")
print(f"{checks - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
