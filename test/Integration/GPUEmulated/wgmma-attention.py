# The sm_90a attention kernel of --bpt-gpu-attention{wgmma=true} (two
# warpgroups of 64 query rows sharing K and V; Q, K and V by TMA in 128 x
# 64 and 64 x 64 boxes counted by mbarriers, K and V up to three tiles
# ahead; Q K^T and P V as warpgroup MMAs on shared-memory descriptors, P V's
# A operand, P, in registers (inline PTX: NVVM's op lacks that form)),
# executed on the CPU by bpt.gpuemu and compared with an f64 NumPy model of
# bpt.attention: head dims 32 to 256 (whole boxes, and boxes TMA zero fills
# past D = 32, 48, 96; three stages, and two at D = 256; the next tile's
# scores issued before this tile's softmax up to 192 output features, each
# tile's own scores waited for at 256; V's head dim other than Q's), f16
# and bf16 inputs, f32 and f16 outputs, ragged lengths (zero-filled boxes
# past Sq and Sk), causal with rows that see no key, sliding window,
# explicit positions, GQA, boolean and additive masks, the log-sum-exp
# result, several batches and heads (outer tensor-map coordinates). Each
# kernel runs with the dynamic shared memory its launch asks for, at most
# the 227 KiB of an sm_90 block.
# The emulator decodes each descriptor (start address, leading and stride
# byte offsets, swizzle) and reads the operands through the layout the PTX
# ISA gives it, so a wrong descriptor field reads the wrong data. The test
# also requires that each synchronisation of the kernel is needed, with
# and without the overlap: it removes each in turn (the fence.proxy.async
# that makes the mbarriers' initialisation visible to TMA, the waits for
# the scores and for P V, the wgmma.fence before P V (whose A, P, is in
# registers), the barrier before a stage is refilled, the waits for Q and
# for a tile, the mbarrier parity) and requires the emulator's failure;
# reading V K-major, K N-major, V's second box at the wrong leading byte
# offset or P's registers in another order must give wrong results.
# Dynamic shared memory starts 32 bytes into the window: the kernel aligns
# its boxes to 1024 bytes itself.
# Tolerances as for the mma.sync kernel (attention-kernel.py): P is rounded
# to the input type before P V: |error| <= 2e-3 for f16, 2e-2 for bf16.
#
# RUN: %python %s

import re
import subprocess
import sys

import numpy as np

from bpt import gpuemu, testing
from bpt.tools import tool

CASES = testing.WGMMA_ATTENTION_CASES


def kernel_of(kw):
    mlir, inputs = gpuemu.attention_case(**kw)
    generic = subprocess.run(
        [tool("bpt-opt"), "--bpt-gpu-attention=wgmma=true",
         "--mlir-print-op-generic"],
        input=mlir, capture_output=True, text=True, check=True).stdout
    names = [n for n in gpuemu.parse_kernels(generic) if n.endswith("_wgmma")]
    return generic, (names[0] if len(names) == 1 else None), inputs


