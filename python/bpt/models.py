"""Transformer blocks as MLIR text, with NumPy references.

Three block families, each a `bpt.block` whose row-wise parts are ordinary
linalg on tensors (the unit --bpt-decompose and --bpt-blockwise work on):

  gpt2   pre-LayerNorm, fused QKV projection with bias, causal multi-head
         attention, out-projection + residual, LayerNorm, GELU (tanh) FFN
         with biases + residual
  bert   post-LayerNorm: Q/K/V projections with biases, bidirectional
         attention, out-projection + residual, LayerNorm, GELU (erf) FFN
         with biases + residual, LayerNorm
  llama  RMSNorm, Q/K/V projections, grouped-query causal attention,
         out-projection + residual, RMSNorm, SwiGLU FFN + residual

Config-driven use:

    cfg = models.config("bert", seq=4096, dtype="bf16")  # preset + overrides
    text = models.block(cfg)                       # MLIR text
    inputs = models.random_inputs(cfg, rng)        # x and the parameters
    y = models.reference(cfg, *inputs)             # NumPy, float64

Bad configurations raise BPTError naming the field and the reason.
"""

import math
from dataclasses import dataclass

import numpy as np

from . import dtypes
from . import reference as _ref
from .errors import BPTError


ELEMS = ("f32", "f16", "bf16")
ACTIVATIONS = ("relu", "gelu", "gelu_tanh", "silu", "swiglu", "geglu")
NORMS = ("layernorm", "rmsnorm")


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
    kv_heads: int = None
    model: str = "gpt2"
    norm: str = None

    def __post_init__(self):
        self.kv_heads = self.kv_heads or self.heads
        self.norm = self.norm or ("rmsnorm" if self.model == "llama"
                                  else "layernorm")

    def validate(self):
        if self.model not in FAMILIES:
            raise BPTError(f"unknown model {self.model!r}: expected one of "
                           f"{', '.join(FAMILIES)}")
        for name in ("seq", "d_model", "heads", "d_ff", "kv_heads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise BPTError(f"{name} must be an integer, got {value!r}")
        if self.activation not in ACTIVATIONS:
            raise BPTError(f"unknown activation {self.activation!r}: "
                           f"expected one of {', '.join(ACTIVATIONS)}")
        family = FAMILIES[self.model]
        if self.activation not in family["activations"]:
            raise BPTError(f"the {self.model} block supports activations "
                           f"{', '.join(family['activations'])}, not "
                           f"{self.activation!r}")
        if self.norm != family["norm"]:
            raise BPTError(f"the {self.model} block uses {family['norm']}, "
                           f"not {self.norm!r}")
        if self.model != "llama" and self.kv_heads != self.heads:
            raise BPTError(f"grouped-query attention (kv_heads "
                           f"{self.kv_heads} != heads {self.heads}) is "
                           f"available in the llama block only")
        if self.d_model % self.heads:
            raise BPTError(f"d_model {self.d_model} is not a multiple of "
                           f"heads {self.heads}")
        if self.heads % self.kv_heads:
            raise BPTError(f"kv_heads {self.kv_heads} does not divide heads "
                           f"{self.heads}")
        for name in ("seq", "d_model", "heads", "d_ff"):
            if getattr(self, name) <= 0:
                raise BPTError(f"{name} must be positive, got "
                               f"{getattr(self, name)}")
        if self.elem not in ELEMS:
            raise BPTError(f"unsupported dtype {self.elem!r}: expected one "
                           f"of {', '.join(ELEMS)}")
        if not self.eps > 0:
            raise BPTError(f"eps must be positive, got {self.eps!r}")

    @property
    def head_dim(self):
        return self.d_model // self.heads


def _t(*dims, elem="f32"):
    return "tensor<" + "".join(f"{d}x" for d in dims) + elem + ">"


def _rnd(cfg, x):
    """`x` rounded to the block's element type, where the compiled block
    stores a value in it (references of f16/bf16 blocks)."""
    if cfg.elem == "f32":
        return x
    return dtypes.to_float(dtypes.to_storage(x, cfg.elem), cfg.elem)


class _Emitter:
    """Collects the lines of a function body with fresh SSA names. `elem`
    is the element type of the activations and parameters; norms, sums
    and products accumulate in f32."""

    def __init__(self, elem="f32"):
        self.lines, self.n = [], 0
        self.elem = elem

    def fresh(self, hint="v"):
        self.n += 1
        return f"%{hint}{self.n}"

    def __call__(self, line):
        self.lines.append("    " + line)

    def t(self, *dims):
        """A tensor of the activations' element type."""
        return _t(*dims, elem=self.elem)

    def widen(self, name):
        """In a region body: the block argument `name` (of the element type)
        as f32."""
        if self.elem == "f32":
            return name
        self(f"  {name}w = arith.extf {name} : {self.elem} to f32")
        return f"{name}w"

    def narrow(self, name):
        """In a region body: the f32 value `name` in the element type."""
        if self.elem == "f32":
            return name
        self(f"  {name}n = arith.truncf {name} : f32 to {self.elem}")
        return f"{name}n"


def _zeros(e, type_):
    """A zero-filled f32 tensor of `type_` (tensor.empty + linalg.fill)."""
    zero = e.fresh("zero")
    e(f"{zero} = arith.constant 0.0 : f32")
    empty = e.fresh("e")
    e(f"{empty} = tensor.empty() : {type_}")
    filled = e.fresh("acc")
    e(f"{filled} = linalg.fill ins({zero} : f32) outs({empty} : {type_}) -> "
      f"{type_}")
    return filled


def _row_sum(e, x, s, d, square=False):
    """sum_j x[i, j] (or x[i, j]^2) in f32 over the rows of x [s, d]."""
    row, full = _t(s), e.t(s, d)
    acc0 = _zeros(e, row)
    out = e.fresh("sqsum" if square else "sum")
    e(f"{out} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, "
      f"affine_map<(i, j) -> (i)>], iterator_types = [\"parallel\", "
      f"\"reduction\"]}} ins({x} : {full}) outs({acc0} : {row}) {{")
    e(f"^bb0(%a: {e.elem}, %b: f32):")
    a = e.widen("%a")
    if square:
        e(f"  %a2 = arith.mulf {a}, {a} : f32")
        e("  %s = arith.addf %a2, %b : f32")
    else:
        e(f"  %s = arith.addf {a}, %b : f32")
    e("  linalg.yield %s : f32")
    e(f"}} -> {row}")
    return out


def _layer_norm(e, x, gamma, beta, s, d, eps):
    """LayerNorm over the last dimension of x [s, d], as linalg.generic."""
    row = _t(s)
    full = e.t(s, d)
    maps_rd = ("affine_map<(i, j) -> (i, j)>", "affine_map<(i, j) -> (i)>")
    total = _row_sum(e, x, s, d)
    acc0 = _zeros(e, row)
    sq = e.fresh("sqsum")
    e(f"{sq} = linalg.generic {{indexing_maps = [{maps_rd[0]}, {maps_rd[1]}, "
      f"{maps_rd[1]}], iterator_types = [\"parallel\", \"reduction\"]}} "
      f"ins({x}, {total} : {full}, {row}) outs({acc0} : {row}) {{")
    e(f"^bb0(%a: {e.elem}, %t: f32, %b: f32):")
    a = e.widen("%a")
    e(f"  %n = arith.constant {float(d)!r} : f32")
    e(f"  %m = arith.divf %t, %n : f32")
    e(f"  %c = arith.subf {a}, %m : f32")
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
      f"{e.t(d)}, {e.t(d)}) outs({empty} : {full}) {{")
    el = e.elem
    e(f"^bb0(%a: {el}, %t: f32, %q: f32, %g: {el}, %bb: {el}, %o: {el}):")
    a, g, bb = e.widen("%a"), e.widen("%g"), e.widen("%bb")
    e(f"  %n = arith.constant {float(d)!r} : f32")
    e(f"  %eps = arith.constant {eps:.6e} : f32")
    e(f"  %m = arith.divf %t, %n : f32")
    e(f"  %var = arith.divf %q, %n : f32")
    e(f"  %ve = arith.addf %var, %eps : f32")
    e(f"  %sd = math.sqrt %ve : f32")
    e(f"  %c = arith.subf {a}, %m : f32")
    e(f"  %nrm = arith.divf %c, %sd : f32")
    e(f"  %sc = arith.mulf %nrm, {g} : f32")
    e(f"  %r = arith.addf %sc, {bb} : f32")
    e(f"  linalg.yield {e.narrow('%r')} : {el}")
    e(f"}} -> {full}")
    return out


