"""Helpers for execution tests: MLIR generators for single bpt ops, random
inputs from a fixed seed, and a comparison that reports every case.

A test builds a list of cases, compiles them in one module, runs each on
random inputs and compares with the NumPy reference:

    suite = Suite("attention")
    suite.add(AttentionCase("gqa", b=1, hq=8, hkv=2, sq=16, sk=16, d=32))
    sys.exit(suite.run(passes=[]))
"""

import hashlib
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import dtypes, reference
from .compiler import _cache_dir, compile_mlir

# Tolerances on max |compiled - reference|, relative to max(1, max |ref|).
# f32: rounding of f32 sums of a few hundred terms. f16/bf16: the result is
# rounded to that type (2^-11 and 2^-8 relative), plus f32 accumulation.
TOLERANCE = {"f32": 2e-5, "f16": 2e-3, "bf16": 1.6e-2}


# Whole blocks the GPU checks run (test/GPU/execute-block.py, bench/gpu):
# (bpt.models configuration, --bpt-gpu-pipeline options); the tiles make
# the FFN's last hidden chunk partial. Tolerances on max |gpu - model|
# relative to max(1, max |model|): 16-bit activations stored between the
# block's steps, P and the FFN's hidden activation rounded to the input
# type before their contractions (the CPU build of the same blocks is
# within 5.1e-4 (f16) and 3.1e-3 (bf16) of the model).
GPU_BLOCK_CHECKS = [
    (dict(model="gpt2", seq=200, d_model=128, heads=4, d_ff=512,
          elem="f16"), "ffn-rows=64 ffn-chunk=192"),
    (dict(model="llama", seq=130, d_model=128, heads=4, kv_heads=2, d_ff=352,
          elem="bf16"), "ffn-rows=128 ffn-chunk=128"),
    (dict(model="bert", seq=100, d_model=256, heads=4, d_ff=1024,
          elem="bf16"), ""),
]
GPU_BLOCK_TOLERANCE = {"f16": 1e-2, "bf16": 3e-2}

# Attentions (bpt.gpuemu.attention_case arguments) the sm_90a attention
# kernel's tests run, emulated (test/Integration/GPUEmulated/
# wgmma-attention.py) and on a Hopper GPU (test/GPU/execute-wgmma.py): head
# dims from 32 to 256 (whole boxes of 64 and zero-filled ones, two and
# three stages, with and without the next scores' overlap, d != dv), f16
# and bf16, ragged, causal with rows that see no key and a block that sees
# none, window, positions, GQA, boolean and additive masks, LSE, f16
# output, 1 x 1.
WGMMA_ATTENTION_CASES = [
    dict(b=1, hq=2, hkv=1, sq=100, sk=77, d=64, elem="bf16", causal=True,
         lse=True),
    dict(b=2, hq=2, hkv=2, sq=65, sk=130, d=128, elem="f16"),
    dict(b=1, hq=4, hkv=2, sq=64, sk=64, d=64, elem="f16", out_elem="f16",
         causal=True, seed=3),
    dict(b=1, hq=2, hkv=1, sq=150, sk=150, d=64, elem="bf16", causal=True,
         window=40, lse=True),
    dict(b=1, hq=1, hkv=1, sq=70, sk=90, d=128, elem="bf16", causal=True,
         positions=(100, 64), scale=0.3),
    dict(b=2, hq=2, hkv=1, sq=70, sk=50, d=64, elem="f16",
         mask=("i1", (2, 1, 70, 50)), lse=True),
    dict(b=1, hq=1, hkv=1, sq=150, sk=20, d=128, elem="f16", causal=True,
         lse=True),
    dict(b=1, hq=2, hkv=2, sq=30, sk=200, d=128, elem="bf16",
         mask=("f32", (1, 2, 1, 200)), causal=True, lse=True),
    dict(b=1, hq=1, hkv=1, sq=1, sk=1, d=64, elem="f16"),
    # Head dims that are not a multiple of 64 (the last box zero filled
    # past them), above 128 (three boxes; four and two stages, each step
    # waiting for its own scores), and V's other than Q's and K's.
    dict(b=1, hq=2, hkv=1, sq=130, sk=150, d=96, elem="f16", causal=True,
         lse=True),
    dict(b=1, hq=1, hkv=1, sq=65, sk=65, d=48, elem="bf16", seed=5),
    dict(b=1, hq=2, hkv=2, sq=100, sk=130, d=192, elem="f16",
         mask=("i1", (1, 2, 100, 130))),
    dict(b=1, hq=2, hkv=1, sq=70, sk=300, d=256, elem="bf16", causal=True,
         lse=True),
    dict(b=1, hq=1, hkv=1, sq=40, sk=100, d=32, elem="bf16", causal=True,
         window=30),
    dict(b=1, hq=2, hkv=2, sq=64, sk=90, d=64, dv=128, elem="f16",
         out_elem="f16"),
    dict(b=2, hq=1, hkv=1, sq=100, sk=70, d=128, dv=64, elem="bf16",
         causal=True, lse=True),
    # A large negative scale: the scores are scaled before their max is
    # taken (max(x c) is not max(x) c; with max(x) c as the base, exp2
    # overflows to inf), on whole tiles too.
    dict(b=1, hq=1, hkv=1, sq=64, sk=128, d=64, elem="f16", scale=-4.0,
         lse=True),
]


