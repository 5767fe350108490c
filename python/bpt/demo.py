"""The main job: compile a shipped transformer block with bpt-opt (the
Blockwise Parallel Transformer rewrite and the unfused reference), run both
on the CPU, check them against NumPy and print memory figures.

    python -m bpt.demo [--mlir examples/gpt2_block.mlir] [--seed 0]
"""

import argparse
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np

from . import memory, models
from .compiler import compile_mlir
from .errors import BPTError

_REPO = Path(__file__).resolve().parents[2]
DEFAULT = _REPO / "examples" / "gpt2_block.mlir"


def _config_from_header(text):
    """The BlockConfig written in the first line of a generated example."""
    m = re.search(r"S=(\d+), d_model=(\d+), heads=(\d+), d_ff=(\d+), (\w+), "
                  r"(causal|bidirectional)", text)
    if not m:
        raise BPTError("the example has no 'S=.., d_model=..' header line; "
                       "generate it with bpt.models.gpt2_block")
    return models.BlockConfig(seq=int(m[1]), d_model=int(m[2]),
                              heads=int(m[3]), d_ff=int(m[4]),
                              activation=m[5], causal=m[6] == "causal")


BLOCKWISE = "--bpt-blockwise=q-block=128 kv-block=128 ffn-chunk=256"


def _largest_fitting(cfg, passes, budget):
    """The largest S (a multiple of 128) whose bufferized peak plus inputs
    fits `budget`, read from the IR alone."""
    def fits(seq):
        c = models.BlockConfig(seq=seq, d_model=cfg.d_model, heads=cfg.heads,
                               d_ff=cfg.d_ff, activation=cfg.activation,
                               causal=cfg.causal)
        peak = memory.peak_live_bytes(
            memory.bufferized(models.gpt2_block(c), passes), "gpt2_block",
            dynamic_bound=256)
        inputs = memory.f32_bytes(
            [(seq, c.d_model), *models.gpt2_param_shapes(c).values()])
        return peak + inputs <= budget
    return memory.largest_fitting(fits, 128)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mlir", type=Path, default=DEFAULT)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="max |compiled - NumPy| / max(1, max |NumPy|)")
    ap.add_argument("--budget-gib", type=float, default=8.0)
    args = ap.parse_args(argv)

    text = args.mlir.read_text()
    cfg = _config_from_header(text)
    shown = (args.mlir.relative_to(_REPO) if args.mlir.is_relative_to(_REPO)
             else args.mlir)
    print(f"example   {shown}")
    print(f"block     GPT-2: S={cfg.seq} d_model={cfg.d_model} "
          f"heads={cfg.heads} d_ff={cfg.d_ff} {cfg.activation} "
          f"{'causal' if cfg.causal else 'bidirectional'}, f32")
    print(f"compile   bpt-opt {BLOCKWISE} --bpt-cpu-pipeline | mlir-translate"
          f" | opt | llc | cc -shared")
    print("          (reference: bpt-opt --bpt-decompose --bpt-cpu-pipeline)")
    t0 = time.time()
    bpt = compile_mlir(text, passes=[BLOCKWISE])
    unfused = compile_mlir(text, passes=["--bpt-decompose"])
    print(f"          compiled in {time.time() - t0:.1f} s")

    rng = np.random.default_rng(args.seed)
    inputs = models.gpt2_random_inputs(cfg, rng)
    t0 = time.time()
    y = bpt["gpt2_block"](*inputs)
    bpt_s = time.time() - t0
    t0 = time.time()
    y_ref = unfused["gpt2_block"](*inputs)
    unfused_s = time.time() - t0
    ref = models.gpt2_block_reference(cfg, *inputs)
    scale = max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(y - ref).max()) / scale
    err_unfused = float(np.abs(y - y_ref).max()) / scale
    ok = bool(np.isfinite(y).all()) and err <= args.tol
    print(f"run       bpt {bpt_s:.2f} s, unfused {unfused_s:.2f} s on the CPU")
    print(f"check     max |bpt - numpy| / max(1, max|numpy|) = {err:.2e} "
          f"(tol {args.tol:.0e}): {'PASS' if ok else 'FAIL'}")
    print(f"          max |bpt - unfused| / max(1, max|numpy|) = "
          f"{err_unfused:.2e}")

    unfused_ir = memory.bufferized(text, ["--bpt-decompose"])
    bpt_ir = memory.bufferized(text, [BLOCKWISE])
    allocs = memory.allocations(text)
    scores = [a for a in allocs if len(a[0]) == 4 and a[0][-1] == cfg.seq
              and a[0][-2] == cfg.seq]
    peak_unfused = memory.peak_live_bytes(unfused_ir, "gpt2_block")
    peak_bpt = memory.peak_live_bytes(bpt_ir, "gpt2_block", dynamic_bound=256)
    print(f"memory    peak of live buffers (bufferized IR): unfused "
          f"{memory.human(peak_unfused)}, bpt {memory.human(peak_bpt)} "
          f"({peak_unfused / peak_bpt:.1f}x less)")
    if scores:
        print(f"          unfused S x S score buffers: {len(scores)} of "
              f"{memory.human(scores[0][2])}; bpt: none")
    budget = args.budget_gib * 2**30
    s_unfused = _largest_fitting(cfg, ["--bpt-decompose"], budget)
    s_bpt = _largest_fitting(cfg, [BLOCKWISE], budget)
    print(f"          largest S in {args.budget_gib:g} GiB (this block): "
          f"unfused {s_unfused}, bpt {s_bpt} ({s_bpt / s_unfused:.0f}x longer)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"          peak RSS of this process: {memory.human(peak)}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BPTError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
