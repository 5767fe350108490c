# The CUDA attention kernel of --bpt-gpu-attention, executed on the CPU by
# bpt.gpuemu (every thread of a block in lockstep; tensor-core fragments in
# the PTX register layout) and compared with an f64 NumPy model of
# bpt.attention: ragged lengths, causal (bottom-right aligned, rows that see
# no key), sliding window, explicit positions, GQA, head dims 16 to 256
# (96: 12 chunks per row, padded to 13; 256: Q in shared memory too, the
# tiles' 96 KiB in dynamic shared memory),
# f16 and bf16 inputs, f16 and f32 outputs, the log-sum-exp result, boolean
# and additive (f32, f16; -inf entries) mask operands broadcast over batch,
# heads or rows. The
# emulator also fails the test (RaceError) when the kernel's cp.async waits
# or barriers do not order its shared-memory accesses.
# f32 inputs with f32-inputs=bf16 / f16: the pass rounds Q, K and V before
# the kernel (elementwise generics, which the test applies as NumPy
# rounding, to nearest even), the output stays f32; compared with the model
# on the unrounded f32 inputs, under the rounded type's tolerance.
# Tolerances: P is rounded to the input type before P V (as FlashAttention
# does), so |error| <= 2e-3 for f16 and 2e-2 for bf16 (outputs are O(1)).
#
# RUN: %python %s

import subprocess
import sys

import numpy as np

from bpt import gpuemu
from bpt.tools import tool

CASES = [
    dict(b=1, hq=2, hkv=1, sq=100, sk=77, d=64, elem="f16", causal=True,
         lse=True),
    dict(b=2, hq=2, hkv=2, sq=65, sk=130, d=64, elem="bf16"),
    dict(b=1, hq=4, hkv=2, sq=64, sk=64, d=64, elem="f16", out_elem="f16",
         causal=True, seed=3),
    dict(b=1, hq=2, hkv=1, sq=150, sk=150, d=64, elem="bf16", causal=True,
         window=40, lse=True),
    dict(b=1, hq=1, hkv=1, sq=70, sk=90, d=32, elem="f16", causal=True,
         positions=(100, 64), scale=0.3),
    dict(b=1, hq=1, hkv=1, sq=1, sk=1, d=16, elem="f16"),
    dict(b=1, hq=1, hkv=1, sq=33, sk=200, d=128, elem="f16", lse=True),
    dict(b=1, hq=2, hkv=1, sq=40, sk=3, d=48, elem="bf16", causal=True,
         lse=True),
    dict(b=2, hq=2, hkv=1, sq=70, sk=50, d=32, elem="f16",
         mask=("i1", (2, 1, 70, 50)), lse=True),
    dict(b=1, hq=2, hkv=2, sq=30, sk=90, d=64, elem="bf16",
         mask=("f32", (1, 2, 1, 90)), causal=True),
    dict(b=1, hq=1, hkv=1, sq=64, sk=64, d=32, elem="f16",
         mask=("f16", (1, 1, 64, 64))),
    dict(b=1, hq=4, hkv=2, sq=100, sk=100, d=64, elem="f32", causal=True,
         f32_inputs="bf16"),
    # D = 256: the K and V tiles take 64 KiB, in dynamic shared memory.
    dict(b=1, hq=2, hkv=1, sq=70, sk=130, d=256, elem="bf16", causal=True,
         lse=True),
    dict(b=1, hq=1, hkv=1, sq=65, sk=65, d=96, elem="f16"),
    dict(b=1, hq=2, hkv=2, sq=70, sk=130, d=64, elem="f32",
         f32_inputs="f16"),
]

failures = 0
for kw in CASES:
    kw = dict(kw)
    rounded = kw.pop("f32_inputs", None)
    mlir, inputs = gpuemu.attention_case(**kw)
    q, k, v = inputs[:3]
    mask = inputs[3] if len(inputs) > 3 else None
    option = f"=f32-inputs={rounded}" if rounded else ""
    generic = subprocess.run(
        [tool("bpt-opt"), "--bpt-gpu-attention" + option,
         "--mlir-print-op-generic"],
        input=mlir, capture_output=True, text=True, check=True).stdout
    # The kernel reads what the rounding generics before it wrote.
    kq, kk, kv = (gpuemu.round_to(x, rounded) for x in (q, k, v)) if rounded \
        else (q, k, v)
    b, hq, sq, d = q.shape
    sk = k.shape[2]
    out = np.full((b, hq, sq, d), np.nan, np.float32)
    lse = np.full((b, hq, sq), np.nan, np.float32)
    qp, kp = kw.get("positions") or (sk - sq, 0)
    args = [kq, kk, kv, out] + ([lse] if kw.get("lse") else []) + \
        ([mask] if mask is not None else []) + [qp, kp]
    # Tiles past 48 KiB are dynamic shared memory (static is limited): K
    # and V, and past D = 128 Q too, 64 rows each, rows of an even
    # non-power-of-two number of 16-byte chunks padded by one.
    chunks = d // 8
    pitch = d if chunks & (chunks - 1) == 0 or chunks % 2 else d + 8
    tiles = 64 * pitch * (3 if d > 128 else 2) * 2
    dynamic = tiles if tiles > 48 * 1024 else 0
    if bool(dynamic) != ('"gpu.dynamic_shared_memory"' in generic):
        print(f"FAIL {kw}: dynamic shared memory expected: {bool(dynamic)}")
        failures += 1
    emu = gpuemu.run_kernel(generic, args, ((sq + 63) // 64, hq, b),
                            dynamic_shared=dynamic)
    # ldmatrix reads 8 rows of one column without bank conflicts when a row
    # is a power-of-two number (>= 8) of 16-byte chunks (swizzled) or an
    # odd one (rows of an even number are padded by one chunk: D = 48, 96).
    ways = max(emu.ldmatrix_ways)
    conflict_free = d >= 48
    ok, err = gpuemu.compare_attention(kw, inputs, out, lse,
                                       gpuemu.ATTENTION_TOLERANCE[
                                           rounded or kw["elem"]])
    if conflict_free and ways != 1:
        print(f"FAIL {kw}: ldmatrix bank conflicts ({ways}-way)")
        ok = False
    print(("ok  " if ok else "FAIL"), kw,
          f"(rounded to {rounded})" if rounded else "",
          f"max |error| {err:.2e}",
          f"ldmatrix {ways}-way")
    failures += not ok
sys.exit(1 if failures else 0)
