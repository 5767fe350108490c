"""Differential testing of raise -> blockwise -> CPU execution.

Generates random attention graphs written in linalg on tensors the ways a
frontend writes them, with a NumPy model of each graph:

  shapes      batch, heads, query and key lengths (ragged), head dims
  scale       on the queries, on the scores, or none
  mask        none, additive float, boolean (select), causal from iotas
              (a mask tensor), causal computed from linalg.index in the op
              that applies it (a select, or an added 0 / -inf)
  softmax     linalg.softmax, decomposed (max, exp, sum, divide), or
              normalised by multiplying with the reciprocal of the sum
  dtype       f32, or f16 / bf16 inputs with f32 scores and an output
              truncated back
  near-misses graphs that are not attention and must not be raised: the
              softmax over the query dimension, the probabilities scaled
              after the softmax, an anti-causal mask (j >= i) computed from
              linalg.index

Each case is compiled three ways and compared: as written (the graph's own
lowering), --bpt-raise + --bpt-decompose (the reference lowering of what was
raised) and --bpt-raise + --bpt-blockwise (the fused loops, vectorised), all
against the NumPy model; and it checks that raising happened exactly for the
attention graphs. Cases are batched into modules so that each compiles once.

    python -m bpt.difftest [--cases 200] [--seed 0] [--per-module 25]
"""

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

from . import dtypes
from .compiler import compile_mlir, run_bpt_opt
from .testing import max_error

TOLERANCE = {"f32": 2e-5, "f16": 2e-3, "bf16": 1.6e-2}
NEG_INF = "0xFF800000"


@dataclass
class Case:
    name: str
    b: int
    h: int
    sq: int
    sk: int
    d: int
    elem: str
    scale: str       # "q", "scores", "none"
    mask: str        # "none", "add", "bool", "causal", "causal_inline",
                     # "causal_inline_add", "anticausal_inline"
    softmax: str     # "linalg", "decomposed", "reciprocal"
    near_miss: str   # "", "softmax_dim2", "scale_after", "anticausal_inline"

    @property
    def is_attention(self):
        return not self.near_miss

    @property
    def c(self):
        return 1.0 / float(np.sqrt(self.d))


def random_case(rng, index):
    elem = rng.choice(["f32", "f32", "f16", "bf16"])
    mask = rng.choice(["none", "add", "bool", "causal", "causal_inline",
                       "causal_inline_add"])
    sq = int(rng.integers(1, 48))
    sk = int(rng.integers(1, 48))
    if mask.startswith("causal") and rng.random() < 0.5:
        sk = sq
    near = rng.choice(["", "", "", "", "softmax_dim2", "scale_after",
                       "anticausal_inline"])
    if near == "anticausal_inline":
        mask = near
    return Case(name=f"case{index}", b=int(rng.integers(1, 3)),
                h=int(rng.choice([1, 2, 4])), sq=sq, sk=sk,
                d=int(rng.choice([4, 8, 16, 32])), elem=str(elem),
                scale=str(rng.choice(["q", "scores", "none"])),
                mask=str(mask),
                softmax=str(rng.choice(["linalg", "decomposed",
                                        "reciprocal"])),
                near_miss=str(near))


def _t(dims, elem):
    return "tensor<" + "".join(f"{x}x" for x in dims) + elem + ">"


