"""The main job: compile a shipped transformer block with bpt-opt, run it on
the CPU, check it against NumPy and print memory figures.

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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mlir", type=Path, default=DEFAULT)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="max |compiled - NumPy| / max(1, max |NumPy|)")
    args = ap.parse_args(argv)

    text = args.mlir.read_text()
    cfg = _config_from_header(text)
    print(f"example   {args.mlir.relative_to(_REPO) if args.mlir.is_relative_to(_REPO) else args.mlir}")
    print(f"block     GPT-2: S={cfg.seq} d_model={cfg.d_model} heads={cfg.heads} "
          f"d_ff={cfg.d_ff} {cfg.activation} "
          f"{'causal' if cfg.causal else 'bidirectional'}, f32")
    print("compile   bpt-opt --bpt-cpu-pipeline | mlir-translate | llc | cc -shared")
    t0 = time.time()
    module = compile_mlir(text)
    print(f"          compiled in {time.time() - t0:.1f} s -> {module.path}")

    rng = np.random.default_rng(args.seed)
    inputs = models.gpt2_random_inputs(cfg, rng)
    t0 = time.time()
    y = module["gpt2_block"](*inputs)
    run_s = time.time() - t0
    ref = models.gpt2_block_reference(cfg, *[a.astype(np.float64)
                                             for a in inputs])
    err = float(np.abs(y - ref).max() / max(1.0, np.abs(ref).max()))
    ok = bool(np.isfinite(y).all()) and err <= args.tol
    print(f"run       {run_s:.2f} s on the CPU")
    print(f"check     max |bpt - numpy| / max(1, max|numpy|) = {err:.2e} "
          f"(tol {args.tol:.0e}): {'PASS' if ok else 'FAIL'}")

    allocs = memory.allocations(text)
    total = sum(a[2] for a in allocs)
    scores = [a for a in allocs if len(a[0]) == 4 and a[0][-1] == cfg.seq
              and a[0][-2] == cfg.seq]
    print(f"memory    {len(allocs)} buffers, {memory.human(total)} in all "
          f"(bufferized IR, reference lowering)")
    for shape, elem, nbytes in allocs[:3]:
        print(f"          {'x'.join(map(str, shape))}x{elem}: "
              f"{memory.human(nbytes)}")
    if scores:
        print(f"          S x S score buffers: {len(scores)}, "
              f"{memory.human(sum(a[2] for a in scores))}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"          peak RSS of this process: {memory.human(peak)}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BPTError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
