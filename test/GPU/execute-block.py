# Whole transformer blocks executed on a GPU (lit feature cuda-gpu): the
# attention kernel, the tensor-core contraction kernels (QKV, out and FFN
# projections, the FFN in tiles of rows x hidden units with a partial last
# chunk) and the plain kernels (norms, biases, activations, residuals),
# compared with the f64 NumPy model of the block (bpt.models.reference) and
# with the same block compiled for the CPU. GPT-2 (f16, causal), Llama
# (bf16, GQA, SwiGLU, RMSNorm), BERT (bf16, bidirectional), ragged S.
# Cases and tolerances: bpt.testing.GPU_BLOCK_CHECKS / GPU_BLOCK_TOLERANCE
# (1e-2 f16, 3e-2 bf16, relative to max(1, max |reference|)).
#
# REQUIRES: cuda-gpu
# RUN: %python %s

import sys
import tempfile

import numpy as np

import bpt
from bpt import dtypes, gpu, models, testing

CASES = testing.GPU_BLOCK_CHECKS
TOL = testing.GPU_BLOCK_TOLERANCE

failures = 0
rng = np.random.default_rng(0)
with tempfile.TemporaryDirectory() as tmp:
    for i, (kw, options) in enumerate(CASES):
        kw = dict(kw)
        cfg = models.config(kw.pop("model"), **kw)
        text = models.block(cfg)
        inputs = models.random_inputs(cfg, rng)
        so = gpu.build(text, tmp, f"block{i}", chip="sm_80", options=options)
        fn = models.function_name(cfg)
        out = dtypes.to_float(getattr(gpu.load(so), fn)(*inputs), cfg.elem)
        cpu = dtypes.to_float(getattr(bpt.compile(text), fn)(*inputs),
                              cfg.elem)
        ref = models.reference(cfg, *inputs)
        scale = max(1.0, float(np.abs(ref).max()))
        e_ref = float(np.abs(out - ref).max()) / scale
        e_cpu = float(np.abs(out - cpu).max()) / scale
        ok = bool(np.isfinite(out).all()) and e_ref <= TOL[cfg.elem] and \
            e_cpu <= TOL[cfg.elem]
        print("ok  " if ok else "FAIL", cfg.model, cfg.elem, f"S={cfg.seq}",
              options or "(default tiles)",
              f"|gpu - numpy| {e_ref:.2e}  |gpu - cpu| {e_cpu:.2e} "
              f"(relative to {scale:.2f})", flush=True)
        failures += not ok
sys.exit(1 if failures else 0)