class _Body:
    def __init__(self):
        self.lines = []
        self.n = 0

    def fresh(self, hint):
        self.n += 1
        return f"%{hint}{self.n}"

    def __call__(self, line):
        self.lines.append("    " + line)

    def generic(self, maps, iters, ins, in_types, out, out_type, args, body,
                hint="g"):
        """A linalg.generic; `body` lists region lines, the last value
        yielded is named %r."""
        res = self.fresh(hint)
        iterators = ", ".join(f'"{i}"' for i in iters)
        ins_clause = (f"ins({', '.join(ins)} : {', '.join(in_types)}) "
                      if ins else "")
        self(f"{res} = linalg.generic {{indexing_maps = [{', '.join(maps)}], "
             f"iterator_types = [{iterators}]}} {ins_clause}"
             f"outs({out} : {out_type}) {{")
        self(f"^bb0({args}):")
        for line in body:
            self(f"  {line}")
        self(f"  linalg.yield %r : {out_type.rsplit('x', 1)[1][:-1]}")
        self(f"}} -> {out_type}")
        return res

    def filled(self, dims, value):
        e = self.fresh("e")
        self(f"{e} = tensor.empty() : {_t(dims, 'f32')}")
        f = self.fresh("f")
        self(f"{f} = linalg.fill ins({value} : f32) outs({e} : "
             f"{_t(dims, 'f32')}) -> {_t(dims, 'f32')}")
        return f

    def empty(self, dims, elem="f32"):
        e = self.fresh("e")
        self(f"{e} = tensor.empty() : {_t(dims, elem)}")
        return e


P4 = ["parallel"] * 4
ID4 = "affine_map<(b, h, i, j) -> (b, h, i, j)>"
ROW4 = "affine_map<(b, h, i, j) -> (b, h, i)>"


