# Whole blocks compiled for the GPU and run without one, on the dry-run
# runtime (runtime/cuda/bpt_cuda_dryrun.c: the host code allocates, frees
# and launches as on a GPU; nothing is computed): every buffer the program
# allocates is freed by the end of the call (the FFN's row-tile loop once
# leaked one tile accumulator per iteration), no launch has an empty grid
# (the runtime ends the process on one), and the device-memory peak stays
# below what the S x d_ff hidden activation alone would take (the FFN runs
# in tiles of rows x hidden units; attention never holds S x S scores).
# The host waits for the device once per call (--bpt-gpu-stream: every
# allocation, launch and free on one stream, each used while alive, which
# the dry-run runtime checks), against more than once per launch with
# one-stream=false; both variants also with the sm_90a TMA + wgmma
# contraction kernel (its tensor maps checked against the driver's rules).
#
# REQUIRES: cuda
# RUN: %python %s

import sys
import tempfile

from bpt import gpu, models

CASES = [
    (dict(model="gpt2", seq=300, d_model=128, heads=4, d_ff=1024,
          elem="f16"), "ffn-rows=128 ffn-chunk=192"),
    (dict(model="llama", seq=260, d_model=128, heads=4, kv_heads=2, d_ff=704,
          elem="bf16"), "ffn-rows=64 ffn-chunk=256"),
]

VARIANTS = [("sm_80", ""), ("sm_80", "one-stream=false"),
            ("sm_90a", "wgmma=true")]

failures = 0
with tempfile.TemporaryDirectory() as tmp:
    for i, (kw, options) in enumerate(CASES):
        kw = dict(kw)
        cfg = models.config(kw.pop("model"), **kw)
        for j, (chip, variant) in enumerate(VARIANTS):
            so = gpu.build(models.block(cfg), tmp, f"block{i}_{j}", chip=chip,
                           options=f"{options} {variant}", dry_run=True)
            seen = gpu.dry_run(so, models.function_name(cfg))
            peak, used = seen["peak_bytes"], seen["left_bytes"]
            launches, syncs = seen["launches"], seen["syncs"]
            hidden = cfg.seq * cfg.d_ff * 4  # the whole hidden activation
            ok = used == 0 and 0 < peak < hidden and launches > 0
            ok &= syncs > launches if "one-stream=false" in variant \
                else syncs == 1
            ok &= (seen["tensor_maps"] > 0) == ("wgmma" in variant)
            print("ok  " if ok else "FAIL", cfg.model, options, chip, variant,
                  f"peak {peak} bytes (S x d_ff f32: {hidden}), left {used}, "
                  f"{launches} launches, {syncs} host waits, "
                  f"{seen['tensor_maps']} tensor maps")
            failures += not ok
sys.exit(1 if failures else 0)
