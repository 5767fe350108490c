"""Device memory of a whole transformer block compiled for the GPU,
measured without a GPU: the block is built with the dry-run runtime
(runtime/cuda/bpt_cuda_dryrun.c), whose host code allocates, frees and
launches exactly as on a GPU but computes nothing, so the peak of the
program's own device allocations and its number of kernel launches are the
real program's. Beside them, what PyTorch must hold for the same block at
the least: eager attention materialises the S x S scores of every head
(H S^2 bf16 values, before its f32 softmax), and SDPA + cuBLAS still
materialises the FFN's S x d_ff hidden activation (bf16, before the
activation function's own output).

    python bench/gpu/memory.py [--seq 1024 4096 16384] [--model gpt2]
                               [--plot FILE.png]

Only the compile needs this machine's tools; nothing runs on a GPU.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

from bpt import gpu, models  # noqa: E402

MIB = 2.0 ** 20


def measure(cfg, options, tmp):
    so = gpu.build(models.block(cfg), tmp, f"{cfg.model}_{cfg.seq}",
                   options=options, dry_run=True)
    seen = gpu.dry_run(so, models.function_name(cfg))
    if seen["left_bytes"]:
        raise AssertionError("the program left device memory allocated")
    return seen["peak_bytes"], seen["launches"], seen["syncs"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seq", type=int, nargs="+", default=[1024, 4096, 16384])
    p.add_argument("--model", default="gpt2")
    p.add_argument("--d-model", type=int, default=1024)
    p.add_argument("--heads", type=int, default=16)
    p.add_argument("--d-ff", type=int, default=4096)
    p.add_argument("--options", default="",
                   help="--bpt-gpu-pipeline options (ffn-rows, ffn-chunk)")
    p.add_argument("--plot")
    args = p.parse_args()
    rows = []
    print(f"{args.model} block, bf16, d_model {args.d_model}, {args.heads} "
          f"heads, d_ff {args.d_ff}; device MiB the block's own buffers hold "
          f"at peak (inputs and weights excluded)")
    print(f"{'S':>6} | {'bpt':>9} {'launches':>8} {'waits':>5} | "
          f"{'eager >=':>10} {'sdpa >=':>9} | {'eager/bpt >=':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for s in args.seq:
            cfg = models.config(args.model, seq=s, d_model=args.d_model,
                                heads=args.heads, d_ff=args.d_ff,
                                elem="bf16")
            peak, launches, waits = measure(cfg, args.options, tmp)
            eager = cfg.heads * s * s * 2       # the scores alone
            sdpa = s * cfg.d_ff * 2             # the FFN's hidden activation
            rows.append((s, peak, eager, sdpa))
            print(f"{s:>6} | {peak / MIB:9.1f} {launches:8d} {waits:5d} | "
                  f"{eager / MIB:10.1f} {sdpa / MIB:9.1f} | "
                  f"{eager / peak:11.1f}x", flush=True)
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        seqs = [r[0] for r in rows]
        for i, label in ((1, "bpt (measured, dry run)"),
                         (2, "eager attention (scores alone)"),
                         (3, "SDPA + cuBLAS FFN (hidden alone)")):
            ax.loglog(seqs, [r[i] / MIB for r in rows], "o-", label=label)
        ax.set_xlabel("sequence length")
        ax.set_ylabel("activation MiB")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
