"""Memory figures read from the IR: the buffers a program allocates.

After one-shot bufferization every tensor that needs storage is a
`memref.alloc`; its static type gives its size. This is how a program's
activation footprint is read without running it (and how the S x S score
buffers of the reference lowering show up).
"""

import re

from .compiler import lower_to_llvm

_ALLOC_RE = re.compile(r"memref\.alloc\([^)]*\)(?:\s*\{[^}]*\})?\s*:\s*"
                       r"memref<([0-9x?]+)x([a-z0-9]+)")
_BYTES = {"f32": 4, "f16": 2, "bf16": 2, "i1": 1, "f64": 8, "i32": 4,
          "i64": 8, "index": 8}


def allocations(mlir, passes=("--bpt-decompose",)):
    """(shape, element type, bytes) of every memref.alloc after the given
    passes, canonicalisation and one-shot bufferization, largest first.
    Dynamic extents count as 0."""
    bufferized = lower_to_llvm(mlir, passes=[
        *passes, "--canonicalize",
        "--one-shot-bufferize=bufferize-function-boundaries "
        "function-boundary-type-conversion=identity-layout-map"],
        pipeline=None)
    out = []
    for m in _ALLOC_RE.finditer(bufferized):
        dims = [0 if d == "?" else int(d) for d in m.group(1).split("x")]
        n = 1
        for d in dims:
            n *= d
        out.append((tuple(dims), m.group(2), n * _BYTES.get(m.group(2), 4)))
    return sorted(out, key=lambda a: -a[2])


def human(nbytes):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{nbytes} B"
        nbytes /= 1024