def emit(case):
    """MLIR text of the function of `case`."""
    c = case
    el = c.elem
    qd, kd, vd = (c.b, c.h, c.sq, c.d), (c.b, c.h, c.sk, c.d), (c.b, c.h, c.sk, c.d)
    sd, od = (c.b, c.h, c.sq, c.sk), (c.b, c.h, c.sq, c.d)
    args = [f"%q: {_t(qd, el)}", f"%k: {_t(kd, el)}", f"%v: {_t(vd, el)}"]
    if c.mask == "add":
        args.append(f"%m: {_t((1, 1, c.sq, c.sk), 'f32')}")
    elif c.mask == "bool":
        args.append(f"%m: {_t((1, 1, c.sq, c.sk), 'i1')}")
    e = _Body()
    e(f"%zero = arith.constant 0.0 : f32")
    e(f"%ninf = arith.constant {NEG_INF} : f32")
    e(f"%scale = arith.constant {c.c!r} : f32")
    ext = (lambda x: [f"%{x}f = arith.extf %{x} : {el} to f32"]) \
        if el != "f32" else (lambda x: [])
    xf = (lambda x: f"%{x}f") if el != "f32" else (lambda x: f"%{x}")
    q = "%q"
    q_type = _t(qd, el)
    if c.scale == "q":
        # Scaled in the inputs' element type, as a frontend does.
        narrow = ([f"%r = arith.truncf %sq : f32 to {el}"] if el != "f32"
                  else [])
        q = e.generic([ID4, ID4], P4, ["%q"], [_t(qd, el)], e.empty(qd, el),
                      _t(qd, el), f"%a: {el}, %o: {el}",
                      ext("a") + [f"%{'sq' if narrow else 'r'} = arith.mulf "
                                  f"{xf('a')}, %scale : f32"] + narrow, "qs")
    q_elem = el
    # Scores: S[b, h, i, j] = sum_e q[b, h, i, e] k[b, h, j, e].
    s0 = e.filled(sd, "%zero")
    qext = [f"%af = arith.extf %a : {q_elem} to f32"] if q_elem != "f32" else []
    qa = "%af" if q_elem != "f32" else "%a"
    s = e.generic(
        ["affine_map<(b, h, i, j, x) -> (b, h, i, x)>",
         "affine_map<(b, h, i, j, x) -> (b, h, j, x)>",
         "affine_map<(b, h, i, j, x) -> (b, h, i, j)>"],
        P4 + ["reduction"], [q, "%k"], [q_type, _t(kd, el)], s0,
        _t(sd, "f32"), f"%a: {q_elem}, %bb: {el}, %o: f32",
        qext + ext("bb") + [f"%p = arith.mulf {qa}, {xf('bb')} : f32",
                            "%r = arith.addf %o, %p : f32"], "s")
    st = _t(sd, "f32")
    if c.scale == "scores":
        s = e.generic([ID4, ID4], P4, [s], [st], e.empty(sd), st,
                      "%a: f32, %o: f32", ["%r = arith.mulf %a, %scale : f32"],
                      "sc")
    mmap = "affine_map<(b, h, i, j) -> (0, 0, i, j)>"
    if c.mask == "add":
        s = e.generic([ID4, mmap, ID4], P4, [s, "%m"],
                      [st, _t((1, 1, c.sq, c.sk), "f32")], e.empty(sd), st,
                      "%a: f32, %mm: f32, %o: f32",
                      ["%r = arith.addf %a, %mm : f32"], "ma")
    elif c.mask == "bool":
        s = e.generic([ID4, mmap, ID4], P4, [s, "%m"],
                      [st, _t((1, 1, c.sq, c.sk), "i1")], e.empty(sd), st,
                      "%a: f32, %mm: i1, %o: f32",
                      ["%r = arith.select %mm, %a, %ninf : f32"], "mb")
    elif c.mask == "causal":
        # A boolean causal mask built from indices (bottom-right aligned),
        # then applied with a select, as torch's exports do.
        md = (c.sq, c.sk)
        cm = e.generic(["affine_map<(i, j) -> (i, j)>"],
                       ["parallel", "parallel"], [], [],
                       e.empty(md, "i1"), _t(md, "i1"), "%o: i1",
                       ["%i = linalg.index 0 : index",
                        "%j = linalg.index 1 : index",
                        f"%off = arith.constant {c.sk - c.sq} : index",
                        "%io = arith.addi %i, %off : index",
                        "%r = arith.cmpi sle, %j, %io : index"], "cm")
        s = e.generic([ID4, "affine_map<(b, h, i, j) -> (i, j)>", ID4], P4,
                      [s, cm], [st, _t(md, "i1")], e.empty(sd), st,
                      "%a: f32, %mm: i1, %o: f32",
                      ["%r = arith.select %mm, %a, %ninf : f32"], "mc")
    elif c.mask in ("causal_inline", "causal_inline_add",
                    "anticausal_inline"):
        # The mask computed in the op that applies it, from the loop
        # indices: keep j <= i + (Sk - Sq) (bottom-right aligned causal), or
        # j >= i + (Sk - Sq) for the near-miss, which is not causal.
        pred = "sge" if c.mask == "anticausal_inline" else "sle"
        body = ["%i = linalg.index 2 : index",
                "%j = linalg.index 3 : index",
                f"%off = arith.constant {c.sk - c.sq} : index",
                "%io = arith.addi %i, %off : index",
                f"%keep = arith.cmpi {pred}, %j, %io : index"]
        if c.mask == "causal_inline_add":
            body += ["%zf = arith.constant 0.0 : f32",
                     "%add = arith.select %keep, %zf, %ninf : f32",
                     "%r = arith.addf %a, %add : f32"]
        else:
            body += ["%r = arith.select %keep, %a, %ninf : f32"]
        s = e.generic([ID4, ID4], P4, [s], [st], e.empty(sd), st,
                      "%a: f32, %o: f32", body, "mi")
    dim = 2 if c.near_miss == "softmax_dim2" else 3
    if c.softmax == "linalg" or c.near_miss == "softmax_dim2":
        p = e.fresh("p")
        e(f"{p} = linalg.softmax dimension({dim}) ins({s} : {st}) "
          f"outs({e.empty(sd)} : {st}) -> {st}")
    else:
        rt = _t(sd[:3], "f32")
        red = ["parallel"] * 3 + ["reduction"]
        mx = e.generic([ID4, ROW4], red, [s], [st], e.filled(sd[:3], "%ninf"),
                       rt, "%a: f32, %o: f32",
                       ["%r = arith.maximumf %a, %o : f32"], "mx")
        ex = e.generic([ID4, ROW4, ID4], P4, [s, mx], [st, rt], e.empty(sd),
                       st, "%a: f32, %mm: f32, %o: f32",
                       ["%dd = arith.subf %a, %mm : f32",
                        "%r = math.exp %dd : f32"], "ex")
        sm = e.generic([ID4, ROW4], red, [ex], [st], e.filled(sd[:3], "%zero"),
                       rt, "%a: f32, %o: f32",
                       ["%r = arith.addf %a, %o : f32"], "sum")
        if c.softmax == "decomposed":
            p = e.generic([ID4, ROW4, ID4], P4, [ex, sm], [st, rt],
                          e.empty(sd), st, "%a: f32, %ss: f32, %o: f32",
                          ["%r = arith.divf %a, %ss : f32"], "p")
        else:
            one = e.fresh("one")
            e(f"{one} = arith.constant 1.0 : f32")
            rc = e.generic(["affine_map<(b, h, i) -> (b, h, i)>"] * 2,
                           ["parallel"] * 3, [sm], [rt], e.empty(sd[:3]), rt,
                           "%a: f32, %o: f32",
                           [f"%r = arith.divf {one}, %a : f32"], "rc")
            p = e.generic([ID4, ROW4, ID4], P4, [ex, rc], [st, rt],
                          e.empty(sd), st, "%a: f32, %rr: f32, %o: f32",
                          ["%r = arith.mulf %a, %rr : f32"], "p")
    if c.near_miss == "scale_after":
        half = e.fresh("half")
        e(f"{half} = arith.constant 0.5 : f32")
        p = e.generic([ID4, ID4], P4, [p], [st], e.empty(sd), st,
                      "%a: f32, %o: f32", [f"%r = arith.mulf %a, {half} : f32"],
                      "ph")
    o0 = e.filled(od, "%zero")
    o = e.generic(
        ["affine_map<(b, h, i, x, j) -> (b, h, i, j)>",
         "affine_map<(b, h, i, x, j) -> (b, h, j, x)>",
         "affine_map<(b, h, i, x, j) -> (b, h, i, x)>"],
        P4 + ["reduction"], [p, "%v"], [st, _t(vd, el)], o0, _t(od, "f32"),
        f"%a: f32, %bb: {el}, %o: f32",
        ext("bb") + [f"%pp = arith.mulf %a, {xf('bb')} : f32",
                     "%r = arith.addf %o, %pp : f32"], "o")
    if el != "f32":
        o = e.generic([ID4, ID4], P4, [o], [_t(od, "f32")], e.empty(od, el),
                      _t(od, el), f"%a: f32, %oo: {el}",
                      [f"%r = arith.truncf %a : f32 to {el}"], "tr")
    body = "\n".join(e.lines)
    return (f"  func.func @{c.name}({', '.join(args)}) -> {_t(od, el)} {{\n"
            f"{body}\n    return {o} : {_t(od, el)}\n  }}")


