"""Runs, on a GPU machine, what bench/gpu/prepare.py built: correctness
checks against an f64 NumPy model, then the benchmark against PyTorch's
scaled_dot_product_attention (flash, cuDNN and efficient backends) and eager
attention, measured in the same run. Needs the NVIDIA driver, NumPy and
PyTorch; no LLVM.

    python run.py DIR [--iters 20] [--plot FILE.png]

TFLOP/s counts 4 S^2 D H B flops (half for causal). The bpt time is the
wall time of the compiled function per call on device-resident inputs: it
includes the output allocation, stream creation and synchronisation that the
compiled host code does on every call (see docs/gpu.md).
"""

import argparse
import ctypes
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir", nargs="?", default=str(HERE))
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--plot")
    args = p.parse_args()
    root = Path(args.dir).resolve()
    sys.path.insert(0, str(root))
    from bpt import gpu, gpuemu  # the copies prepare.py made

    manifest = json.loads((root / "manifest.json").read_text())
    failures = 0
    print("== correctness (f64 NumPy model; |err| <= 2e-3 f16, 2e-2 bf16)")
    for entry in manifest:
        if entry["kind"] != "check":
            continue
        kw = entry["case"]
        _, inputs = gpuemu.attention_case(**kw)
        q, k, v = inputs[:3]
        mask = inputs[3] if len(inputs) > 3 else None
        mod = gpu.load(root / f"{entry['name']}.so")

        def storage(a, elem):
            if elem == "f16":
                return a.astype(np.float16)
            if elem == "bf16":  # the upper halves of the f32 bit patterns
                return (a.view(np.uint32) >> 16).astype(np.uint16)
            return a
        ins = [storage(a, kw["elem"]) for a in (q, k, v)]
        if mask is not None:
            ins.append(mask if mask.dtype == bool
                       else storage(mask, kw["mask"][0]))
        res = mod.attn(*ins)
        out = res[0] if isinstance(res, tuple) else res
        if out.dtype == np.uint16:
            out = (out.astype(np.uint32) << 16).view(np.float32)
        out = out.astype(np.float32)
        ref, ref_lse = gpuemu.reference(q, k, v, kw.get("causal", False),
                                        kw.get("window"), kw.get("scale"),
                                        kw.get("positions"), mask)
        err = float(np.abs(out - ref).max())
        ok = bool(np.isfinite(out).all()) and err <= (2e-3 if kw["elem"] == "f16" else 2e-2)
        if kw.get("lse"):
            lse = res[1]
            fin = np.isfinite(ref_lse)
            ok = ok and np.array_equal(np.isneginf(lse), np.isneginf(ref_lse))
            if fin.any():
                err = max(err, float(np.abs(lse[fin] - ref_lse[fin]).max()))
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {kw}  max |err| {err:.2e}", flush=True)

    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    def timed(fn, iters):
        fn()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) / iters

    print("\n== speed (bf16; TFLOP/s; ratio = bpt / SDPA-flash time)")
    print(f"{'S':>6} {'D':>4} {'causal':>6} | {'bpt':>7} {'flash':>7} "
          f"{'cudnn':>7} {'effic.':>7} {'eager':>7} | {'bpt/flash':>9}")
    rows = []
    for entry in manifest:
        if entry["kind"] != "bench":
            continue
        kw = entry["case"]
        b, h, s, d, causal = kw["b"], kw["hq"], kw["sq"], kw["d"], kw["causal"]
        mod = gpu.load(root / f"{entry['name']}.so")
        lib = mod._lib
        fn = lib._mlir_ciface_attn
        fn.restype = None
        q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=torch.bfloat16)
                   for _ in range(3))
        from bpt.compiler import _descriptor, make_descriptor
        descs = [make_descriptor(t.data_ptr(), t.shape, t.stride())
                 for t in (q, k, v)]
        result = _descriptor(4)()

        def run_bpt():
            fn(ctypes.byref(result), *(ctypes.byref(x) for x in descs))
            lib.bptCudaFree(ctypes.c_void_p(result.allocated))

        flops = 4 * s * s * d * h * b / (2 if causal else 1)
        times = {"bpt": timed(run_bpt, args.iters)}
        for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                              ("cudnn", SDPBackend.CUDNN_ATTENTION),
                              ("effic.", SDPBackend.EFFICIENT_ATTENTION)):
            try:
                with sdpa_kernel([backend]):
                    times[name] = timed(lambda: F.scaled_dot_product_attention(
                        q, k, v, is_causal=causal), args.iters)
            except RuntimeError:
                times[name] = float("nan")

        def eager():
            sc = (q @ k.transpose(-1, -2)) / math.sqrt(d)
            if causal:
                sc = sc.masked_fill(torch.ones(s, s, device="cuda",
                                               dtype=torch.bool).triu(1),
                                    float("-inf"))
            return torch.softmax(sc.float(), -1).to(q.dtype) @ v
        try:
            times["eager"] = timed(eager, max(1, args.iters // 4))
        except torch.OutOfMemoryError:
            times["eager"] = float("nan")
        tf = {n: flops / t / 1e12 for n, t in times.items()}
        ratio = times["flash"] / times["bpt"]
        rows.append((s, d, causal, tf, ratio))
        print(f"{s:>6} {d:>4} {str(causal):>6} | {tf['bpt']:7.1f} "
              f"{tf['flash']:7.1f} {tf['cudnn']:7.1f} {tf['effic.']:7.1f} "
              f"{tf['eager']:7.1f} | {ratio:9.2f}x", flush=True)
    if args.plot and rows:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 4))
        labels = [f"S={s} D={d}{' c' if c else ''}" for s, d, c, _, _ in rows]
        x = np.arange(len(rows))
        for i, n in enumerate(("bpt", "flash", "cudnn", "effic.")):
            ax.bar(x + i * 0.2, [r[3][n] for r in rows], 0.2, label=n)
        ax.set_xticks(x + 0.3, labels, rotation=45, ha="right")
        ax.set_ylabel("TFLOP/s")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
