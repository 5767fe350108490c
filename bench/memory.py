#!/usr/bin/env python3
"""Peak memory of one transformer block against the sequence length, for
three programs built from the same block:

  vanilla    --bpt-decompose: the textbook lowering (S x S scores, S x d_ff
             hidden activation)
  attn-only  --bpt-blockwise=attention-only: memory-efficient attention (the
             online-softmax key loop) with the FFN left whole
  bpt        --bpt-blockwise: the Blockwise Parallel Transformer (attention
             and FFN fused per query block, the hidden dimension chunked)

Two readings:
  - from the IR, for any S: the peak of bytes allocated at once in the
    bufferized program (bpt.memory.peak_live_bytes), plus the inputs
    (activations and weights); and the largest S that fits a budget;
  - measured, for S where a run is short: how far the peak resident set of
    a process rises above its resident set (inputs included) while it runs
    the compiled block once (Linux VmHWM, reset before the call).

    bench/memory.py [--models gpt2,llama] [--budget-gib 8] [--measure 256,512]
                    [--plot memory.png]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

from bpt import memory, models  # noqa: E402

MODELS = {
    # GPT-2 small: d_model 768, 12 heads, d_ff 3072, GELU (tanh).
    "gpt2": (models.gpt2_block, models.gpt2_param_shapes,
             dict(d_model=768, heads=12, d_ff=3072)),
    # LLaMA-like: d_model 2048, 16 query heads sharing 4 key/value heads,
    # SwiGLU with d_ff 5632, RMSNorm.
    "llama": (models.llama_block, models.llama_param_shapes,
              dict(d_model=2048, heads=16, kv_heads=4, d_ff=5632)),
}
Q_BLOCK, KV_BLOCK, FFN_CHUNK = 256, 256, 512
VARIANTS = {
    "vanilla": ["--bpt-decompose"],
    "attn-only": [f"--bpt-blockwise=attention-only q-block={Q_BLOCK} "
                  f"kv-block={KV_BLOCK}", "--bpt-decompose"],
    "bpt": [f"--bpt-blockwise=q-block={Q_BLOCK} kv-block={KV_BLOCK} "
            f"ffn-chunk={FFN_CHUNK}"],
}


def config(name, seq):
    return models.BlockConfig(seq=seq, **MODELS[name][2])


def input_bytes(name, cfg):
    return memory.f32_bytes([(cfg.seq, cfg.d_model)]
                            + list(MODELS[name][1](cfg).values()))


def ir_peak(name, seq, variant):
    """Peak bytes of the bufferized program plus its inputs."""
    cfg = config(name, seq)
    text = memory.bufferized(MODELS[name][0](cfg), VARIANTS[variant])
    peak = memory.peak_live_bytes(text, f"{name}_block",
                                  dynamic_bound=max(Q_BLOCK, KV_BLOCK,
                                                    FFN_CHUNK))
    return peak + input_bytes(name, cfg)


def largest_fitting(name, variant, budget):
    """The largest S (a multiple of Q_BLOCK) whose IR peak fits `budget`."""
    return memory.largest_fitting(
        lambda seq: ir_peak(name, seq, variant) <= budget, Q_BLOCK)


_MEASURE = r"""
import json, resource, sys, time
sys.path.insert(0, {python!r})
import numpy as np
from bpt import models
from bpt.compiler import compile_mlir
name, seq, passes = {name!r}, {seq}, {passes!r}
cfg = models.BlockConfig(seq=seq, **{kwargs!r})
emit = models.gpt2_block if name == "gpt2" else models.llama_block
inputs_of = (models.gpt2_random_inputs if name == "gpt2"
             else models.llama_random_inputs)
module = compile_mlir(emit(cfg), passes=passes)
fn = module[name + "_block"]
inputs = inputs_of(cfg, np.random.default_rng(0))
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
# Reset the high-water mark of the resident set (Linux: VmHWM) so that it
# measures this call only, not the generation of the inputs.
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
t0 = time.time()
out = fn(*inputs, copy=False)
seconds = time.time() - t0
after = status("VmHWM")
print(json.dumps({{"growth": after - before, "seconds": seconds,
                  "finite": bool(np.isfinite(out).all())}}))
