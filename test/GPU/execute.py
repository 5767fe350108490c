# The attention kernels executed on a GPU (lit feature cuda-gpu: a CUDA
# device and driver are present), each compared with the f64 NumPy model and
# with the same MLIR compiled for the CPU (--bpt-raise, --bpt-blockwise,
# --bpt-cpu-pipeline): ragged, causal, window, GQA, masks, f16 and bf16,
# LSE, f32 inputs rounded to bf16 (attention-f32-inputs). Tolerances: 2e-3
# (f16) and 2e-2 (bf16, and f32 rounded to bf16) on O(1) outputs.
#
# REQUIRES: cuda-gpu
# RUN: %python %s

import sys

import numpy as np

import bpt
from bpt import dtypes, gpuemu

CASES = [
    dict(b=1, hq=2, hkv=1, sq=100, sk=77, d=64, elem="f16", causal=True,
         lse=True),
    dict(b=2, hq=8, hkv=2, sq=300, sk=300, d=128, elem="bf16", causal=True),
    dict(b=1, hq=2, hkv=1, sq=150, sk=150, d=64, elem="bf16", causal=True,
         window=40, lse=True),
    dict(b=2, hq=2, hkv=1, sq=70, sk=50, d=32, elem="f16",
         mask=("i1", (2, 1, 70, 50))),
    dict(b=1, hq=4, hkv=4, sq=1024, sk=1024, d=64, elem="f16",
         out_elem="f16"),
    # f32 inputs, rounded to bf16 for the tensor cores (the user's choice).
    dict(b=1, hq=4, hkv=2, sq=300, sk=300, d=64, elem="f32", causal=True,
         gpu_options="attention-f32-inputs=bf16"),
]


def as_f32(a):
    return dtypes.to_float(a, "bf16") if a.dtype == np.uint16 else \
        a.astype(np.float32)


failures = 0
for kw in CASES:
    kw = dict(kw)
    options = kw.pop("gpu_options", "")
    mlir, inputs = gpuemu.attention_case(**kw)
    q, k, v = inputs[:3]
    mask = inputs[3] if len(inputs) > 3 else None
    args = [dtypes.to_storage(a, kw["elem"]) for a in (q, k, v)]
    if mask is not None:
        args.append(mask)
    gpu_res = bpt.compile(mlir, target="cuda", chip="sm_80",
                          gpu_options=options).attn(*args)
    cpu_res = bpt.compile(mlir).attn(*args)
    gpu_out = as_f32(gpu_res[0] if kw.get("lse") else gpu_res)
    cpu_out = as_f32(cpu_res[0] if kw.get("lse") else cpu_res)
    tol = 2e-3 if kw["elem"] == "f16" else 2e-2  # f32: rounded to bf16
    ok, e_ref = gpuemu.compare_attention(
        kw, inputs, gpu_out, gpu_res[1] if kw.get("lse") else None, tol)
    e_cpu = float(np.abs(gpu_out - cpu_out).max())
    ok = ok and e_cpu <= tol
    print("ok  " if ok else "FAIL", kw,
          f"|gpu - numpy| {e_ref:.2e}  |gpu - cpu| {e_cpu:.2e}")
    failures += not ok
sys.exit(1 if failures else 0)
