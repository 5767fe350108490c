"""Compile MLIR on tensors into a shared object and call it on NumPy arrays.

The path is the one a user would take by hand:

    bpt-opt <passes> --bpt-cpu-pipeline   (tensors -> LLVM dialect)
    mlir-translate --mlir-to-llvmir        (-> LLVM IR)
    opt -O3 && llc -filetype=obj           (-> vectorised object)
    cc -shared                             (-> .so: libc, libm, and libomp
                                              when the program has parallel
                                              loops)

Functions are called through their `_mlir_ciface_` entry points, which take
memref descriptors by pointer; results are returned the same way and copied
into NumPy arrays (the buffers the compiled code allocated are then freed).
"""

import ctypes
import ctypes.util
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from . import dtypes
from .errors import BPTError
from .tools import run, tool

_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_TRIPLE = "x86_64-unknown-linux-gnu"
# Extra flags for LLVM's opt (experiments: BPT_OPT_FLAGS="-enable-unroll-and-jam").
_OPT_FLAGS = os.environ.get("BPT_OPT_FLAGS", "").split()
_libc.free.argtypes = [ctypes.c_void_p]

_DESCRIPTORS = {}


def _descriptor(rank):
    """The ctypes struct of a ranked memref descriptor."""
    if rank not in _DESCRIPTORS:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank:
            fields += [("sizes", ctypes.c_int64 * rank),
                       ("strides", ctypes.c_int64 * rank)]
        _DESCRIPTORS[rank] = type(f"MemRef{rank}D", (ctypes.Structure,),
                                  {"_fields_": fields})
    return _DESCRIPTORS[rank]


def make_descriptor(pointer, shape, strides):
    """A memref descriptor of `pointer` (host or device memory) with the
    given shape and element strides."""
    desc = _descriptor(len(shape))()
    desc.allocated = desc.aligned = pointer
    desc.offset = 0
    for d, (size, stride) in enumerate(zip(shape, strides)):
        desc.sizes[d] = size
        desc.strides[d] = stride
    return desc


class TensorType:
    """A ranked tensor type parsed from MLIR text: shape (None = dynamic)
    and element type name."""

    _RE = re.compile(r"tensor<((?:[0-9?]+x)*)([a-z0-9]+)>")

    def __init__(self, text):
        m = self._RE.fullmatch(text.strip())
        if not m:
            raise BPTError(f"unsupported function argument type '{text}': "
                           "only ranked tensors are supported")
        dims = [d for d in m.group(1).split("x") if d]
        self.shape = [None if d == "?" else int(d) for d in dims]
        self.elem = m.group(2)
        self.dtype = dtypes.storage(self.elem)

    def __repr__(self):
        dims = "".join(f"{'?' if d is None else d}x" for d in self.shape)
        return f"tensor<{dims}{self.elem}>"


