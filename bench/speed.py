#!/usr/bin/env python3
"""CPU speed of attention forward (and of a whole block) against PyTorch,
measured in the same run.

Attention: f32, batch 1, 8 heads, D 64, S in {1024, 4096}, causal and not.
GFLOP/s counts 4 * S^2 * D * heads (half for causal), the convention of
FlashAttention's benchmarks. Programs:

  bpt        --bpt-blockwise + --bpt-cpu-pipeline (OpenMP, opt -O3)
  unfused    --bpt-decompose + --bpt-cpu-pipeline (S x S scores)
  torch      torch.nn.functional.scaled_dot_product_attention (CPU)

Whole block: GPT-2-small-like (d_model 768, 12 heads, d_ff 3072) at
S = 1024, bpt against PyTorch eager (the NumPy-free torch model of the same
block).

    bench/speed.py [--seqs 1024,4096] [--repeat 3] [--threads 2] [--plot f]
"""

import argparse
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))
os.environ.setdefault("BPT_TOOLS_DIR", str(REPO / "build" / "bin"))

import numpy as np  # noqa: E402

from bpt import models  # noqa: E402
from bpt.compiler import compile_mlir  # noqa: E402
from bpt.testing import AttentionCase  # noqa: E402

Q_BLOCK, KV_BLOCK, FFN_CHUNK = 64, 128, 256


def best_time(fn, repeat):
    fn()  # warm up (and page in)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def attention_flops(seq, d, heads, causal):
    flops = 4.0 * seq * seq * d * heads
    return flops / 2 if causal else flops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seqs", default="1024,4096")
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--no-unfused", action="store_true",
                    help="skip the unfused program (slow at large S)")
    ap.add_argument("--block-seq", type=int, default=1024,
                    help="S of the whole-block comparison (0: skip)")
    args = ap.parse_args()

    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    # Two OpenMP runtimes share this process (LLVM's libomp for the compiled
    # code, GNU libgomp inside torch): ours must not keep spinning after its
    # parallel loops, or it would steal the cores torch runs on next.
    os.environ["KMP_BLOCKTIME"] = "0"
    try:
        import torch
        torch.set_num_threads(args.threads)
        import torch.nn.functional as F
    except ImportError:
        raise SystemExit("bench/speed.py needs PyTorch: run "
                         "'.venv/bin/pip install torch' (scripts/setup.sh "
                         "--bench installs it)")

    print(f"threads {args.threads}, f32, batch 1, {args.heads} heads, "
          f"D {args.dim}; q-block {Q_BLOCK}, kv-block {KV_BLOCK}; best of "
          f"{args.repeat}")
    print(f"{'S':>6} {'causal':>6} | {'bpt ms':>9} {'GFLOP/s':>8} | "
          f"{'torch ms':>9} {'GFLOP/s':>8} | {'bpt/torch':>9} | "
          f"{'unfused ms':>10}")
    rows = []
    for seq in [int(s) for s in args.seqs.split(",") if s]:
        for causal in (False, True):
            case = AttentionCase("bench", b=1, hq=args.heads, hkv=args.heads,
                                 sq=seq, sk=seq, d=args.dim, causal=causal)
            mlir = "module {\n" + case.mlir() + "\n}\n"
            bpt = compile_mlir(mlir, passes=[
                f"--bpt-blockwise=q-block={Q_BLOCK} kv-block={KV_BLOCK}"])
            rng = np.random.default_rng(0)
            q, k, v = case.inputs(rng)
            fn = bpt[case.func]
            t_bpt = best_time(lambda: fn(q, k, v, copy=False), args.repeat)
            tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
            t_torch = best_time(
                lambda: F.scaled_dot_product_attention(tq, tk, tv,
                                                       is_causal=causal),
                args.repeat)
            out = fn(q, k, v, copy=False)
            ref = F.scaled_dot_product_attention(tq, tk, tv,
                                                 is_causal=causal).numpy()
            err = float(np.abs(out - ref).max())
            if err > 1e-4:
                raise SystemExit(f"S={seq} causal={causal}: bpt differs from "
                                 f"torch by {err:.2e}")
            t_unfused = float("nan")
            if not args.no_unfused and seq <= 4096:
                unfused = compile_mlir(mlir, passes=["--bpt-decompose"])
                ufn = unfused[case.func]
                t_unfused = best_time(lambda: ufn(q, k, v, copy=False), 1)
            flops = attention_flops(seq, args.dim, args.heads, causal)
            rows.append((seq, causal, t_bpt, t_torch))
            print(f"{seq:>6} {str(causal):>6} | {t_bpt * 1e3:>9.1f} "
                  f"{flops / t_bpt / 1e9:>8.1f} | {t_torch * 1e3:>9.1f} "
                  f"{flops / t_torch / 1e9:>8.1f} | "
                  f"{t_torch / t_bpt:>8.2f}x | {t_unfused * 1e3:>10.1f}")

    if args.block_seq:
        cfg = models.BlockConfig(seq=args.block_seq, d_model=768, heads=12,
                                 d_ff=3072)
        module = compile_mlir(models.gpt2_block(cfg), passes=[
            f"--bpt-blockwise=q-block={Q_BLOCK} kv-block={KV_BLOCK} "
            f"ffn-chunk={FFN_CHUNK}"])
        inputs = models.gpt2_random_inputs(cfg, np.random.default_rng(1))
        fn = module["gpt2_block"]
        t_bpt = best_time(lambda: fn(*inputs, copy=False), args.repeat)
        ti = [torch.from_numpy(a) for a in inputs]
        t_torch = best_time(lambda: torch_gpt2_block(cfg, *ti), args.repeat)
        err = float(np.abs(fn(*inputs, copy=False)
                           - torch_gpt2_block(cfg, *ti).numpy()).max())
        print(f"\nGPT-2-small block, S={cfg.seq}: bpt {t_bpt * 1e3:.0f} ms, "
              f"torch eager {t_torch * 1e3:.0f} ms, ratio "
              f"{t_torch / t_bpt:.2f}x (max |diff| {err:.1e})")


def torch_gpt2_block(cfg, x, ln1_g, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_g,
                     ln2_b, w_up, b_up, w_down, b_down):
    """The block of bpt.models.gpt2_block in PyTorch eager."""
    import torch
    import torch.nn.functional as F
    with torch.no_grad():
        s, d, h = cfg.seq, cfg.d_model, cfg.heads
        qkv = F.layer_norm(x, (d,), ln1_g, ln1_b, cfg.eps) @ w_qkv + b_qkv
        q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(s, h, d // h)
                   .transpose(0, 1)[None] for i in range(3))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=cfg.causal)
        h1 = a[0].transpose(0, 1).reshape(s, d) @ w_o + b_o + x
        hid = F.gelu(F.layer_norm(h1, (d,), ln2_g, ln2_b, cfg.eps) @ w_up
                     + b_up, approximate="tanh")
        return hid @ w_down + b_down + h1


if __name__ == "__main__":
    main()