def _linear(e, x, w, b, m, k, n, residual=None):
    """x [m, k] @ w [k, n] (+ b [n]) (+ residual [m, n]): the product
    accumulates in f32, the result is in the element type."""
    acc_t, out_t = _t(m, n), e.t(m, n)
    init = _zeros(e, acc_t)
    mm = e.fresh("mm")
    e(f"{mm} = linalg.matmul ins({x}, {w} : {e.t(m, k)}, {e.t(k, n)}) "
      f"outs({init} : {acc_t}) -> {acc_t}")
    if b is None and residual is None and e.elem == "f32":
        return mm
    empty = e.fresh("e")
    e(f"{empty} = tensor.empty() : {out_t}")
    ins = [mm] + ([b] if b else []) + ([residual] if residual else [])
    types = [acc_t] + ([e.t(n)] if b else []) + ([out_t] if residual else [])
    maps = ["affine_map<(i, j) -> (i, j)>"] + (
        ["affine_map<(i, j) -> (j)>"] if b else []) + (
        ["affine_map<(i, j) -> (i, j)>"] if residual else [])
    out = e.fresh("lin")
    e(f"{out} = linalg.generic {{indexing_maps = [{', '.join(maps)}, "
      f"affine_map<(i, j) -> (i, j)>], iterator_types = [\"parallel\", "
      f"\"parallel\"]}} ins({', '.join(ins)} : {', '.join(types)}) "
      f"outs({empty} : {out_t}) {{")
    args = ", ".join(f"%a{i}: {'f32' if i == 0 else e.elem}"
                     for i in range(len(ins)))
    e(f"^bb0({args}, %o: {e.elem}):")
    acc = "%a0"
    for i in range(1, len(ins)):
        e(f"  %s{i} = arith.addf {acc}, {e.widen(f'%a{i}')} : f32")
        acc = f"%s{i}"
    e(f"  linalg.yield {e.narrow(acc)} : {e.elem}")
    e(f"}} -> {out_t}")
    return out