# Fused-epilogue contractions (the contraction kernels' emulated tests):
# C = A B in f32, zero-initialised, read by nothing but one elementwise op
# whose body reads %c (C) and the extra operands %x (a bias over columns),
# %r (an M x N residual) or %v (a vector over rows), defines %y, and may use
# %zero, %one, %half and the GELU constants %k0 and %k1, defined above it
# as frontends write them. The op writes a buffer of its own (%T), as
# fusion requires; the kernel's output argument is that buffer.
EPILOGUE_OPERANDS = {"x": ("n", "(d0, d1) -> (d1)"),
                     "r": ("mn", "(d0, d1) -> (d0, d1)"),
                     "v": ("m", "(d0, d1) -> (d0)")}


def gelu_body(src, dst):
    """MLIR lines computing tanh-GELU of f32 %src into %dst (constants
    %k0, %k1, %one, %half from above)."""
    return f"""%x3 = arith.mulf {src}, {src} : f32
      %x4 = arith.mulf %x3, {src} : f32
      %x5 = arith.mulf %x4, %k1 : f32
      %x6 = arith.addf {src}, %x5 : f32
      %x7 = arith.mulf %x6, %k0 : f32
      %x8 = math.tanh %x7 : f32
      %x9 = arith.addf %x8, %one : f32
      %x10 = arith.mulf %x9, {src} : f32
      {dst} = arith.mulf %x10, %half : f32"""


def gelu(x):
    """tanh-GELU, as gelu_body computes it."""
    return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))


def epilogue_shapes(m, n, extra):
    """{name: shape} of the extra operands `extra` of an M x N epilogue."""
    dims = {"n": (n,), "m": (m,), "mn": (m, n)}
    return {a: dims[EPILOGUE_OPERANDS[a][0]] for a in extra}


def fused_matmul_mlir(m, n, k, elem, out_elem, body, extra):
    """@fused(%A, %B, extra..., %O): A [M, K] and B [K, N] of `elem`, the
    f32 product into a zero-filled C, the elementwise op of `body` (see
    above) from C and `extra` into %T of `out_elem`, copied to %O."""
    def memref(shape, e):
        return "memref<" + "x".join(str(d) for d in shape) + f"x{e}>"
    shapes = epilogue_shapes(m, n, extra)
    ext_args = "".join(f", %{a}_: {memref(shapes[a], elem)}" for a in extra)
    ext_ins = "".join(f", %{a}_" for a in extra)
    ext_types = "".join(f", {memref(shapes[a], elem)}" for a in extra)
    ext_maps = "".join(f", affine_map<{EPILOGUE_OPERANDS[a][1]}>"
                       for a in extra)
    ext_bb = "".join(f", %{a}: {elem}" for a in extra)
    a, b = memref((m, k), elem), memref((k, n), elem)
    c, o = memref((m, n), "f32"), memref((m, n), out_elem)
    return f"""
func.func @fused(%A: {a}, %B: {b}{ext_args}, %O: {o}) {{
  %zero = arith.constant 0.0 : f32
  %k0 = arith.constant 0.7978845608 : f32
  %k1 = arith.constant 0.044715 : f32
  %one = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32
  %C = memref.alloc() : {c}
  %T = memref.alloc() : {o}
  linalg.fill ins(%zero : f32) outs(%C : {c})
  linalg.matmul ins(%A, %B : {a}, {b}) outs(%C : {c})
  linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>{ext_maps}, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}}
      ins(%C{ext_ins} : {c}{ext_types}) outs(%T : {o}) {{
    ^bb0(%c: f32{ext_bb}, %o: {out_elem}):
      {body}
      linalg.yield %y : {out_elem}
  }}
  memref.dealloc %C : {c}
  memref.copy %T, %O : {o} to {o}
  memref.dealloc %T : {o}
  return
}}
"""


def _shape(dims, dynamic=()):
    return "x".join("?" if i in dynamic else str(d)
                    for i, d in enumerate(dims))


