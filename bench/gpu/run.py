"""Runs, on a GPU machine, what bench/gpu/prepare.py built: correctness
checks against an f64 NumPy model, then the benchmark against PyTorch's
scaled_dot_product_attention (flash, cuDNN and efficient backends), a fused
Triton kernel (triton_attention.py, checked against SDPA before it is timed;
n/a where Triton is missing or fails) and eager attention, measured in the
same run. Needs the NVIDIA driver, NumPy and
PyTorch; no LLVM.

    python run.py DIR [--iters 20] [--plot FILE.png] [--kernels all]

--kernels mma.sync (or wgmma) runs only the modules built with that kernel
(the sm_90a TMA + wgmma kernels have not run on hardware before); a
watchdog ends the run when one step takes longer than --watchdog seconds
(300), naming the step, so that a kernel that never finishes does not hold
the GPU.

TFLOP/s counts 4 S^2 D H B flops (half for causal). The bpt time is the
wall time of the compiled function per call on device-resident inputs: it
includes the output allocation, stream creation and synchronisation that the
compiled host code does on every call (see docs/gpu.md).

Whole blocks: small ones are checked against the f64 NumPy model
(bpt.models.reference); the GPT-2-shaped bf16 blocks are timed against the
same block in eager PyTorch (attention materialising the S x S scores,
softmax in f32) and in PyTorch with SDPA (flash) attention, all with cuBLAS
projections, and their activation memory compared: for PyTorch the peak of
torch.cuda.max_memory_allocated above what the inputs and weights hold, for
bpt the peak of the device pool its allocations come from (its buffers and
its result; the inputs are PyTorch's). Blocks and contractions built with
wgmma=true (sm_90a) run the TMA + warpgroup-MMA contraction and attention
kernels; the others the mma.sync ones. Attention checks and speed rows are
printed for both (column "kernel").

Contractions alone: C = A B in bf16 (f32 accumulation, rounded in the
kernel's epilogue) against torch.matmul (cuBLAS) on the same inputs,
TFLOP/s with 2 M N K flops; the bpt time includes the output allocation
and the synchronisation of each call.
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


def eager_attention(q, k, v, causal):
    """Attention as eager PyTorch writes it: the S x S scores materialised,
    softmax in f32."""
    import torch
    s, d = q.shape[-2], q.shape[-1]
    sc = (q @ k.transpose(-1, -2)) / math.sqrt(d)
    if causal:
        sc = sc.masked_fill(torch.ones(s, s, device="cuda", dtype=torch.bool)
                            .triu(1), float("-inf"))
    return torch.softmax(sc.float(), -1).to(q.dtype) @ v


# The step run.py is in and when it began: a watchdog ends the run when one
# takes too long (a kernel that never finishes, e.g. an mbarrier wait that
# never completes, would otherwise hold the GPU until the machine is
# taken back).
PROGRESS = [time.monotonic(), "start"]


def progress(what):
    PROGRESS[:] = [time.monotonic(), what]


def start_watchdog(limit):
    import os
    import threading

    def watch():
        while True:
            time.sleep(2)
            if time.monotonic() - PROGRESS[0] > limit:
                print(f"\nwatchdog: no progress for {limit} s in "
                      f"{PROGRESS[1]}; a kernel may hang. Rerun with "
                      "--kernels mma.sync (or wgmma) to leave that kernel "
                      "out.", flush=True)
                os._exit(3)
    threading.Thread(target=watch, daemon=True).start()


def timed(fn, iters):
    """Seconds per call of `fn` on the GPU (one warm-up call first). The
    inputs PyTorch made on its stream are ready first (bpt runs on streams
    of its own)."""
    import torch
    torch.cuda.synchronize()
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / iters


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir", nargs="?", default=str(HERE))
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--plot")
    p.add_argument("--kernels", choices=("all", "mma.sync", "wgmma"),
                   default="all",
                   help="run only the modules built with this kernel")
    p.add_argument("--watchdog", type=float, default=300,
                   help="seconds one step may take before the run is ended")
    args = p.parse_args()
    root = Path(args.dir).resolve()
    start_watchdog(args.watchdog)
    sys.path.insert(0, str(root))
    from bpt import dtypes, gpu, gpuemu  # the copies prepare.py made

    manifest = [e for e in json.loads((root / "manifest.json").read_text())
                if args.kernels in ("all", kernel_of(e))]
    failures = 0
    print("== correctness (f64 NumPy model; |err| <= 2e-3 f16, 2e-2 bf16; "
          "log-sum-exp within 1e-3)")
    for entry in manifest:
        if entry["kind"] != "check":
            continue
        kw = entry["case"]
        progress(f"check {entry['name']} ({kernel_of(entry)}) {kw}")
        _, inputs = gpuemu.attention_case(**kw)
        q, k, v = inputs[:3]
        mask = inputs[3] if len(inputs) > 3 else None
        mod = gpu.load(root / f"{entry['name']}.so")
        ins = [dtypes.to_storage(a, kw["elem"]) for a in (q, k, v)]
        if mask is not None:
            ins.append(mask if mask.dtype == bool
                       else dtypes.to_storage(mask, kw["mask"][0]))
        res = mod.attn(*ins)
        out = dtypes.to_float(res[0] if kw.get("lse") else res,
                              kw.get("out_elem", "f32"))
        # As the attention tests compare (gpuemu.compare_attention).
        ok, err = gpuemu.compare_attention(
            kw, inputs, out, res[1] if kw.get("lse") else None)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {kernel_of(entry):8} {kw}  "
              f"max |err| {err:.2e}", flush=True)

    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    try:
        from triton_attention import attention as triton_attention
    except Exception as e:  # no Triton on this machine
        print(f"(Triton peer unavailable: {e})")
        triton_attention = None

    print("\n== speed (bf16; TFLOP/s; ratio = bpt / SDPA-flash time)")
    print(f"{'S':>6} {'D':>4} {'causal':>6} {'kernel':>8} | {'bpt':>7} "
          f"{'flash':>7} "
          f"{'cudnn':>7} {'effic.':>7} {'triton':>7} {'eager':>7} | "
          f"{'bpt/flash':>9}")
    rows = []
    for entry in manifest:
        if entry["kind"] != "bench":
            continue
        kw = entry["case"]
        progress(f"bench {entry['name']} ({kernel_of(entry)}) {kw}")
        b, h, s, d, causal = kw["b"], kw["hq"], kw["sq"], kw["d"], kw["causal"]
        mod = gpu.load(root / f"{entry['name']}.so")
        q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=torch.bfloat16)
                   for _ in range(3))
        run_bpt, _ = compiled(mod, "attn", [q, k, v], 4)

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

        times["triton"] = float("nan")
        if triton_attention:
            # Checked against SDPA's result (relative to its largest value:
            # outputs are small at large S) before it is timed; a failure
            # leaves this configuration n/a, not the others.
            try:
                with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                    want = F.scaled_dot_product_attention(q, k, v,
                                                          is_causal=causal)
            except RuntimeError:
                want = None
            try:
                got = triton_attention(q, k, v, causal)
                if want is None:
                    print("(Triton peer not checked: no SDPA-flash result)")
                else:
                    diff = float((got.float() - want.float()).abs().max())
                    scale = float(want.float().abs().max())
                    if diff <= 1.6e-2 * max(scale, 1e-3):
                        times["triton"] = timed(
                            lambda: triton_attention(q, k, v, causal),
                            args.iters)
                    else:
                        print(f"(Triton peer differs from SDPA by {diff:.2e}"
                              f" (largest output {scale:.2e}): not timed)")
            except Exception as e:
                print(f"(Triton peer failed: {e})")
        try:
            times["eager"] = timed(lambda: eager_attention(q, k, v, causal),
                                   max(1, args.iters // 4))
        except torch.OutOfMemoryError:
            times["eager"] = float("nan")
        tf = {n: flops / t / 1e12 for n, t in times.items()}
        ratio = times["flash"] / times["bpt"]
        rows.append((s, d, causal, tf, ratio, kernel_of(entry)))
        print(f"{s:>6} {d:>4} {str(causal):>6} {kernel_of(entry):>8} | "
              f"{tf['bpt']:7.1f} "
              f"{tf['flash']:7.1f} {tf['cudnn']:7.1f} {tf['effic.']:7.1f} "
              f"{tf['triton']:7.1f} {tf['eager']:7.1f} | {ratio:9.2f}x",
              flush=True)
    # The first bar: at S = 4K, D = 128 (bf16, not causal), at
    # least 0.5x SDPA-flash's speed (the goal: 1.0x and beyond).
    for s, d, causal, tf, ratio, kernel in rows:
        if s == 4096 and d == 128 and not causal:
            print(f"first bar (S=4K, D=128, bf16): {kernel} kernel "
                  f"{tf['bpt']:.1f} TFLOP/s = {ratio:.2f}x SDPA-flash "
                  f"({'met' if ratio >= 0.5 else 'NOT met'}: bar 0.5x)")
    failures += run_blocks(root, manifest, args.iters)
    failures += run_gemms(root, manifest, args.iters)
    if args.plot and rows:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 4))
        labels = [f"S={s} D={d}{' c' if c else ''} {kn}"
                  for s, d, c, _, _, kn in rows]
        x = np.arange(len(rows))
        for i, n in enumerate(("bpt", "flash", "cudnn", "effic.", "triton")):
            ax.bar(x + i * 0.16, [r[3][n] for r in rows], 0.16, label=n)
        ax.set_xticks(x + 0.32, labels, rotation=45, ha="right")
        ax.set_ylabel("TFLOP/s")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot)
    return 1 if failures else 0


def kernel_of(entry):
    """Which attention or contraction kernel a module was built with."""
    return "wgmma" if "wgmma" in entry.get("options", "") else "mma.sync"


def compiled(mod, function, tensors, rank):
    """(call, fetch) for `function` of a compiled module on device-resident
    torch tensors: call() runs it and frees its result (of rank `rank`);
    fetch(shape) runs it and returns its 16-bit result as a host uint16
    array of that shape."""
    from bpt.compiler import _descriptor, make_descriptor
    lib = mod._lib
    fn = getattr(lib, "_mlir_ciface_" + function)
    fn.restype = None
    descs = [make_descriptor(t.data_ptr(), t.shape, t.stride())
             for t in tensors]
    result = _descriptor(rank)()

    def call():
        fn(ctypes.byref(result), *(ctypes.byref(d) for d in descs))
        lib.bptCudaFree(ctypes.c_void_p(result.allocated))

    def fetch(shape):
        fn(ctypes.byref(result), *(ctypes.byref(d) for d in descs))
        host = np.empty(shape, dtype=np.uint16)
        lib.bptCudaCopyToHost(host.ctypes.data, result.allocated, host.nbytes)
        lib.bptCudaFree(ctypes.c_void_p(result.allocated))
        return host

    return call, fetch


def run_gemms(root, manifest, iters):
    """Contractions alone against torch.matmul. Returns the number of
    results that differ from cuBLAS's by more than bf16 rounding."""
    from bpt import gpu
    entries = [e for e in manifest if e["kind"] == "gemm-bench"]
    if not entries:
        return 0
    import torch
    print("\n== contractions, bf16 (f32 accumulation): TFLOP/s; ratio = "
          "cuBLAS / bpt time")
    print(f"{'M':>6} {'N':>5} {'K':>5} {'kernel':>8} | {'bpt':>7} "
          f"{'cuBLAS':>7} | {'ratio':>6}")
    failures = 0
    for entry in entries:
        progress(f"contraction {entry['name']} ({kernel_of(entry)})")
        m, n, k = (entry["case"][x] for x in "mnk")
        a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(k, n, device="cuda", dtype=torch.bfloat16) / 32
        mod = gpu.load(root / f"{entry['name']}.so")
        call, fetch = compiled(mod, "gemm", [a, b], 2)
        t_bpt = timed(call, iters)
        t_ref = timed(lambda: a @ b, iters)
        out = torch.from_numpy(fetch((m, n)).view(np.int16)).view(
            torch.bfloat16).cuda().float()
        ref = (a @ b).float()
        rel = float((out - ref).abs().max() / ref.abs().max())
        failures += not rel <= 2e-2
        flops = 2.0 * m * n * k
        kernel = kernel_of(entry)
        print(f"{m:>6} {n:>5} {k:>5} {kernel:>8} | "
              f"{flops / t_bpt / 1e12:7.1f} {flops / t_ref / 1e12:7.1f} | "
              f"{t_ref / t_bpt:5.2f}x  (|bpt - cuBLAS| {rel:.1e})",
              flush=True)
    return failures


