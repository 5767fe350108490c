# The tensor-map requests of the runtimes (runtime/cuda/bpt_tensor_map.h,
# used by the CUDA runtime and the dry run alike): the dry-run runtime,
# built here, accepts a valid request (a 2-D bf16 memref, 128 x 64 box,
# 128-byte swizzle) and refuses, with a message naming the rule and exit
# status 3, each request the driver would refuse: a first element not
# 16-byte aligned (the memref's offset counts), a row stride that is not
# a multiple of 16 bytes, a non-unit innermost stride, a box dimension
# over 256, box rows wider than the swizzle span, an empty dimension, an
# unknown data type.
#
# RUN: %python %s

import ctypes
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "runtime" / "cuda" / \
    "bpt_cuda_dryrun.c"

BF16, SWIZZLE_128B = 9, 3

# One request: data type, swizzle, box (outermost first), memref
# descriptor fields (aligned address, offset, sizes, strides).
CALL = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
f = lib.mgpuTensorMapEncodeTiledMemref
f.restype = ctypes.c_void_p
dtype, swizzle, box, address, offset, sizes, strides = {request!r}
class Desc(ctypes.Structure):
    _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * 2),
                ("strides", ctypes.c_int64 * 2)]
d = Desc(address, address, offset, (ctypes.c_int64 * 2)(*sizes),
         (ctypes.c_int64 * 2)(*strides))
b = (ctypes.c_int64 * 2)(*box)
r = f(2, ctypes.byref(d), dtype, 0, swizzle, 0, 0, b)
print("accepted" if r else "null")
"""

GOOD = (BF16, SWIZZLE_128B, (128, 64), 0x10000, 0, (300, 200), (200, 1))
CASES = [
    ("valid", GOOD, "accepted"),
    ("first element 2 bytes off",
     GOOD[:4] + (1,) + GOOD[5:], "is not 16-byte aligned"),
    ("rows 202 elements apart",
     GOOD[:6] + ((202, 1),), "stride of dimension 0 is 404 bytes"),
    ("innermost stride 2", GOOD[:6] + ((400, 2),), "innermost stride 2"),
    ("box of 512 rows", (BF16, SWIZZLE_128B, (512, 64)) + GOOD[3:],
     "box size 512 of dimension 0"),
    ("box rows of 128 bf16 (256 bytes) under a 128-byte swizzle",
     (BF16, SWIZZLE_128B, (64, 128)) + GOOD[3:],
     "the box's rows are 256 bytes, more than the 128-byte swizzle"),
    ("an empty dimension", GOOD[:5] + ((0, 200),) + GOOD[6:],
     "dimension 0 has size 0"),
    ("unknown data type", (42,) + GOOD[1:], "unknown data type 42"),
]

failures = 0
with tempfile.TemporaryDirectory() as tmp:
    so = os.path.join(tmp, "dryrun.so")
    subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", so, str(SRC)],
                   check=True)
    for name, request, want in CASES:
        run = subprocess.run([sys.executable, "-c",
                              CALL.format(request=request), so],
                             capture_output=True, text=True)
        said = (run.stdout + run.stderr).strip()
        if want == "accepted":
            ok = run.returncode == 0 and said == "accepted"
        else:
            ok = run.returncode == 3 and want in said and \
                "cannot make a TMA tensor map" in said
        print("ok  " if ok else "FAIL", f"{name}: exit {run.returncode}, "
              f"{said.splitlines()[-1] if said else '(nothing)'}")
        failures += not ok
sys.exit(1 if failures else 0)