def _rms_norm(e, x, gamma, s, d, eps):
    """RMSNorm over the last dimension of x [s, d]: x / rms(x) * gamma."""
    row, full = _t(s), e.t(s, d)
    sq = _row_sum(e, x, s, d, square=True)
    empty = e.fresh("e")
    e(f"{empty} = tensor.empty() : {full}")
    out = e.fresh("rms")
    e(f"{out} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, "
      f"affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (j)>, "
      f"affine_map<(i, j) -> (i, j)>], iterator_types = [\"parallel\", "
      f"\"parallel\"]}} ins({x}, {sq}, {gamma} : {full}, {row}, {e.t(d)}) "
      f"outs({empty} : {full}) {{")
    el = e.elem
    e(f"^bb0(%a: {el}, %q: f32, %g: {el}, %o: {el}):")
    a, g = e.widen("%a"), e.widen("%g")
    e(f"  %n = arith.constant {float(d)!r} : f32")
    e(f"  %eps = arith.constant {eps:.6e} : f32")
    e("  %ms = arith.divf %q, %n : f32")
    e("  %me = arith.addf %ms, %eps : f32")
    e("  %r = math.sqrt %me : f32")
    e(f"  %nrm = arith.divf {a}, %r : f32")
    e(f"  %y = arith.mulf %nrm, {g} : f32")
    e(f"  linalg.yield {e.narrow('%y')} : {el}")
    e(f"}} -> {full}")
    return out


