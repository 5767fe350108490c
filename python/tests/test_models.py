"""bpt.models: config-driven GPT-2, BERT and LLaMA blocks against their
NumPy references, unfused and blockwise, and the configuration errors."""

import numpy as np
import pytest

from bpt import BPTError, dtypes, models
from bpt.compiler import compile_mlir
from bpt.testing import max_error

SMALL = dict(seq=40, d_model=32, heads=4, d_ff=64)
CASES = [
    ("gpt2", {}),
    ("gpt2", dict(activation="relu", causal=False)),
    ("bert", {}),
    ("bert", dict(activation="silu", causal=True, seq=33)),
    ("llama", dict(kv_heads=2)),
    ("llama", dict(kv_heads=1, seq=57)),
    ("gpt2", dict(dtype="f16")),
    ("bert", dict(dtype="bf16", seq=33)),
    ("llama", dict(kv_heads=2, dtype="bf16")),
    ("llama", dict(kv_heads=4, dtype="f16")),
]
# Against a NumPy model that rounds where the block stores values: f32
# rounding of the sums, and f16/bf16 rounding of the sums' own order.
TOLERANCE = {"f32": 2e-5, "f16": 2e-3, "bf16": 1.6e-2}


@pytest.mark.parametrize("model,overrides", CASES)
def test_block_matches_numpy(model, overrides):
    cfg = models.config(model, **{**SMALL, **overrides})
    text = models.block(cfg)
    inputs = models.random_inputs(cfg, np.random.default_rng(3))
    ref = models.reference(cfg, *inputs)
    for passes in (["--bpt-decompose"],
                   ["--bpt-blockwise=q-block=16 kv-block=8 ffn-chunk=24"]):
        y = compile_mlir(text, passes=passes)[models.function_name(cfg)](
            *inputs)
        err = max_error(dtypes.to_float(y, cfg.elem), ref)
        assert err <= TOLERANCE[cfg.elem], (model, overrides, passes, err)


def test_presets_are_the_published_sizes():
    assert (models.config("bert").d_model, models.config("bert").causal) == (
        768, False)
    llama = models.config("llama", seq=8)
    assert (llama.heads, llama.kv_heads, llama.norm) == (16, 4, "rmsnorm")


def test_reference_rows_equal_the_full_reference():
    cfg = models.config("gpt2", **SMALL)
    inputs = models.random_inputs(cfg, np.random.default_rng(0))
    full = models.reference(cfg, *inputs)
    rows = models.gpt2_block_reference(cfg, *inputs, rows=(30, 40))
    np.testing.assert_allclose(rows, full[30:40], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model,overrides,message", [
    ("gpt3", {}, "unknown model 'gpt3'"),
    ("gpt2", dict(heads=5), "not a multiple of heads 5"),
    ("gpt2", dict(activation="swish"), "unknown activation 'swish'"),
    ("llama", dict(activation="gelu"), "supports activations swiglu"),
    ("bert", dict(norm="rmsnorm"), "uses layernorm"),
    ("gpt2", dict(kv_heads=4), "available in the llama block only"),
    ("llama", dict(kv_heads=3), "kv_heads 3 does not divide heads 16"),
    ("gpt2", dict(seq=0), "seq must be positive"),
    ("gpt2", dict(seq="4k"), "seq must be an integer"),
    ("gpt2", dict(dtype="f64"), "unsupported dtype 'f64'"),
    ("gpt2", dict(dmodel=8), "unknown configuration field(s) dmodel"),
])
def test_bad_configurations_are_clear_errors(model, overrides, message):
    with pytest.raises(BPTError, match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        models.config(model, **overrides)
