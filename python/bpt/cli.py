"""The `bpt` command.

    bpt compile model.mlir -o model.so [--target cpu] [--q-block N ...]
    bpt explain model.mlir [--q-block N ...]
    bpt bench --model gpt2 --seq 1k..64k [--measure 1k,2k] [--plot f.png]

Errors (a missing file, a bad option, IR bpt-opt rejects) are reported in
one message and exit status 1 (2 for usage errors), without a traceback.
"""

import argparse
import shutil
import sys
from pathlib import Path

from . import api, bench
from .errors import BPTError


def _blocks(parser):
    parser.add_argument("--q-block", type=int, default=64,
                        help="query rows per block (default 64)")
    parser.add_argument("--kv-block", type=int, default=128,
                        help="keys per block of the online softmax "
                             "(default 128)")
    parser.add_argument("--ffn-chunk", type=int, default=256,
                        help="hidden units of the FFN per chunk (default 256)")


def _parser():
    ap = argparse.ArgumentParser(
        prog="bpt", description="Blockwise Parallel Transformer compiler "
        "(bpt-mlir): raise attention and FFNs in MLIR, fuse them per query "
        "block, compile.")
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compile", help="compile MLIR into a shared object")
    c.add_argument("input", type=Path, help="linalg-on-tensors MLIR file")
    c.add_argument("-o", "--output", type=Path, required=True,
                   help="the shared object to write")
    c.add_argument("--target", default="cpu", choices=api.TARGETS)
    c.add_argument("--no-raise", action="store_true",
                   help="do not look for attention/FFNs (bpt ops only)")
    c.add_argument("--no-fuse", action="store_true",
                   help="compile without the blockwise rewrite")
    _blocks(c)
    e = sub.add_parser("explain", help="report what is raised and fused, "
                       "and why anything is not")
    e.add_argument("input", type=Path, help="linalg-on-tensors MLIR file")
    _blocks(e)
    b = sub.add_parser("bench", help="peak memory (and throughput) of "
                       "vanilla, attention-only and BPT against S, with "
                       "tables and plots")
    bench.add_arguments(b)
    return ap


def _read(path):
    if not path.is_file():
        raise BPTError(f"no such file: {path}")
    return path.read_text()


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "bench":
            bench.main_args(args)
            return 0
        text = _read(args.input)
        if args.command == "compile":
            module = api.compile(text, target=args.target,
                                 q_block=args.q_block, kv_block=args.kv_block,
                                 ffn_chunk=args.ffn_chunk,
                                 raise_ops=not args.no_raise,
                                 fuse=not args.no_fuse)
            shutil.copyfile(module.path, args.output)
            print(f"wrote {args.output}")
        else:
            print(api.explain(text, q_block=args.q_block,
                              kv_block=args.kv_block,
                              ffn_chunk=args.ffn_chunk))
    except BPTError as err:
        print(f"bpt: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
