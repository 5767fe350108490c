# The sm_90a contraction kernels of --bpt-gpu-offload{wgmma=true} (TMA
# loads counted by mbarriers, warpgroup MMAs, three stages), executed on
# the CPU by bpt.gpuemu and compared with an f64 NumPy model: C = C0 + A B
# over ragged and dynamic M, N, K (one K step to nine, so each stage's
# mbarrier runs through several phases), f16 and bf16 operands, f32, f16
# and bf16 results, and fused epilogues (bias + GELU, bias + residual).
# The emulator models TMA's 128-byte swizzled boxes and zero fill, the
# mbarriers' phases and transaction counts, and the warpgroup MMA's reads
# of shared memory until a wait_group retires them, and fails on a race or
# a wait that cannot complete. The test requires that each synchronisation
# the kernel has is needed: it removes or weakens each in turn (the barrier
# before a stage is refilled, the barriers around the result tile, the
# final wait_group, one MMA group fewer in flight, the fence that makes the
# mbarriers' initialisation visible to TMA, the mbarrier parity, every
# thread's wait on the mbarrier) and requires the emulator's failure. Dynamic shared memory starts 32
# bytes into the shared window (the mbarriers come first), so the kernel's
# own 1024-byte alignment of its stages is exercised (TMA's 128-byte
# swizzle requires it; the emulator checks it).
# Tolerances as for the mma.sync kernel (contraction-kernel.py): f32 within
# 1e-5 relative, 16-bit results within one rounding.
#
# RUN: %python %s

import re
import subprocess
import sys

import numpy as np

from bpt import gpuemu, testing
from bpt.tools import tool

RTOL = {"f32": 1e-5, "f16": 2.0 ** -10, "bf16": 2.0 ** -7}
SHARED = 3 * 32768 + 1024  # the kernel's dynamic shared memory


def memref(shape, elem):
    return "memref<" + "x".join("?" if d < 0 else str(d) for d in shape) + \
        f"x{elem}>"


def offload(text):
    return subprocess.run(
        [tool("bpt-opt"), "--bpt-gpu-offload=wgmma=true",
         "--mlir-print-op-generic"],
        input=text, capture_output=True, text=True, check=True).stdout


def wgmma_kernel(generic):
    names = [n for n in gpuemu.parse_kernels(generic) if "_wgmma" in n]
    return names[0] if len(names) == 1 else None


