# The tensor-core contraction kernels of --bpt-gpu-offload (projections and
# FFN of a GPU program), executed on the CPU by bpt.gpuemu and compared with
# an f64 NumPy model: C = C0 + A B over ragged M, N, K (1 to 3 tiles of 64),
# operands stored transposed, f16 and bf16 operands, an f32 operand rounded
# to the other's type (the blockwise FFN's hidden activation), f32, f16 and
# bf16 results accumulated onto a non-zero C0. The emulator fails the test
# when a warp reads a shared tile before a barrier orders it after the
# writes, or overwrites it while another warp may still read it, or reads
# it while a cp.async into it is in flight; the test also removes each
# barrier the case runs in turn, and makes the cp.async loop wait for one
# group too few, and requires that failure; and it requires conflict-free
# ldmatrix reads and the staging path (cp.async or plain loads) the
# operands' types and alignment call for. Then fused epilogues: the
# elementwise op that reads C (bias, residual, GELU with constants from
# above its body, a row vector; f32, f16, bf16 outputs) applied by the
# kernel before it stores, C never allocated, against the same model.
# Tolerances: the kernel accumulates exact products in f32, so the f32
# result is within 1e-5 relative of the model with A and B rounded as the
# kernel rounds them; 16-bit results within one rounding (2^-10 f16,
# 2^-7 bf16, relative).
#
# RUN: %python %s

import re
import subprocess
import sys

import numpy as np

from bpt import gpuemu, testing
from bpt.tools import tool

# (M, N, K, A type, B type, C type, A stored (k, m), B stored (n, k),
#  C stored (n, m)[, layout]); a negative size is dynamic in the IR (the last
#  chunk of an FFN whose hidden size the chunk does not divide). Layout of A
#  and B in memory: "dense" (rows of their own length), "padded" (views of
#  rows padded to a multiple of 8 elements: 16-byte aligned, so 16-bit
#  operands with unit-stride rows take the cp.async path, ragged edges
#  zero-filled by cp.async itself), "shifted" (views starting one element
#  in: misaligned, so the plain path runs).
CASES = [
    (100, 50, 70, "f16", "f16", "f32", False, False, False),
    (64, 128, 64, "f16", "f16", "f16", False, False, False),
    (70, 64, 130, "f32", "bf16", "f32", False, False, False),
    (33, 96, 48, "f16", "f16", "f32", False, True, False),
    (1, 1, 1, "bf16", "bf16", "bf16", True, False, False),
    (40, 24, 16, "f16", "f16", "f16", False, False, True),
    (50, 70, 90, "f16", "f32", "f32", False, False, True),
    (65, 65, 200, "bf16", "bf16", "f32", True, True, False),
    (100, -70, 64, "bf16", "bf16", "f32", False, False, False),
    (-64, 64, -130, "f32", "f16", "f32", False, False, False),
    (100, 72, 130, "f16", "f16", "f32", False, False, False, "padded"),
    (64, 128, 64, "bf16", "bf16", "bf16", False, False, False, "dense"),
    (70, 50, 200, "f16", "f16", "f16", False, False, False, "padded"),
    (-33, 40, -72, "bf16", "bf16", "f32", False, False, False, "padded"),
    (100, 72, 130, "f16", "f16", "f32", False, False, False, "shifted"),
]
RTOL = {"f32": 1e-5, "f16": 2.0 ** -10, "bf16": 2.0 ** -7}


def memref(shape, elem):
    return "memref<" + "x".join("?" if d < 0 else str(d) for d in shape) + \
        f"x{elem}>"


def case_mlir(m, n, k, ea, eb, ec, ta, tb, tc):
    a_shape, b_shape = ((k, m) if ta else (m, k)), ((n, k) if tb else (k, n))
    c_shape = (n, m) if tc else (m, n)
    amap = "(d2, d0)" if ta else "(d0, d2)"
    bmap = "(d1, d2)" if tb else "(d2, d1)"
    cmap = "(d1, d0)" if tc else "(d0, d1)"
    wide = lambda e, v: (v, "") if e == ec else (
        f"%{v}w", f"%{v}w = arith.extf %{v} : {e} to {ec}\n      ")
    (xa, exta), (xb, extb) = wide(ea, "a"), wide(eb, "b")
    xa = xa if xa.startswith("%") else "%" + xa
    xb = xb if xb.startswith("%") else "%" + xb
    if ea == "f32" and ec != "f32" or eb == "f32" and ec != "f32":
        raise ValueError("an f32 operand needs an f32 result here")
    text = f"""
func.func @mm(%A: {memref(a_shape, ea)}, %B: {memref(b_shape, eb)}, %C: {memref(c_shape, ec)}) {{
  linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> {amap}>,
                                    affine_map<(d0, d1, d2) -> {bmap}>,
                                    affine_map<(d0, d1, d2) -> {cmap}>],
                   iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%A, %B : {memref(a_shape, ea)}, {memref(b_shape, eb)}) outs(%C : {memref(c_shape, ec)}) {{
    ^bb0(%a: {ea}, %b: {eb}, %c: {ec}):
      {exta}{extb}%p = arith.mulf {xa}, {xb} : {ec}
      %s = arith.addf %c, %p : {ec}
      linalg.yield %s : {ec}
  }}
  return
}}
"""
    return text, a_shape, b_shape, c_shape


