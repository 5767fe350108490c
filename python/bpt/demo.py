"""The main job: the shipped GPT-2-small-like block (d_model 768, 12 heads,
d_ff 3072) at S = 4096 (examples/gpt2_small_block.mlir, written by
bpt.models), compiled by bpt.compile (the Blockwise Parallel Transformer
rewrite) and by the unfused reference lowering, run on the CPU, checked
against NumPy, with memory figures against vanilla and a plot of peak
memory against S.

    python -m bpt.demo [--mlir examples/gpt2_small_block.mlir | --seq N]
                       [--check-rows 256] [--plot build/main-job-memory.png]

The NumPy check covers the last --check-rows rows of the output (they see
every key of the causal block; every key and value still enters them), so
that a long sequence checks in seconds.
"""

import argparse
import os
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np

import bpt

from . import bench, memory, models
from .compiler import compile_mlir
from .errors import BPTError

_REPO = Path(__file__).resolve().parents[2]
DEFAULT = _REPO / "examples" / "gpt2_small_block.mlir"
BLOCKS = dict(q_block=64, kv_block=128, ffn_chunk=256)
PLOT_SEQS = "1k..64k"


def _config_from_header(text):
    """The configuration written in the header of a generated GPT-2 block."""
    m = re.search(r"GPT-2 decoder block: S=(\d+), d_model=(\d+), heads=(\d+), "
                  r"d_ff=(\d+), (\w+), (causal|bidirectional)", text)
    if not m:
        raise BPTError("the file has no 'GPT-2 decoder block: S=.., "
                       "d_model=..' header line; write it with "
                       "bpt.models.block(bpt.models.config('gpt2', ...))")
    return models.config("gpt2", seq=int(m[1]), d_model=int(m[2]),
                         heads=int(m[3]), d_ff=int(m[4]), activation=m[5],
                         causal=m[6] == "causal")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mlir", type=Path, default=DEFAULT,
                    help="a block written by bpt.models (GPT-2)")
    ap.add_argument("--seq", type=int,
                    help="generate the GPT-2-small block at this S instead")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check-rows", type=int, default=256)
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="max |compiled - NumPy| / max(1, max |NumPy|)")
    ap.add_argument("--budget-gib", type=float, default=8.0)
    ap.add_argument("--plot", type=Path,
                    default=_REPO / "build" / "main-job-memory.png")
    args = ap.parse_args(argv)

    if args.seq:
        cfg = models.config("gpt2", seq=args.seq)
        text = models.block(cfg)
        source = f"bpt.models.config('gpt2', seq={args.seq})"
    else:
        if not args.mlir.is_file():
            raise BPTError(f"no such file: {args.mlir}")
        text = args.mlir.read_text()
        cfg = _config_from_header(text)
        source = (args.mlir.relative_to(_REPO)
                  if args.mlir.is_relative_to(_REPO) else args.mlir)
    model = cfg.model
    name = models.function_name(cfg)
    print(f"block     {source}: GPT-2 S={cfg.seq} d_model={cfg.d_model} "
          f"heads={cfg.heads} d_ff={cfg.d_ff} {cfg.activation} "
          f"{'causal' if cfg.causal else 'bidirectional'}, f32")
    print(f"compile   bpt.compile(q_block={BLOCKS['q_block']}, "
          f"kv_block={BLOCKS['kv_block']}, ffn_chunk={BLOCKS['ffn_chunk']}):"
          f" --bpt-raise, --bpt-blockwise, --bpt-cpu-pipeline")
    print("          vanilla: --bpt-decompose --bpt-cpu-pipeline")
    t0 = time.time()
    fused = bpt.compile(text, **BLOCKS)
    vanilla = compile_mlir(text, passes=["--bpt-decompose"])
    print(f"          compiled in {time.time() - t0:.1f} s")

    inputs = models.random_inputs(cfg, np.random.default_rng(args.seed))
    t0 = time.time()
    y = fused[name](*inputs)
    bpt_s = time.time() - t0
    t0 = time.time()
    y_vanilla = vanilla[name](*inputs)
    vanilla_s = time.time() - t0
    rows = (max(0, cfg.seq - args.check_rows), cfg.seq)
    ref = models.gpt2_block_reference(cfg, *inputs, rows=rows)
    got = y[rows[0]:rows[1]]
    scale = max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(got - ref).max()) / scale
    err_vanilla = float(np.abs(y - y_vanilla).max()) / max(
        1.0, float(np.abs(y_vanilla).max()))
    ok = bool(np.isfinite(y).all()) and err <= args.tol
    print(f"run       bpt {bpt_s:.2f} s ({cfg.seq / bpt_s:,.0f} tokens/s), "
          f"vanilla {vanilla_s:.2f} s on the CPU")
    print(f"check     rows {rows[0]}..{rows[1] - 1}: max |bpt - numpy| / "
          f"max(1, max|numpy|) = {err:.2e} (tol {args.tol:.0e}): "
          f"{'PASS' if ok else 'FAIL'}")
    print(f"          all rows: max |bpt - vanilla| = {err_vanilla:.2e} "
          f"(relative)")

    peak_bpt = bench.ir_peak(model, cfg.seq, "bpt")
    peak_vanilla = bench.ir_peak(model, cfg.seq, "vanilla")
    print(f"memory    peak of live buffers + inputs (bufferized IR): vanilla "
          f"{memory.human(peak_vanilla)}, bpt {memory.human(peak_bpt)} "
          f"({peak_vanilla / peak_bpt:.1f}x less)")
    budget = args.budget_gib * 2**30
    fits = {v: bench.largest_fitting(model, v, budget)
            for v in ("vanilla", "bpt")}
    print(f"          largest S in {args.budget_gib:g} GiB: vanilla "
          f"{fits['vanilla']:,}, bpt {fits['bpt']:,} "
          f"({fits['bpt'] / fits['vanilla']:.1f}x longer)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"          peak RSS of this process (vanilla run included): "
          f"{memory.human(peak)}")
    if args.plot:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        with open(os.devnull, "w") as quiet:
            results = bench.run([model], bench.parse_seqs(PLOT_SEQS), [],
                                args.budget_gib, progress=lambda m: None,
                                out=quiet)
        bench.plot(results, args.plot)
        print(f"plot      peak memory against S ({PLOT_SEQS}): {args.plot}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BPTError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
