"""Runs a gpu.func built by --bpt-gpu-attention (the attention kernel) or
--bpt-gpu-offload (the tensor-core contraction kernels) on the CPU, thread
by thread.

This is how the kernel's semantics are tested on machines without a GPU
(CI): the kernel as MLIR (generic form, before any lowering), every thread
of a block executed in lockstep with NumPy (one array lane per thread), the
blocks of the grid one after another. It implements just the ops the kernel
builder emits. What it models:

- `nvgpu.mma.sync` / `nvvm.mma.sync` m16n8k16: the fragments are gathered
  from the 32 lanes of each warp with the register layout of the PTX ISA
  (A row-major: lane l holds rows l/4 and l/4 + 8, columns 2 (l%4) + {0, 1}
  and + 8; B column-major: rows 2 (l%4) + {0, 1} and + 8, column l/4; C/D
  like A's first 8 columns), multiplied in f32, scattered back;
- `gpu.shuffle xor` within a warp; `gpu.barrier` is implicit in lockstep
  execution; `scf.if` masks the stores of the threads whose condition is
  false;
- shared memory with hazard checks: a read of data another warp wrote (by
  a store or a landed cp.async) since the last barrier, a write of data
  another warp read since then, or a read while a cp.async into it is in
  flight raise RaceError;
- ex2.approx / lg2.approx as exact exp2 / log2; f16 and bf16 values are
  carried as f32 rounded to their type (round to nearest even).
- the sm_90a ops of the TMA + wgmma contraction kernel, as upstream's
  nvgpu lowering and the PTX ISA define them for the one layout the kernel
  uses (16-bit elements, 128-byte swizzle, boxes 64 elements wide):
  `nvgpu.tma.async.load` copies a box of the global matrix (a kernel
  argument passed as a NumPy array; coordinates innermost first; zero past
  its edges) into shared memory, element (r, c) of the box at 16-bit slot
  64 r + 8 ((c / 8) XOR (r mod 8)) + c mod 8 of a 1024-byte aligned
  destination; it lands when a thread waits on its mbarrier's phase
  (`nvgpu.mbarrier.*`: arrival count and transaction bytes must match, a
  wait on a phase that cannot complete raises SyncError, a wait on the
  other parity returns at once) and is visible to the warps that waited
  (to all after the next barrier); a TMA load on an mbarrier initialised
  with no `fence.proxy.async` since raises SyncError;
  `nvgpu.warpgroup.mma` reads A (128 x 64, K contiguous) and B (64 x 128
  stored as two 64 x 64 boxes, N contiguous, transposeB) back
  through that layout, its shared-memory reads outstanding until a
  `wgmma.wait_group` retires its group (a TMA or store into them before
  then raises RaceError, as does storing the accumulator while a group is
  in flight); `nvgpu.warpgroup.mma.store` writes the accumulator, warp w
  owning rows 16 w .. 16 w + 15 of each 64-row half. The wgmma descriptors
  are not decoded: the layout they describe is taken to be the one the
  TMA boxes have (upstream's lowering computes them for exactly that
  layout: 128-byte swizzle, 64-element rows, B two boxes wide).
- the attention kernel's `nvvm.wgmma.mma_async` (m64nNk16, f32
  accumulators as LLVM structs of per-thread registers, layout as m16n8
  per warp): its descriptors are decoded (start address, leading and
  stride byte offsets, 128-byte swizzle) and the operands read through the
  addresses they give (K-major A and B, or N-major B), swizzled on address
  bits; the register-A form the kernel writes as inline PTX
  (`llvm.inline_asm`) takes A from the registers its asm string names, in
  the m16n8k16 A layout per warp; each warpgroup of a block runs its own
  MMA; `wgmma.fence` must come between other writes of the accumulators
  (or A registers) and the first MMA of a group, an accumulator register
  used by anything but another MMA before a `wgmma.wait_group` retires
  its group raises RaceError, and an MMA that reads shared memory a thread
  stored to with no `fence.proxy.async` since raises SyncError. TMA boxes
  may be 4-D (outer box dimensions of 1).

It does not model timing, bank conflicts or out-of-bounds faults (an
out-of-bounds index raises IndexError, which fails the test).
"""

import math
import re

import numpy as np

from .compiler import split_top_level as _split_top

WARP = 32
_OP = re.compile(r'^\s*(?:(%[\w]+)(?::(\d+))?\s*=\s*)?"([\w.]+)"\((.*?)\)(.*)$')
_BB = re.compile(r'^\s*\^bb\d+\((.*)\):\s*$')


def round_to(x, elem):
    """Rounds f32 values to f16 or bf16 (returned as f32)."""
    x = np.asarray(x, dtype=np.float32)
    if elem == "f16":
        return x.astype(np.float16).astype(np.float32)
    if elem == "bf16":
        bits = x.view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        out = rounded.astype(np.uint32).view(np.float32)
        return np.where(np.isnan(x), x, out).astype(np.float32)
    return x


class Op:
    __slots__ = ("results", "nres", "name", "operands", "rest", "regions",
                 "line")

    def __init__(self, results, nres, name, operands, rest, line=None):
        self.results, self.nres, self.name = results, nres, name
        self.operands, self.rest, self.regions = operands, rest, []
        self.line = line  # index of its first line in the parsed text


class Block:
    def __init__(self, args):
        self.args = args  # names
        self.ops = []