def inputs(case, rng):
    c = case
    arrays = [dtypes.to_storage(rng.standard_normal(shape), c.elem)
              for shape in ((c.b, c.h, c.sq, c.d), (c.b, c.h, c.sk, c.d),
                            (c.b, c.h, c.sk, c.d))]
    if c.mask == "add":
        m = rng.standard_normal((1, 1, c.sq, c.sk))
        m[..., 0] = 0.0  # keep every row finite
        m = np.where(rng.random(m.shape) < 0.2, -np.inf, m)
        m[..., 0] = 0.0
        arrays.append(m.astype(np.float32))
    elif c.mask == "bool":
        m = rng.random((1, 1, c.sq, c.sk)) < 0.7
        m[..., 0] = True
        arrays.append(m)
    return arrays


def reference(case, arrays):
    """The graph of `case` in NumPy, float64 (the graph's own meaning, for
    near-misses too)."""
    c = case
    q, k, v = (dtypes.to_float(a, c.elem) for a in arrays[:3])
    if c.scale == "q":
        q = dtypes.to_float(dtypes.to_storage(
            (q * np.float32(c.c)).astype(np.float32), c.elem), c.elem)
    s = np.einsum("bhie,bhje->bhij", q, k)
    if c.scale == "scores":
        s = s * np.float32(c.c)
    if c.mask == "add":
        s = s + arrays[3].astype(np.float64)
    elif c.mask == "bool":
        s = np.where(arrays[3], s, -np.inf)
    elif c.mask in ("causal", "causal_inline", "causal_inline_add"):
        i = np.arange(c.sq)[:, None] + (c.sk - c.sq)
        j = np.arange(c.sk)[None, :]
        s = np.where(j <= i, s, -np.inf)
    elif c.mask == "anticausal_inline":
        i = np.arange(c.sq)[:, None] + (c.sk - c.sq)
        j = np.arange(c.sk)[None, :]
        s = np.where(j >= i, s, -np.inf)
    axis = 2 if c.near_miss == "softmax_dim2" else 3
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m = s.max(axis=axis, keepdims=True)
        ex = np.exp(s - m)
        p = ex / ex.sum(axis=axis, keepdims=True)
    if c.near_miss == "scale_after":
        p = p * 0.5
    return np.einsum("bhij,bhje->bhie", p, v)