def _split_heads(e, x, s, heads, dh, hint):
    """[s, heads * dh] -> [1, heads, s, dh] (view, transpose, view)."""
    t = e.t
    split = e.fresh(hint)
    e(f"{split} = tensor.expand_shape {x} [[0], [1, 2]] output_shape "
      f"[{s}, {heads}, {dh}] : {t(s, heads * dh)} into {t(s, heads, dh)}")
    tr_e = e.fresh("e")
    e(f"{tr_e} = tensor.empty() : {t(heads, s, dh)}")
    tr = e.fresh(hint)
    e(f"{tr} = linalg.transpose ins({split} : {t(s, heads, dh)}) outs({tr_e} : "
      f"{t(heads, s, dh)}) permutation = [1, 0, 2]")
    b4 = e.fresh(hint)
    e(f"{b4} = tensor.expand_shape {tr} [[0, 1], [2], [3]] output_shape "
      f"[1, {heads}, {s}, {dh}] : {t(heads, s, dh)} into {t(1, heads, s, dh)}")
    return b4


def _merge_heads(e, attn, s, heads, dh):
    """[1, heads, s, dh] -> [s, heads * dh]."""
    t = e.t
    t4 = t(1, heads, s, dh)
    m3 = e.fresh("m")
    e(f"{m3} = tensor.collapse_shape {attn} [[0, 1], [2], [3]] : {t4} into "
      f"{t(heads, s, dh)}")
    tr_e = e.fresh("e")
    e(f"{tr_e} = tensor.empty() : {t(s, heads, dh)}")
    mt = e.fresh("m")
    e(f"{mt} = linalg.transpose ins({m3} : {t(heads, s, dh)}) outs({tr_e} : "
      f"{t(s, heads, dh)}) permutation = [1, 0, 2]")
    merged = e.fresh("m")
    e(f"{merged} = tensor.collapse_shape {mt} [[0], [1, 2]] : {t(s, heads, dh)} "
      f"into {t(s, heads * dh)}")
    return merged


def _function(name, args, cfg, e, header):
    s, d = cfg.seq, cfg.d_model
    t = e.t
    sig = ", ".join(f"%{n}: {t(*shape)}" for n, shape in args)
    bind = ", ".join(f"%{n}_ = %{n} : {t(*shape)}" for n, shape in args)
    body = "\n".join("  " + line for line in e.lines)
    return (f"{header}\n// Generated by bpt.models.\n"
            f"func.func @{name}({sig}) -> {t(s, d)} {{\n"
            f"  %y = bpt.block ({bind}) -> ({t(s, d)}) {{\n{body}\n  }}\n"
            f"  return %y : {t(s, d)}\n}}\n")


def _attention_and_merge(e, q, k, v, cfg, kv_heads):
    """bpt.attention of the [1, heads, s, dh] q and [1, kv_heads, s, dh] k, v,
    with its heads merged back into [s, d]."""
    s, h, dh = cfg.seq, cfg.heads, cfg.head_dim
    tq, tkv = e.t(1, h, s, dh), e.t(1, kv_heads, s, dh)
    ao = e.fresh("e")
    e(f"{ao} = tensor.empty() : {tq}")
    attn = e.fresh("attn")
    causal = "causal " if cfg.causal else ""
    e(f"{attn} = bpt.attention {causal}ins({q}, {k}, {v} : {tq}, {tkv}, {tkv}) "
      f"outs({ao} : {tq}) -> {tq}")
    return _merge_heads(e, attn, s, h, dh)