def tensor(dims, elem, dynamic=()):
    dims = _shape(dims, dynamic)
    return f"tensor<{dims}x{elem}>" if dims else f"tensor<{elem}>"


def _empty(name, src, dims, elem, dynamic, dim_sources):
    """`tensor.empty` of dims, taking dynamic extents from `dim_sources`
    (dimension index -> (value, dim))."""
    lines, operands = [], []
    for i in sorted(dynamic):
        val, d = dim_sources[i]
        lines.append(f"    %{name}_d{i} = tensor.dim {val}, %c{d} : {src[val]}")
        operands.append(f"%{name}_d{i}")
    lines.append(f"    %{name} = tensor.empty({', '.join(operands)}) : "
                 f"{tensor(dims, elem, dynamic)}")
    return lines


@dataclass
class AttentionCase:
    """One bpt.attention configuration. mask: None, "bool" or "add", with
    mask_dims the mask's shape ([B|1, Hq|1, Sq|1, Sk|1]). dynamic makes B,
    Sq and Sk dynamic in the function signature."""
    name: str
    b: int = 1
    hq: int = 4
    hkv: int = 4
    sq: int = 16
    sk: int = 16
    d: int = 32
    dv: int = None
    elem: str = "f32"
    out_elem: str = None
    causal: bool = False
    window: int = None
    scale: float = None
    mask: str = None
    mask_dims: tuple = None
    lse: bool = False
    dynamic: bool = False
    magnitude: float = 1.0
    masked_rows: tuple = ()
    # Tolerance against NumPy where f32 rounding of the scores themselves
    # dominates (huge logits); the unfused comparison keeps the default.
    numpy_tol: float = None

    def __post_init__(self):
        self.dv = self.dv or self.d
        self.out_elem = self.out_elem or self.elem
        if self.mask and self.mask_dims is None:
            self.mask_dims = (self.b, self.hq, self.sq, self.sk)

    @property
    def func(self):
        return f"attn_{self.name}"

    def mlir(self):
        q = (self.b, self.hq, self.sq, self.d)
        k = (self.b, self.hkv, self.sk, self.d)
        v = (self.b, self.hkv, self.sk, self.dv)
        o = (self.b, self.hq, self.sq, self.dv)
        dq = {0, 2} if self.dynamic else set()
        dk = {0, 2} if self.dynamic else set()
        types = {"%q": tensor(q, self.elem, dq), "%k": tensor(k, self.elem, dk),
                 "%v": tensor(v, self.elem, dk)}
        args = [f"{n}: {t}" for n, t in types.items()]
        mask_elem = "i1" if self.mask == "bool" else self.elem
        if self.mask:
            dm = {i for i in (0, 2, 3) if self.dynamic and self.mask_dims[i] != 1}
            types["%m"] = tensor(self.mask_dims, mask_elem, dm)
            args.append(f"%m: {types['%m']}")
        out_t = tensor(o, self.out_elem, dq)
        lse_t = tensor(o[:3], "f32", dq)
        srcs = {0: ("%q", 0), 2: ("%q", 2)}
        lines = [f"  func.func @{self.func}({', '.join(args)}) -> "
                 f"({out_t}{', ' + lse_t if self.lse else ''}) {{",
                 "    %c0 = arith.constant 0 : index",
                 "    %c2 = arith.constant 2 : index"]
        lines += _empty("o", types, o, self.out_elem, dq, srcs)
        outs, outs_t = ["%o"], [out_t]
        if self.lse:
            lines += _empty("l", types, o[:3], "f32", dq, srcs)
            outs.append("%l")
            outs_t.append(lse_t)
        attrs = ("causal " if self.causal else "") + (
            f"window({self.window}) " if self.window else "") + (
            f"scale({self.scale!r}) " if self.scale else "")
        mask = f" mask(%m : {types['%m']})" if self.mask else ""
        res = "%r:2" if self.lse else "%r"
        lines.append(
            f"    {res} = bpt.attention {attrs}ins(%q, %k, %v : {types['%q']}, "
            f"{types['%k']}, {types['%v']}){mask} outs({', '.join(outs)} : "
            f"{', '.join(outs_t)}) -> {', '.join(outs_t)}")
        rets = ["%r#0", "%r#1"] if self.lse else ["%r"]
        lines.append(f"    return {', '.join(rets)} : {', '.join(outs_t)}")
        lines.append("  }")
        return "\n".join(lines)

    def inputs(self, rng):
        def rand(shape):
            return dtypes.to_storage(
                rng.standard_normal(shape) * self.magnitude, self.elem)
        args = [rand((self.b, self.hq, self.sq, self.d)),
                rand((self.b, self.hkv, self.sk, self.d)),
                rand((self.b, self.hkv, self.sk, self.dv))]
        if self.mask == "bool":
            m = rng.random(self.mask_dims) < 0.7
            for r in self.masked_rows:
                m[..., r, :] = False
            args.append(m)
        elif self.mask == "add":
            m = rng.standard_normal(self.mask_dims)
            m = np.where(rng.random(self.mask_dims) < 0.2, -np.inf, m)
            for r in self.masked_rows:
                m[..., r, :] = -np.inf
            args.append(dtypes.to_storage(m, self.elem))
        return args

    def reference(self, args):
        vals = [dtypes.to_float(a, self.elem) for a in args[:3]]
        mask = None
        if self.mask == "bool":
            mask = args[3]
        elif self.mask == "add":
            mask = dtypes.to_float(args[3], self.elem)
        scale = None
        if self.scale:
            # The op holds the scale as f32.
            scale = float(np.float32(self.scale))
        out, lse = reference.attention(*vals, mask=mask, scale=scale,
                                       causal=self.causal, window=self.window)
        return [out, lse] if self.lse else [out]

    def result_elems(self):
        return [self.out_elem, "f32"] if self.lse else [self.out_elem]


