# The sm_90a contraction kernel (TMA + warpgroup MMA, --bpt-gpu-pipeline
# {wgmma=true}) executed on a Hopper GPU (lit feature cuda-sm90): the
# emulated cases of test/Integration/GPUEmulated/wgmma-contraction.py
# (ragged and dynamic sizes, one K step to nine, f16 and bf16, fused
# epilogues) and larger ones, against the f64 NumPy model; then the whole
# blocks of bpt.testing.GPU_BLOCK_CHECKS with wgmma, against the NumPy
# model and the same block built with the mma.sync kernel. The runtime's
# tensor-map count shows the TMA kernel ran (the host falls back to the
# mma.sync kernel for misaligned operands, which these are not). Then the
# attention kernel's sm_90a variant (--bpt-gpu-attention{wgmma}) on the
# cases of GPUEmulated/wgmma-attention.py and larger ones (attention
# tolerances as execute.py: 2e-3 f16, 2e-2 bf16).
# Tolerances: a contraction within 1e-3 relative to max(1, |C|) (f32
# results; one 16-bit rounding more for 16-bit results); blocks as
# execute-block.py.
#
# REQUIRES: cuda-sm90
# RUN: %python %s

import ctypes
import sys
import tempfile

import numpy as np

from bpt import dtypes, gpu, gpuemu, models, testing

RTOL = {"f32": 1e-3, "f16": 2e-3, "bf16": 1e-2}


ATTENTION = testing.WGMMA_ATTENTION_CASES + [
    dict(b=1, hq=8, hkv=2, sq=2048, sk=2048, d=128, elem="bf16",
         causal=True),
    dict(b=2, hq=4, hkv=4, sq=1000, sk=1500, d=64, elem="f16"),
]


def matmul(m, n, k, e, ec):
    return f"""func.func @mm(%a: tensor<{m}x{k}x{e}>, %b: tensor<{k}x{n}x{e}>, %c: tensor<{m}x{n}x{ec}>) -> tensor<{m}x{n}x{ec}> {{
  %r = linalg.matmul ins(%a, %b : tensor<{m}x{k}x{e}>, tensor<{k}x{n}x{e}>) outs(%c : tensor<{m}x{n}x{ec}>) -> tensor<{m}x{n}x{ec}>
  return %r : tensor<{m}x{n}x{ec}>
}}
"""


failures = 0
rng = np.random.default_rng(0)
with tempfile.TemporaryDirectory() as tmp:
    for i, (m, n, k, e, ec) in enumerate([
            (200, 304, 456, "bf16", "f32"), (130, 72, 64, "f16", "f16"),
            (100, 136, 200, "bf16", "f32"), (64, 128, 520, "bf16", "bf16"),
            (1000, 1032, 1024, "bf16", "f32"),
            (4096, 4096, 1024, "f16", "f32")]):
        so = gpu.build(matmul(m, n, k, e, ec), tmp, f"mm{i}", chip="sm_90a",
                       options="wgmma=true")
        mod = gpu.load(so)
        mod._lib.bptCudaTensorMaps.restype = ctypes.c_uint64
        A = gpuemu.round_to(rng.standard_normal((m, k)), e)
        B = gpuemu.round_to(rng.standard_normal((k, n)), e)
        C0 = gpuemu.round_to(rng.standard_normal((m, n)), ec)
        before = mod._lib.bptCudaTensorMaps()
        out = dtypes.to_float(mod.mm(dtypes.to_storage(A, e),
                                     dtypes.to_storage(B, e),
                                     dtypes.to_storage(C0, ec)), ec)
        maps = mod._lib.bptCudaTensorMaps() - before
        ref = C0.astype(np.float64) + A.astype(np.float64) @ B.astype(
            np.float64)
        err = float(np.abs(out - ref).max()) / max(1.0, float(np.abs(ref).max()))
        ok = bool(np.isfinite(out).all()) and err <= RTOL[ec] and maps == 2
        print("ok  " if ok else "FAIL", f"{m}x{n}x{k} {e}->{ec}: relative "
              f"|err| {err:.2e}, {maps} tensor maps", flush=True)
        failures += not ok

    # The attention kernel's sm_90a variant (TMA + warpgroup MMAs, head
    # dims 32 to 256): the cases of GPUEmulated/wgmma-attention.py and
    # larger ones, against the f64 model; three tensor maps per call show
    # it ran (rather than the mma.sync kernel).
    for i, kw in enumerate(ATTENTION):
        mlir, inputs = gpuemu.attention_case(**kw)
        so = gpu.build(mlir, tmp, f"attn{i}", chip="sm_90a",
                       options="wgmma=true")
        mod = gpu.load(so)
        mod._lib.bptCudaTensorMaps.restype = ctypes.c_uint64
        q, k, v = inputs[:3]
        mask = inputs[3] if len(inputs) > 3 else None
        args = [dtypes.to_storage(a, kw["elem"]) for a in (q, k, v)]
        if mask is not None:
            args.append(mask)
        before = mod._lib.bptCudaTensorMaps()
        res = mod.attn(*args)
        maps = mod._lib.bptCudaTensorMaps() - before
        out = dtypes.to_float(res[0] if kw.get("lse") else res,
                              kw.get("out_elem", "f32"))
        ok, err = gpuemu.compare_attention(
            kw, inputs, out, res[1] if kw.get("lse") else None)
        ok = ok and maps == 3
        print("ok  " if ok else "FAIL", kw, f"|gpu - numpy| {err:.2e}, "
              f"{maps} tensor maps", flush=True)
        failures += not ok

    for i, (kw, options) in enumerate(testing.GPU_BLOCK_CHECKS):
        kw = dict(kw)
        cfg = models.config(kw.pop("model"), **kw)
        text = models.block(cfg)
        inputs = models.random_inputs(cfg, rng)
        fn = models.function_name(cfg)
        outs = []
        for variant in ("", "wgmma=true"):
            so = gpu.build(text, tmp, f"block{i}{len(variant)}",
                           chip="sm_90a", options=f"{options} {variant}")
            mod = gpu.load(so)
            mod._lib.bptCudaTensorMaps.restype = ctypes.c_uint64
            before = mod._lib.bptCudaTensorMaps()
            outs.append(dtypes.to_float(getattr(mod, fn)(*inputs), cfg.elem))
            maps = mod._lib.bptCudaTensorMaps() - before
        ref = models.reference(cfg, *inputs)
        scale = max(1.0, float(np.abs(ref).max()))
        e_ref = float(np.abs(outs[1] - ref).max()) / scale
        e_sync = float(np.abs(outs[1] - outs[0]).max()) / scale
        tol = testing.GPU_BLOCK_TOLERANCE[cfg.elem]
        ok = bool(np.isfinite(outs[1]).all()) and e_ref <= tol and \
            e_sync <= tol and maps > 0
        print("ok  " if ok else "FAIL", cfg.model, cfg.elem, f"S={cfg.seq}",
              f"wgmma: |gpu - numpy| {e_ref:.2e}  |wgmma - mma.sync| "
              f"{e_sync:.2e}, {maps} tensor maps", flush=True)
        failures += not ok
sys.exit(1 if failures else 0)
