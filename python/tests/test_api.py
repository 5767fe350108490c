"""bpt.compile and bpt.explain on the raising corpus."""

from pathlib import Path

import numpy as np
import pytest

import bpt

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "test" / "Corpus" / "torch-mlir"
NEGATIVE = REPO / "test" / "Dialect" / "BPT" / "Transforms" / \
    "bpt-raise-attention-negative.mlir"


def first_case(path):
    """The first module of a --split-input-file test, without its checks."""
    return path.read_text().split("// -----")[0]


def random_args(fn, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(t.shape).astype(np.float32)
            for t in fn.arg_types]


@pytest.mark.parametrize("name", ["sdpa_causal_f32", "gpt2_block_f32"])
def test_compile_matches_the_program_as_exported(name):
    text = (CORPUS / f"{name}.mlir").read_text()
    fused = bpt.compile(text, q_block=16, kv_block=32, ffn_chunk=64)[name]
    plain = bpt.compile(text, raise_ops=False, fuse=False)[name]
    args = random_args(plain)
    want = plain(*args)
    err = np.abs(fused(*args) - want).max() / max(1.0, np.abs(want).max())
    assert err <= 2e-5


def test_explain_reports_raised_and_fused_layers():
    report = bpt.explain(CORPUS / "gpt2_block_f32.mlir")
    assert (report.attention, report.causal, report.ffn, report.blocks,
            report.fused_blocks) == (1, 1, 1, 1, 1)
    assert report.remarks == []
    assert "1 attention (1 causal), 1 FFN, 1 block(s)" in str(report)


def test_explain_says_why_a_softmax_is_not_raised():
    report = bpt.explain(first_case(NEGATIVE))
    assert report.attention == 0
    assert len(report.remarks) == 1
    remark = report.remarks[0]
    assert "the softmax reduces dimension 1, not the key dimension" in \
        remark.message
    assert remark.line > 1
    assert "not raised or not fused" in str(report)


@pytest.mark.parametrize("kwargs, message", [
    ({"target": "tpu"}, "unknown target 'tpu'"),
    ({"target": "cuda"}, "takes f16 or bf16 queries, keys and values"),
    ({"q_block": 0}, "q_block must be a positive integer"),
    ({"kv_block": "big"}, "kv_block must be a positive integer"),
])
def test_compile_rejects_bad_options(kwargs, message):
    text = (CORPUS / "sdpa_causal_f32.mlir").read_text()
    with pytest.raises(bpt.BPTError, match=message):
        bpt.compile(text, **kwargs)


def test_explain_reports_invalid_ir_as_an_error():
    with pytest.raises(bpt.BPTError, match="expected 'ins'"):
        bpt.explain("func.func @f() {\n  %0 = bpt.attention causal outs() "
                    "-> tensor<1xf32>\n}\n")
    with pytest.raises(bpt.BPTError, match="expected MLIR text or a path"):
        bpt.explain(42)


def test_cuda_target_builds_and_needs_a_device():
    """The bf16 SDPA of torch-mlir compiles for the GPU here (the CUDA
    toolkit builds the cubin); loading it needs a device."""
    import os
    if not os.path.exists(os.path.join(
            os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "ptxas")):
        pytest.skip("no CUDA toolkit")
    from bpt import gpu
    text = (CORPUS / "sdpa_causal_bf16.mlir").read_text()
    try:
        module = bpt.compile(text, target="cuda", chip="sm_80")
    except bpt.BPTError as e:
        assert "no CUDA device" in str(e) or "libcuda.so.1" in str(e)
        return
    assert "sdpa_causal_bf16" in module.signatures
