"""`bpt bench`: peak memory and throughput of one transformer block against
the sequence length, for three programs built from the same block:

  vanilla    --bpt-decompose: the textbook lowering (S x S scores, S x d_ff
             hidden activation)
  attn-only  --bpt-blockwise=attention-only: memory-efficient attention (the
             online-softmax key loop) with the FFN left whole
  bpt        --bpt-blockwise: the Blockwise Parallel Transformer (attention
             and FFN fused per query block, the hidden dimension chunked)

Two readings of memory:
  - from the IR, for any S: the peak of bytes allocated at once in the
    bufferized program (bpt.memory.peak_live_bytes), plus the inputs
    (activations and weights); and the largest S that fits a budget;
  - measured, for the S of --measure: how far the peak resident set of a
    fresh process rises while it runs the compiled block once (Linux VmHWM,
    reset before the call), with the run time, hence the throughput
    (tokens/s) of each program.

    bpt bench --model gpt2 --seq 1k..64k [--measure 1k,2k] [--plot out.png]
              [--budget-gib 8] [--json out.json]

Sequence lists: `1k..64k` doubles from 1024 to 65536; `1024,3000` lists.
Progress goes to stderr, the tables to stdout.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import memory, models
from .errors import BPTError

Q_BLOCK, KV_BLOCK, FFN_CHUNK = 256, 256, 512
VARIANTS = {
    "vanilla": ["--bpt-decompose"],
    "attn-only": [f"--bpt-blockwise=attention-only q-block={Q_BLOCK} "
                  f"kv-block={KV_BLOCK}", "--bpt-decompose"],
    "bpt": [f"--bpt-blockwise=q-block={Q_BLOCK} kv-block={KV_BLOCK} "
            f"ffn-chunk={FFN_CHUNK}"],
}
_PYTHON_DIR = str(Path(__file__).resolve().parents[1])


def parse_seqs(text):
    """'1k..64k' (doubling), '1024,4096' or a mix: a sorted list of ints."""
    def number(tok):
        tok = tok.strip().lower()
        scale = 1
        if tok.endswith("k"):
            tok, scale = tok[:-1], 1024
        elif tok.endswith("m"):
            tok, scale = tok[:-1], 1 << 20
        try:
            value = int(float(tok) * scale)
        except ValueError:
            raise BPTError(f"bad sequence length {tok!r} in {text!r}: expected "
                           "numbers like 1024 or 4k") from None
        if value < 1:
            raise BPTError(f"sequence lengths must be positive, got {value}")
        return value

    seqs = set()
    for part in (p for p in text.split(",") if p.strip()):
        if ".." in part:
            lo, hi = (number(t) for t in part.split("..", 1))
            if hi < lo:
                raise BPTError(f"empty range {part!r}: {lo} > {hi}")
            s = lo
            while s <= hi:
                seqs.add(s)
                s *= 2
        else:
            seqs.add(number(part))
    return sorted(seqs)


def config(model, seq):
    return models.config(model, seq=seq)


def input_bytes(cfg):
    return memory.f32_bytes([(cfg.seq, cfg.d_model)]
                            + list(models.param_shapes(cfg).values()))


def ir_peak(model, seq, variant):
    """Peak bytes of the bufferized program plus its inputs."""
    cfg = config(model, seq)
    text = memory.bufferized(models.block(cfg), VARIANTS[variant])
    peak = memory.peak_live_bytes(text, models.function_name(cfg),
                                  dynamic_bound=max(Q_BLOCK, KV_BLOCK,
                                                    FFN_CHUNK))
    return peak + input_bytes(cfg)


def largest_fitting(model, variant, budget):
    """The largest S (a multiple of Q_BLOCK) whose IR peak fits `budget`."""
    return memory.largest_fitting(
        lambda seq: ir_peak(model, seq, variant) <= budget, Q_BLOCK)


_MEASURE = r"""
import json, sys, time
sys.path.insert(0, {python!r})
import numpy as np
from bpt import models
from bpt.compiler import compile_mlir
cfg = models.config({model!r}, seq={seq})
module = compile_mlir(models.block(cfg), passes={passes!r})
fn = module[models.function_name(cfg)]
inputs = models.random_inputs(cfg, np.random.default_rng(0))
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
# Reset the high-water mark of the resident set (Linux: VmHWM) so that it
# measures this call only, not the generation of the inputs.
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
t0 = time.perf_counter()
out = fn(*inputs, copy=False)
seconds = time.perf_counter() - t0
after = status("VmHWM")
print(json.dumps({{"growth": after - before, "seconds": seconds,
                  "finite": bool(np.isfinite(out).all())}}))