def _functions(text):
    """Function name -> its text, in a printed module."""
    out, current, lines = {}, None, []
    for line in text.splitlines():
        if "func.func @" in line:
            current = line.split("@", 1)[1].split("(", 1)[0]
            lines = []
        if current:
            lines.append(line)
            if line.strip() == "}" and line.startswith("  }"):
                out[current] = "\n".join(lines)
                current = None
    return out


def run(cases, seed, per_module=25, log=print):
    """Runs the cases; returns (compared, failures)."""
    rng = np.random.default_rng(seed + 1)
    failures, compared = [], 0
    variants = {
        "as written": ([], None),
        "raise+decompose": (["--bpt-raise", "--bpt-decompose"], None),
        "raise+blockwise": (["--bpt-raise",
                             "--bpt-blockwise=q-block=16 kv-block=16"], None),
    }
    for start in range(0, len(cases), per_module):
        chunk = cases[start:start + per_module]
        mlir = "module {\n" + "\n".join(emit(c) for c in chunk) + "\n}\n"
        raised = _functions(run_bpt_opt(mlir, ["--bpt-raise"], pipeline=None))
        modules = {name: compile_mlir(mlir, passes=passes)
                   for name, (passes, _) in variants.items()}
        for case in chunk:
            got_raised = "bpt.attention" in raised.get(case.name, "")
            if got_raised != case.is_attention:
                failures.append(f"{case}: raised={got_raised}")
                log(f"FAIL {case.name}: raised={got_raised}, expected "
                    f"{case.is_attention}: {case}")
            args = inputs(case, rng)
            ref = reference(case, args)
            ok_rows = np.isfinite(ref).all(axis=-1)
            for name, module in modules.items():
                out = dtypes.to_float(module[case.name](*args), case.elem)
                # Rows that see no key: NaN in the graph's own meaning, 0
                # for bpt.attention; compared where the graph is defined.
                err = max_error(out[ok_rows], ref[ok_rows]) if ok_rows.any() \
                    else 0.0
                compared += 1
                if not err <= TOLERANCE[case.elem]:
                    failures.append(f"{case} ({name}): error {err:.2e}")
                    log(f"FAIL {case.name} ({name}): error {err:.2e}: {case}")
    return compared, failures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-module", type=int, default=25)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    cases = [random_case(rng, i) for i in range(args.cases)]
    t0 = time.time()
    compared, failures = run(cases, args.seed, args.per_module)
    raised = sum(c.is_attention for c in cases)
    print(f"{len(cases)} graphs ({raised} attention, {len(cases) - raised} "
          f"near-misses), {compared} executions compared in "
          f"{time.time() - t0:.0f} s: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
