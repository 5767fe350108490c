#!/usr/bin/env python3
"""Generates the torch-mlir corpus: attention and FFN written the ways
PyTorch users write them, exported with torch-mlir's FX importer and lowered
to linalg on tensors, the input of --bpt-raise (issue 4).

Needs torch, torch-mlir and ml_dtypes in the project's virtual environment
(`BPT_CORPUS=1 scripts/setup.sh` installs them), and mlir-opt of LLVM 22:

    BPT_CORPUS=1 scripts/setup.sh
    .venv/bin/python python/tools/gen_torch_corpus.py [--out test/Corpus/torch-mlir]

The generated files are committed, so the tests need neither package.
With --tosa (the default) every case is also exported as TOSA and lowered
by MLIR's own tosa-to-linalg passes (mlir-opt of the LLVM the project builds
with) into test/Corpus/tosa: the same graphs in TOSA's linalg idiom
(linalg.reduce, reciprocal-multiply softmax, constant iotas).
"""

import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch_mlir import fx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))

from bpt.frontends import tosa_to_linalg  # noqa: E402


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


class DropoutAttention(torch.nn.Module):
    """Attention with dropout on the probabilities (p = 0.1), exported in
    eval mode, where it is the identity."""

    def forward(self, q, k, v):
        w = torch.softmax(q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5, -1)
        return F.dropout(w, p=0.1, training=self.training) @ v


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