def split_top_level(text):
    """Splits a comma-separated list at the top nesting level (commas inside
    <>, (), [] and {} stay), stripped."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return [t.strip() for t in out]


_split_types = split_top_level


_FUNC_RE = re.compile(
    r"func\.func\s+@([\w$.]+)\s*\((.*?)\)\s*(?:->\s*(\(.*?\)|tensor<[^>]*>))?"
    r"\s*(?:attributes\s*\{[^}]*\}\s*)?\{", re.S)


def parse_signatures(mlir):
    """Public functions of a module and their tensor signatures."""
    sigs = {}
    for m in _FUNC_RE.finditer(mlir):
        name, args, results = m.group(1), m.group(2), m.group(3) or ""
        arg_types = [a.split(":", 1)[1] for a in _split_types(args) if ":" in a]
        # Drop argument attributes such as {bufferization.writable = false}.
        arg_types = [re.sub(r"\{.*\}", "", t).strip() for t in arg_types]
        results = results.strip()
        if results.startswith("("):
            results = results[1:-1]
        sigs[name] = ([TensorType(t) for t in arg_types],
                      [TensorType(t) for t in _split_types(results)])
    return sigs


class Function:
    """A compiled function, callable on NumPy arrays."""

    def __init__(self, lib, name, arg_types, result_types):
        try:
            self._fn = getattr(lib, f"_mlir_ciface_{name}")
        except AttributeError:
            raise BPTError(f"function @{name} has no C interface in the "
                           "compiled module") from None
        self._fn.restype = None
        self.name = name
        self.arg_types = arg_types
        self.result_types = result_types
        fields = [(f"r{i}", _descriptor(len(t.shape)))
                  for i, t in enumerate(result_types)]
        self._results = type("Results", (ctypes.Structure,),
                             {"_fields_": fields})

    def __call__(self, *arrays, copy=True):
        """Calls the function on NumPy arrays. With copy=False the arrays are
        passed as they are (C-contiguous ones without a copy): only for
        callers that know the function does not write into its arguments."""
        if len(arrays) != len(self.arg_types):
            raise BPTError(f"@{self.name} takes {len(self.arg_types)} "
                           f"arguments, got {len(arrays)}")
        keep, descs = [], []
        for i, (a, t) in enumerate(zip(arrays, self.arg_types)):
            # Compiled functions may write into their argument buffers (one-shot
            # bufferization treats function arguments as writable): give them
            # a private copy so the caller's arrays stay as they were.
            a = (np.array(a, order="C", copy=True) if copy
                 else np.ascontiguousarray(a))
            if a.dtype != t.dtype:
                raise BPTError(f"argument {i} of @{self.name} must have dtype "
                               f"{t.dtype} for {t}, got {a.dtype}")
            if a.ndim != len(t.shape) or any(
                    d is not None and d != s for d, s in zip(t.shape, a.shape)):
                raise BPTError(f"argument {i} of @{self.name} has shape "
                               f"{a.shape}, expected {t}")
            keep.append(a)
            descs.append(make_descriptor(
                a.ctypes.data, a.shape,
                [s // a.itemsize for s in a.strides]))
        results = self._results()
        args = [ctypes.byref(d) for d in descs]
        if len(self.result_types) == 1:
            self._fn(ctypes.byref(results.r0), *args)
        elif self.result_types:
            self._fn(ctypes.byref(results), *args)
        else:
            self._fn(*args)
        outs = [self._to_numpy(getattr(results, f"r{i}"), t, keep)
                for i, t in enumerate(self.result_types)]
        if not outs:
            return None
        return outs[0] if len(outs) == 1 else tuple(outs)

    @staticmethod
    def _to_numpy(desc, t, inputs):
        rank = len(t.shape)
        shape = tuple(desc.sizes[d] for d in range(rank))
        strides = tuple(desc.strides[d] * t.dtype.itemsize
                        for d in range(rank))
        count = int(np.prod(shape)) if rank else 1
        base = desc.aligned + desc.offset * t.dtype.itemsize
        if count == 0:
            out = np.zeros(shape, dtype=t.dtype)
        else:
            span = (sum((s - 1) * st for s, st in zip(shape, strides))
                    + t.dtype.itemsize)
            raw = (ctypes.c_char * span).from_address(base)
            out = np.ndarray(shape, dtype=t.dtype, buffer=raw,
                             strides=strides).copy()
        # Free what the compiled code allocated, unless the result aliases an
        # argument.
        owned = all(desc.allocated != a.ctypes.data for a in inputs)
        if owned and desc.allocated:
            _libc.free(desc.allocated)
        return out


class CompiledModule:
    """A module compiled to a shared object; `module.name(...)` or
    `module["name"](...)` calls a public function."""

    def __init__(self, so_path, signatures, llvm_mlir=None):
        self.path = so_path
        self.llvm_mlir = llvm_mlir
        self._lib = ctypes.CDLL(str(so_path))
        self._funcs = {name: Function(self._lib, name, *sig)
                       for name, sig in signatures.items()}

    def __getitem__(self, name):
        if name not in self._funcs:
            raise BPTError(f"no public function @{name} in the module; it has "
                           f"{', '.join('@' + n for n in self._funcs)}")
        return self._funcs[name]

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]


def _cache_dir():
    d = Path(os.environ.get("BPT_CACHE_DIR",
                            Path(tempfile.gettempdir()) / "bpt-cache"))
    d.mkdir(parents=True, exist_ok=True)
    return d


_RUNTIME_SRC = Path(__file__).resolve().parents[2] / "runtime" / "cpu" / \
    "bpt_cpu_runtime.c"


def _runtime_object():
    """The CPU runtime (memrefCopy, ...) compiled once into the cache."""
    src = _RUNTIME_SRC.read_bytes()
    obj = _cache_dir() / (
        "runtime-" + hashlib.sha256(src).hexdigest()[:16] + ".o")
    if not obj.exists():
        staged = obj.with_suffix(f".{os.getpid()}.tmp")
        run(["cc", "-O2", "-fPIC", "-c", str(_RUNTIME_SRC), "-o", str(staged)],
            "compiling the CPU runtime")
        os.replace(staged, obj)
    return obj


def run_bpt_opt(mlir, passes=(), pipeline="--bpt-cpu-pipeline"):
    """Runs bpt-opt on MLIR text: the given passes, then the pipeline (None:
    no pipeline). Returns the resulting module as text (the LLVM dialect
    after the CPU pipeline)."""
    cmd = [tool("bpt-opt"), *passes]
    if pipeline:
        cmd.append(pipeline)
    return run(cmd, "bpt-opt", stdin=mlir)


def compile_mlir(mlir, passes=(), pipeline="--bpt-cpu-pipeline", opt="-O3"):
    """Compiles MLIR text (tensors in, tensors out) into a CompiledModule.

    `passes` run before the pipeline (for example ["--bpt-decompose"] or
    ["--bpt-blockwise"]). Results are cached by content.
    """
    if isinstance(mlir, Path) or (isinstance(mlir, str) and "\n" not in mlir
                                  and mlir.endswith(".mlir")):
        mlir = Path(mlir).read_text()
    signatures = parse_signatures(mlir)
    key = hashlib.sha256(
        "\0".join([mlir, *passes, pipeline, opt, tool("bpt-opt"),
                   str(os.path.getmtime(tool("bpt-opt"))),
                   str(_runtime_object()), *_OPT_FLAGS]).encode()
    ).hexdigest()[:24]
    so = _cache_dir() / f"{key}.so"
    llvm_path = _cache_dir() / f"{key}.llvm.mlir"
    if not so.exists():
        llvm_mlir = run_bpt_opt(mlir, passes, pipeline)
        llvm_path.write_text(llvm_mlir)
        ll = run([tool("mlir-translate"), "--mlir-to-llvmir"],
                 "mlir-translate", stdin=llvm_mlir)
        with tempfile.TemporaryDirectory() as tmp:
            ll_path, bc, obj = (Path(tmp, "m.ll"), Path(tmp, "m.bc"),
                                Path(tmp, "m.o"))
            ll_path.write_text(ll)
            # opt vectorises the loops (reductions were marked reassociable by
            # the pipeline); llc emits the object for this CPU.
            run([tool("opt"), opt, f"-mtriple={_TRIPLE}", "-mcpu=native",
                 *_OPT_FLAGS, str(ll_path), "-o", str(bc)], "opt")
            run([tool("llc"), opt, "-filetype=obj", "-relocation-model=pic",
                 f"-mtriple={_TRIPLE}", "-mcpu=native", str(bc), "-o",
                 str(obj)], "llc")
            tmp_so = Path(tmp, "m.so")
            libs = ["-lm"]
            if "@MPI_" in ll:
                # Ring attention (--bpt-ring): Debian's OpenMPI.
                libs.append("-lmpi")
            if "__kmpc_" in ll:
                omp_dir = str(Path(tool("llc")).parents[1] / "lib")
                libs += [f"-L{omp_dir}", "-lomp", f"-Wl,-rpath,{omp_dir}"]
            run(["cc", "-shared", "-o", str(tmp_so), str(obj),
                 str(_runtime_object()), *libs],
                "linking the shared object")
            # Copy next to the cache entry, then rename: atomic, and safe
            # when the cache is on another file system.
            staged = so.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(tmp_so, staged)
            os.replace(staged, so)
    return CompiledModule(so, signatures,
                          llvm_path.read_text() if llvm_path.exists() else None)