def gpt2_block(cfg, name="gpt2_block"):
    """MLIR text of a module with one function @name(x, params...) -> y."""
    cfg.model = "gpt2"
    cfg.validate()
    s, d, h, dh, f = cfg.seq, cfg.d_model, cfg.heads, cfg.head_dim, cfg.d_ff
    args = [("x", (s, d))] + list(gpt2_param_shapes(cfg).items())
    e = _Emitter(cfg.elem)
    x = "%x_"
    ln1 = _layer_norm(e, x, "%ln1_g_", "%ln1_b_", s, d, cfg.eps)
    qkv = _linear(e, ln1, "%w_qkv_", "%b_qkv_", s, d, 3 * d)
    heads = []
    for i, part in enumerate("qkv"):
        sl = e.fresh(part)
        e(f"{sl} = tensor.extract_slice {qkv}[0, {i * d}] [{s}, {d}] [1, 1] : "
          f"{e.t(s, 3 * d)} to {e.t(s, d)}")
        heads.append(_split_heads(e, sl, s, h, dh, part))
    merged = _attention_and_merge(e, *heads, cfg, h)
    h1 = _linear(e, merged, "%w_o_", "%b_o_", s, d, d, residual=x)
    ln2 = _layer_norm(e, h1, "%ln2_g_", "%ln2_b_", s, d, cfg.eps)
    y = e.fresh("y")
    e(f"{y} = bpt.ffn {cfg.activation} ins({ln2} : {e.t(s, d)}) "
      f"up(%w_up_ : {e.t(d, f)}) up_bias(%b_up_ : {e.t(f)}) "
      f"down(%w_down_ : {e.t(f, d)}) down_bias(%b_down_ : {e.t(d)}) "
      f"outs({h1} : {e.t(s, d)}) -> {e.t(s, d)}")
    e(f"bpt.yield {y} : {e.t(s, d)}")
    header = (f"// One GPT-2 decoder block: S={s}, d_model={d}, heads={h}, "
              f"d_ff={f}, {cfg.activation}, "
              f"{'causal' if cfg.causal else 'bidirectional'}.")
    return _function(name, args, cfg, e, header)


def llama_block(cfg, name="llama_block"):
    """A LLaMA-style decoder block: RMSNorm, separate Q/K/V projections
    without biases, grouped-query causal attention (cfg.kv_heads), output
    projection + residual, RMSNorm, SwiGLU FFN + residual."""
    if cfg.model != "llama":
        # A BlockConfig made for another family: this block is always
        # RMSNorm + SwiGLU.
        cfg.model, cfg.norm, cfg.activation = "llama", "rmsnorm", "swiglu"
    cfg.validate()
    s, d, h, dh, f = cfg.seq, cfg.d_model, cfg.heads, cfg.head_dim, cfg.d_ff
    hkv = cfg.kv_heads
    args = [("x", (s, d))] + list(llama_param_shapes(cfg).items())
    e = _Emitter(cfg.elem)
    x = "%x_"
    n1 = _rms_norm(e, x, "%norm1_", s, d, cfg.eps)
    q = _split_heads(e, _linear(e, n1, "%wq_", None, s, d, h * dh), s, h, dh, "q")
    k = _split_heads(e, _linear(e, n1, "%wk_", None, s, d, hkv * dh), s, hkv,
                     dh, "k")
    v = _split_heads(e, _linear(e, n1, "%wv_", None, s, d, hkv * dh), s, hkv,
                     dh, "v")
    merged = _attention_and_merge(e, q, k, v, cfg, hkv)
    h1 = _linear(e, merged, "%wo_", None, s, d, d, residual=x)
    n2 = _rms_norm(e, h1, "%norm2_", s, d, cfg.eps)
    y = e.fresh("y")
    e(f"{y} = bpt.ffn swiglu ins({n2} : {e.t(s, d)}) up(%w_up_ : {e.t(d, f)}) "
      f"gate(%w_gate_ : {e.t(d, f)}) down(%w_down_ : {e.t(f, d)}) "
      f"outs({h1} : {e.t(s, d)}) -> {e.t(s, d)}")
    e(f"bpt.yield {y} : {e.t(s, d)}")
    header = (f"// One LLaMA decoder block: S={s}, d_model={d}, heads={h}, "
              f"kv_heads={hkv}, d_ff={f}, swiglu, "
              f"{'causal' if cfg.causal else 'bidirectional'}.")
    return _function(name, args, cfg, e, header)


