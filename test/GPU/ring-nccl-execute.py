# Ring attention executed on two or more GPUs (lit feature cuda-multi-gpu:
# CUDA devices >= 2 and mpirun): one MPI rank per GPU, the key/value blocks
# passed around the ring by NCCL while the attention kernels run. Results
# are compared with the f64 NumPy model of attention over the whole
# sequence: contiguous and zigzag orders, causal and not, GQA, f16 and bf16,
# N = 2 and (with 4 GPUs) 4. Tolerances: 2e-3 (f16), 2e-2 (bf16).
#
# REQUIRES: cuda-multi-gpu
# RUN: %python %s

import ctypes
import sys
import tempfile

import numpy as np

from bpt import dtypes, gpuemu, ring

cuda = ctypes.CDLL("libcuda.so.1")
count = ctypes.c_int(0)
cuda.cuInit(0)
cuda.cuDeviceGetCount(ctypes.byref(count))
SIZES = [n for n in (2, 4) if n <= count.value]

CASES = [
    dict(hq=4, hkv=2, seq=512, d=64, elem="f16", causal=True,
         order="contiguous"),
    dict(hq=4, hkv=1, seq=512, d=128, elem="bf16", causal=True,
         order="zigzag"),
    dict(hq=2, hkv=2, seq=256, d=64, elem="f16", causal=False,
         order="contiguous"),
]


def storage(a, elem):
    return a.astype(np.float16) if elem == "f16" else dtypes.to_bf16(a)


def as_f32(a):
    return dtypes.to_float(a, "bf16") if a.dtype == np.uint16 else \
        a.astype(np.float32)


failures = 0
for n in SIZES:
    for kw in CASES:
        local = kw["seq"] // n
        mlir, _ = gpuemu.attention_case(1, kw["hq"], kw["hkv"], local, local,
                                        kw["d"], kw["elem"],
                                        out_elem=kw["elem"],
                                        causal=kw["causal"])
        rng = np.random.default_rng(n)
        full = [gpuemu.round_to(rng.standard_normal(
            (1, h, kw["seq"], kw["d"])), kw["elem"])
            for h in (kw["hq"], kw["hkv"], kw["hkv"])]
        ref, _ = gpuemu.reference(*full, causal=kw["causal"])
        with tempfile.TemporaryDirectory() as out:
            module = ring.compile_ring_gpu(mlir, n, out, order=kw["order"])
            shards = [[storage(p, kw["elem"]) for p in
                       ring.shard(x, n, kw["order"])] for x in full]
            outs = ring.run(module, mlir, [("attn", shards)], n, timeout=300)
        got = as_f32(ring.unshard(outs[0][0], kw["order"]))
        err = float(np.abs(got - ref).max())
        tol = 2e-3 if kw["elem"] == "f16" else 2e-2
        ok = err <= tol
        failures += not ok
        print(f"N={n} {kw}: max |err| {err:.2e} (tol {tol:.0e}) "
              f"{'ok' if ok else 'FAIL'}")
sys.exit(1 if failures else 0)