def mma_type(ea, eb):
    return eb if ea == "f32" else ea


failures = 0
rng = np.random.default_rng(0)
def laid_out(a, layout):
    """`a` in memory as `layout` says (a view with the same values)."""
    if layout == "dense":
        return a
    rows, cols = a.shape
    wide = -(-cols // 8) * 8 + 8
    store = np.full((rows, wide), np.nan, dtype=a.dtype)
    start = 1 if layout == "shifted" else 0
    store[:, start:start + cols] = a
    return store[:, start:start + cols]


for i, case in enumerate(CASES):
    m, n, k, ea, eb, ec, ta, tb, tc = case[:9]
    layout = case[9] if len(case) > 9 else "dense"
    text, a_shape, b_shape, c_shape = case_mlir(m, n, k, ea, eb, ec, ta, tb, tc)
    m, n, k = abs(m), abs(n), abs(k)
    a_shape, b_shape, c_shape = (tuple(abs(d) for d in sh)
                                 for sh in (a_shape, b_shape, c_shape))
    generic = subprocess.run(
        [tool("bpt-opt"), "--bpt-gpu-offload", "--mlir-print-op-generic"],
        input=text, capture_output=True, text=True, check=True).stdout
    if '"gpu.launch_func"' not in generic or '"nvgpu.ldmatrix"' not in generic:
        print(f"case {i}: not offloaded to the tensor-core kernel")
        failures += 1
        continue
    A = gpuemu.round_to(rng.standard_normal(a_shape), ea)
    B = gpuemu.round_to(rng.standard_normal(b_shape), eb)
    C0 = gpuemu.round_to(rng.standard_normal(c_shape), ec)
    # The kernel's views: [M, K], [K, N], [M, N] (transposes are views).
    A, B = laid_out(A, layout), laid_out(B, layout)
    Ak = A.T if ta else A
    Bk = B.T if tb else B
    C = C0.copy()
    Ck = C.T if tc else C
    grid = ((n + 63) // 64, (m + 63) // 64, 1)
    emu = gpuemu.run_kernel(generic, [Ak, Bk, Ck], grid)
    t = mma_type(ea, eb)
    ref = (C0.T if tc else C0).astype(np.float64) + \
        gpuemu.round_to(Ak, t).astype(np.float64) @ \
        gpuemu.round_to(Bk, t).astype(np.float64)
    bound = RTOL[ec] * np.maximum(np.abs(ref), 1.0)
    err = np.abs(Ck.astype(np.float64) - ref)
    ok = np.isfinite(Ck).all() and (err <= bound).all()
    ways = max(emu.ldmatrix_ways)
    # cp.async when both operands are of the MMA type with unit-stride rows
    # (known to the compiler) and 16-byte aligned (known at run time).
    # (The emulator holds 16-bit values in f32 arrays: rows count in
    # elements, the first element's address in bytes.)
    def aligned(x):
        return x.strides[1] == x.itemsize and \
            (x.strides[0] // x.itemsize) % 8 == 0 and x.ctypes.data % 16 == 0
    unit = ea != "f32" and eb != "f32" and not ta and not tb
    want_async = unit and aligned(A) and aligned(B)
    path = "cp.async" if emu.async_copies else "plain"
    print(f"case {i}: {m}x{n}x{k} {ea}x{eb}->{ec} ta={ta} tb={tb} tc={tc} "
          f"{layout}: max |err| {err.max():.3g} (bound {bound.max():.3g}), "
          f"ldmatrix {ways}-way, {path} staging")
    if not ok or ways != 1 or bool(emu.async_copies) != want_async:
        failures += 1
    # Each barrier the case runs is needed: without it the emulator reports
    # a race.
    if k > 64:
        lines = generic.splitlines()
        barriers = sorted(emu.barriers_run)
        for j in barriers:
            mutant = "\n".join(lines[:j] + lines[j + 1:])
            try:
                gpuemu.run_kernel(mutant, [Ak, Bk, Ck.copy()], grid)
            except gpuemu.RaceError as e:
                print(f"  without barrier {barriers.index(j)}: RaceError ({e})")
            else:
                print(f"  without barrier {barriers.index(j)}: no race found")
                failures += 1
    # Waiting for one cp.async group too few reads a tile still in flight.
    if emu.async_copies:
        mutant = generic.replace("numGroups = 1 : i32", "numGroups = 2 : i32")
        try:
            gpuemu.run_kernel(mutant, [Ak, Bk, Ck.copy()], grid)
        except gpuemu.RaceError as e:
            print(f"  waiting for one group too few: RaceError ({e})")
        else:
            print("  waiting for one group too few: no race found")
            failures += 1

# Fused epilogues: C = A B (f32, zero-initialised) feeds one elementwise op,
# which the kernel applies before storing (C is never allocated):
# (name, M, N, K, A/B type, output type, body, extra inputs, NumPy model);
# the body and operands as bpt.testing.fused_matmul_mlir takes them.
EPILOGUES = [
    ("bias, f16 out", 100, 72, 130, "f16", "f16",
     """%xw = arith.extf %x : f16 to f32
      %s = arith.addf %c, %xw : f32
      %y = arith.truncf %s : f32 to f16""", ("x",),
     lambda c, x, r, v: c + x[None, :]),
    ("bias + residual, f32 out", 64, 64, 64, "bf16", "f32",
     """%xw = arith.extf %x : bf16 to f32
      %rw = arith.extf %r : bf16 to f32
      %s0 = arith.addf %c, %xw : f32
      %y = arith.addf %s0, %rw : f32""", ("x", "r"),
     lambda c, x, r, v: c + x[None, :] + r),
    ("bias + GELU, f32 out", 70, 50, 40, "f16", "f32",
     """%xw = arith.extf %x : f16 to f32
      %s = arith.addf %c, %xw : f32
      """ + testing.gelu_body("%s", "%y"), ("x",),
     lambda c, x, r, v: testing.gelu(c + x[None, :])),
    ("row scale, bf16 out", 33, 130, 64, "bf16", "bf16",
     """%vw = arith.extf %v : bf16 to f32
      %s = arith.mulf %c, %vw : f32
      %y = arith.truncf %s : f32 to bf16""", ("v",),
     lambda c, x, r, v: c * v[:, None]),
]
for name, m, n, k, e, eo, body, extra, model in EPILOGUES:
    text = testing.fused_matmul_mlir(m, n, k, e, eo, body, extra)
    shapes = testing.epilogue_shapes(m, n, extra)
    generic = subprocess.run(
        [tool("bpt-opt"), "--bpt-gpu-offload", "--mlir-print-op-generic"],
        input=text, capture_output=True, text=True, check=True).stdout
    # Fused: no plain kernel, and T is the only buffer allocated (not C).
    host = generic.split('"gpu.module"')[0]
    fused = '"gpu.launch"' not in host and host.count('"gpu.alloc"') == 1
    A = gpuemu.round_to(rng.standard_normal((m, k)), e)
    B = gpuemu.round_to(rng.standard_normal((k, n)), e)
    ins = {a: gpuemu.round_to(rng.standard_normal(shapes[a]), e)
           for a in extra}
    O = np.full((m, n), np.nan, np.float32)
    emu = gpuemu.run_kernel(generic, [A, B, O] + [ins[a] for a in extra],
                            ((n + 63) // 64, (m + 63) // 64, 1))
    c = A.astype(np.float64) @ B.astype(np.float64)
    ref = model(c, ins.get("x"), ins.get("r"), ins.get("v"))
    if eo != "f32":
        ref = gpuemu.round_to(ref, eo)
    bound = RTOL[eo] * np.maximum(np.abs(ref), 1.0)
    err = np.abs(O.astype(np.float64) - ref)
    ok = fused and np.isfinite(O).all() and (err <= bound).all()
    print(f"epilogue {name}: {m}x{n}x{k} {e}->{eo} fused={fused}: "
          f"max |err| {err.max():.3g} (bound {bound.max():.3g})")
    failures += not ok

print("FAILURES", failures)
sys.exit(1 if failures else 0)
