# Whole transformer blocks held in bpt.block, executed and compared with
# NumPy models of the blocks: GPT-2 (LayerNorm, fused QKV projection with
# biases, GELU FFN) and LLaMA (RMSNorm, separate projections, grouped-query
# attention, SwiGLU), each through the reference lowering and through
# --bpt-blockwise with block sizes that do not divide S. Tolerance: max abs
# error / max(1, max |ref|) <= 1e-4 (f32; the norms divide by small
# standard deviations).
#
# RUN: %python %s
# RUN: %python %s "--bpt-blockwise=q-block=16 kv-block=8 ffn-chunk=40"

import sys

import numpy as np

from bpt import models
from bpt.compiler import compile_mlir

C = models.BlockConfig
cases = [
    ("gpt2", C(seq=33, d_model=32, heads=4, d_ff=96)),
    ("gpt2", C(seq=64, d_model=48, heads=3, d_ff=80, activation="gelu",
               causal=False)),
    ("gpt2", C(seq=17, d_model=16, heads=1, d_ff=64, activation="relu")),
    ("llama", C(seq=45, d_model=64, heads=8, kv_heads=2, d_ff=88)),
    ("llama", C(seq=32, d_model=32, heads=4, kv_heads=1, d_ff=64,
                causal=False)),
]
build = {"gpt2": (models.gpt2_block, models.gpt2_random_inputs,
                  models.gpt2_block_reference),
         "llama": (models.llama_block, models.llama_random_inputs,
                   models.llama_block_reference)}
passes = sys.argv[1:]
failed = 0
for i, (kind, cfg) in enumerate(cases):
    emit, inputs_of, reference = build[kind]
    module = compile_mlir(emit(cfg), passes=passes)
    inputs = inputs_of(cfg, np.random.default_rng(i))
    got = module[f"{kind}_block"](*inputs)
    ref = reference(cfg, *inputs)
    err = float(np.abs(got - ref).max() / max(1.0, np.abs(ref).max()))
    ok = err <= 1e-4
    failed += not ok
    print(f"{'PASS' if ok else 'FAIL'}: {kind} S={cfg.seq} d={cfg.d_model} "
          f"heads={cfg.heads}/{cfg.kv_heads} d_ff={cfg.d_ff} "
          f"{' '.join(passes)}: max err {err:.2e}")
print(f"{len(cases) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