def llama_param_shapes(cfg):
    d, f, hkv = cfg.d_model, cfg.d_ff, cfg.kv_heads * cfg.head_dim
    return {"norm1": (d,), "wq": (d, d), "wk": (d, hkv), "wv": (d, hkv),
            "wo": (d, d), "norm2": (d,), "w_up": (d, f), "w_gate": (d, f),
            "w_down": (f, d)}


def llama_random_inputs(cfg, rng):
    arrays = [rng.standard_normal((cfg.seq, cfg.d_model))]
    for name, shape in llama_param_shapes(cfg).items():
        if len(shape) == 1:
            a = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            a = rng.standard_normal(shape) / math.sqrt(shape[0])
        arrays.append(a)
    return [dtypes.to_storage(a, cfg.elem) for a in arrays]


def _rms_norm_ref(x, g, eps):
    return x / np.sqrt((x ** 2).mean(axis=-1, keepdims=True) + eps) * g


def llama_block_reference(cfg, x, norm1, wq, wk, wv, wo, norm2, w_up,
                          w_gate, w_down):
    """The block of llama_block in NumPy, float64 (values rounded to the
    element type where the compiled block stores them)."""
    x = x.astype(np.float64)
    s, h, hkv, dh = cfg.seq, cfg.heads, cfg.kv_heads, cfg.head_dim
    r = lambda t: _rnd(cfg, t)  # noqa: E731
    n1 = r(_rms_norm_ref(x, norm1, cfg.eps))

    def heads(t, n):
        return r(t).reshape(s, n, dh).transpose(1, 0, 2)[None]
    attn, _ = _ref.attention(heads(n1 @ wq, h), heads(n1 @ wk, hkv),
                             heads(n1 @ wv, hkv), causal=cfg.causal)
    h1 = r(r(attn[0]).transpose(1, 0, 2).reshape(s, cfg.d_model) @ wo + x)
    return _ref.ffn(r(_rms_norm_ref(h1, norm2, cfg.eps)), w_up, w_down,
                    "swiglu", gate=w_gate, init=h1)


def gpt2_param_shapes(cfg):
    d, f = cfg.d_model, cfg.d_ff
    return {"ln1_g": (d,), "ln1_b": (d,), "w_qkv": (d, 3 * d),
            "b_qkv": (3 * d,), "w_o": (d, d), "b_o": (d,), "ln2_g": (d,),
            "ln2_b": (d,), "w_up": (d, f), "b_up": (f,), "w_down": (f, d),
            "b_down": (d,)}


def _initialised(cfg, shapes, rng):
    """x and parameters of `shapes` scaled like an initialised model: norm
    gains near 1, small biases, weights with unit-variance outputs."""
    arrays = [rng.standard_normal((cfg.seq, cfg.d_model))]
    for name, shape in shapes.items():
        if name.endswith("_g"):
            a = 1.0 + 0.1 * rng.standard_normal(shape)
        elif len(shape) == 1:
            a = 0.02 * rng.standard_normal(shape)
        else:
            a = rng.standard_normal(shape) / math.sqrt(shape[0])
        arrays.append(a)
    return [dtypes.to_storage(a, cfg.elem) for a in arrays]


def gpt2_random_inputs(cfg, rng):
    """x and the parameters, scaled like an initialised GPT-2."""
    return _initialised(cfg, gpt2_param_shapes(cfg), rng)