"""


def measured(name, seq, variant):
    """Peak RSS growth of one run of the compiled block, in a fresh process
    (so each measurement starts from the same baseline)."""
    code = _MEASURE.format(python=str(REPO / "python"), name=name, seq=seq,
                           passes=VARIANTS[variant],
                           kwargs=MODELS[name][2])
    env = dict(os.environ)
    env.setdefault("BPT_TOOLS_DIR", str(REPO / "build" / "bin"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"measuring {name} S={seq} {variant} failed:\n"
                         f"{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def gib(n):
    return n / 2**30


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="gpt2,llama")
    ap.add_argument("--budget-gib", type=float, default=8.0)
    ap.add_argument("--seqs", default="1024,4096,16384,65536",
                    help="sequence lengths of the IR table")
    ap.add_argument("--measure", default="256,512,1024",
                    help="sequence lengths measured by running (empty: none)")
    ap.add_argument("--plot", type=Path, help="write a PNG plot")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args()

    names = [m for m in args.models.split(",") if m]
    seqs = [int(s) for s in args.seqs.split(",") if s]
    measure = [int(s) for s in args.measure.split(",") if s]
    budget = args.budget_gib * 2**30
    results = {"budget_gib": args.budget_gib, "models": {}}

    for name in names:
        cfg = config(name, 1)
        print(f"\n== {name}: d_model={cfg.d_model} heads={cfg.heads}/"
              f"{cfg.kv_heads} d_ff={cfg.d_ff}, f32, one block forward; "
              f"q-block={Q_BLOCK} kv-block={KV_BLOCK} ffn-chunk={FFN_CHUNK}")
        res = results["models"][name] = {"ir": {}, "measured": {}, "fits": {}}
        print(f"{'S':>8} | " + " | ".join(f"{v:>11}" for v in VARIANTS)
              + " |  (GiB, peak from the bufferized IR + inputs)")
        for seq in seqs:
            row = {v: ir_peak(name, seq, v) for v in VARIANTS}
            res["ir"][seq] = row
            print(f"{seq:>8} | " + " | ".join(f"{gib(row[v]):>11.3f}"
                                             for v in VARIANTS) + " |")
        for seq in measure:
            row = {}
            for v in VARIANTS:
                m = measured(name, seq, v)
                row[v] = m
                if not m["finite"]:
                    raise SystemExit(f"{name} S={seq} {v}: non-finite output")
            res["measured"][seq] = row
            ir = {v: ir_peak(name, seq, v) for v in VARIANTS}
            print(f"measured S={seq}: " + ", ".join(
                f"{v} {m['growth'] / 2**20:.0f} MiB in {m['seconds']:.1f} s "
                f"(IR peak {ir[v] / 2**20:.0f} MiB incl. inputs)"
                for v, m in row.items()))
        t0 = time.time()
        fits = {v: largest_fitting(name, v, budget) for v in VARIANTS}
        res["fits"] = fits
        print(f"largest S within {args.budget_gib:g} GiB: " + ", ".join(
            f"{v} {s}" for v, s in fits.items())
            + f"  (searched in {time.time() - t0:.0f} s)")
        print(f"ratios: bpt / vanilla = {fits['bpt'] / fits['vanilla']:.1f}x, "
              f"bpt / attn-only = {fits['bpt'] / fits['attn-only']:.2f}x, "
              f"attn-only / vanilla = {fits['attn-only'] / fits['vanilla']:.1f}x")

    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 4.5),
                                 squeeze=False)
        for ax, name in zip(axes[0], names):
            ir = results["models"][name]["ir"]
            xs = sorted(ir)
            for v in VARIANTS:
                ax.loglog(xs, [gib(ir[s][v]) for s in xs], marker="o", label=v)
            ax.axhline(args.budget_gib, color="grey", linestyle="--",
                       label=f"{args.budget_gib:g} GiB")
            ax.set_xlabel("sequence length S")
            ax.set_ylabel("peak memory (GiB)")
            ax.set_title(f"{name}: one block, forward, f32")
            ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"\nplot written to {args.plot}")


if __name__ == "__main__":
    main()