def run(generic, name, A, B, out, extra, m, n, k):
    grid = ((n + 127) // 128, (m + 127) // 128, 1)
    return gpuemu.run_kernel(generic, [A, B, out, *extra, m, n, k], grid,
                             name=name, dynamic_shared=SHARED)


failures = 0
rng = np.random.default_rng(0)

# (M, N, K, operand type, C type); negative: dynamic in the IR.
CASES = [
    (200, 304, 456, "bf16", "f32"),
    (130, 72, 64, "f16", "f16"),
    (-100, 136, -200, "bf16", "f32"),
    (64, 128, 520, "bf16", "bf16"),
]
for i, (m, n, k, e, ec) in enumerate(CASES):
    a_shape, b_shape, c_shape = (m, k), (k, n), (m, n)
    text = f"""
func.func @mm(%A: {memref(a_shape, e)}, %B: {memref(b_shape, e)}, %C: {memref(c_shape, ec)}) {{
  linalg.matmul ins(%A, %B : {memref(a_shape, e)}, {memref(b_shape, e)}) outs(%C : {memref(c_shape, ec)})
  return
}}
"""
    m, n, k = abs(m), abs(n), abs(k)
    generic = offload(text)
    name = wgmma_kernel(generic)
    if name is None:
        print(f"case {i}: no wgmma kernel")
        failures += 1
        continue
    A = gpuemu.round_to(rng.standard_normal((m, k)), e)
    B = gpuemu.round_to(rng.standard_normal((k, n)), e)
    C0 = gpuemu.round_to(rng.standard_normal((m, n)), ec)
    C = C0.copy()
    emu = run(generic, name, A, B, C, [], m, n, k)
    ref = C0.astype(np.float64) + A.astype(np.float64) @ B.astype(np.float64)
    if ec != "f32":
        ref = gpuemu.round_to(ref, ec)
    bound = RTOL[ec] * np.maximum(np.abs(ref), 1.0)
    err = np.abs(C.astype(np.float64) - ref)
    ok = np.isfinite(C).all() and (err <= bound).all()
    steps = -(-k // 64)
    blocks = -(-m // 128) * -(-n // 128)
    ok &= emu.wgmmas == steps * blocks and emu.tma_loads == 3 * steps * blocks
    print(f"case {i}: {m}x{n}x{k} {e}->{ec}: max |err| {err.max():.3g} "
          f"(bound {bound.max():.3g}), {emu.wgmmas} warpgroup MMAs, "
          f"{emu.tma_loads} TMA boxes")
    failures += not ok

# Each synchronisation is needed: the mutants of the first case's kernel
# (nine... eight K steps, all three stages reused) must fail.
m, n, k, e, ec = 200, 304, 456, "bf16", "f32"
text = f"""
func.func @mm(%A: {memref((m, k), e)}, %B: {memref((k, n), e)}, %C: {memref((m, n), ec)}) {{
  linalg.matmul ins(%A, %B : {memref((m, k), e)}, {memref((k, n), e)}) outs(%C : {memref((m, n), ec)})
  return
}}
"""
generic = offload(text)
name = wgmma_kernel(generic)
lines = generic.splitlines()
start = next(j for j, l in enumerate(lines)
             if '"gpu.func"' in l and j + 1 < len(lines) and
             "!llvm.ptr" in l)
body = range(start, len(lines))
barriers = [j for j in body if '"gpu.barrier"' in lines[j]]
wait0 = [j for j in body if "wgmma.wait.group" in lines[j]]
mma = [j for j in body if '"nvgpu.warpgroup.mma"' in lines[j]]
try_wait = [j for j in body if "mbarrier.try_wait.parity" in lines[j]]
parity = re.search(r'"nvgpu.mbarrier.try_wait.parity"\(%\w+, (%\w+)',
                   lines[try_wait[0]]).group(1)
parity_def = next(j for j in body
                  if lines[j].strip().startswith(parity + " = "))
# The barriers: after the mbarrier init, in the loop (before a refill),
# before and after the result tile is stored.
mutants = {
    "no barrier before a stage is refilled":
        [l for j, l in enumerate(lines) if j != barriers[1]],
    "no barrier before the result tile is stored":
        [l for j, l in enumerate(lines) if j != barriers[2]],
    "no barrier after the result tile is stored":
        [l for j, l in enumerate(lines) if j != barriers[3]],
    "no final wait_group 0":
        [l for j, l in enumerate(lines) if j != wait0[0]],
    "two MMA groups left in flight":
        [l.replace("waitGroup = 1", "waitGroup = 2") if j == mma[0] else l
         for j, l in enumerate(lines)],
    "no fence.proxy.async after the mbarrier init":
        [l for l in lines if '"nvvm.fence.proxy"' not in l],
    "the other mbarrier parity":
        [l.replace("predicate = 1 :", "predicate = 0 :")
         if j == parity_def else l for j, l in enumerate(lines)],
}
# Only thread 0 waits on the mbarrier (the wait wrapped in an scf.if on
# the predicate thread 0 issues the loads under): the other warps' MMA
# reads the data without having waited.
leader = re.search(r'"nvgpu.mbarrier.init"\(.*, (%\w+)\) :',
                   generic).group(1)
wait = lines[try_wait[0]]
indent = wait[:len(wait) - len(wait.lstrip())]
mutants["only thread 0 waits on the mbarrier"] = \
    lines[:try_wait[0]] + [
        f'{indent}"scf.if"({leader}) ({{', wait,
        f'{indent}  "scf.yield"() : () -> ()',
        f'{indent}}}, {{', f'{indent}  "scf.yield"() : () -> ()',
        f'{indent}}}) : (i1) -> ()'] + lines[try_wait[0] + 1:]
A = gpuemu.round_to(rng.standard_normal((m, k)), e)
B = gpuemu.round_to(rng.standard_normal((k, n)), e)
if len(barriers) != 4 or not wait0 or not mma or \
        not any('"nvvm.fence.proxy"' in l for l in lines):
    print(f"unexpected kernel shape: {len(barriers)} barriers")
    failures += 1
for what, mutant in mutants.items():
    C = np.zeros((m, n), np.float32)
    try:
        run("\n".join(mutant), name, A, B, C, [], m, n, k)
    except (gpuemu.RaceError, gpuemu.SyncError) as err:
        print(f"  {what}: {type(err).__name__} ({err})")
    else:
        print(f"  {what}: no failure found")
        failures += 1

# Fused epilogues, as the model blocks have them after a projection (body
# and operands as bpt.testing.fused_matmul_mlir takes them).
EPILOGUES = [
    ("bias + GELU, f16 out", 150, 200, 192, "f16", "f16",
     """%xw = arith.extf %x : f16 to f32
      %s = arith.addf %c, %xw : f32
      """ + testing.gelu_body("%s", "%y0") + """
      %y = arith.truncf %y0 : f32 to f16""", ("x",),
     lambda c, x, r: testing.gelu(c + x[None, :])),
    ("bias + residual, bf16 out", 128, 64, 320, "bf16", "bf16",
     """%xw = arith.extf %x : bf16 to f32
      %rw = arith.extf %r : bf16 to f32
      %s0 = arith.addf %c, %xw : f32
      %s1 = arith.addf %s0, %rw : f32
      %y = arith.truncf %s1 : f32 to bf16""", ("x", "r"),
     lambda c, x, r: c + x[None, :] + r),
]
for what, m, n, k, e, eo, body, extra, model in EPILOGUES:
    text = testing.fused_matmul_mlir(m, n, k, e, eo, body, extra)
    shapes = testing.epilogue_shapes(m, n, extra)
    generic = offload(text)
    name = wgmma_kernel(generic)
    if name is None or "_epilogue" not in name:
        print(f"epilogue {what}: no fused wgmma kernel")
        failures += 1
        continue
    A = gpuemu.round_to(rng.standard_normal((m, k)), e)
    B = gpuemu.round_to(rng.standard_normal((k, n)), e)
    ins = {a: gpuemu.round_to(rng.standard_normal(shapes[a]), e)
           for a in extra}
    O = np.full((m, n), np.nan, np.float32)
    run(generic, name, A, B, O, [ins[a] for a in extra], m, n, k)
    c = A.astype(np.float64) @ B.astype(np.float64)
    ref = gpuemu.round_to(model(c, ins.get("x"), ins.get("r")), eo)
    bound = RTOL[eo] * np.maximum(np.abs(ref), 1.0)
    err = np.abs(O.astype(np.float64) - ref)
    ok = np.isfinite(O).all() and (err <= bound).all()
    print(f"epilogue {what}: {m}x{n}x{k}: max |err| {err.max():.3g} "
          f"(bound {bound.max():.3g})")
    failures += not ok

print("FAILURES", failures)
sys.exit(1 if failures else 0)
