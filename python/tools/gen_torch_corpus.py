#!/usr/bin/env python3
"""Generates the torch-mlir corpus: attention and FFN written the ways
PyTorch users write them, exported with torch-mlir's FX importer and lowered
to linalg on tensors, the input of --bpt-raise (issue 4).

Needs torch and torch-mlir in the project's virtual environment:

    .venv/bin/pip install torch
    .venv/bin/pip install --no-deps torch-mlir
    .venv/bin/python python/tools/gen_torch_corpus.py [--out test/Corpus/torch-mlir]

The generated files are committed, so the tests need neither package.
"""

import argparse
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch_mlir import fx

REPO = Path(__file__).resolve().parents[2]


class HandWrittenAttention(torch.nn.Module):
    """q @ k^T / sqrt(d), optional additive mask, softmax, @ v."""

    def __init__(self, masked=False):
        super().__init__()
        self.masked = masked

    def forward(self, q, k, v, *mask):
        s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if self.masked:
            s = s + mask[0]
        return torch.softmax(s, dim=-1) @ v


class CausalMaskedFill(torch.nn.Module):
    """A causal mask built with triu + masked_fill(-inf), scale by mul."""

    def forward(self, q, k, v):
        n = q.shape[-2]
        s = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
        causal = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
        s = s.masked_fill(causal, float("-inf"))
        return torch.softmax(s, dim=-1) @ v


class SDPA(torch.nn.Module):
    def __init__(self, causal=False, gqa=False):
        super().__init__()
        self.causal, self.gqa = causal, gqa

    def forward(self, q, k, v, *mask):
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask[0] if mask else None,
            is_causal=self.causal, enable_gqa=self.gqa)


class LlamaAttention(torch.nn.Module):
    """Hugging Face LLaMA's attention core: rotary embedding on q and k,
    repeat_kv (expand + reshape) for GQA, causal additive mask, eager
    softmax in f32 cast back to the input type."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    @staticmethod
    def rotate_half(x):
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    def forward(self, q, k, v, cos, sin):
        q = q * cos + self.rotate_half(q) * sin
        k = k * cos + self.rotate_half(k) * sin
        b, hkv, s, d = k.shape
        k = k[:, :, None].expand(b, hkv, self.groups, s, d).reshape(
            b, hkv * self.groups, s, d)
        v = v[:, :, None].expand(b, hkv, self.groups, s, d).reshape(
            b, hkv * self.groups, s, d)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(d)
        causal = torch.full((s, s), float("-inf"), dtype=q.dtype).triu(1)
        w = w + causal
        w = torch.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        return torch.matmul(w, v)


class GeluFFN(torch.nn.Module):
    """x + Linear(gelu(Linear(x))), the weights passed in (torch layout
    [out, in]) so that they do not become constants of the module."""

    def forward(self, x, w1, b1, w2, b2):
        return x + F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2)


def cases():
    b, h, s, d = 1, 4, 64, 32
    # Distinct tensors for q, k and v: the exporter folds repeated inputs
    # into one argument.
    q, k, v = (torch.randn(b, h, s, d) for _ in range(3))
    kg, vg = (torch.randn(b, 2, s, d) for _ in range(2))
    mask = torch.randn(b, 1, s, s)
    yield "attention_handwritten_f32", HandWrittenAttention(), (q, k, v)
    yield ("attention_handwritten_mask_f32", HandWrittenAttention(True),
           (q, k, v, mask))
    yield "attention_causal_masked_fill_f32", CausalMaskedFill(), (q, k, v)
    yield "sdpa_causal_f32", SDPA(causal=True), (q, k, v)
    yield "sdpa_mask_f32", SDPA(), (q, k, v, mask)
    yield "sdpa_gqa_f32", SDPA(causal=True, gqa=True), (q, kg, vg)
    cos, sin = torch.randn(s, d), torch.randn(s, d)
    yield ("llama_attention_f32", LlamaAttention(2), (q, kg, vg, cos, sin))
    yield ("attention_handwritten_bf16", HandWrittenAttention(),
           tuple(t.to(torch.bfloat16) for t in (q, k, v)))
    f = 4 * d
    yield "ffn_gelu_f32", GeluFFN(), (torch.randn(b, s, d),
                                      torch.randn(f, d), torch.randn(f),
                                      torch.randn(d, f), torch.randn(d))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "test" / "Corpus" /
                    "torch-mlir")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for name, module, inputs in cases():
        module.eval()
        with torch.no_grad():
            m = fx.export_and_import(module, *inputs,
                                     output_type="linalg-on-tensors",
                                     func_name=name)
        text = (f"// Generated by python/tools/gen_torch_corpus.py with "
                f"torch {torch.__version__} and torch-mlir's FX importer\n"
                f"// (linalg-on-tensors). Input of --bpt-raise.\n{m}\n")
        (args.out / f"{name}.mlir").write_text(text)
        print(f"wrote {name}.mlir")


if __name__ == "__main__":
    main()