def gelu_new(x):
    """GPT-2's tanh approximation of GELU, as Hugging Face writes it."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) *
                                       (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Block(torch.nn.Module):
    """Hugging Face GPT-2's block: pre-norm, Conv1D (addmm) projections with
    a fused QKV split, heads split and merged with view/transpose, causal
    masking with torch.where and the lowest finite float, gelu_new MLP."""

    def __init__(self, d, heads, d_ff):
        super().__init__()
        self.h = heads
        self.ln_1 = torch.nn.LayerNorm(d)
        self.ln_2 = torch.nn.LayerNorm(d)
        self.c_attn_w = torch.nn.Parameter(torch.randn(d, 3 * d) * 0.05)
        self.c_attn_b = torch.nn.Parameter(torch.randn(3 * d) * 0.05)
        self.c_proj_w = torch.nn.Parameter(torch.randn(d, d) * 0.05)
        self.c_proj_b = torch.nn.Parameter(torch.randn(d) * 0.05)
        self.c_fc_w = torch.nn.Parameter(torch.randn(d, d_ff) * 0.05)
        self.c_fc_b = torch.nn.Parameter(torch.randn(d_ff) * 0.05)
        self.c_mlp_w = torch.nn.Parameter(torch.randn(d_ff, d) * 0.05)
        self.c_mlp_b = torch.nn.Parameter(torch.randn(d) * 0.05)

    @staticmethod
    def conv1d(x, w, b):
        size = x.size()[:-1] + (w.size(-1),)
        return torch.addmm(b, x.view(-1, x.size(-1)), w).view(size)

    def split_heads(self, x):
        b, s, d = x.shape
        return x.view(b, s, self.h, d // self.h).permute(0, 2, 1, 3)

    def forward(self, x):
        b, s, d = x.shape
        qkv = self.conv1d(self.ln_1(x), self.c_attn_w, self.c_attn_b)
        q, k, v = (self.split_heads(t) for t in qkv.split(d, dim=2))
        w = torch.matmul(q, k.transpose(-1, -2))
        w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
        causal = torch.tril(torch.ones(s, s, dtype=torch.bool)).view(
            1, 1, s, s)
        w = torch.where(causal, w,
                        torch.full([], torch.finfo(w.dtype).min,
                                   dtype=w.dtype))
        w = torch.softmax(w, dim=-1)
        a = torch.matmul(w, v).permute(0, 2, 1, 3).contiguous().view(b, s, d)
        x = x + self.conv1d(a, self.c_proj_w, self.c_proj_b)
        h = gelu_new(self.conv1d(self.ln_2(x), self.c_fc_w, self.c_fc_b))
        return x + self.conv1d(h, self.c_mlp_w, self.c_mlp_b)


class LlamaDecoderLayer(torch.nn.Module):
    """Hugging Face LLaMA's decoder layer: RMSNorm, bias-free projections,
    rotary embeddings, repeat_kv GQA, causal mask, f32 softmax, SwiGLU."""

    def __init__(self, d, heads, kv_heads, d_ff):
        super().__init__()
        self.h, self.hkv, self.dh = heads, kv_heads, d // heads
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False)
        self.q_proj, self.k_proj = lin(d, d), lin(d, kv_heads * self.dh)
        self.v_proj, self.o_proj = lin(d, kv_heads * self.dh), lin(d, d)
        self.gate_proj, self.up_proj = lin(d, d_ff), lin(d, d_ff)
        self.down_proj = lin(d_ff, d)
        self.w1 = torch.nn.Parameter(1 + 0.1 * torch.randn(d))
        self.w2 = torch.nn.Parameter(1 + 0.1 * torch.randn(d))
        self.attn = LlamaAttention(heads // kv_heads)

    @staticmethod
    def rms_norm(x, w, eps=1e-6):
        var = x.pow(2).mean(-1, keepdim=True)
        return w * (x * torch.rsqrt(var + eps))

    def forward(self, x, cos, sin):
        b, s, d = x.shape
        h = self.rms_norm(x, self.w1)
        q = self.q_proj(h).view(b, s, self.h, self.dh).transpose(1, 2)
        k = self.k_proj(h).view(b, s, self.hkv, self.dh).transpose(1, 2)
        v = self.v_proj(h).view(b, s, self.hkv, self.dh).transpose(1, 2)
        a = self.attn(q, k, v, cos, sin).transpose(1, 2).reshape(b, s, d)
        x = x + self.o_proj(a)
        h = self.rms_norm(x, self.w2)
        return x + self.down_proj(
            F.silu(self.gate_proj(h)) * self.up_proj(h))


class BertLayer(torch.nn.Module):
    """Hugging Face BERT's layer: Linear q/k/v, the extended additive mask
    (1 - mask) * lowest float, post-norm LayerNorms, GELU (erf)."""

    def __init__(self, d, heads, d_ff):
        super().__init__()
        self.h = heads
        self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d)
                                          for _ in range(4))
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.inter, self.out = torch.nn.Linear(d, d_ff), torch.nn.Linear(
            d_ff, d)

    def heads(self, x):
        b, s, d = x.shape
        return x.view(b, s, self.h, d // self.h).permute(0, 2, 1, 3)

    def forward(self, x, attention_mask):
        b, s, d = x.shape
        ext = (1.0 - attention_mask[:, None, None, :]) * torch.finfo(
            x.dtype).min
        q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(
            self.v(x))
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d // self.h)
        w = torch.softmax(w + ext, dim=-1)
        a = torch.matmul(w, v).permute(0, 2, 1, 3).reshape(b, s, d)
        x = self.ln1(x + self.o(a))
        return self.ln2(x + self.out(F.gelu(self.inter(x))))


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
    yield "attention_dropout_eval_f32", DropoutAttention(), (q, k, v)
    bf = torch.bfloat16
    yield ("sdpa_causal_bf16", SDPA(causal=True),
           tuple(t.to(bf) for t in (q, k, v)))
    yield ("sdpa_mask_bf16", SDPA(),
           tuple(t.to(bf) for t in (q, k, v, mask)))
    yield ("sdpa_gqa_bf16", SDPA(causal=True, gqa=True),
           tuple(t.to(bf) for t in (q, kg, vg)))
    x = torch.randn(b, s, 64)
    yield "gpt2_block_f32", GPT2Block(64, 4, 256), (x,)
    yield "gpt2_block_bf16", GPT2Block(64, 4, 256).to(bf), (x.to(bf),)
    yield ("llama_decoder_layer_bf16",
           LlamaDecoderLayer(64, 4, 2, 96).to(bf),
           (x.to(bf), torch.randn(s, 16).to(bf), torch.randn(s, 16).to(bf)))
    yield ("llama_decoder_layer_f32", LlamaDecoderLayer(64, 4, 2, 96),
           (x, torch.randn(s, 16), torch.randn(s, 16)))
    yield ("bert_layer_f32", BertLayer(64, 4, 256),
           (x, (torch.rand(b, s) > 0.2).float()))
    yield ("bert_layer_bf16", BertLayer(64, 4, 256).to(bf),
           (x.to(bf), (torch.rand(b, s) > 0.2).to(bf)))
    f = 4 * d
    yield "ffn_gelu_f32", GeluFFN(), (torch.randn(b, s, d),
                                      torch.randn(f, d), torch.randn(f),
                                      torch.randn(d, f), torch.randn(d))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "test" / "Corpus" /
                    "torch-mlir")
    ap.add_argument("--tosa-out", type=Path, default=REPO / "test" /
                    "Corpus" / "tosa")
    ap.add_argument("--no-tosa", dest="tosa", action="store_false")
    ap.add_argument("--mlir-opt", default="/usr/lib/llvm-22/bin/mlir-opt")
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
        if not args.tosa:
            continue
        with torch.no_grad():
            t = fx.export_and_import(module, *inputs, output_type="tosa",
                                     func_name=name)
        lowered = tosa_to_linalg(t, args.mlir_opt)
        if lowered is None:
            print(f"  (no TOSA form: {name} does not lower to linalg)")
            continue
        args.tosa_out.mkdir(parents=True, exist_ok=True)
        (args.tosa_out / f"{name}.mlir").write_text(
            f"// Generated by python/tools/gen_torch_corpus.py with torch "
            f"{torch.__version__}: torch-mlir's TOSA output lowered by\n"
            f"// mlir-opt's tosa-to-linalg passes. Input of --bpt-raise.\n"
            f"{lowered}")
        print(f"  and tosa/{name}.mlir")


if __name__ == "__main__":
    main()
