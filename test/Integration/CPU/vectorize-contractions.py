# Register-tiled vector contractions (--bpt-vectorize-contractions, on by
# default in --bpt-cpu-pipeline) compute the same products as the loop
# lowering (vectorize=false) and as NumPy in float64, on random inputs:
# sizes that are multiples of the 8 x 32 tile and sizes that are not (full
# tiles vectorised, peeled remainders as loops), dynamic shapes, a batch of
# one (unit loop dropped) and of three, f32 and f16/bf16 operands
# accumulated in f32, and the transposed-B form that is left to the loops.
# Tolerance: max abs error / max(1, max |ref|) <= 2e-5 against NumPy (the
# operands are exact in every type; only f32 rounding of the sums differs),
# and the two lowerings agree to the same bound.
#
# RUN: %python %s

import sys

import numpy as np

from bpt import dtypes
from bpt.compiler import compile_mlir
from bpt.testing import max_error

TOLERANCE = 2e-5
MAPS = {
    "nn": ("(b, m, n, k) -> (b, m, k)", "(b, m, n, k) -> (b, k, n)"),
    # B read as [n, k]: the dot-product form, not vectorised.
    "nt": ("(b, m, n, k) -> (b, m, k)", "(b, m, n, k) -> (b, n, k)"),
}


def ty(dims, elem):
    return "tensor<" + "".join(f"{d}x" for d in dims) + elem + ">"


def module(batch, m, n, k, elem, layout, dynamic):
    a_dims = [batch, m, k]
    b_dims = [batch, k, n] if layout == "nn" else [batch, n, k]
    c_dims = [batch, m, n]
    if dynamic:
        a_dims, b_dims, c_dims = (["?"] * 3 for _ in range(3))
    a_map, b_map = MAPS[layout]
    ext = ("" if elem == "f32" else
           f"    %xe = arith.extf %x : {elem} to f32\n"
           f"    %ye = arith.extf %y : {elem} to f32\n")
    xa, ya = ("%x", "%y") if elem == "f32" else ("%xe", "%ye")
    ta, tb, tc = ty(a_dims, elem), ty(b_dims, elem), ty(c_dims, "f32")
    return f"""
func.func @mm(%a: {ta}, %b: {tb}, %c: {tc}) -> {tc} {{
  %0 = linalg.generic {{indexing_maps = [affine_map<{a_map}>, affine_map<{b_map}>,
                        affine_map<(b, m, n, k) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
         ins(%a, %b : {ta}, {tb}) outs(%c : {tc}) {{
  ^bb0(%x: {elem}, %y: {elem}, %z: f32):
{ext}    %p = arith.mulf {xa}, {ya} : f32
    %s = arith.addf %z, %p : f32
    linalg.yield %s : f32
  }} -> {tc}
  return %0 : {tc}
}}
"""


def run_case(batch, m, n, k, elem, layout="nn", dynamic=False, seed=0):
    rng = np.random.default_rng(seed)
    b_shape = (batch, k, n) if layout == "nn" else (batch, n, k)
    a = dtypes.to_storage(rng.standard_normal((batch, m, k)), elem)
    b = dtypes.to_storage(rng.standard_normal(b_shape), elem)
    c = rng.standard_normal((batch, m, n)).astype(np.float32)
    af, bf = dtypes.to_float(a, elem), dtypes.to_float(b, elem)
    bf = bf if layout == "nn" else bf.transpose(0, 2, 1)
    want = c.astype(np.float64) + af @ bf
    text = module(batch, m, n, k, elem, layout, dynamic)
    vec = np.asarray(compile_mlir(text)["mm"](a, b, c), np.float64)
    loops = np.asarray(compile_mlir(
        text, pipeline="--bpt-cpu-pipeline=vectorize=false")["mm"](a, b, c),
        np.float64)
    return max_error(vec, want), max_error(vec, loops)


CASES = [
    # batch, m, n, k, elem, layout, dynamic
    (1, 64, 64, 64, "f32", "nn", False),
    (1, 1, 1, 1, "f32", "nn", False),
    (1, 7, 5, 3, "f32", "nn", False),
    (1, 20, 40, 16, "f32", "nn", False),
    (1, 100, 257, 80, "f32", "nn", False),
    (3, 36, 96, 33, "f32", "nn", False),
    (1, 100, 257, 80, "f32", "nn", True),
    (2, 64, 130, 64, "f32", "nn", True),
    (1, 64, 96, 128, "f16", "nn", False),
    (1, 37, 70, 50, "bf16", "nn", False),
    (2, 40, 64, 128, "bf16", "nn", True),
    (1, 64, 64, 64, "f32", "nt", False),
]

failed = 0
for case in CASES:
    ref_err, lowering_err = run_case(*case)
    ok = ref_err <= TOLERANCE and lowering_err <= TOLERANCE
    failed += not ok
    batch, m, n, k, elem, layout, dynamic = case
    print(f"{'PASS' if ok else 'FAIL'}: {batch}x{m}x{n}x{k} {elem} {layout}"
          f"{' dynamic' if dynamic else ''}: vs NumPy {ref_err:.2e}, "
          f"vs loops {lowering_err:.2e}")
print(f"{len(CASES) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
