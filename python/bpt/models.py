"""Transformer blocks as MLIR text, with NumPy references.

`gpt2_block(cfg)` emits one GPT-2 decoder block (pre-LayerNorm, fused QKV
projection, causal multi-head attention, out-projection, residual,
LayerNorm, GELU FFN, residual) as a `bpt.block` whose row-wise parts are
ordinary linalg, the unit that --bpt-decompose and --bpt-blockwise work on.
`gpt2_block_reference` computes the same block in NumPy (float64).
"""

import math
from dataclasses import dataclass

import numpy as np

from . import reference
from .errors import BPTError


@dataclass
class BlockConfig:
    seq: int = 128
    d_model: int = 64
    heads: int = 4
    d_ff: int = 256
    activation: str = "gelu_tanh"
    causal: bool = True
    eps: float = 1e-5
    elem: str = "f32"

    def validate(self):
        if self.d_model % self.heads:
            raise BPTError(f"d_model {self.d_model} is not a multiple of "
                           f"heads {self.heads}")
        for name in ("seq", "d_model", "heads", "d_ff"):
            if getattr(self, name) <= 0:
                raise BPTError(f"{name} must be positive, got "
                               f"{getattr(self, name)}")
        if self.elem != "f32":
            raise BPTError("gpt2_block emits f32 only for now")

    @property
    def head_dim(self):
        return self.d_model // self.heads


def _t(*dims, elem="f32"):
    return "tensor<" + "".join(f"{d}x" for d in dims) + elem + ">"


class _Emitter:
    """Collects the lines of a function body with fresh SSA names."""

    def __init__(self):
        self.lines, self.n = [], 0

    def fresh(self, hint="v"):
        self.n += 1
        return f"%{hint}{self.n}"

    def __call__(self, line):
        self.lines.append("    " + line)


def _layer_norm(e, x, gamma, beta, s, d, eps):
    """LayerNorm over the last dimension of x [s, d], as linalg.generic."""
    row = _t(s)
    full = _t(s, d)
    maps_rd = ("affine_map<(i, j) -> (i, j)>", "affine_map<(i, j) -> (i)>")
    zero = e.fresh("zero")
    e(f"{zero} = arith.constant 0.0 : f32")
    acc = e.fresh("acc")
    e(f"{acc} = tensor.empty() : {row}")
    acc0 = e.fresh("acc")
    e(f"{acc0} = linalg.fill ins({zero} : f32) outs({acc} : {row}) -> {row}")
    total = e.fresh("sum")
    e(f"{total} = linalg.generic {{indexing_maps = [{maps_rd[0]}, {maps_rd[1]}], "
      f"iterator_types = [\"parallel\", \"reduction\"]}} ins({x} : {full}) "
      f"outs({acc0} : {row}) {{")
    e(f"^bb0(%a: f32, %b: f32):")
    e(f"  %s = arith.addf %a, %b : f32")
    e(f"  linalg.yield %s : f32")
    e(f"}} -> {row}")
    sq = e.fresh("sqsum")
    e(f"{sq} = linalg.generic {{indexing_maps = [{maps_rd[0]}, {maps_rd[1]}, "
      f"{maps_rd[1]}], iterator_types = [\"parallel\", \"reduction\"]}} "
      f"ins({x}, {total} : {full}, {row}) outs({acc0} : {row}) {{")
    e(f"^bb0(%a: f32, %t: f32, %b: f32):")
    e(f"  %n = arith.constant {float(d)!r} : f32")
    e(f"  %m = arith.divf %t, %n : f32")
    e(f"  %c = arith.subf %a, %m : f32")
    e(f"  %c2 = arith.mulf %c, %c : f32")
    e(f"  %s = arith.addf %c2, %b : f32")
    e(f"  linalg.yield %s : f32")
    e(f"}} -> {row}")
    out = e.fresh("ln")
    empty = e.fresh("e")
    e(f"{empty} = tensor.empty() : {full}")
    e(f"{out} = linalg.generic {{indexing_maps = [{maps_rd[0]}, {maps_rd[1]}, "
      f"{maps_rd[1]}, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (j)>, "
      f"{maps_rd[0]}], iterator_types = [\"parallel\", \"parallel\"]}} "
      f"ins({x}, {total}, {sq}, {gamma}, {beta} : {full}, {row}, {row}, "
      f"{_t(d)}, {_t(d)}) outs({empty} : {full}) {{")
    e(f"^bb0(%a: f32, %t: f32, %q: f32, %g: f32, %bb: f32, %o: f32):")
    e(f"  %n = arith.constant {float(d)!r} : f32")
    e(f"  %eps = arith.constant {eps:.6e} : f32")
    e(f"  %m = arith.divf %t, %n : f32")
    e(f"  %var = arith.divf %q, %n : f32")
    e(f"  %ve = arith.addf %var, %eps : f32")
    e(f"  %sd = math.sqrt %ve : f32")
    e(f"  %c = arith.subf %a, %m : f32")
    e(f"  %nrm = arith.divf %c, %sd : f32")
    e(f"  %sc = arith.mulf %nrm, %g : f32")
    e(f"  %r = arith.addf %sc, %bb : f32")
    e(f"  linalg.yield %r : f32")
    e(f"}} -> {full}")
    return out