def _split_operands(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def _parse_region(lines, i):
    """Parses blocks until the line that closes the region; returns
    (blocks, i at the closing line)."""
    blocks = []
    cur = None
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if s.startswith("})") or s.startswith("}, {"):
            return blocks, i
        m = _BB.match(line)
        if m:
            args = [a.split(":")[0].strip() for a in _split_top(m.group(1))]
            cur = Block(args)
            blocks.append(cur)
            i += 1
            continue
        if cur is None:
            cur = Block([])
            blocks.append(cur)
        op, i = _parse_op(lines, i)
        cur.ops.append(op)
    raise ValueError("unterminated region")


def _parse_op(lines, i):
    line = lines[i]
    m = _OP.match(line)
    if not m:
        raise ValueError(f"cannot parse: {line.strip()[:120]}")
    res, nres, name, operands, rest = m.groups()
    op = Op(res, int(nres) if nres else (1 if res else 0), name,
            _split_operands(operands), rest, i)
    i += 1
    if rest.rstrip().endswith("({"):
        while True:
            blocks, i = _parse_region(lines, i)
            op.regions.append(blocks)
            s = lines[i].strip()
            if s.startswith("}, {"):
                i += 1
                continue
            op.rest += s  # the closing line: attributes and types
            i += 1
            break
    return op, i


def parse_kernels(generic_mlir):
    """The gpu.func ops of a module printed with --mlir-print-op-generic:
    {name: (entry block, the line that declares its arguments)}."""
    lines = generic_mlir.splitlines()
    kernels = {}
    for i, line in enumerate(lines):
        if '"gpu.func"()' in line:
            op, _ = _parse_op(lines, i)
            name = re.search(r'sym_name = "([\w]+)"', op.rest).group(1)
            kernels[name] = (op.regions[0][0], lines[i + 1])
    return kernels


def launch_shared_bytes(generic_mlir, name):
    """The dynamic shared memory (bytes) the host launches kernel `name`
    with, in a module printed with --mlir-print-op-generic: the constant
    operand of its gpu.launch_func (0 without one)."""
    for line in generic_mlir.splitlines():
        if '"gpu.launch_func"(' in line and f"::@{name}," in line:
            sizes = re.search(r"operandSegmentSizes = array<i32: ([\d, ]+)>",
                              line).group(1).split(", ")
            operands = line.split("(", 1)[1].split(")", 1)[0].split(", ")
            # Segments: async deps, grid x y z, block x y z, cluster x y z,
            # dynamic shared memory, ...
            if sizes[10] != "1":
                return 0
            at = sum(int(x) for x in sizes[:10])
            const = re.search(
                re.escape(operands[at]) +
                r' = "arith.constant"\(\) <\{value = (\d+) : i32\}>',
                generic_mlir)
            return int(const.group(1))
    raise ValueError(f"no launch of {name}")


def _elem(type_text):
    m = re.search(r"x?(f16|bf16|f32|i1|i32|index)>?\s*$", type_text.strip())
    return m.group(1) if m else type_text.strip()


def _result_types(rest):
    tail = rest.rsplit("->", 1)[-1].strip()
    if tail.startswith("(") and tail.endswith(")"):
        tail = tail[1:-1]
    return [t.strip() for t in _split_top(tail)]


def _vector_shape(t):
    m = re.match(r"vector<((?:\d+x)+)", t)
    return tuple(int(d) for d in m.group(1).split("x") if d) if m else ()


_CMPI = {0: np.equal, 1: np.not_equal, 2: np.less, 3: np.less_equal,
         4: np.greater, 5: np.greater_equal, 6: np.less, 7: np.less_equal,
         8: np.greater, 9: np.greater_equal}
_CMPF = {1: np.equal, 2: np.greater, 3: np.greater_equal, 4: np.less,
         5: np.less_equal, 6: np.not_equal}


class RaceError(AssertionError):
    """Two warps touch the same shared memory without a barrier between
    them, or shared memory is read while a cp.async into it is in flight."""


class SyncError(AssertionError):
    """A wait on an mbarrier phase that can never complete (too few
    arrivals, or transaction bytes that do not match the copies)."""


TMA_WRITER = -3  # write_warp of data a TMA load brought in


class TensorMap:
    """A TMA tensor map: the global tensor and the box its type declares
    (outer box dimensions of 1 select one index of the tensor's outer
    dimensions; the innermost two are the box's rows and 64 columns)."""

    def __init__(self, array, type_text):
        self.array = array
        m = re.search(r"tensor = memref<((?:\d+x)+)(\w+)", type_text)
        self.box = tuple(int(d) for d in m.group(1).split("x") if d)
        self.swizzle = re.search(r"swizzle = (\w+)", type_text).group(1)
        if self.swizzle != "swizzle_128b" or self.box[-1] != 64 or \
                any(d != 1 for d in self.box[:-2]) or \
                len(self.box) != array.ndim:
            raise NotImplementedError("emulator: TMA boxes of 64 16-bit "
                                      "elements with the 128-byte swizzle only")


class Barriers:
    """An nvgpu.mbarrier.group: per barrier its expected arrivals, the
    arrivals and transaction bytes of the current phase, the number of
    completed phases and the TMA copies that land with the phase."""

    def __init__(self, n):
        self.count = [None] * n
        self.arrived = [0] * n
        self.expect = [0] * n
        self.phase = [0] * n
        self.pending = [[] for _ in range(n)]
        self.landed = [[] for _ in range(n)]  # (shared, ids) of the last phase


class Accumulator:
    """A warpgroup's accumulator matrix (the whole tile)."""

    def __init__(self, values):
        self.values = values


class Pending(np.ndarray):
    """A register of a warpgroup MMA's accumulator taken out of its struct
    (llvm.extractvalue) before a wgmma.wait_group retired the MMA's group
    (`group`): only another warpgroup MMA, which accumulates into it, may
    read it until then."""


class Struct(list):
    """An LLVM struct value, one NumPy lane array per field. `group`: the
    warpgroup MMA group that computes it (None for other structs): read
    before a wgmma.wait_group retires that group, its registers are not
    yet written."""

    def __init__(self, fields, group=None):
        super().__init__(fields)
        self.group = group


def _swizzle128(addr):
    """The 128-byte swizzle on shared addresses: 16-byte chunk bits 4-6
    XOR the 128-byte row bits 7-9."""
    return addr ^ (((addr >> 7) & 7) << 4)


def _swizzled_slots(rows, cols):
    """16-bit slot of element (r, c) of a box of 64-element (128-byte) rows
    stored with the 128-byte swizzle from a 1024-byte boundary: 16-byte
    chunk c / 8 of row r at chunk (c / 8) XOR (r mod 8)."""
    r = np.arange(rows)[:, None]
    c = np.arange(cols)[None, :]
    return _swizzle128(128 * r + 2 * c) // 2


class Shared:
    """A workgroup buffer of 16-bit slots with hazard tracking: the epoch
    (number of barriers passed) and warp of the last write of each slot and
    the warps that read it in the current epoch, and copies in flight."""

    def __init__(self, n, base=0):
        self.base = base  # byte address of slot 0 in the shared window
        self.values = np.full(n, np.nan, dtype=np.float32)  # garbage
        self.ids = np.arange(n)
        self.write_epoch = np.full(n, -1)
        self.write_warp = np.full(n, -1)
        self.read_epoch = np.full(n, -1)
        self.readers = np.zeros(n, dtype=np.int64)  # warp bit mask
        self.in_flight = np.zeros(n, dtype=np.int64)
        # Slots a TMA load wrote (write_warp TMA_WRITER): the warps that
        # waited on its mbarrier phase, which alone may read them before
        # the next barrier.
        self.tma_seen = np.zeros(n, dtype=np.int64)
        # Slots a thread's store wrote with no fence.proxy.async since: the
        # async proxy (a warpgroup MMA reading its operands) may not see
        # them.
        self.unfenced = np.zeros(n, dtype=bool)


class View:
    """A typed view (memref.view) of a Shared buffer."""

    def __init__(self, shared, values, ids):
        self.shared, self.values, self.ids = shared, values, ids

    def __getitem__(self, pos):
        return self.values[pos]


class Emulator:
    def __init__(self, block, threads, dynamic_shared=0, shared_base=32):
        self.entry = block
        self.T = threads
        # Dynamic shared memory: its size, and where it starts (after the
        # static part, e.g. the mbarriers: not 1024-byte aligned).
        self.dynamic_shared, self.shared_base = dynamic_shared, shared_base
        self.tma_loads = 0  # boxes copied
        self.wgmmas = 0  # warpgroup.mma ops run
        self.ldmatrix_ways = []  # bank-conflict degree of each 8x8 matrix
        self.async_copies = 0  # cp.async chunks issued (all threads)
        self.barriers_run = set()  # text lines of the barriers executed

    # -- values -----------------------------------------------------------
    def run(self, grid, args, shared_shapes):
        """Runs the kernel over `grid` (x, y, z) with `args` (NumPy arrays
        for memrefs, ints for indices), in place."""
        names = self.entry.args
        nargs = len(args)
        for bz in range(grid[2]):
            for by in range(grid[1]):
                for bx in range(grid[0]):
                    env = {}
                    for n, a in zip(names, args):
                        env[n] = a if isinstance(a, np.ndarray) else \
                            np.full(self.T, a, dtype=np.int64)
                    for n, shape in zip(names[nargs:], shared_shapes):
                        env[n] = Shared(shape[0])
                    self.epoch = 0
                    self.block_id = (bx, by, bz)
                    self.uncommitted, self.groups = [], []
                    self.wgmma_groups = []  # slot ids each group reads
                    # nvvm.wgmma.mma_async: reads not yet committed, the
                    # groups retired, whether a wgmma.fence came since the
                    # last commit.
                    self.wgmma_pending, self.retired = [], set()
                    self.wgmma_fenced = False
                    self.chain = 0  # the group of the next wgmma chain
                    self.shared_buffers = [env[n] for n in
                                           names[nargs:]]
                    self.dynamic = None
                    # An mbarrier.init not yet followed by a fence that
                    # makes it visible to the async proxy (TMA).
                    self.unfenced_init = False
                    self._run_ops(self.entry.ops, env,
                                  np.ones(self.T, dtype=bool))

    def _get(self, env, name):
        if "#" in name:
            base, idx = name.split("#")
            return env[base][int(idx)]
        return env[name]

    def _run_ops(self, ops, env, mask):
        for op in ops:
            out = self._exec(op, env, mask)
            if op.results:
                env[op.results] = out if op.nres == 1 else list(out)
            if op.name in ("gpu.return", "scf.yield"):
                return out
        return None

    def _exec(self, op, env, mask):
        T = self.T
        name = op.name
        ins = [self._get(env, o) for o in op.operands]
        if name != "llvm.inline_asm":
            for x in ins:
                if isinstance(x, Pending) and x.group not in self.retired:
                    raise RaceError("a warpgroup MMA's accumulator read "
                                    "before a wgmma.wait_group retires its "
                                    "group")
        rt = _result_types(op.rest) if op.nres else []
        if name == "arith.constant":
            m = re.search(r"value = (.*?)(?: : ([^}]*))?\}>", op.rest)
            val, typ = m.group(1), (m.group(2) or "i1").strip()
            if val.startswith("dense<"):
                v = float(re.match(r"dense<(.*)>", val).group(1))
                return np.full((T,) + _vector_shape(typ), v, dtype=np.float32)
            if val in ("true", "false"):
                return np.full(T, val == "true")
            if val.startswith("0x"):
                f = np.array([int(val, 16)], dtype=np.uint32).view(np.float32)
                return np.full(T, f[0], dtype=np.float32)
            if _elem(typ) in ("index", "i32", "i64"):
                return np.full(T, int(val), dtype=np.int64)
            return np.full(T, float(val), dtype=np.float32)
        if name == "memref.extract_aligned_pointer_as_index":
            if isinstance(ins[0], Shared):
                return np.full(T, ins[0].base, dtype=np.int64)
            # NumPy views: the address of the first element (offset 0).
            return np.full(T, ins[0].ctypes.data, dtype=np.int64)
        if name == "memref.extract_strided_metadata":
            a = ins[0]
            return [a, np.zeros(T, dtype=np.int64)] + \
                [np.full(T, d, dtype=np.int64) for d in a.shape] + \
                [np.full(T, st // a.itemsize, dtype=np.int64)
                 for st in a.strides]
        if name == "memref.dim":
            return np.full(T, ins[0].shape[int(ins[1][0])], dtype=np.int64)
        if name == "arith.ceildivui":
            return -(-ins[0] // ins[1])
        if name == "gpu.thread_id":
            return np.arange(T, dtype=np.int64)
        if name == "gpu.block_id":
            d = "xyz".index(re.search(r"dim (\w)", op.rest).group(1))
            return np.full(T, self.block_id[d], dtype=np.int64)
        ints = {"arith.addi": np.add, "arith.subi": np.subtract,
                "arith.muli": np.multiply, "arith.divui": np.floor_divide,
                "arith.remui": np.remainder, "arith.minsi": np.minimum,
                "arith.maxsi": np.maximum, "arith.floordivsi": np.floor_divide,
                "arith.andi": np.logical_and, "arith.xori": np.bitwise_xor}
        if name in ints:
            return ints[name](ins[0], ins[1])
        floats = {"arith.addf": np.add, "arith.subf": np.subtract,
                  "arith.mulf": np.multiply, "arith.divf": np.divide,
                  "arith.maximumf": np.maximum, "arith.minimumf": np.minimum,
                  "arith.maxnumf": np.fmax, "arith.minnumf": np.fmin,
                  "math.powf": np.power}
        unary = {"math.tanh": np.tanh, "math.exp": np.exp, "math.log": np.log,
                 "math.sqrt": np.sqrt, "math.rsqrt": lambda x: 1 / np.sqrt(x),
                 "math.erf": np.vectorize(math.erf, otypes=[np.float64]),
                 "math.absf": np.abs, "arith.negf": np.negative,
                 "math.exp2": np.exp2, "math.log2": np.log2}
        if name in floats or name in unary:
            # In f32, rounded to a 16-bit result type.
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                out = floats[name](ins[0], ins[1]) if name in floats else \
                    unary[name](ins[0].astype(np.float64))
            return round_to(np.asarray(out, dtype=np.float32),
                            _elem(rt[0]) if rt else "f32")
        if name == "arith.cmpi":
            p = int(re.search(r"predicate = (\d+)", op.rest).group(1))
            return _CMPI[p](ins[0], ins[1])
        if name == "arith.cmpf":
            p = int(re.search(r"predicate = (\d+)", op.rest).group(1))
            return _CMPF[p](ins[0], ins[1])
        if name == "arith.select":
            c = ins[0].reshape(ins[0].shape + (1,) * (ins[1].ndim - ins[0].ndim))
            return np.where(c, ins[1], ins[2])
        if name == "arith.extf":
            return ins[0].astype(np.float32)
        if name == "arith.truncf":
            return round_to(ins[0], _elem(rt[0]))
        if name == "llvm.intr.fma":
            # One rounding (the f32 product is exact in f64).
            out = ins[0].astype(np.float64) * ins[1] + ins[2]
            return round_to(out.astype(np.float32), _elem(rt[0]))
        if name == "llvm.call_intrinsic":
            intr = re.search(r'intrin = "([\w.]+)"', op.rest).group(1)
            with np.errstate(divide="ignore", invalid="ignore"):
                if intr.startswith("llvm.nvvm.ex2"):
                    return np.exp2(ins[0]).astype(np.float32)
                if intr.startswith("llvm.nvvm.lg2"):
                    return np.log2(ins[0]).astype(np.float32)
            raise NotImplementedError(intr)
        if name in ("vector.load", "memref.load"):
            mem, idx = ins[0], ins[1:]
            n = _vector_shape(rt[0])
            if name == "memref.load":
                if isinstance(mem, View):
                    ids = mem.ids[tuple(idx)]
                    for w in range(T // WARP):
                        self._read_check(mem, ids[w * WARP:(w + 1) * WARP], w)
                return mem[tuple(idx)]
            lead = tuple(i for i in idx[:-1])
            cols = idx[-1][:, None] + np.arange(n[0])[None, :]
            return mem[tuple(i[:, None] for i in lead) + (cols,)]
        if name in ("vector.store", "memref.store"):
            val, mem, idx = ins[0], ins[1], ins[2:]
            sel = np.nonzero(mask)[0]
            if name == "memref.store" and isinstance(mem, View):
                # A thread's store to shared memory: ordered against other
                # warps' reads and writes by barriers only.
                pos = tuple(i[sel] for i in idx)
                self._shared_store(mem, pos, sel // WARP, val[sel])
            elif name == "vector.store" and isinstance(mem, View):
                n = val.shape[1]
                cols = idx[-1][sel, None] + np.arange(n)[None, :]
                pos = tuple(i[sel, None] for i in idx[:-1]) + (cols,)
                warps = np.broadcast_to((sel // WARP)[:, None], cols.shape)
                self._shared_store(mem, pos, warps, val[sel])
            elif name == "memref.store":
                mem[tuple(i[sel] for i in idx)] = val[sel]
            else:
                n = val.shape[1]
                cols = idx[-1][sel, None] + np.arange(n)[None, :]
                mem[tuple(i[sel, None] for i in idx[:-1]) + (cols,)] = val[sel]
            return None
        if name == "vector.insert":
            pos = tuple(int(p) for p in re.search(
                r"static_position = array<i64: ([\d, ]+)>", op.rest)
                .group(1).split(","))
            out = ins[1].copy()
            out[(slice(None),) + pos] = ins[0]
            return out
        if name == "vector.extract":
            pos = tuple(int(p) for p in re.search(
                r"static_position = array<i64: ([\d, ]+)>", op.rest)
                .group(1).split(","))
            return ins[0][(slice(None),) + pos]
        if name == "llvm.extractvalue":
            pos = int(re.search(r"position = array<i64: (\d+)>", op.rest)
                      .group(1))
            st = ins[0]
            if isinstance(st, Struct) and st.group is not None and \
                    st.group not in self.retired:
                reg = st[pos].view(Pending)
                reg.group = st.group
                return reg
            return st[pos]
        if name == "llvm.insertvalue":
            pos = int(re.search(r"position = array<i64: (\d+)>", op.rest)
                      .group(1))
            out = Struct(ins[0])
            out[pos] = ins[1]
            return out
        if name == "llvm.mlir.zero":
            n = len(re.findall(r"\bf32\b", rt[0]))
            return Struct([np.zeros(T, dtype=np.float32) for _ in range(n)])
        if name in ("arith.index_cast", "arith.index_castui"):
            return ins[0].astype(np.int64)
        if name == "vector.from_elements":
            shape = _vector_shape(rt[0])
            return np.stack(ins, axis=1).reshape((T,) + shape)
        if name == "vector.broadcast":
            shape = _vector_shape(rt[0])
            return np.broadcast_to(ins[0].reshape((T,) + (1,) * len(shape)),
                                   (T,) + shape).copy()
        if name == "vector.bitcast":
            if _elem(rt[0]) == "i32":
                # vector<2xbf16> -> vector<1xi32>: the pair is kept as it is
                # (nvvm.mma.sync reads it back as two bf16 values).
                return ins[0][:, None, :]
            # Between 16-bit float types (bf16 data in f16 containers):
            # values are tracked, not bits, and no arithmetic happens on the
            # reinterpreted type, so the value passes through.
            return ins[0]
        if name == "memref.view":
            # A typed view of an i8 workgroup buffer; buffers are kept as
            # 16-bit slots, so views of f16 and bf16 alias the same values.
            assert (ins[1] == ins[1][0]).all(), "non-uniform view offset"
            shift = int(ins[1][0])
            shape = tuple(int(d) for d in re.search(
                r"-> memref<((?:\d+x)+)", op.rest).group(1).split("x") if d)
            n = int(np.prod(shape))
            sh = ins[0]
            # An f32 element takes two slots; its value is kept in the
            # first.
            wide = 2 if _elem(rt[0]) == "f32" else 1
            sl = slice(shift // 2, shift // 2 + wide * n, wide)
            if sl.stop > len(sh.values):
                raise IndexError("memref.view past the end of shared memory")
            return View(sh, sh.values[sl].reshape(shape),
                        sh.ids[sl].reshape(shape))
        if name == "memref.subview":
            def attr(key):
                return [int(x) for x in re.search(
                    key + r" = array<i64: ([\d, ]+)>", op.rest)
                    .group(1).split(",")]
            if len(ins) != 1:
                raise NotImplementedError("emulator: dynamic subview")
            off, size, step = (attr("static_offsets"), attr("static_sizes"),
                               attr("static_strides"))
            sel = tuple(slice(o, o + z * st, st)
                        for o, z, st in zip(off, size, step))
            return View(ins[0].shared, ins[0].values[sel], ins[0].ids[sel])
        if name == "gpu.dynamic_shared_memory":
            if self.dynamic is None:
                self.dynamic = Shared(self.dynamic_shared // 2,
                                      self.shared_base)
                self.shared_buffers.append(self.dynamic)
            return self.dynamic
        if name == "llvm.inline_asm":
            return self._inline_asm(op, ins)
        if name == "builtin.unrealized_conversion_cast":
            if "tensormap.descriptor" in rt[0]:
                return TensorMap(ins[0], rt[0])
            return ins[0]
        if name.startswith("nvgpu.mbarrier") or name.startswith(
                "nvgpu.tma") or name.startswith("nvgpu.warpgroup") or \
                name.startswith("nvvm.wgmma") or name == "nvvm.fence.proxy":
            return self._hopper(op, name, ins, rt, mask)
        if name == "nvgpu.device_async_copy":
            seg = [int(x) for x in re.search(
                r"operandSegmentSizes = array<i32: ([\d, ]+)>", op.rest)
                .group(1).split(",")]
            dst, rest = ins[0], ins[1:]
            didx, rest = rest[:seg[1]], rest[seg[1]:]
            src, rest = rest[0], rest[1:]
            sidx = rest[:seg[3]]
            n = int(re.search(r"dstElements = (\d+)", op.rest).group(1))
            sel = np.nonzero(mask)[0]
            scols = sidx[-1][sel, None] + np.arange(n)[None, :]
            # With srcElements, only that many are read; the rest are zero.
            count = rest[seg[3]][sel] if len(seg) > 4 and seg[4] else \
                np.full(len(sel), n)
            valid = np.arange(n)[None, :] < count[:, None]
            scols = np.where(valid, scols, sidx[-1][sel, None])
            vals = src[tuple(i[sel, None] for i in sidx[:-1]) + (scols,)]
            vals = np.where(valid, vals, 0).astype(np.float32)
            dcols = didx[-1][sel, None] + np.arange(n)[None, :]
            dpos = tuple(i[sel, None] for i in didx[:-1]) + (dcols,)
            # In flight until a wait lets its group land: a read of the
            # destination before that sees the old contents.
            warps = np.broadcast_to((sel // WARP)[:, None], dcols.shape)
            self._write_check(dst, dst.ids[dpos], warps)
            dst.shared.in_flight[dst.ids[dpos]] += 1
            self.async_copies += len(sel)
            self.uncommitted.append((dst, dpos, vals.copy(), warps))
            return None
        if name == "nvgpu.device_async_create_group":
            self.groups.append(self.uncommitted)
            self.uncommitted = []
            return None
        if name == "nvgpu.device_async_wait":
            m = re.search(r"numGroups = (\d+)", op.rest)
            keep = int(m.group(1)) if m else 0
            while len(self.groups) > keep:
                for dst, pos, vals, warps in self.groups.pop(0):
                    dst.values[pos] = vals
                    ids = dst.ids[pos]
                    dst.shared.in_flight[ids] -= 1
                    dst.shared.write_epoch[ids] = self.epoch
                    dst.shared.write_warp[ids] = warps
            return None
        if name == "nvgpu.ldmatrix":
            return self._ldmatrix(ins[0], ins[1], ins[2],
                                  "transpose = true" in op.rest,
                                  int(re.search(r"numTiles = (\d+)",
                                                op.rest).group(1)))
        if name == "gpu.shuffle":
            offset = int(ins[1][0])
            lanes = np.arange(T)
            src = (lanes // WARP) * WARP + ((lanes % WARP) ^ offset)
            return ins[0][src], np.ones(T, dtype=bool)
        if name == "nvgpu.mma.sync":
            return self._mma(ins[0], ins[1], ins[2])
        if name == "nvvm.mma.sync":
            a = np.stack(ins[0:4], axis=1)          # (T, 4, 2)
            b = np.stack(ins[4:6], axis=1)          # (T, 2, 2)
            c = np.stack(ins[6:10], axis=1).reshape(T, 2, 2)
            d = self._mma(a, b, c).reshape(T, 4)
            return [d[:, i] for i in range(4)]
        if name == "gpu.barrier":
            self.barriers_run.add(op.line)
            self.epoch += 1
            return None
        if name == "scf.for":
            lo, hi, step = (int(ins[i][0]) for i in range(3))
            for i in range(3):
                assert (ins[i] == ins[i][0]).all(), "non-uniform loop bounds"
            carried = ins[3:]
            body = op.regions[0][0]
            for iv in range(lo, hi, step):
                env[body.args[0]] = np.full(T, iv, dtype=np.int64)
                for n, v in zip(body.args[1:], carried):
                    env[n] = v
                carried = self._run_ops(body.ops, env, mask)
            return carried if op.nres != 1 else carried[0]
        if name == "scf.if":
            cond = ins[0] & mask
            then = other = None
            if cond.any():
                then = self._run_ops(op.regions[0][0].ops, env, cond)
            if len(op.regions) > 1 and op.regions[1]:
                rest = ~ins[0] & mask
                if rest.any():
                    other = self._run_ops(op.regions[1][0].ops, env, rest)
            if not op.nres:
                return None
            # Results: each thread's from the branch it took.
            if then is None or other is None:
                out = then if other is None else other
            else:
                out = [np.where(ins[0].reshape((T,) + (1,) * (t.ndim - 1)),
                                t, e) for t, e in zip(then, other)]
            return out if op.nres != 1 else out[0]
        if name == "scf.yield":
            return ins
        if name == "gpu.return":
            return None
        raise NotImplementedError(f"emulator: op {name}")

    def _hopper(self, op, name, ins, rt, mask):
        """The mbarrier, TMA and warpgroup-MMA ops (see the module doc)."""
        T = self.T

        def active(pred):
            return mask & pred if pred is not None else mask

        def uniform(v, what):
            vals = set(int(x) for x in np.asarray(v)[mask])
            if len(vals) != 1:
                raise SyncError(f"{name}: non-uniform {what}")
            return vals.pop()

        if name == "nvgpu.mbarrier.create":
            n = int(re.search(r"num_barriers = (\d+)", rt[0]).group(1))
            return Barriers(n)
        if name == "nvgpu.mbarrier.init":
            bars, count, bid = ins[0], ins[1], ins[2]
            act = active(ins[3] if len(ins) > 3 else None)
            if act.any():
                i = int(bid[act][0])
                bars.count[i] = int(count[act][0])
                bars.arrived[i], bars.expect[i] = 0, 0
                self.unfenced_init = True
            return None
        if name == "nvvm.fence.proxy":
            if "async.shared" in op.rest:
                self.unfenced_init = False
                for sh in self.shared_buffers:
                    sh.unfenced[:] = False
            return None
        if name == "nvvm.wgmma.fence.aligned":
            self.wgmma_fenced = True
            return None
        if name == "nvvm.wgmma.mma_async":
            return self._mma_async(op, ins)
        if name == "nvvm.wgmma.commit.group.sync.aligned":
            if self.wgmma_pending:
                mask = 0
                for _, m in self.wgmma_pending:
                    mask |= m
                self.wgmma_groups.append(
                    (self.dynamic,
                     np.concatenate([ids for ids, _ in self.wgmma_pending]),
                     self.chain, mask))
                self.wgmma_pending = []
                self.chain += 1
            self.wgmma_fenced = False
            return None
        if name == "nvgpu.mbarrier.arrive.expect_tx":
            bars, tx, bid = ins[0], ins[1], ins[2]
            act = active(ins[3] if len(ins) > 3 else None)
            for t in np.nonzero(act)[0]:
                i = int(bid[t])
                if bars.count[i] is None:
                    raise SyncError("arrival on an mbarrier never initialised")
                bars.arrived[i] += 1
                bars.expect[i] += int(tx[t])
            return None
        if name == "nvgpu.tma.prefetch.descriptor":
            return None
        if name == "nvgpu.tma.async.load":
            seg = [int(x) for x in re.search(
                r"operandSegmentSizes = array<i32: ([\d, ]+)>", op.rest)
                .group(1).split(",")]
            dst, bars, tmap = ins[0], ins[1], ins[2]
            coords = ins[3:3 + seg[3]]
            bid = ins[3 + seg[3]]
            pred = ins[-1] if seg[6] else None
            for t in np.nonzero(active(pred))[0]:
                if self.unfenced_init:
                    raise SyncError("a TMA load completes on an mbarrier "
                                    "whose initialisation the async proxy "
                                    "may not see (no fence.proxy.async "
                                    "after mbarrier.init)")
                self._tma_load(dst, bars, int(bid[t]), tmap,
                               [int(c[t]) for c in coords])
            return None
        if name == "nvgpu.mbarrier.try_wait.parity":
            bars = ins[0]
            parity, i = uniform(ins[1], "parity"), uniform(ins[3], "barrier")
            waiting = 0
            for w in set(int(t) // WARP for t in np.nonzero(mask)[0]):
                waiting |= 1 << w
            if bars.phase[i] % 2 != parity:
                # That phase completed already: its data is visible to
                # these warps too.
                for sh, ids in bars.landed[i]:
                    sh.tma_seen[ids] |= waiting
                return None
            landed = sum(vals.size * 2 for _, _, vals in bars.pending[i])
            if bars.count[i] is None or bars.arrived[i] < bars.count[i]:
                raise SyncError(f"wait on mbarrier {i} phase "
                                f"{bars.phase[i]}, which has "
                                f"{bars.arrived[i]} of "
                                f"{bars.count[i]} arrivals: never completes")
            if landed != bars.expect[i]:
                raise SyncError(f"mbarrier {i} expects {bars.expect[i]} "
                                f"bytes, its copies bring {landed}")
            bars.landed[i] = []
            for view, ids, vals in bars.pending[i]:
                sh = view.shared
                sh.values[ids] = vals
                sh.in_flight[ids] -= 1
                # Visible to the warps that waited (to all after the next
                # barrier).
                sh.write_epoch[ids] = self.epoch
                sh.write_warp[ids] = TMA_WRITER
                sh.tma_seen[ids] = waiting
                bars.landed[i].append((sh, ids))
            bars.pending[i] = []
            bars.arrived[i], bars.expect[i] = 0, 0
            bars.phase[i] += 1
            return None
        if name == "nvgpu.warpgroup.generate.descriptor":
            return ins[0]  # the tile's view; the tensor map adds nothing
        if name == "nvgpu.warpgroup.mma.init.accumulator":
            shape = _vector_shape(re.search(r"fragmented = (vector<[^>]*>)",
                                            rt[0]).group(1))
            return Accumulator(np.zeros(shape, dtype=np.float32))
        if name == "nvgpu.warpgroup.mma":
            if T != 128 or not mask.all():
                raise NotImplementedError("emulator: one whole warpgroup")
            if "transposeB" not in op.rest or "transposeA" in op.rest:
                raise NotImplementedError("emulator: k-major A, transposed B")
            a_view, b_view, acc = ins
            (ma, ka), (kb, nb) = a_view.values.shape, b_view.values.shape
            # Both tiles are TMA boxes 64 elements wide, swizzled: A one
            # box of ma rows, B nb / 64 boxes of kb rows side by side.
            a_ids = a_view.ids.reshape(-1)[_swizzled_slots(ma, ka)]
            b_flat = b_view.ids.reshape(-1)
            b_ids = np.concatenate(
                [b_flat[h * kb * 64 + _swizzled_slots(kb, 64)]
                 for h in range(nb // 64)], axis=1)
            sh = a_view.shared
            A, B = self._warpgroup_reads(sh, a_ids, b_ids)
            self.wgmmas += 1
            self.wgmma_groups.append(
                (sh, np.concatenate([a_ids.ravel(), b_ids.ravel()]), -1,
                 0xF))
            keep = int(re.search(r"waitGroup = (\d+)", op.rest).group(1))
            self._wgmma_wait(keep)
            return Accumulator((acc.values + A @ B).astype(np.float32))
        if name == "nvvm.wgmma.wait.group.sync.aligned":
            self._wgmma_wait(int(re.search(r"group = (\d+)",
                                           op.rest).group(1)))
            return None
        if name == "nvgpu.warpgroup.mma.store":
            acc, dst = ins
            if self.wgmma_groups:
                raise RaceError("the accumulator is stored while a warpgroup "
                                "MMA may still write it (no wait_group 0)")
            rows, cols = acc.values.shape
            warps = np.broadcast_to(((np.arange(rows) % 64) // 16)[:, None],
                                    (rows, cols))
            ids = dst.ids
            self._write_check(dst, ids, warps)
            dst.values[...] = acc.values
            dst.shared.write_epoch[ids] = self.epoch
            dst.shared.write_warp[ids] = warps
            return None
        raise NotImplementedError(f"emulator: op {name}")

    def _shared_store(self, mem, pos, warps, vals):
        """Threads' stores of `vals` at `pos` of the shared view `mem`, by
        warps `warps`: checked against other warps' reads and writes since
        the last barrier and against warpgroup MMAs in flight; not visible
        to the async proxy until a fence.proxy.async."""
        ids = mem.ids[pos]
        self._write_check(mem, ids, warps)
        sh = mem.shared
        other = (sh.write_epoch[ids] == self.epoch) & \
            (sh.write_warp[ids] != warps)
        if other.any():
            raise RaceError("two warps write the same shared memory "
                            "with no barrier between")
        self._store_check(sh, ids)
        mem.values[pos] = vals
        sh.write_epoch[ids] = self.epoch
        sh.write_warp[ids] = warps
        sh.unfenced[ids] = True

    def _store_check(self, sh, ids):
        """A thread's store into shared memory a warpgroup MMA in flight
        (or not yet committed) reads."""
        reads = [grp for _, grp, _, _ in self.wgmma_groups] + \
            [ids for ids, _ in self.wgmma_pending]
        if any(np.isin(ids, grp).any() for grp in reads):
            raise RaceError("shared memory stored to while a warpgroup MMA "
                            "may still read it (its group not waited for)")

    def _warpgroup_reads(self, sh, a_ids, b_ids, warps=range(4)):
        """The operands a warpgroup MMA reads from `sh` (slots `a_ids`,
        `b_ids`), as f64, after checking that the reads are ordered after
        the writes: copies landed, stores fenced for the async proxy, every
        warp allowed to read (barriers, mbarrier waits)."""
        for ids in (a_ids, b_ids):
            if (sh.in_flight[ids] > 0).any():
                raise RaceError("a warpgroup MMA reads shared memory a "
                                "copy into it has not landed")
            if sh.unfenced[ids].any():
                raise SyncError("a warpgroup MMA reads shared memory stored "
                                "to with no fence.proxy.async since (the "
                                "async proxy may not see the stores)")
            for w in warps:  # the whole warpgroup reads
                self._read_check(View(sh, None, None), ids, w)
        A = sh.values[a_ids].astype(np.float64)
        B = sh.values[b_ids].astype(np.float64)
        if not (np.isfinite(A).all() and np.isfinite(B).all()):
            raise RaceError("a warpgroup MMA reads shared memory no copy "
                            "or store wrote")
        return A, B

    def _mma_async(self, op, ins):
        """nvvm.wgmma.mma_async: see _wgmma (A and B from shared memory)."""
        acc, da, db = ins
        attrs = op.rest
        n = int(re.search(r"shape = #nvvm.shape<m = 64, n = (\d+), k = 16>",
                          attrs).group(1))
        if "layoutA = #nvvm.mma_layout<row>" not in attrs:
            raise NotImplementedError("emulator: K-major A only")
        return self._wgmma(n, acc, da, db,
                           "layoutB = #nvvm.mma_layout<col>" in attrs,
                           "scaleD = #nvvm.wgmma_scale_out<one>" in attrs)

    def _inline_asm(self, op, ins):
        """llvm.inline_asm of the register-A warpgroup MMA (which NVVM's op
        lacks): `wgmma.mma_async ... m64nNk16.f32.T.T {d}, {a0..a3},
        b-desc, p, 1, 1, trans-b` with the accumulators tied to the
        results and p true: see _wgmma."""
        text = re.search(r'asm_string = "((?:[^"\\]|\\.)*)"', op.rest).group(1)
        m = re.search(r"wgmma\.mma_async\.sync\.aligned\.m64n(\d+)k16\.f32"
                      r"\.(\w+)\.(\w+) \{([^}]*)\}, \{([^}]*)\}, \$(\d+), "
                      r"p, 1, 1, ([01]);", text)
        if not m or "setp.ne.b32 p, 1, 0;" not in text:
            raise NotImplementedError("emulator: inline asm " + text[:60])
        n = int(m.group(1))
        regs = n // 2

        def operands(text):
            return [int(x.strip().lstrip("$")) for x in text.split(",")]
        # Asm operands: the results $0.., then the inputs (the tied
        # accumulators first, in the order of the results).
        if operands(m.group(4)) != list(range(regs)):
            raise NotImplementedError("emulator: accumulators out of order")
        a_regs = [ins[k - regs] for k in operands(m.group(5))]
        acc = Struct(ins[:regs])
        return self._wgmma(n, acc, a_regs, ins[int(m.group(6)) - regs],
                           m.group(7) == "0", True)

    def _wgmma(self, n, acc, a_src, db, kmajor_b, accumulate):
        """A warpgroup MMA m64nNk16 with f32 accumulators `acc` (a Struct):
        B read from shared memory through its descriptor `db` (start
        address, leading and stride byte offsets, 128-byte swizzle), A
        likewise (`a_src` a descriptor) or from registers (`a_src` four
        arrays of 16-bit pairs, the m16n8k16 A layout per warp: a0 row
        l / 4, columns 2 (l % 4) + {0, 1}; a1 8 rows further; a2, a3 8
        columns further). A K-major (from shared memory): element (m, k)
        at start + (m / 8) SBO + (m % 8) 128 + 2 k; B K-major (element
        (k, n) at start + (n / 8) SBO + (n % 8) 128 + 2 k) or N-major (at
        start + (n / 64) LBO + (k / 8) SBO + (k % 8) 128 + 2 (n % 64));
        addresses are swizzled (_swizzle128). The accumulator registers:
        thread t of warp w = t / 32 (of its warpgroup), lane l, register
        4 j + 2 r + c holds row 16 w + l / 4 + 8 r, column 8 j + 2 (l % 4)
        + c. Each warpgroup of the block runs its own MMA."""
        T = self.T
        if T % 128:
            raise NotImplementedError("emulator: whole warpgroups")
        if not self.wgmma_fenced:
            raise SyncError("warpgroup MMA with no wgmma.fence since the "
                            "last commit (its accumulator or A registers "
                            "were written by other instructions)")
        sh = self.dynamic

        def decode(desc, what):
            vals = set(int(x) for x in np.asarray(desc))
            if len(vals) != 1:
                raise SyncError(f"non-uniform wgmma descriptor {what}")
            d = vals.pop()
            if d >> 62 != 1 or (d >> 49) & 7:
                raise NotImplementedError("emulator: 128-byte swizzle, base "
                                          "offset 0 only")
            return ((d & 0x3FFF) << 4, ((d >> 16) & 0x3FFF) << 4,
                    ((d >> 32) & 0x3FFF) << 4)

        def slots(addr):
            off = _swizzle128(addr) - sh.base
            if (off < 0).any() or (off // 2 >= len(sh.values)).any():
                raise IndexError("wgmma operand outside shared memory")
            return off // 2

        t = np.arange(128)[:, None]
        i = np.arange(n // 2)[None, :]
        rows = 16 * (t // 32) + (t % 32) // 4 + 8 * ((i % 4) // 2)
        cols = 8 * (i // 4) + 2 * (t % 4) + i % 2
        m = np.arange(64)[:, None]
        k = np.arange(16)[None, :]
        nn = np.arange(n)[None, :]
        kk = np.arange(16)[:, None]
        tt = np.arange(128)
        a_rows = 16 * (tt // 32) + (tt % 32) // 4
        a_cols = 2 * (tt % 4)
        out = np.empty((T, n // 2), dtype=np.float32)
        # Each warpgroup runs its own MMA, on its own descriptors.
        for w in range(T // 128):
            sel = slice(128 * w, 128 * (w + 1))
            sb, lbo_b, sbo_b = decode(db[sel], "B")
            if kmajor_b:
                if sb % 128 + 32 > 128:
                    raise AssertionError("B's k16 step crosses a 128-byte "
                                         "row")
                b_ids = slots(sb + (nn // 8) * sbo_b + (nn % 8) * 128 +
                              2 * kk)
            else:
                b_ids = slots(sb + (nn // 64) * lbo_b + (kk // 8) * sbo_b +
                              (kk % 8) * 128 + 2 * (nn % 64))
            warps = range(4 * w, 4 * w + 4)
            if isinstance(a_src, list):  # registers
                A = np.zeros((64, 16))
                for reg, (dr, dc) in enumerate(((0, 0), (8, 0), (0, 8),
                                                (8, 8))):
                    for j in range(2):
                        A[a_rows + dr, a_cols + dc + j] = a_src[reg][sel, j]
                _, B = self._warpgroup_reads(sh, b_ids, b_ids, warps)
                reads = b_ids.ravel()
            else:
                sa, _, sbo_a = decode(a_src[sel], "A")
                if sa % 128 + 32 > 128:
                    raise AssertionError("A's k16 step crosses a 128-byte "
                                         "row")
                a_ids = slots(sa + (m // 8) * sbo_a + (m % 8) * 128 + 2 * k)
                A, B = self._warpgroup_reads(sh, a_ids, b_ids, warps)
                reads = np.concatenate([a_ids.ravel(), b_ids.ravel()])
            D = A @ B
            if accumulate:
                if len(acc) != n // 2:
                    raise ValueError("accumulator struct of the wrong size")
                C = np.zeros((64, n))
                C[rows, cols] = np.stack([x[sel] for x in acc], axis=1)
                D = D + C
            out[sel] = D[rows, cols]
            self.wgmma_pending.append((reads, 0xF << (4 * w)))
            self.wgmmas += 1
        return Struct([out[:, j] for j in range(n // 2)], group=self.chain)

    def _tma_load(self, dst, bars, i, tmap, coords):
        if dst.values.shape != tmap.box:
            raise ValueError("TMA destination shape differs from the box")
        rows, cols = tmap.box[-2:]
        address = dst.shared.base + 2 * int(dst.ids.flat[0])
        if address % 1024:
            raise AssertionError(f"TMA destination at shared address "
                                 f"{address}: the 128-byte swizzle needs "
                                 f"1024-byte alignment")
        coords = coords[::-1]  # outermost first
        g = tmap.array
        outer = tuple(coords[:-2])
        if any(not 0 <= c < n for c, n in zip(outer, g.shape)):
            raise NotImplementedError("emulator: a box past an outer edge")
        g = g[outer] if outer else g
        row0, col0 = coords[-2:]
        box = np.zeros((rows, cols), dtype=np.float32)
        r1, c1 = min(row0 + rows, g.shape[0]), min(col0 + cols, g.shape[1])
        if r1 > row0 and c1 > col0:
            box[:r1 - row0, :c1 - col0] = g[row0:r1, col0:c1]
        ids = dst.ids.reshape(-1)[_swizzled_slots(rows, cols)]
        sh = dst.shared
        if any(np.isin(ids, grp).any()
               for _, grp, _, _ in self.wgmma_groups):
            raise RaceError("a TMA load overwrites shared memory a warpgroup "
                            "MMA may still read (its group not waited for)")
        self._write_check(dst, ids, np.zeros_like(ids))
        sh.in_flight[ids] += 1
        bars.pending[i].append((dst, ids, box))
        self.tma_loads += 1

    def _wgmma_wait(self, keep):
        """Retires all but the `keep` most recent groups. Each warp retires
        its own: the group's reads count as the whole warpgroup's in the
        current epoch, so a write by one warp before a barrier orders it
        after every warp's wait is a race."""
        while len(self.wgmma_groups) > keep:
            sh, ids, gid, warps = self.wgmma_groups.pop(0)
            self.retired.add(gid)
            fresh = sh.read_epoch[ids] != self.epoch
            sh.readers[ids] = np.where(fresh, 0, sh.readers[ids]) | warps
            sh.read_epoch[ids] = self.epoch

    def _read_check(self, view, ids, warp):
        sh = view.shared
        if (sh.in_flight[ids] > 0).any():
            raise RaceError("shared memory read while a cp.async into it is "
                            "in flight")
        now = sh.write_epoch[ids] == self.epoch
        tma = sh.write_warp[ids] == TMA_WRITER
        if (now & tma & (((sh.tma_seen[ids] >> warp) & 1) == 0)).any():
            raise RaceError(f"warp {warp} reads data a TMA load brought in "
                            "without having waited on its mbarrier (and no "
                            "barrier since a warp that did)")
        if (now & ~tma & (sh.write_warp[ids] != warp)).any():
            raise RaceError(f"warp {warp} reads shared memory another warp "
                            "wrote since the last barrier")
        fresh = sh.read_epoch[ids] != self.epoch
        sh.readers[ids] = np.where(fresh, 0, sh.readers[ids]) | (1 << warp)
        sh.read_epoch[ids] = self.epoch

    def _write_check(self, view, ids, warps):
        sh = view.shared
        read_now = sh.read_epoch[ids] == self.epoch
        others = sh.readers[ids] & ~(np.int64(1) << warps)
        if (read_now & (others != 0)).any():
            raise RaceError("shared memory written (a store or cp.async) while "
                            "another warp may still read it: no barrier "
                            "since the read")

    def _ldmatrix(self, mem, row, col, transpose, tiles):
        """ldmatrix.sync.aligned.m8n8.x{tiles}[.trans].b16: lane 8m + i of
        each warp gives the address of row i of matrix m; lane l receives,
        for each matrix, row l / 4, columns 2 (l % 4) + {0, 1} (of the
        transpose with .trans)."""
        T = self.T
        out = np.empty((T, tiles, 2), dtype=np.float32)
        lanes = np.arange(WARP)
        for w in range(T // WARP):
            base = w * WARP
            for m in range(tiles):
                src = base + 8 * m + np.arange(8)
                M = np.stack([mem.values[row[t], col[t]:col[t] + 8]
                              for t in src])
                words = set()
                for t in src:
                    ids = mem.ids[row[t], col[t]:col[t] + 8]
                    self._read_check(mem, ids, w)
                    words.update(int(i) // 2 for i in ids)  # 4-byte words
                # Shared memory serves one 4-byte word per bank (32 banks)
                # per wavefront: the most distinct words on one bank is how
                # many wavefronts this 8x8 matrix costs (1 = no conflict).
                per_bank = {}
                for wd in words:
                    per_bank[wd % 32] = per_bank.get(wd % 32, 0) + 1
                self.ldmatrix_ways.append(max(per_bank.values()))
                if transpose:
                    M = M.T
                for j in range(2):
                    out[base + lanes, m, j] = M[lanes // 4, 2 * (lanes % 4) + j]
        return out

    def _mma(self, a, b, c):
        """D = A B + C for m16n8k16 fragments of every warp."""
        T = self.T
        lanes = np.arange(WARP)
        g, t = lanes // 4, lanes % 4
        d = np.empty((T, 2, 2), dtype=np.float32)
        for w in range(T // WARP):
            sl = slice(w * WARP, (w + 1) * WARP)
            A = np.zeros((16, 16), np.float32)
            B = np.zeros((16, 8), np.float32)
            C = np.zeros((16, 8), np.float32)
            fa, fb, fc = a[sl], b[sl], c[sl]
            for j in range(2):
                A[g, 2 * t + j] = fa[:, 0, j]
                A[g + 8, 2 * t + j] = fa[:, 1, j]
                A[g, 2 * t + 8 + j] = fa[:, 2, j]
                A[g + 8, 2 * t + 8 + j] = fa[:, 3, j]
                B[2 * t + j, g] = fb[:, 0, j]
                B[2 * t + 8 + j, g] = fb[:, 1, j]
                C[g, 2 * t + j] = fc[:, 0, j]
                C[g + 8, 2 * t + j] = fc[:, 1, j]
            D = (A.astype(np.float64) @ B.astype(np.float64) + C).astype(
                np.float32)
            for j in range(2):
                d[sl, 0, j] = D[g, 2 * t + j]
                d[sl, 1, j] = D[g + 8, 2 * t + j]
        return d


def run_kernel(generic_mlir, args, grid, threads=128, name=None,
               dynamic_shared=0, shared_base=32):
    """Runs kernel `name` of a module (generic form), by default its only
    one, over `grid`, with `dynamic_shared` bytes of dynamic shared memory
    starting at byte `shared_base` of the shared window."""
    kernels = parse_kernels(generic_mlir)
    if name is None:
        if len(kernels) != 1:
            raise ValueError(f"expected one kernel, found {len(kernels)}")
        (name,) = kernels
    block, header = kernels[name]
    shared = []
    # Shared-memory attributions: their shapes from the entry block types.
    bb = _BB.match(header)
    types = [a.split(":", 1)[1].strip() for a in _split_top(bb.group(1))]
    for ty in types[len(args):]:
        dims = tuple(int(d) for d in re.match(r"memref<((?:\d+x)+)", ty)
                     .group(1).split("x") if d)
        if "xi8" in ty:  # bytes, kept as 16-bit slots
            dims = (dims[0] // 2,)
        shared.append(dims)
    emu = Emulator(block, threads, dynamic_shared, shared_base)
    emu.run(grid, args, shared)
    return emu


def attention_case(b, hq, hkv, sq, sk, d, elem, out_elem="f32", causal=False,
                   window=None, scale=None, lse=False, positions=None,
                   mask=None, seed=0, dv=None):
    """MLIR of one bpt.attention and random inputs for it (f32 arrays
    rounded to `elem`); V's head dim `dv` (default `d`). `mask`: None, or (element type, shape) of a mask
    operand ("i1": keep where true; a float type: added, -inf removes);
    its array is the fourth input."""
    rng = np.random.default_rng(seed)
    q = round_to(rng.standard_normal((b, hq, sq, d)), elem)
    k = round_to(rng.standard_normal((b, hkv, sk, d)), elem)
    dv = d if dv is None else dv
    v = round_to(rng.standard_normal((b, hkv, sk, dv)), elem)
    inputs = (q, k, v)
    mask_text, mask_arg = "", ""
    if mask:
        melem, mshape = mask
        if melem == "i1":
            m = rng.random(mshape) < 0.7
        else:
            m = np.where(rng.random(mshape) < 0.25, -np.inf,
                         rng.standard_normal(mshape)).astype(np.float32)
            m = round_to(m, melem)
        inputs = (q, k, v, m)
        mt = "tensor<" + "x".join(str(x) for x in mshape) + f"x{melem}>"
        mask_arg = f", %m: {mt}"
        mask_text = f" mask(%m : {mt})"
    qt, kt = f"tensor<{b}x{hq}x{sq}x{d}x{elem}>", f"tensor<{b}x{hkv}x{sk}x{d}x{elem}>"
    vt = f"tensor<{b}x{hkv}x{sk}x{dv}x{elem}>"
    ot, lt = f"tensor<{b}x{hq}x{sq}x{dv}x{out_elem}>", f"tensor<{b}x{hq}x{sq}xf32>"
    attrs = ("causal " if causal else "") + \
        (f"window({window}) " if window else "") + \
        (f"scale({scale}) " if scale else "")
    pos_args = ", %qp: index, %kp: index" if positions else ""
    pos = " positions(%qp, %kp)" if positions else ""
    outs = f"%e, %l : {ot}, {lt}" if lse else f"%e : {ot}"
    res = f"{ot}, {lt}" if lse else ot
    mlir = f"""func.func @attn(%q: {qt}, %k: {kt}, %v: {vt}{mask_arg}{pos_args}) -> ({res}) {{
  %e = tensor.empty() : {ot}
  %l = tensor.empty() : {lt}
  %o:{2 if lse else 1} = bpt.attention {attrs}ins(%q, %k, %v : {qt}, {kt}, {vt}){mask_text}{pos} outs({outs}) -> {res}
  return {"%o#0, %o#1" if lse else "%o#0"} : {res}
}}
"""
    return mlir, inputs


# P is rounded to the input type before P V (as FlashAttention does): the
# attention kernels' outputs (O(1)) are within these of the f64 model.
ATTENTION_TOLERANCE = {"f16": 2e-3, "bf16": 2e-2}


def compare_attention(kw, inputs, out, lse=None, tol=None):
    """(ok, max error) of an attention kernel's `out` (and `lse`, when the
    case `kw` of attention_case has one) against the f64 model on
    `inputs`: finite and within `tol` (by default the input type's
    ATTENTION_TOLERANCE; an f16 output is compared with the model rounded
    to f16), the log-sum-exp within 1e-3 and -inf exactly where the
    model's is."""
    q, k, v = inputs[:3]
    mask = inputs[3] if len(inputs) > 3 else None
    ref, ref_lse = reference(q, k, v, kw.get("causal", False),
                             kw.get("window"), kw.get("scale"),
                             kw.get("positions"), mask)
    if kw.get("out_elem") == "f16":
        ref = round_to(ref, "f16")
    tol = ATTENTION_TOLERANCE[kw["elem"]] if tol is None else tol
    err = float(np.abs(out - ref).max())
    ok = bool(np.isfinite(out).all()) and err <= tol
    if kw.get("lse"):
        same_inf = np.array_equal(np.isneginf(lse), np.isneginf(ref_lse))
        fin = np.isfinite(ref_lse)
        lerr = float(np.abs(lse[fin] - ref_lse[fin]).max()) if fin.any() \
            else 0.0
        ok = ok and same_inf and lerr <= 1e-3
        err = max(err, lerr)
    return ok, err


def reference(q, k, v, causal=False, window=None, scale=None,
              positions=None, mask=None):
    """Attention in f64 with bpt.attention's semantics: (out, lse)."""
    b, hq, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    g = hq // hkv
    kk = np.repeat(k.astype(np.float64), g, axis=1)
    vv = np.repeat(v.astype(np.float64), g, axis=1)
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    s = np.einsum("bhid,bhjd->bhij", q.astype(np.float64), kk) * scale
    qp0, kp0 = positions if positions else (sk - sq, 0)
    qpos = qp0 + np.arange(sq)[:, None]
    kpos = kp0 + np.arange(sk)[None, :]
    keep = np.ones((sq, sk), dtype=bool)
    if causal:
        keep &= kpos <= qpos
        if window:
            keep &= kpos > qpos - window
    if mask is not None:
        if mask.dtype == bool:
            s = np.where(mask, s, -np.inf)
        else:
            s = s + mask.astype(np.float64)
    s = np.where(keep, s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    p = np.exp(s - m)
    l = p.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(l > 0, np.einsum("bhij,bhjd->bhid", p, vv) / l, 0.0)
        lse = np.where(l[..., 0] > 0, np.log(l[..., 0]) + m[..., 0], -np.inf)
    return out, lse
