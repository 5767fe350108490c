# f16 attention with inputs near the top of the f16 range (65504): values
# of magnitude 6e4 and queries of 3e4 against tiny keys. Scores, softmax
# and the accumulator are f32 inside bpt.attention, so the results are
# finite and match NumPy (float64 on the same f16 inputs) to 2e-3 of the
# largest output, through the blockwise (vectorised) and the unfused
# lowerings, causal and not.
#
# RUN: %python %s

import sys

import numpy as np

from bpt import dtypes
from bpt.compiler import compile_mlir
from bpt.testing import AttentionCase, max_error

TOL = 2e-3
rng = np.random.default_rng(11)
failed = 0
for causal in (False, True):
    case = AttentionCase("range", b=1, hq=2, hkv=2, sq=70, sk=70, d=32,
                         elem="f16", causal=causal)
    mlir = "module {\n" + case.mlir() + "\n}\n"
    shape = (1, 2, 70, 32)
    inputs = {
        "big values": (rng.standard_normal(shape), rng.standard_normal(shape),
                       rng.uniform(-6e4, 6e4, shape)),
        "big queries, tiny keys": (rng.uniform(-3e4, 3e4, shape),
                                   rng.uniform(-1e-4, 1e-4, shape),
                                   rng.standard_normal(shape)),
    }
    for what, arrays in inputs.items():
        args = [dtypes.to_storage(a, "f16") for a in arrays]
        ref = case.reference(args)[0]
        for passes in (["--bpt-blockwise=q-block=16 kv-block=32"],
                       ["--bpt-decompose"]):
            out = compile_mlir(mlir, passes=passes)[case.func](*args)
            got = dtypes.to_float(out, "f16")
            err = max_error(got, ref)
            ok = bool(np.isfinite(got).all()) and err <= TOL
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'}: {what}, causal={causal}, "
                  f"{passes[0].split('=')[0]}: max |out| "
                  f"{np.abs(got).max():.3g}, error {err:.2e}")
sys.exit(1 if failed else 0)