def _linear(e, x, w, b, m, k, n, residual=None):
    """x [m, k] @ w [k, n] + b [n] (+ residual [m, n])."""
    out_t = _t(m, n)
    zero = e.fresh("zero")
    e(f"{zero} = arith.constant 0.0 : f32")
    empty = e.fresh("e")
    e(f"{empty} = tensor.empty() : {out_t}")
    init = e.fresh("init")
    e(f"{init} = linalg.fill ins({zero} : f32) outs({empty} : {out_t}) -> {out_t}")
    mm = e.fresh("mm")
    e(f"{mm} = linalg.matmul ins({x}, {w} : {_t(m, k)}, {_t(k, n)}) "
      f"outs({init} : {out_t}) -> {out_t}")
    out = e.fresh("lin")
    ins = [mm, b] + ([residual] if residual else [])
    types = [out_t, _t(n)] + ([out_t] if residual else [])
    maps = ["affine_map<(i, j) -> (i, j)>", "affine_map<(i, j) -> (j)>"] + (
        ["affine_map<(i, j) -> (i, j)>"] if residual else [])
    e(f"{out} = linalg.generic {{indexing_maps = [{', '.join(maps)}, "
      f"affine_map<(i, j) -> (i, j)>], iterator_types = [\"parallel\", "
      f"\"parallel\"]}} ins({', '.join(ins)} : {', '.join(types)}) "
      f"outs({empty} : {out_t}) {{")
    args = ", ".join(f"%a{i}: f32" for i in range(len(ins)))
    e(f"^bb0({args}, %o: f32):")
    e(f"  %s = arith.addf %a0, %a1 : f32")
    if residual:
        e(f"  %r = arith.addf %s, %a2 : f32")
        e(f"  linalg.yield %r : f32")
    else:
        e(f"  linalg.yield %s : f32")
    e(f"}} -> {out_t}")
    return out


