# A whole GPT-2 block held in bpt.block (LayerNorms, fused QKV projection,
# head split/merge, causal attention, out-projection, GELU FFN, residuals),
# executed through --bpt-cpu-pipeline (reference lowering, and after
# --bpt-blockwise with blocks that do not divide S) and compared with the
# NumPy model of the block. Tolerance: max abs error / max(1, max |ref|)
# <= 1e-4 (f32; the LayerNorm divides by small standard deviations).
#
# RUN: %python %s
# RUN: %python %s "--bpt-blockwise=q-block=16 kv-block=8 ffn-chunk=40"

import sys

import numpy as np

from bpt import models
from bpt.compiler import compile_mlir

failed = 0
configs = [
    models.BlockConfig(seq=33, d_model=32, heads=4, d_ff=96),
    models.BlockConfig(seq=64, d_model=48, heads=3, d_ff=80,
                       activation="gelu", causal=False),
    models.BlockConfig(seq=17, d_model=16, heads=1, d_ff=64,
                       activation="relu"),
]
passes = sys.argv[1:]
for i, cfg in enumerate(configs):
    module = compile_mlir(models.gpt2_block(cfg), passes=passes)
    inputs = models.gpt2_random_inputs(cfg, np.random.default_rng(i))
    got = module["gpt2_block"](*inputs)
    ref = models.gpt2_block_reference(cfg, *inputs)
    err = float(np.abs(got - ref).max() / max(1.0, np.abs(ref).max()))
    ok = err <= 1e-4
    failed += not ok
    print(f"{'PASS' if ok else 'FAIL'}: gpt2 block {cfg} {' '.join(passes)}: "
          f"max err {err:.2e}")
print(f"{len(configs) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