def _layer_norm_ref(x, g, b, eps):
    m = x.mean(axis=-1, keepdims=True)
    v = ((x - m) ** 2).mean(axis=-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def gpt2_block_reference(cfg, x, ln1_g, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_g,
                         ln2_b, w_up, b_up, w_down, b_down, rows=None):
    """The block of gpt2_block in NumPy, float64 (values rounded to the
    element type where the compiled block stores them). With
    rows=(start, stop), only those output rows (every key still counts),
    for long sequences."""
    x = x.astype(np.float64)
    s, d, h = cfg.seq, cfg.d_model, cfg.heads
    r = lambda t: _rnd(cfg, t)  # noqa: E731
    start, stop = rows or (0, s)
    qkv = r(r(_layer_norm_ref(x, ln1_g, ln1_b, cfg.eps)) @ w_qkv + b_qkv)

    def heads(t):
        return t.reshape(t.shape[0], h, cfg.head_dim).transpose(1, 0, 2)[None]
    q = heads(qkv[start:stop, :d])
    k, v = (heads(qkv[:, i * d:(i + 1) * d]) for i in (1, 2))
    query_pos = start if rows else None
    attn, _ = _ref.attention(q, k, v, causal=cfg.causal, query_pos=query_pos)
    merged = r(attn[0]).transpose(1, 0, 2).reshape(stop - start, d)
    h1 = r(merged @ w_o + b_o + x[start:stop])
    return _ref.ffn(r(_layer_norm_ref(h1, ln2_g, ln2_b, cfg.eps)), w_up,
                    w_down, cfg.activation, up_bias=b_up, down_bias=b_down,
                    init=h1)


def bert_param_shapes(cfg):
    d, f = cfg.d_model, cfg.d_ff
    return {"wq": (d, d), "bq": (d,), "wk": (d, d), "bk": (d,),
            "wv": (d, d), "bv": (d,), "w_o": (d, d), "b_o": (d,),
            "ln1_g": (d,), "ln1_b": (d,), "w_up": (d, f), "b_up": (f,),
            "w_down": (f, d), "b_down": (d,), "ln2_g": (d,), "ln2_b": (d,)}


def bert_block(cfg, name="bert_block"):
    """A BERT encoder block (post-LayerNorm): Q/K/V projections with biases,
    bidirectional (or, with cfg.causal, causal) attention, out-projection
    + bias + residual, LayerNorm, GELU FFN with biases + residual,
    LayerNorm."""
    if cfg.model != "bert":
        cfg.model = "bert"
    cfg.validate()
    s, d, h, dh, f = cfg.seq, cfg.d_model, cfg.heads, cfg.head_dim, cfg.d_ff
    args = [("x", (s, d))] + list(bert_param_shapes(cfg).items())
    e = _Emitter(cfg.elem)
    x = "%x_"
    q = _split_heads(e, _linear(e, x, "%wq_", "%bq_", s, d, d), s, h, dh, "q")
    k = _split_heads(e, _linear(e, x, "%wk_", "%bk_", s, d, d), s, h, dh, "k")
    v = _split_heads(e, _linear(e, x, "%wv_", "%bv_", s, d, d), s, h, dh, "v")
    merged = _attention_and_merge(e, q, k, v, cfg, h)
    h1 = _linear(e, merged, "%w_o_", "%b_o_", s, d, d, residual=x)
    n1 = _layer_norm(e, h1, "%ln1_g_", "%ln1_b_", s, d, cfg.eps)
    f1 = e.fresh("ffn")
    e(f"{f1} = bpt.ffn {cfg.activation} ins({n1} : {e.t(s, d)}) "
      f"up(%w_up_ : {e.t(d, f)}) up_bias(%b_up_ : {e.t(f)}) "
      f"down(%w_down_ : {e.t(f, d)}) down_bias(%b_down_ : {e.t(d)}) "
      f"outs({n1} : {e.t(s, d)}) -> {e.t(s, d)}")
    y = _layer_norm(e, f1, "%ln2_g_", "%ln2_b_", s, d, cfg.eps)
    e(f"bpt.yield {y} : {e.t(s, d)}")
    header = (f"// One BERT encoder block: S={s}, d_model={d}, heads={h}, "
              f"d_ff={f}, {cfg.activation}, "
              f"{'causal' if cfg.causal else 'bidirectional'}.")
    return _function(name, args, cfg, e, header)


def bert_random_inputs(cfg, rng):
    """x and the parameters, scaled like an initialised BERT."""
    return _initialised(cfg, bert_param_shapes(cfg), rng)


def bert_block_reference(cfg, x, wq, bq, wk, bk, wv, bv, w_o, b_o, ln1_g,
                         ln1_b, w_up, b_up, w_down, b_down, ln2_g, ln2_b):
    """The block of bert_block in NumPy, float64 (values rounded to the
    element type where the compiled block stores them)."""
    x = x.astype(np.float64)
    s, d, h = cfg.seq, cfg.d_model, cfg.heads
    r = lambda t: _rnd(cfg, t)  # noqa: E731

    def heads(t):
        return r(t).reshape(s, h, cfg.head_dim).transpose(1, 0, 2)[None]
    attn, _ = _ref.attention(heads(x @ wq + bq), heads(x @ wk + bk),
                             heads(x @ wv + bv), causal=cfg.causal)
    h1 = r(r(attn[0]).transpose(1, 0, 2).reshape(s, d) @ w_o + b_o + x)
    n1 = r(_layer_norm_ref(h1, ln1_g, ln1_b, cfg.eps))
    f1 = r(_ref.ffn(n1, w_up, w_down, cfg.activation, up_bias=b_up,
                    down_bias=b_down, init=n1))
    return _layer_norm_ref(f1, ln2_g, ln2_b, cfg.eps)


# The block families: emitter, parameter shapes, random inputs, reference,
# and what each supports.
FAMILIES = {
    "gpt2": dict(block=gpt2_block, params=gpt2_param_shapes,
                 inputs=gpt2_random_inputs, reference=gpt2_block_reference,
                 norm="layernorm",
                 activations=("relu", "gelu", "gelu_tanh", "silu")),
    "bert": dict(block=bert_block, params=bert_param_shapes,
                 inputs=bert_random_inputs, reference=bert_block_reference,
                 norm="layernorm",
                 activations=("relu", "gelu", "gelu_tanh", "silu")),
    "llama": dict(block=llama_block, params=llama_param_shapes,
                  inputs=llama_random_inputs,
                  reference=llama_block_reference, norm="rmsnorm",
                  activations=("swiglu",)),
}

# Published sizes: GPT-2 small, BERT-base, a LLaMA-like 1B-class block.
PRESETS = {
    "gpt2": dict(d_model=768, heads=12, d_ff=3072, activation="gelu_tanh",
                 causal=True),
    "bert": dict(d_model=768, heads=12, d_ff=3072, activation="gelu",
                 causal=False, eps=1e-12),
    "llama": dict(d_model=2048, heads=16, kv_heads=4, d_ff=5632,
                  activation="swiglu", causal=True, eps=1e-6),
}


def config(model, **overrides):
    """The preset configuration of `model` ("gpt2", "bert", "llama") with
    `overrides` (seq, d_model, heads, kv_heads, d_ff, activation, norm,
    causal, eps, dtype (or elem): f32, f16 or bf16), validated."""
    if model not in PRESETS:
        raise BPTError(f"unknown model {model!r}: expected one of "
                       f"{', '.join(PRESETS)}")
    if "dtype" in overrides:
        overrides["elem"] = overrides.pop("dtype")
    fields = set(BlockConfig.__dataclass_fields__) - {"model"}
    unknown = set(overrides) - fields
    if unknown:
        raise BPTError(f"unknown configuration field(s) "
                       f"{', '.join(sorted(unknown))}: expected some of "
                       f"{', '.join(sorted(fields))}")
    cfg = BlockConfig(model=model, **{**PRESETS[model], **overrides})
    cfg.validate()
    return cfg


def _family(cfg):
    cfg.validate()
    return FAMILIES[cfg.model]


def function_name(cfg):
    """The name of the function `block(cfg)` emits."""
    return f"{cfg.model}_block"


def block(cfg):
    """MLIR text of the block `cfg` describes (see `config`)."""
    return _family(cfg)["block"](cfg)


def param_shapes(cfg):
    return _family(cfg)["params"](cfg)


def random_inputs(cfg, rng):
    """x [seq, d_model] and the parameters, in the order of the function."""
    return _family(cfg)["inputs"](cfg, rng)


def reference(cfg, *inputs, **kwargs):
    """The block in NumPy (float64) on inputs stored in the element type
    (as random_inputs makes them)."""
    values = [dtypes.to_float(a, cfg.elem) for a in inputs]
    return _family(cfg)["reference"](cfg, *values, **kwargs)
