import math

import numpy as np

from bpt import reference


def test_uniform_scores_average_the_values():
    q = np.zeros((1, 1, 3, 4))
    k = np.random.default_rng(0).standard_normal((1, 1, 5, 4))
    v = np.arange(10.0).reshape(1, 1, 5, 2)
    out, lse = reference.attention(q, k, v)
    assert np.allclose(out, v.mean(axis=2, keepdims=True))
    assert np.allclose(lse, math.log(5))


def test_causal_bottom_right_alignment():
    # Sq = 2, Sk = 4: query 0 sits at position 2 and sees keys 0..2.
    q = np.zeros((1, 1, 2, 1))
    k = np.zeros((1, 1, 4, 1))
    v = np.arange(4.0).reshape(1, 1, 4, 1)
    out, _ = reference.attention(q, k, v, causal=True)
    assert np.allclose(out[0, 0, :, 0], [1.0, 1.5])


def test_fully_masked_row_gives_zero_and_minus_inf_lse():
    q = np.ones((1, 1, 2, 2))
    v = np.ones((1, 1, 2, 2))
    mask = np.array([[True, True], [False, False]])
    out, lse = reference.attention(q, q, v, mask=mask)
    assert np.all(out[0, 0, 1] == 0) and np.isneginf(lse[0, 0, 1])
    assert np.all(np.isfinite(out))


def test_gqa_matches_repeated_heads():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((2, 6, 4, 8))
    k = rng.standard_normal((2, 2, 5, 8))
    v = rng.standard_normal((2, 2, 5, 8))
    grouped, _ = reference.attention(q, k, v)
    repeated, _ = reference.attention(q, np.repeat(k, 3, 1), np.repeat(v, 3, 1))
    assert np.allclose(grouped, repeated)


def test_gated_ffn():
    x = np.array([[1.0, -1.0]])
    up = np.eye(2)
    gate = np.eye(2)
    down = np.ones((2, 1))
    got = reference.ffn(x, up, down, "swiglu", gate=gate)
    silu = lambda t: t / (1 + np.exp(-t))
    assert np.allclose(got, silu(1.0) * 1.0 + silu(-1.0) * -1.0)