def gpt2_block(cfg, name="gpt2_block"):
    """MLIR text of a module with one function @name(x, params...) -> y."""
    cfg.validate()
    s, d, h, dh, f = cfg.seq, cfg.d_model, cfg.heads, cfg.head_dim, cfg.d_ff
    params = gpt2_param_shapes(cfg)
    args = [("x", (s, d))] + list(params.items())
    sig = ", ".join(f"%{n}: {_t(*shape)}" for n, shape in args)
    bind = ", ".join(f"%{n}_ = %{n} : {_t(*shape)}" for n, shape in args)
    e = _Emitter()
    x = "%x_"
    ln1 = _layer_norm(e, x, "%ln1_g_", "%ln1_b_", s, d, cfg.eps)
    qkv = _linear(e, ln1, "%w_qkv_", "%b_qkv_", s, d, 3 * d)
    heads = []
    for i, part in enumerate("qkv"):
        sl = e.fresh(part)
        e(f"{sl} = tensor.extract_slice {qkv}[0, {i * d}] [{s}, {d}] [1, 1] : "
          f"{_t(s, 3 * d)} to {_t(s, d)}")
        split = e.fresh(part)
        e(f"{split} = tensor.expand_shape {sl} [[0], [1, 2]] output_shape "
          f"[{s}, {h}, {dh}] : {_t(s, d)} into {_t(s, h, dh)}")
        tr_e = e.fresh("e")
        e(f"{tr_e} = tensor.empty() : {_t(h, s, dh)}")
        tr = e.fresh(part)
        e(f"{tr} = linalg.transpose ins({split} : {_t(s, h, dh)}) outs({tr_e} : "
          f"{_t(h, s, dh)}) permutation = [1, 0, 2]")
        b4 = e.fresh(part)
        e(f"{b4} = tensor.expand_shape {tr} [[0, 1], [2], [3]] output_shape "
          f"[1, {h}, {s}, {dh}] : {_t(h, s, dh)} into {_t(1, h, s, dh)}")
        heads.append(b4)
    t4 = _t(1, h, s, dh)
    ao = e.fresh("e")
    e(f"{ao} = tensor.empty() : {t4}")
    attn = e.fresh("attn")
    causal = "causal " if cfg.causal else ""
    e(f"{attn} = bpt.attention {causal}ins({heads[0]}, {heads[1]}, {heads[2]} : "
      f"{t4}, {t4}, {t4}) outs({ao} : {t4}) -> {t4}")
    merged3 = e.fresh("m")
    e(f"{merged3} = tensor.collapse_shape {attn} [[0, 1], [2], [3]] : {t4} into "
      f"{_t(h, s, dh)}")
    tr_e = e.fresh("e")
    e(f"{tr_e} = tensor.empty() : {_t(s, h, dh)}")
    merged_t = e.fresh("m")
    e(f"{merged_t} = linalg.transpose ins({merged3} : {_t(h, s, dh)}) outs({tr_e} : "
      f"{_t(s, h, dh)}) permutation = [1, 0, 2]")
    merged = e.fresh("m")
    e(f"{merged} = tensor.collapse_shape {merged_t} [[0], [1, 2]] : {_t(s, h, dh)} "
      f"into {_t(s, d)}")
    h1 = _linear(e, merged, "%w_o_", "%b_o_", s, d, d, residual=x)
    ln2 = _layer_norm(e, h1, "%ln2_g_", "%ln2_b_", s, d, cfg.eps)
    y = e.fresh("y")
    e(f"{y} = bpt.ffn {cfg.activation} ins({ln2} : {_t(s, d)}) "
      f"up(%w_up_ : {_t(d, f)}) up_bias(%b_up_ : {_t(f)}) "
      f"down(%w_down_ : {_t(f, d)}) down_bias(%b_down_ : {_t(d)}) "
      f"outs({h1} : {_t(s, d)}) -> {_t(s, d)}")
    e(f"bpt.yield {y} : {_t(s, d)}")
    body = "\n".join("  " + line for line in e.lines)
    return (f"// One GPT-2 decoder block: S={s}, d_model={d}, heads={h}, "
            f"d_ff={f}, {cfg.activation}, {'causal' if cfg.causal else 'bidirectional'}.\n"
            f"// Generated by bpt.models.gpt2_block.\n"
            f"func.func @{name}({sig}) -> {_t(s, d)} {{\n"
            f"  %y = bpt.block ({bind}) -> ({_t(s, d)}) {{\n{body}\n  }}\n"
            f"  return %y : {_t(s, d)}\n}}\n")


def gpt2_param_shapes(cfg):
    d, f = cfg.d_model, cfg.d_ff
    return {"ln1_g": (d,), "ln1_b": (d,), "w_qkv": (d, 3 * d),
            "b_qkv": (3 * d,), "w_o": (d, d), "b_o": (d,), "ln2_g": (d,),
            "ln2_b": (d,), "w_up": (d, f), "b_up": (f,), "w_down": (f, d),
            "b_down": (d,)}


def gpt2_random_inputs(cfg, rng):
    """x and the parameters, scaled like an initialised GPT-2."""
    arrays = [rng.standard_normal((cfg.seq, cfg.d_model))]
    for name, shape in gpt2_param_shapes(cfg).items():
        if name.endswith("_g"):
            a = 1.0 + 0.1 * rng.standard_normal(shape)
        elif len(shape) == 1:
            a = 0.02 * rng.standard_normal(shape)
        else:
            a = rng.standard_normal(shape) / math.sqrt(shape[0])
        arrays.append(a)
    return [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]


def _layer_norm_ref(x, g, b, eps):
    m = x.mean(axis=-1, keepdims=True)
    v = ((x - m) ** 2).mean(axis=-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def gpt2_block_reference(cfg, x, ln1_g, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_g,
                         ln2_b, w_up, b_up, w_down, b_down):
    """The block of gpt2_block in NumPy, float64."""
    x = x.astype(np.float64)
    s, d, h = cfg.seq, cfg.d_model, cfg.heads
    qkv = _layer_norm_ref(x, ln1_g, ln1_b, cfg.eps) @ w_qkv + b_qkv
    q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(s, h, cfg.head_dim)
               .transpose(1, 0, 2)[None] for i in range(3))
    attn, _ = reference.attention(q, k, v, causal=cfg.causal)
    merged = attn[0].transpose(1, 0, 2).reshape(s, d)
    h1 = merged @ w_o + b_o + x
    return reference.ffn(_layer_norm_ref(h1, ln2_g, ln2_b, cfg.eps), w_up,
                         w_down, cfg.activation, up_bias=b_up,
                         down_bias=b_down, init=h1)
