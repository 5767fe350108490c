"""A fused attention forward kernel in Triton: the benchmark's Triton peer
(bench/gpu/run.py), written for this project after the FlashAttention-2
algorithm. One program per (query block of BLOCK_M rows, batch x head):
Q stays in registers, K and V blocks of BLOCK_N keys are loaded in turn,
scores and the running max / sum of the online softmax are f32, P is
rounded to the input type before P V. Only the blocks that need it are
masked: with a causal mask the program runs the blocks left of its
diagonal unmasked and the diagonal ones masked, and stops there; keys
past S are masked only when S is not a multiple of BLOCK_N. Inputs
[B, H, S, D] contiguous, equal query and key lengths (causal masks key
j > query i), D a power of two.

run.py calls attention(q, k, v, causal) and checks its result against
SDPA's before timing it; where Triton is missing or the kernel fails,
run.py reports the column as n/a.
"""

import math

import torch
import triton
import triton.language as tl


@triton.jit
def _blocks(q, K, V, base, stride_s, seq, rows, start, end, m, total, acc,
            scale_log2, BLOCK_N: tl.constexpr, D: tl.constexpr,
            MASK_CAUSAL: tl.constexpr, MASK_KEYS: tl.constexpr):
    """The online softmax over key blocks [start, end) (multiples of
    BLOCK_N): returns the updated (max, sum, accumulator)."""
    cols = tl.arange(0, BLOCK_N)
    feats = tl.arange(0, D)
    for first in range(start, end, BLOCK_N):
        keys = first + cols
        if MASK_KEYS:
            key_ok = keys < seq
            kt = tl.load(K + base + keys[None, :] * stride_s + feats[:, None],
                         mask=key_ok[None, :], other=0.0)
            v = tl.load(V + base + keys[:, None] * stride_s + feats[None, :],
                        mask=key_ok[:, None], other=0.0)
        else:
            kt = tl.load(K + base + keys[None, :] * stride_s + feats[:, None])
            v = tl.load(V + base + keys[:, None] * stride_s + feats[None, :])
        s = tl.dot(q, kt) * scale_log2  # [BLOCK_M, BLOCK_N]
        if MASK_KEYS:
            s = tl.where(key_ok[None, :], s, float("-inf"))
        if MASK_CAUSAL:
            s = tl.where(keys[None, :] <= rows[:, None], s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, 1))
        # Rows that have seen no key yet subtract 0, not -inf.
        base_m = tl.where(m_new == float("-inf"), 0.0, m_new)
        p = tl.exp2(s - base_m[:, None])
        alpha = tl.exp2(m - base_m)
        total = total * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m = m_new
    return m, total, acc


@triton.jit
def _forward(Q, K, V, O, stride_b, stride_h, stride_s, heads, seq,
             scale_log2, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
             D: tl.constexpr, CAUSAL: tl.constexpr, EVEN: tl.constexpr):
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    base = (bh // heads) * stride_b + (bh % heads) * stride_h
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    feats = tl.arange(0, D)
    row_ok = rows[:, None] < seq
    q = tl.load(Q + base + rows[:, None] * stride_s + feats[None, :],
                mask=row_ok, other=0.0)
    m = tl.full([BLOCK_M], float("-inf"), tl.float32)
    total = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, D], tl.float32)
    if CAUSAL:
        # Blocks left of the diagonal block: every row sees every key.
        left = pid_m * BLOCK_M
        m, total, acc = _blocks(q, K, V, base, stride_s, seq, rows, 0, left,
                                m, total, acc, scale_log2, BLOCK_N, D,
                                False, not EVEN)
        end = tl.minimum(left + BLOCK_M, seq)
        m, total, acc = _blocks(q, K, V, base, stride_s, seq, rows, left, end,
                                m, total, acc, scale_log2, BLOCK_N, D,
                                True, not EVEN)
    else:
        m, total, acc = _blocks(q, K, V, base, stride_s, seq, rows, 0, seq,
                                m, total, acc, scale_log2, BLOCK_N, D,
                                False, not EVEN)
    out = acc / tl.where(total > 0, total, 1.0)[:, None]
    tl.store(O + base + rows[:, None] * stride_s + feats[None, :],
             out.to(O.dtype.element_ty), mask=row_ok)


def attention(q, k, v, causal):
    """softmax(q k^T / sqrt(D)) v for [B, H, S, D] tensors on the GPU."""
    b, h, s, d = q.shape
    q, k, v = (t.contiguous() for t in (q, k, v))
    o = torch.empty_like(q)
    block_m, block_n = 128, 64
    grid = (triton.cdiv(s, block_m), b * h)
    _forward[grid](q, k, v, o, q.stride(0), q.stride(1), q.stride(2), h, s,
                   (1.0 / math.sqrt(d)) * 1.4426950408889634,
                   BLOCK_M=block_m, BLOCK_N=block_n, D=d, CAUSAL=causal,
                   EVEN=s % block_m == 0,
                   num_warps=4 if d <= 64 else 8, num_stages=3)
    return o