@dataclass
class FFNCase:
    """One bpt.ffn configuration on x [*rows, d_model]."""
    name: str
    rows: tuple = (2, 8)
    d_model: int = 16
    d_ff: int = 48
    d_out: int = None
    activation: str = "relu"
    elem: str = "f32"
    up_bias: bool = True
    down_bias: bool = True
    residual: bool = True

    def __post_init__(self):
        self.d_out = self.d_out or self.d_model

    @property
    def gated(self):
        return self.activation in ("swiglu", "geglu")

    @property
    def func(self):
        return f"ffn_{self.name}"

    def mlir(self):
        e = self.elem
        x_t = tensor((*self.rows, self.d_model), e)
        up_t = tensor((self.d_model, self.d_ff), e)
        down_t = tensor((self.d_ff, self.d_out), e)
        out_t = tensor((*self.rows, self.d_out), e)
        args = [f"%x: {x_t}", f"%up: {up_t}"]
        parts = [f"ins(%x : {x_t})", f"up(%up : {up_t})"]
        if self.gated:
            args.append(f"%gate: {up_t}")
            parts.append(f"gate(%gate : {up_t})")
        if self.up_bias:
            args.append(f"%ub: {tensor((self.d_ff,), e)}")
            parts.append(f"up_bias(%ub : {tensor((self.d_ff,), e)})")
        args.append(f"%down: {down_t}")
        parts.append(f"down(%down : {down_t})")
        if self.down_bias:
            args.append(f"%db: {tensor((self.d_out,), e)}")
            parts.append(f"down_bias(%db : {tensor((self.d_out,), e)})")
        lines = [f"  func.func @{self.func}({', '.join(args)}"
                 + (f", %res: {out_t}" if self.residual else "")
                 + f") -> {out_t} {{"]
        if self.residual:
            init = "%res"
        else:
            lines += [f"    %zero = arith.constant 0.0 : {e}",
                      f"    %e = tensor.empty() : {out_t}",
                      f"    %init = linalg.fill ins(%zero : {e}) outs(%e : "
                      f"{out_t}) -> {out_t}"]
            init = "%init"
        lines.append(f"    %y = bpt.ffn {self.activation} {' '.join(parts)} "
                     f"outs({init} : {out_t}) -> {out_t}")
        lines += [f"    return %y : {out_t}", "  }"]
        return "\n".join(lines)

    def inputs(self, rng):
        def rand(shape, s=1.0):
            return dtypes.to_storage(rng.standard_normal(shape) * s, self.elem)
        args = [rand((*self.rows, self.d_model)),
                rand((self.d_model, self.d_ff), self.d_model ** -0.5)]
        if self.gated:
            args.append(rand((self.d_model, self.d_ff), self.d_model ** -0.5))
        if self.up_bias:
            args.append(rand((self.d_ff,), 0.1))
        args.append(rand((self.d_ff, self.d_out), max(1, self.d_ff) ** -0.5))
        if self.down_bias:
            args.append(rand((self.d_out,), 0.1))
        if self.residual:
            args.append(rand((*self.rows, self.d_out)))
        return args

    def reference(self, args):
        vals = [dtypes.to_float(a, self.elem) for a in args]
        it = iter(vals)
        x, up = next(it), next(it)
        gate = next(it) if self.gated else None
        ub = next(it) if self.up_bias else None
        down = next(it)
        db = next(it) if self.down_bias else None
        init = next(it) if self.residual else None
        return [reference.ffn(x, up, down, self.activation, gate=gate,
                              up_bias=ub, down_bias=db, init=init)]

    def result_elems(self):
        return [self.elem]