def run(generic, name, kw, inputs):
    q, k, v = inputs[:3]
    mask = inputs[3] if len(inputs) > 3 else None
    b, hq, sq, _ = q.shape
    sk, dv = k.shape[2], v.shape[3]
    out = np.full((b, hq, sq, dv), np.nan, np.float32)
    lse = np.full((b, hq, sq), np.nan, np.float32)
    qp, kp = kw.get("positions") or (sk - sq, 0)
    # The tensor maps are passed as the tensors they describe, then the
    # tensors (which the kernel takes but does not use).
    args = [q, k, v, q, k, v, out] + ([lse] if kw.get("lse") else []) + \
        ([mask] if mask is not None else []) + [qp, kp]
    # The dynamic shared memory the host launches the kernel with (which
    # must hold what the kernel uses: the emulator's window is that size).
    shared = gpuemu.launch_shared_bytes(generic, name)
    if shared > 227 * 1024:
        raise AssertionError(f"{shared} bytes of shared memory: more than "
                             "an sm_90 block has")
    emu = gpuemu.run_kernel(generic, args, ((sq + 127) // 128, hq, b),
                            threads=256, name=name, dynamic_shared=shared)
    return emu, out, lse


failures = 0
for kw in CASES:
    generic, name, inputs = kernel_of(kw)
    if name is None:
        print(f"FAIL {kw}: no wgmma kernel")
        failures += 1
        continue
    emu, out, lse = run(generic, name, kw, inputs)
    ok, err = gpuemu.compare_attention(kw, inputs, out, lse)
    ok = ok and emu.wgmmas > 0 and emu.tma_loads > 0
    print(("ok  " if ok else "FAIL"), kw, f"max |error| {err:.2e}",
          f"{emu.tma_loads} TMA boxes, {emu.wgmmas} warpgroup MMAs")
    failures += not ok

# Each synchronisation is needed: mutants of these cases' kernels (one
# block, five key tiles: every stage refilled, each mbarrier through two
# phases or more) must fail. D = 64 issues the next tile's scores before
# this tile's softmax; D = 256 (two stages) waits for each tile's own.
def check_sync(kw, overlap):
    generic, name, inputs = kernel_of(kw)
    lines = generic.splitlines()
    # The wgmma kernel is the one whose arguments are pointers (tensor
    # maps).
    start = next(j for j, l in enumerate(lines)
                 if '"gpu.func"' in l and "!llvm.ptr" in l)
    end = next(j for j in range(start, len(lines))
               if '"gpu.return"' in lines[j])

    def where(text):
        return [j for j in range(start, end) if text in lines[j]]

    def without(j):
        return [l for i, l in enumerate(lines) if i != j]

    barriers = where('"gpu.barrier"')
    fences = where('"nvvm.fence.proxy"')
    waits = where('"nvvm.wgmma.wait.group.sync.aligned"')
    wgfences = where('"nvvm.wgmma.fence.aligned"')
    try_waits = where('"nvgpu.mbarrier.try_wait.parity"')
    shape = (len(barriers), len(fences), len(waits), len(wgfences),
             len(try_waits))
    # With the overlap: the first tile's scores before the loop (a wgmma
    # fence, a try_wait and a wait more).
    if shape != ((2, 1, 2, 3, 3) if overlap else (2, 1, 2, 2, 2)):
        print("unexpected kernel shape:", shape)
        return 1
    # try_waits: Q's, then the tile's whose scores are issued in the loop.
    parity = re.search(r'"nvgpu.mbarrier.try_wait.parity"\(%\w+, (%\w+)',
                       lines[try_waits[-1]]).group(1)
    parity_def = next(j for j in range(start, end)
                      if lines[j].strip().startswith(parity + " = "))
    mutants = {
        "no fence.proxy.async after the mbarrier init": without(fences[0]),
        "no wgmma.fence before P V": without(wgfences[-1]),
        "no barrier before a stage is refilled": without(barriers[1]),
        "no wait for Q": without(try_waits[0]),
        "no wait for the tile of the scores issued in the loop":
            without(try_waits[-1]),
        "the other mbarrier parity":
            [l.replace("predicate = 1 :", "predicate = 0 :")
             if j == parity_def else l for j, l in enumerate(lines)],
    }
    if overlap:
        mutants["no wait for the first tile's scores"] = without(waits[0])
        mutants["no wait for the next scores and P V"] = without(waits[1])
    else:
        mutants["no wait for the tile's scores"] = without(waits[0])
        mutants["no wait for P V"] = without(waits[1])
    missed = 0
    for what, mutant in mutants.items():
        try:
            run("\n".join(mutant), name, kw, inputs)
        except (gpuemu.RaceError, gpuemu.SyncError) as err:
            print(f"  d={kw['d']}, {what}: {type(err).__name__} ({err})")
        else:
            print(f"  d={kw['d']}, {what}: no failure found")
            missed += 1
    return missed


failures += check_sync(dict(b=1, hq=2, hkv=1, sq=100, sk=300, d=64,
                            elem="bf16", causal=True, lse=True), True)
failures += check_sync(dict(b=1, hq=1, hkv=1, sq=60, sk=300, d=256,
                            elem="f16"), False)

# The descriptors and layouts matter: with any of these wrong the D = 128
# case (V two boxes wide) computes something else.
kw = CASES[1]
generic, name, inputs = kernel_of(kw)
k_major = str((1 << 62) | (64 << 32) | (1 << 16))  # LBO 16, SBO 1024
n_major = str((1 << 62) | (64 << 32) | (512 << 16))  # LBO 8192, SBO 1024
pv = ", p, 1, 1, 1;"  # P V (inline PTX): V transposed (N-major)
qk = "layoutB = #nvvm.mma_layout<col>"
# P's registers: after 64 accumulators (D = 128) and their 64 tied inputs.
a_regs = "{$128, $129, $130, $131}"
if k_major not in generic or n_major not in generic or pv not in generic \
        or a_regs not in generic:
    print("unexpected descriptors")
    failures += 1
WRONG = {
    "V read K-major": generic.replace(pv, ", p, 1, 1, 0;"),
    "K read N-major": generic.replace(qk, "layoutB = #nvvm.mma_layout<row>"),
    "V's second box not a box further": generic.replace(n_major, k_major),
    "P's registers in another order":
        generic.replace(a_regs, "{$128, $130, $129, $131}"),
}
for what, mutant in WRONG.items():
    try:
        _, out, _ = run(mutant, name, kw, inputs)
        q, k, v = inputs[:3]
        ref, _ = gpuemu.reference(q, k, v)
        err = float(np.abs(out - ref).max())
    except (IndexError, AssertionError) as e:
        err, what = float("inf"), f"{what} ({type(e).__name__})"
    wrong = not err <= gpuemu.ATTENTION_TOLERANCE[kw["elem"]]
    print(f"  {what}: max |error| {err:.2e}",
          "(wrong, as it must be)" if wrong else "NOT DETECTED")
    failures += not wrong

print("FAILURES", failures)
sys.exit(1 if failures else 0)
