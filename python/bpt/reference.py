"""NumPy references for the bpt ops, written independently of the compiler.

Everything is computed in float64 from the values the compiled code sees
(inputs already rounded to their element type), so the difference to a
compiled result is the compiled code's own rounding.
"""

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def attention(q, k, v, mask=None, scale=None, causal=False, window=None,
              query_pos=None, key_pos=0):
    """Scaled dot-product attention with the semantics of bpt.attention.

    q [B, Hq, Sq, D], k [B, Hkv, Sk, D], v [B, Hkv, Sk, Dv]; mask broadcasts
    to [B, Hq, Sq, Sk] (bool keeps where true, float is added). Causal uses
    the bottom-right alignment: query i sits at position i + Sk - Sq unless
    `query_pos` gives the first query's position. Returns (out, lse); a row
    that sees no key gives 0 and lse -inf.
    """
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    _, hq, sq, d = q.shape
    sk = k.shape[2]
    group = hq // k.shape[1]
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    s = np.einsum("bhid,bhjd->bhij", q, k) * scale
    visible = np.ones(s.shape, dtype=bool)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype == np.bool_:
            visible &= np.broadcast_to(mask, s.shape)
        else:
            s = s + np.broadcast_to(mask.astype(np.float64), s.shape)
    if causal:
        qp = (sk - sq if query_pos is None else query_pos) + np.arange(sq)
        kp = key_pos + np.arange(sk)
        vis = kp[None, :] <= qp[:, None]
        if window is not None:
            vis &= (qp[:, None] - kp[None, :]) < window
        visible &= vis
    s = np.where(visible, s, -np.inf)
    if sk == 0:
        # No key at all: every row sees nothing.
        return (np.zeros(q.shape[:3] + (v.shape[3],)),
                np.full(q.shape[:3], -np.inf))
    m = s.max(axis=-1, keepdims=True)
    empty = np.isneginf(m)
    m_safe = np.where(empty, 0.0, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.exp(s - m_safe)
        l = p.sum(axis=-1, keepdims=True)
        out = np.where(l > 0, np.einsum("bhij,bhjd->bhid", p, v) / l, 0.0)
        lse = (m_safe + np.log(l))[..., 0]
    return out, lse


def activation(name, x):
    """The activations of bpt.ffn (for gated forms, of the gate branch)."""
    if name == "relu":
        return np.maximum(x, 0.0)
    if name in ("gelu", "geglu"):
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if name == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi)
                                        * (x + 0.044715 * x ** 3)))
    if name in ("silu", "swiglu"):
        return x / (1.0 + np.exp(-x))
    raise ValueError(f"unknown activation {name}")


def ffn(x, up, down, activation_name, gate=None, up_bias=None,
        down_bias=None, init=None):
    """init + act(x up + up_bias) down + down_bias, or the gated form
    init + (act(x gate) * (x up + up_bias)) down + down_bias."""
    x, up, down = (np.asarray(t, dtype=np.float64) for t in (x, up, down))
    h = x @ up
    if up_bias is not None:
        h = h + np.asarray(up_bias, dtype=np.float64)
    if gate is not None:
        h = activation(activation_name, x @ np.asarray(gate, np.float64)) * h
    else:
        h = activation(activation_name, h)
    y = h @ down
    if down_bias is not None:
        y = y + np.asarray(down_bias, dtype=np.float64)
    if init is not None:
        y = y + np.asarray(init, dtype=np.float64)
    return y
