# Whole transformer blocks executed on a GPU (lit feature cuda-gpu): the
# attention kernel, the tensor-core contraction kernels (QKV, out and FFN
# projections, the FFN in tiles of rows x hidden units with a partial last
# chunk) and the plain kernels (norms, biases, activations, residuals),
# compared with the f64 NumPy model of the block (bpt.models.reference) and
# with the same block compiled for the CPU. GPT-2 (f16, causal), Llama
# (bf16, GQA, SwiGLU, RMSNorm), BERT (bf16, bidirectional), ragged S.
# Tolerances, relative to max(1, max |reference|): 1e-2 for f16, 3e-2 for
# bf16 (16-bit activations stored between the block's steps, P and the
# FFN's hidden activation rounded to the input type before their
# contractions, outputs of up to a few units); the CPU build of the same
# blocks is within 5.1e-4 (f16) and 3.1e-3 (bf16) of the model.
#
# REQUIRES: cuda-gpu
# RUN: %python %s

import sys
import tempfile

import numpy as np

import bpt
from bpt import dtypes, gpu, models

CASES = [
    (dict(model="gpt2", seq=200, d_model=128, heads=4, d_ff=512,
          elem="f16"), "ffn-rows=64 ffn-chunk=192"),
    (dict(model="llama", seq=130, d_model=128, heads=4, kv_heads=2, d_ff=352,
          elem="bf16"), "ffn-rows=128 ffn-chunk=128"),
    (dict(model="bert", seq=100, d_model=256, heads=4, d_ff=1024,
          elem="bf16"), ""),
]
TOL = {"f16": 1e-2, "bf16": 3e-2}

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