@dataclass
class Suite:
    """Cases compiled into one module and checked one by one."""
    title: str
    seed: int = 0
    cases: list = field(default_factory=list)

    def add(self, case):
        self.cases.append(case)
        return case

    def module(self):
        return "module {\n" + "\n".join(c.mlir() for c in self.cases) + "\n}\n"

    def run(self, passes=(), tolerance=None, compare_with=None,
            schedule=None):
        """Compiles with `passes` before the CPU pipeline and compares every
        case with the NumPy reference (and, with `compare_with`, with the
        module compiled with those passes instead). `schedule` is a
        transform-dialect library whose @__transform_main runs first.
        Prints a line per case and a summary; returns the exit code."""
        start = time.time()
        if schedule is not None:
            passes = [*schedule_passes(schedule), *passes]
        module = compile_mlir(self.module(), passes=passes)
        other = (compile_mlir(self.module(), passes=compare_with)
                 if compare_with is not None else None)
        print(f"# {self.title}: {len(self.cases)} cases, passes "
              f"{' '.join(passes) or '(none)'}, compiled in "
              f"{time.time() - start:.1f}s", flush=True)
        failed = 0
        for i, case in enumerate(self.cases):
            rng = np.random.default_rng(self.seed * 1000 + i)
            args = case.inputs(rng)
            got = module[case.func](*args)
            got = list(got) if isinstance(got, tuple) else [got]
            refs = case.reference(args)
            if other is not None:
                alt = other[case.func](*args)
                alt = list(alt) if isinstance(alt, tuple) else [alt]
                refs = [(r, "numpy") for r in refs] + [
                    (dtypes.to_float(a, e), "unfused")
                    for a, e in zip(alt, case.result_elems())]
                gots = got + got
            else:
                refs = [(r, "numpy") for r in refs]
                gots = got
            ok, worst = True, []
            for g, (r, what), elem in zip(gots, refs,
                                          case.result_elems() * 2):
                g = dtypes.to_float(g, elem)
                tol = (tolerance or TOLERANCE)[elem]
                if what == "numpy" and getattr(case, "numpy_tol", None):
                    tol = case.numpy_tol
                err = max_error(g, r)
                worst.append(f"{what}={err:.2e}")
                if not err <= tol:
                    ok = False
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'}: {case.name}: max err "
                  f"{' '.join(worst)} (tol {tol:.1e})", flush=True)
        passed = len(self.cases) - failed
        print(f"{passed} passed, {failed} failed")
        return 1 if failed else 0


def schedule_passes(schedule):
    """The bpt-opt flags that run a transform-dialect schedule (text of a
    module with a @__transform_main named sequence) on the payload."""
    path = _cache_dir() / (
        "schedule-" + hashlib.sha256(schedule.encode()).hexdigest()[:16]
        + ".mlir")
    if not path.exists():
        path.write_text(schedule)
    return [f"--transform-preload-library=transform-library-paths={path}",
            "--transform-interpreter"]


def max_error(got, ref):
    """max |got - ref| / max(1, max |ref|), with equal infinities (a -inf
    log-sum-exp of a fully masked row) counted as exact and NaN as wrong."""
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape:
        return np.inf
    if np.isnan(got).any():
        return np.inf
    same_inf = np.isinf(ref) & (got == ref)
    finite = ~same_inf
    if np.isinf(got[finite]).any() or np.isinf(ref[finite]).any():
        return np.inf
    if not finite.any():
        return 0.0
    diff = np.abs(got[finite] - ref[finite]).max()
    return float(diff / max(1.0, np.abs(ref[finite]).max()))


def main(suite, passes=(), compare_with=None):
    sys.exit(suite.run(passes=passes, compare_with=compare_with))


def compare_lowerings(mlir, func, passes, reference_passes, inputs, tol):
    """Runs @func of `mlir` compiled with `passes` and with
    `reference_passes` on the same inputs; returns (ok, max error)."""
    got = compile_mlir(mlir, passes=passes)[func](*inputs)
    ref = compile_mlir(mlir, passes=reference_passes)[func](*inputs)
    got = list(got) if isinstance(got, tuple) else [got]
    ref = list(ref) if isinstance(ref, tuple) else [ref]
    err = max(max_error(np.asarray(g, np.float64), np.asarray(r, np.float64))
              for g, r in zip(got, ref))
    return err <= tol, err
