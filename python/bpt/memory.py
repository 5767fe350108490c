"""Memory figures read from the IR: the buffers a program allocates.

After one-shot bufferization every tensor that needs storage is a
`memref.alloc`; its type gives its size. Two readings of a bufferized
function:

- `allocations`: every allocation with its size, largest first.
- `peak_live_bytes`: the most bytes allocated at once. An allocation at a
  level of the program is live from its definition to the last operation of
  that level that mentions it, one of its views (subview, reshape, cast) or
  a value that may be it (the result of a loop it starts, of an scf.if that
  yields it, of a select);
  an allocation inside a loop body is live during one iteration, and the
  body's own peak counts while the loop runs (parallel loops: one iteration
  per thread, `threads`).

This is how the memory of a program is read without running it, and how the
S x S scores of the reference lowering show up.
"""

import re

from .compiler import run_bpt_opt

_ALLOC_RE = re.compile(r"(%[\w.$-]+)\s*=\s*memref\.alloc\(([^)]*)\)(?:\s*\{[^}]*\})?"
                       r"\s*:\s*memref<([0-9x?]+)x([a-z0-9]+)")
_VIEW_RE = re.compile(r"(%[\w.$-]+)\s*=\s*memref\.(?:subview|expand_shape|"
                      r"collapse_shape|cast|reinterpret_cast|view)\s+(%[\w.$-]+)")
_VALUE_RE = re.compile(r"%[\w.$-]+")
# Results that are (one of) the buffers of their operands or yields: the
# results of loops (%r or %r:3, used as %r#i), of scf.if and of selects.
_RESULT_RE = re.compile(r"(%[\w.$-]+)(?::\d+)?\s*=\s*(scf\.for|scf\.while|"
                        r"scf\.if|arith\.select)\b")
_BYTES = {"f32": 4, "f16": 2, "bf16": 2, "i1": 1, "f64": 8, "i32": 4,
          "i64": 8, "index": 8, "i8": 1}

BUFFERIZE = ("--one-shot-bufferize=bufferize-function-boundaries "
             "function-boundary-type-conversion=identity-layout-map")


def bufferized(mlir, passes=("--bpt-decompose",)):
    """The module after `passes`, canonicalisation and bufferization."""
    return run_bpt_opt(mlir, passes=[*passes, "--canonicalize", "--cse",
                                       BUFFERIZE], pipeline=None)


def _size(dims, elem, dynamic_bound):
    n = 1
    for d in dims.split("x"):
        n *= dynamic_bound if d == "?" else int(d)
    return n * _BYTES.get(elem, 4)


def allocations(mlir, passes=("--bpt-decompose",), dynamic_bound=0):
    """(shape, element type, bytes) of every memref.alloc after `passes`
    and bufferization, largest first. Dynamic extents count as
    `dynamic_bound`."""
    out = []
    for m in _ALLOC_RE.finditer(bufferized(mlir, passes)):
        dims = tuple(int(d) if d != "?" else -1 for d in m.group(3).split("x"))
        out.append((dims, m.group(4), _size(m.group(3), m.group(4),
                                            dynamic_bound)))
    return sorted(out, key=lambda a: -a[2])


class _Op:
    def __init__(self, text):
        self.text, self.children = text, []

    def all_text(self):
        return self.text + "".join(c.all_text() for c in self.children)


def _parse(lines):
    """Lines of a function body into a tree by indentation."""
    root = _Op("")
    stack = [(-1, root)]
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("}"):
            continue
        indent = len(line) - len(line.lstrip())
        while stack[-1][0] >= indent:
            stack.pop()
        op = _Op(stripped + "\n")
        stack[-1][1].children.append(op)
        stack.append((indent, op))
    return root


def _result_aliases(op, root_of):
    """The allocations a result of `op` may be (not only a view of): a loop
    result is one of its iter_args' initial buffers, an scf.if result one of
    the buffers its branches yield, a select one of its operands."""
    m = _RESULT_RE.match(op.text)
    if not m:
        return None
    if m.group(2) == "scf.if":
        texts = [c.text for c in op.children if c.text.startswith("scf.yield")]
    else:
        texts = [op.text]
    roots = set()
    for text in texts:
        for name in _VALUE_RE.findall(text):
            roots |= root_of.get(name, set())
    return m.group(1), roots


def _peak(ops, dynamic_bound, threads):
    size, first, last, root_of = {}, {}, {}, {}
    for i, op in enumerate(ops):
        m = _ALLOC_RE.search(op.text)
        if m:
            size[m.group(1)] = _size(m.group(3), m.group(4), dynamic_bound)
            first[m.group(1)] = last[m.group(1)] = i
            root_of[m.group(1)] = {m.group(1)}
        v = _VIEW_RE.search(op.text)
        if v and v.group(2) in root_of:
            root_of[v.group(1)] = root_of[v.group(2)]
        aliases = _result_aliases(op, root_of)
        if aliases and aliases[1]:
            root_of[aliases[0]] = aliases[1]
        for name in _VALUE_RE.findall(op.all_text()):
            for root in root_of.get(name, ()):
                last[root] = i
    peak = 0
    for i, op in enumerate(ops):
        live = sum(s for a, s in size.items() if first[a] <= i <= last[a])
        inner = 0
        if op.children:
            copies = threads if "scf.forall" in op.text or \
                "scf.parallel" in op.text else 1
            inner = copies * _peak(op.children, dynamic_bound, threads)
        peak = max(peak, live + inner)
    return peak


def peak_live_bytes(bufferized_text, func, dynamic_bound=0, threads=1):
    """The peak of bytes allocated at once in @func (see the module doc)."""
    lines = bufferized_text.splitlines()
    start = next((i for i, l in enumerate(lines)
                  if re.search(rf"func\.func @{re.escape(func)}\(", l)), None)
    if start is None:
        raise ValueError(f"no function @{func}")
    indent = len(lines[start]) - len(lines[start].lstrip())
    body = []
    for line in lines[start + 1:]:
        if line.strip() == "}" and len(line) - len(line.lstrip()) == indent:
            break
        body.append(line)
    return _peak(_parse(body).children, dynamic_bound, threads)


def f32_bytes(shapes):
    """Bytes of f32 arrays of the given shapes (a program's inputs)."""
    total = 0
    for shape in shapes:
        n = 1
        for d in shape:
            n *= d
        total += 4 * n
    return total


def largest_fitting(fits, step, limit=1 << 26):
    """The largest multiple of `step` for which `fits` holds (0 if none),
    assuming `fits` is monotone: doubling, then bisection."""
    lo, hi = 0, step
    while fits(hi):
        lo, hi = hi, hi * 2
        if hi > limit:
            return lo
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def human(nbytes):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{nbytes} B"
        nbytes /= 1024