def torch_gpt2_block(cfg, x, params, attention):
    """The GPT-2 block of bpt.models in PyTorch, with `attention(q, k, v)`
    on [1, H, S, D] tensors."""
    import torch.nn.functional as F
    (ln1_g, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_g, ln2_b, w_up, b_up, w_down,
     b_down) = params
    s, d, h = x.shape[0], cfg.d_model, cfg.heads
    a = F.layer_norm(x, (d,), ln1_g, ln1_b, cfg.eps)
    qkv = a @ w_qkv + b_qkv
    q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(s, h, d // h)
               .transpose(0, 1)[None] for i in range(3))
    o = attention(q, k, v)[0].transpose(0, 1).reshape(s, d)
    h1 = o @ w_o + b_o + x
    f = F.layer_norm(h1, (d,), ln2_g, ln2_b, cfg.eps)
    return F.gelu(f @ w_up + b_up, approximate="tanh") @ w_down + b_down + h1


def run_blocks(root, manifest, iters):
    """Whole blocks: correctness, then time and activation memory against
    PyTorch. Returns the number of failed checks."""
    from bpt import dtypes, gpu, models, testing

    failures = 0
    checks = [e for e in manifest if e["kind"] == "block-check"]
    if checks:
        print("\n== whole blocks (f64 NumPy model; |err| / max(1, |ref|) <= "
              "1e-2 f16, 3e-2 bf16)")
    for entry in checks:
        progress(f"block check {entry['name']} ({kernel_of(entry)})")
        kw = dict(entry["case"])
        cfg = models.config(kw.pop("model"), **kw)
        inputs = models.random_inputs(cfg, np.random.default_rng(0))
        mod = gpu.load(root / f"{entry['name']}.so")
        out = dtypes.to_float(getattr(mod, entry["function"])(*inputs),
                              cfg.elem)
        ref = models.reference(cfg, *inputs)
        scale = max(1.0, float(np.abs(ref).max()))
        err = float(np.abs(out - ref).max()) / scale
        ok = bool(np.isfinite(out).all()) and \
            err <= testing.GPU_BLOCK_TOLERANCE[cfg.elem]
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {cfg.model} {cfg.elem} S={cfg.seq} "
              f"{entry['options'] or '(default tiles)'}  |err| {err:.2e}",
              flush=True)

    benches = [e for e in manifest if e["kind"] == "block-bench"]
    if not benches:
        return failures
    import torch
    import torch.nn.functional as F

    def eager(q, k, v):
        return eager_attention(q, k, v, causal=True)

    def sdpa(q, k, v):
        from torch.nn.attention import SDPBackend, sdpa_kernel
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    print("\n== whole GPT-2-shaped block, bf16, causal (d_model 1024, 16 "
          "heads, d_ff 4096): ms per call; activation MiB")
    print(f"{'S':>6} {'kernel':>8} | {'bpt':>8} {'eager':>8} {'sdpa':>8} | "
          f"{'bpt':>8} {'eager':>8} {'sdpa':>8} | {'eager/bpt mem':>13} "
          f"{'sdpa/bpt time':>13}")
    for entry in benches:
        progress(f"block bench {entry['name']} ({kernel_of(entry)})")
        kw = dict(entry["case"])
        cfg = models.config(kw.pop("model"), **kw)
        # The block's inputs as bpt.models makes them (bf16 bit patterns in
        # uint16), on the device.
        x, *params = (
            torch.from_numpy(a.view(np.int16)).view(torch.bfloat16).cuda()
            for a in models.random_inputs(cfg, np.random.default_rng(0)))
        mod = gpu.load(root / f"{entry['name']}.so")
        lib = mod._lib
        lib.bptCudaPeakBytes.restype = ctypes.c_uint64
        run_bpt, fetch = compiled(mod, entry["function"], [x, *params], 2)
        lib.bptCudaResetPeak()
        ms = {"bpt": timed(run_bpt, iters) * 1e3}
        mem = {"bpt": lib.bptCudaPeakBytes() / 2**20}
        # The same result as PyTorch's, within bf16 rounding.
        host = fetch(x.shape)
        out = torch.from_numpy(host.view(np.int16)).view(torch.bfloat16).cuda()
        for name, attn in (("eager", eager), ("sdpa", sdpa)):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            try:
                ms[name] = timed(lambda: torch_gpt2_block(cfg, x, params,
                                                          attn), iters) * 1e3
                mem[name] = (torch.cuda.max_memory_allocated() - base) / 2**20
            except torch.OutOfMemoryError:
                ms[name] = mem[name] = float("nan")
        ref = torch_gpt2_block(cfg, x, params, sdpa).float()
        rel = float((out.float() - ref).abs().max() /
                    ref.abs().max().clamp(min=1))
        kernel = kernel_of(entry)
        print(f"{cfg.seq:>6} {kernel:>8} | {ms['bpt']:8.2f} {ms['eager']:8.2f} "
              f"{ms['sdpa']:8.2f} | {mem['bpt']:8.1f} {mem['eager']:8.1f} "
              f"{mem['sdpa']:8.1f} | {mem['eager'] / mem['bpt']:12.1f}x "
              f"{ms['sdpa'] / ms['bpt']:12.2f}x  (|bpt - torch| {rel:.1e})",
              flush=True)
        if not rel <= 3e-2:
            failures += 1
    return failures


if __name__ == "__main__":
    sys.exit(main())
