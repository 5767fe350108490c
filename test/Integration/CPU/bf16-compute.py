# bf16 computed in bf16 on the CPU: a matmul that accumulates into its bf16
# output (as torch-mlir writes a bf16 torch.mm), then tanh(y) * y in bf16.
# x86 has no bf16 arithmetic or conversion before AVX512-BF16, where LLVM
# computes bf16 arithmetic in f32 and calls __truncsfbf2 to round back, a
# function GCC 12's libgcc lacks (the module fails to load): the CPU
# pipeline computes bf16 arithmetic and math in f32 itself
# (arith-emulate-unsupported-floats, math-extend-to-supported-types), the
# rounding expanded inline (arith-expand). On such a CPU (AMD Zen 2 here)
# this test fails without that. The module must load and match a NumPy
# model that rounds to bf16 where the program
# does: after each multiply-add of the accumulation (in k order), after
# tanh and after the product: within 2 bf16 ulps of the largest result
# (2^-7 relative), with the register-tiled vector lowering and the loops
# (vectorize=false).
#
# RUN: %python %s

import sys

import numpy as np

from bpt import dtypes
from bpt.compiler import compile_mlir


def module(m, n, k):
    ta, tb, tc = (f"tensor<{m}x{k}xbf16>", f"tensor<{k}x{n}xbf16>",
                  f"tensor<{m}x{n}xbf16>")
    return f"""
func.func @f(%a: {ta}, %b: {tb}, %c: {tc}) -> {tc} {{
  %r = linalg.matmul ins(%a, %b : {ta}, {tb}) outs(%c : {tc}) -> {tc}
  %e = tensor.empty() : {tc}
  %x = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}}
         ins(%r : {tc}) outs(%e : {tc}) {{
  ^bb0(%y: bf16, %o: bf16):
    %t = math.tanh %y : bf16
    %p = arith.mulf %t, %y : bf16
    linalg.yield %p : bf16
  }} -> {tc}
  return %x : {tc}
}}
"""


def bf16(x):
    return dtypes.to_float(dtypes.to_storage(x, "bf16"), "bf16").astype(
        np.float64)


def model(a, b, c):
    acc = c.copy()
    for kk in range(a.shape[1]):
        acc = bf16(acc + np.outer(a[:, kk], b[kk, :]))
    return bf16(bf16(np.tanh(acc)) * acc)


failed = 0
for m, n, k in ((8, 16, 16), (37, 70, 24), (64, 64, 40)):
    rng = np.random.default_rng(m)
    a, b = (dtypes.to_storage(rng.standard_normal(s) * 0.5, "bf16")
            for s in ((m, k), (k, n)))
    c = dtypes.to_storage(rng.standard_normal((m, n)), "bf16")
    want = model(*(dtypes.to_float(x, "bf16").astype(np.float64)
                   for x in (a, b, c)))
    for pipeline in ("--bpt-cpu-pipeline",
                     "--bpt-cpu-pipeline=vectorize=false"):
        got = dtypes.to_float(compile_mlir(module(m, n, k),
                                           pipeline=pipeline)["f"](a, b, c),
                              "bf16").astype(np.float64)
        err = float(np.abs(got - want).max())
        bound = 2.0 ** -7 * max(1.0, float(np.abs(want).max()))
        ok = err <= bound
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}: {m}x{n}x{k} {pipeline}: "
              f"max |error| {err:.2e} (bound {bound:.2e})")
sys.exit(1 if failed else 0)