"""


def measured(model, seq, variant):
    """Peak RSS growth and time of one run of the compiled block, in a fresh
    process (so each measurement starts from the same baseline)."""
    code = _MEASURE.format(python=_PYTHON_DIR, model=model, seq=seq,
                           passes=VARIANTS[variant])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=dict(os.environ))
    if proc.returncode != 0:
        raise BPTError(f"measuring {model} S={seq} {variant} failed:\n"
                       f"{proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if not result["finite"]:
        raise BPTError(f"{model} S={seq} {variant}: non-finite output")
    return result


def gib(n):
    return n / 2**30


class Progress:
    """One line per step of long work on stderr, with the elapsed time."""

    def __init__(self, stream=None):
        self.t0 = time.time()
        self.stream = stream or sys.stderr

    def __call__(self, message):
        print(f"[{time.time() - self.t0:7.1f} s] {message}", file=self.stream,
              flush=True)


def run(models_, seqs, measure, budget_gib, progress=None, out=None):
    """The figures of `bpt bench` as a dict, printing the tables to `out`
    (stdout) and progress lines through `progress` (stderr)."""
    progress = progress or Progress()
    out = out or sys.stdout
    budget = budget_gib * 2**30
    results = {"budget_gib": budget_gib, "models": {}}
    for model in models_:
        cfg = config(model, 1)
        print(f"\n== {model}: d_model={cfg.d_model} heads={cfg.heads}/"
              f"{cfg.kv_heads} d_ff={cfg.d_ff} {cfg.activation}, f32, one "
              f"block forward; q-block={Q_BLOCK} kv-block={KV_BLOCK} "
              f"ffn-chunk={FFN_CHUNK}", file=out)
        res = results["models"][model] = {"ir": {}, "measured": {}, "fits": {}}
        print(f"{'S':>8} | " + " | ".join(f"{v:>11}" for v in VARIANTS)
              + " |  (GiB, peak from the bufferized IR + inputs)", file=out)
        for seq in seqs:
            progress(f"{model} S={seq}: reading the bufferized IR")
            row = {v: ir_peak(model, seq, v) for v in VARIANTS}
            res["ir"][seq] = row
            print(f"{seq:>8} | " + " | ".join(f"{gib(row[v]):>11.3f}"
                                             for v in VARIANTS) + " |",
                  file=out, flush=True)
        if measure:
            print(f"{'S':>8} | {'program':>9} | {'RSS MiB':>8} | {'IR MiB':>8}"
                  f" | {'seconds':>8} | {'tokens/s':>9}", file=out)
        for seq in measure:
            row = {}
            for v in VARIANTS:
                progress(f"{model} S={seq}: running {v}")
                m = row[v] = measured(model, seq, v)
                ir = ir_peak(model, seq, v)
                m["ir"] = ir
                print(f"{seq:>8} | {v:>9} | {m['growth'] / 2**20:>8.0f} | "
                      f"{ir / 2**20:>8.0f} | {m['seconds']:>8.2f} | "
                      f"{seq / m['seconds']:>9.0f}", file=out, flush=True)
            res["measured"][seq] = row
        progress(f"{model}: searching the largest S within {budget_gib:g} GiB")
        fits = {v: largest_fitting(model, v, budget) for v in VARIANTS}
        res["fits"] = fits
        print(f"largest S within {budget_gib:g} GiB: " + ", ".join(
            f"{v} {s:,}" for v, s in fits.items()), file=out)
        print(f"ratios: bpt / vanilla = {fits['bpt'] / fits['vanilla']:.1f}x, "
              f"bpt / attn-only = {fits['bpt'] / fits['attn-only']:.2f}x, "
              f"attn-only / vanilla = "
              f"{fits['attn-only'] / fits['vanilla']:.1f}x", file=out)
    return results


def plot(results, path):
    """Peak memory against S (IR, per program; budget line) and, when runs
    were measured, throughput against S."""
    try:
        import matplotlib
    except ImportError:
        raise BPTError("plots need matplotlib: '.venv/bin/pip install "
                       "matplotlib' (BPT_BENCH=1 scripts/setup.sh)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(results["models"])
    rows = 2 if any(results["models"][n]["measured"] for n in names) else 1
    fig, axes = plt.subplots(rows, len(names), figsize=(6 * len(names),
                                                        4.5 * rows),
                             squeeze=False)
    budget = results["budget_gib"]
    for col, name in enumerate(names):
        res = results["models"][name]
        ax = axes[0][col]
        xs = sorted(res["ir"], key=int)
        for v in VARIANTS:
            ax.loglog([int(s) for s in xs], [gib(res["ir"][s][v]) for s in xs],
                      marker="o", label=v)
        ax.axhline(budget, color="grey", linestyle="--",
                   label=f"{budget:g} GiB")
        ax.set_xlabel("sequence length S")
        ax.set_ylabel("peak memory (GiB)")
        ax.set_title(f"{name}: one block, forward, f32")
        ax.legend()
        if rows == 2:
            ax = axes[1][col]
            ms = sorted(res["measured"], key=int)
            for v in VARIANTS:
                ax.plot([int(s) for s in ms],
                        [int(s) / res["measured"][s][v]["seconds"] for s in ms],
                        marker="o", label=v)
            ax.set_xscale("log")
            ax.set_xlabel("sequence length S")
            ax.set_ylabel("throughput (tokens/s)")
            ax.set_title(f"{name}: measured on this CPU")
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def add_arguments(ap):
    ap.add_argument("--model", "--models", dest="models", default="gpt2",
                    help="comma-separated: " + ", ".join(models.PRESETS))
    ap.add_argument("--seq", "--seqs", dest="seqs", default="1k..64k",
                    help="sequence lengths of the IR table: 1k..64k "
                         "(doubling) or a list")
    ap.add_argument("--measure", default="",
                    help="sequence lengths to run and time (empty: none)")
    ap.add_argument("--budget-gib", type=float, default=8.0)
    ap.add_argument("--plot", type=Path, help="write a PNG plot")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")


def main_args(args):
    names = [m for m in args.models.split(",") if m]
    for name in names:
        if name not in models.PRESETS:
            raise BPTError(f"unsupported model {name!r}: expected one of "
                           f"{', '.join(models.PRESETS)}")
    if args.budget_gib <= 0:
        raise BPTError(f"--budget-gib must be positive, got {args.budget_gib}")
    seqs = parse_seqs(args.seqs)
    measure = parse_seqs(args.measure) if args.measure else []
    results = run(names, seqs, measure, args.budget_gib)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
        print(f"\nfigures written to {args.json}")
    if args.plot:
        plot(results, args.plot)
        print(f"\nplot written to {args.plot}")
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(prog="bpt bench",
                                 description=__doc__.split("\n")[0])
    add_arguments(ap)
    try:
        main_args(ap.parse_args(argv))
    except BPTError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
