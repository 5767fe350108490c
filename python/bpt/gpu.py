"""Compile bpt attention for NVIDIA GPUs and call it on NumPy arrays.

Building needs the LLVM/MLIR tools and the CUDA toolkit (this machine);
running needs only a driver (libcuda.so.1) and NumPy, so a module built here
can be carried to a GPU machine that has no LLVM:

    bpt-opt --bpt-gpu-pipeline=chip=..   (tensors -> LLVM dialect + cubin)
    mlir-translate --mlir-to-llvmir       (-> LLVM IR, cubin embedded)
    llc -filetype=obj                     (-> object)
    cc -shared + runtime/cuda             (-> .so needing libcuda.so.1)

`build(mlir, out_dir)` writes NAME.so and NAME.json (the signatures);
`load(path)` opens one. A call copies the NumPy inputs to device memory,
passes memref descriptors holding device pointers to the function's
`_mlir_ciface_` entry point, copies the results back and frees the device
buffers.

    python -m bpt.gpu build FILE.mlir -o DIR [--chip sm_90a]
                                    [--ring N [--order zigzag]]
                                    [--options '...'] [--dry-run]

`python -m bpt.gpu sass FILE.mlir` (or - for standard input) reads a module
lowered with `--bpt-gpu-pipeline{format=isa}` and prints, for each kernel,
what ptxas makes of it: registers and spills (ptxas -v) and the SASS
(nvdisasm): whether the machine code keeps the overlaps and register
operands the kernel builders arrange, checkable without a GPU.
"""

import argparse
import ctypes
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from .compiler import (_descriptor, make_descriptor, parse_signatures,
                       TensorType)
from .errors import BPTError
from .tools import run, run_capture, tool

_REPO = Path(__file__).resolve().parents[2]
RUNTIME_SRC = _REPO / "runtime" / "cuda" / "bpt_cuda_runtime.c"
DRY_RUN_SRC = _REPO / "runtime" / "cuda" / "bpt_cuda_dryrun.c"
NCCL_RUNTIME_SRC = _REPO / "runtime" / "nccl" / "bpt_nccl_runtime.c"
_TRIPLE = "x86_64-unknown-linux-gnu"


def cuda_home():
    home = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))
    if not (home / "bin" / "ptxas").exists():
        raise BPTError(f"the CUDA toolkit was not found at {home}: set "
                       "CUDA_HOME (ptxas builds the cubins)")
    return home


def _mpi_flags(which):
    """OpenMPI's compile or link flags (mpicc --showme:...)."""
    mpicc = shutil.which("mpicc")
    if not mpicc:
        raise BPTError("mpicc not found: ring attention on GPUs links "
                       "OpenMPI (install libopenmpi-dev; scripts/setup.sh "
                       "does)")
    return run([mpicc, f"--showme:{which}"], "mpicc").split()


def build(mlir, out_dir, name="module", chip="sm_90a", fmt="bin",
          passes=(), ring=None, options="", dry_run=False):
    """Compiles MLIR text to OUT_DIR/NAME.so (+ NAME.json); returns the .so
    path. `passes` run before --bpt-gpu-pipeline (e.g. ["--bpt-raise"]);
    `options` are more of its options (e.g. "ffn-rows=1024 ffn-chunk=512
    tensor-cores=false"). With `dry_run`, the module links
    runtime/cuda/bpt_cuda_dryrun.c instead of the CUDA runtime: it loads
    and runs on a machine without a GPU, launches no kernel and returns
    zeros, but allocates, frees and launches as the program does, so its
    device-memory peak (bptCudaPeakBytes) and launch count
    (bptCudaLaunches) are the real program's.
    With `ring=(devices, order)` the text is the program of one rank and
    --bpt-ring-gpu-pipeline compiles it: the module then also links
    runtime/nccl, NCCL and OpenMPI, and runs under mpirun, one rank per
    GPU (bpt.ring.run with engine="gpu")."""
    pipeline = f"--bpt-gpu-pipeline=chip={chip} format={fmt} {options}".strip()
    if ring and dry_run:
        raise BPTError("a ring module cannot be dry-run (it needs NCCL)")
    if ring and options:
        raise BPTError("options are --bpt-gpu-pipeline's; a ring module "
                       "takes none")
    check = [f"--bpt-ring=devices={ring[0]} order={ring[1]}"] if ring else []
    if ring:
        pipeline = (f"--bpt-ring-gpu-pipeline=devices={ring[0]} "
                    f"order={ring[1]} chip={chip} format={fmt}")
    # What the kernels cannot take is said first, whatever the machine has.
    attention = "--bpt-gpu-attention"
    rounding = re.search(r"attention-f32-inputs=(\S+)", options)
    if rounding:
        attention += f"=f32-inputs={rounding.group(1)}"
    run([tool("bpt-opt"), *passes, *check, attention, "-o", os.devnull],
        "bpt-opt", stdin=mlir)
    home = cuda_home()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CUDA_HOME=str(home))
    llvm_mlir = run([tool("bpt-opt"), *passes, pipeline], "bpt-opt",
                    stdin=mlir, env=env)
    ll = run([tool("mlir-translate"), "--mlir-to-llvmir"], "mlir-translate",
             stdin=llvm_mlir)
    so = out_dir / f"{name}.so"
    with tempfile.TemporaryDirectory() as tmp:
        ll_path, obj = Path(tmp, "m.ll"), Path(tmp, "m.o")
        ll_path.write_text(ll)
        run([tool("llc"), "-O3", "-filetype=obj", "-relocation-model=pic",
             f"-mtriple={_TRIPLE}", str(ll_path), "-o", str(obj)], "llc")
        nccl = []
        if "@bptNccl" in ll:
            nccl = [str(NCCL_RUNTIME_SRC), *_mpi_flags("compile"),
                    f"-L{home / 'lib'}", "-lnccl", *_mpi_flags("link")]
        runtime = [str(DRY_RUN_SRC)] if dry_run else [
            str(RUNTIME_SRC), f"-I{home / 'include'}", *nccl,
            f"-L{home / 'lib64' / 'stubs'}", "-lcuda"]
        run(["cc", "-O2", "-shared", "-fPIC", "-o", str(so), str(obj),
             *runtime], "linking the GPU module")
    sigs = {fn: ([repr(t) for t in a], [repr(t) for t in r])
            for fn, (a, r) in parse_signatures(mlir).items()}
    (out_dir / f"{name}.json").write_text(json.dumps(
        {"chip": chip, "signatures": sigs, "dry_run": dry_run,
         "ring": list(ring) if ring else None}, indent=1))
    return so


def _load_nccl():
    """Makes libnccl.so.2 loadable for a ring module: the system's, the
    CUDA toolkit's, or the one PyTorch ships (the nvidia-nccl wheel)."""
    candidates = ["libnccl.so.2", str(Path(os.environ.get(
        "CUDA_HOME", "/usr/local/cuda")) / "lib" / "libnccl.so.2")]
    try:
        import nvidia.nccl  # noqa: F401 (PyTorch's NCCL wheel)
        for root in nvidia.nccl.__path__:
            candidates.append(str(Path(root) / "lib" / "libnccl.so.2"))
    except ImportError:
        pass
    for lib in candidates:
        try:
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
            return
        except OSError:
            continue
    raise BPTError("libnccl.so.2 not found (tried " + ", ".join(candidates) +
                   "): a ring module calls NCCL")


class GPUModule:
    """A module built by `build`, loaded with the CUDA driver."""

    def __init__(self, so_path):
        so_path = Path(so_path).resolve()
        meta = json.loads(so_path.with_suffix(".json").read_text())
        self.chip = meta["chip"]
        self.ring = meta.get("ring")
        if self.ring:
            _load_nccl()
        try:
            self._lib = ctypes.CDLL(str(so_path))
        except OSError as e:
            if "libcuda.so.1" in str(e):
                raise BPTError(f"{so_path.name}: no CUDA driver on this "
                               "machine (libcuda.so.1 not found), so no CUDA "
                               "device to run on") from None
            raise
        lib = self._lib
        lib.bptCudaDeviceCount.restype = ctypes.c_int
        if lib.bptCudaDeviceCount() == 0:
            raise BPTError(f"{so_path.name}: no CUDA device (the driver "
                           "found none, or libcuda.so.1 is the toolkit's "
                           "stub)")
        lib.bptCudaAlloc.restype = ctypes.c_void_p
        lib.bptCudaAlloc.argtypes = [ctypes.c_uint64]
        lib.bptCudaFree.argtypes = [ctypes.c_void_p]
        for f in (lib.bptCudaCopyToDevice, lib.bptCudaCopyToHost):
            f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64]
        self.signatures = {
            fn: ([TensorType(t) for t in a], [TensorType(t) for t in r])
            for fn, (a, r) in meta["signatures"].items()}

    def __getattr__(self, name):
        if name.startswith("_") or name not in self.signatures:
            raise AttributeError(name)
        return lambda *arrays: self.call(name, *arrays)

    def call(self, name, *arrays):
        args, results = self.signatures[name]
        lib = self._lib
        fn = getattr(lib, f"_mlir_ciface_{name}")
        fn.restype = None
        if len(arrays) != len(args):
            raise BPTError(f"@{name} takes {len(args)} arguments")
        device, descs = [], []
        try:
            for a, t in zip(arrays, args):
                a = np.ascontiguousarray(a)
                if a.dtype != t.dtype or list(a.shape) != t.shape:
                    raise BPTError(f"@{name}: expected {t}, got {a.dtype} "
                                   f"{a.shape}")
                ptr = lib.bptCudaAlloc(max(a.nbytes, 1))
                device.append(ptr)
                lib.bptCudaCopyToDevice(ptr, a.ctypes.data, a.nbytes)
                descs.append(make_descriptor(
                    ptr, a.shape, [s // a.itemsize for s in a.strides]))
            fields = [(f"r{i}", _descriptor(len(t.shape)))
                      for i, t in enumerate(results)]
            res = type("Results", (ctypes.Structure,), {"_fields_": fields})()
            ptrs = [ctypes.byref(d) for d in descs]
            if len(results) == 1:
                fn(ctypes.byref(res.r0), *ptrs)
            else:
                fn(ctypes.byref(res), *ptrs)
            outs = []
            for i, t in enumerate(results):
                d = getattr(res, f"r{i}")
                host = np.empty(t.shape, dtype=t.dtype)
                lib.bptCudaCopyToHost(host.ctypes.data,
                                      d.aligned + d.offset * t.dtype.itemsize,
                                      host.nbytes)
                if d.allocated not in device:
                    device.append(d.allocated)
                outs.append(host)
        finally:
            for ptr in device:
                lib.bptCudaFree(ptr)
        return outs[0] if len(outs) == 1 else tuple(outs)


def dry_run(so_path, function):
    """Calls `function` of a module built with `dry_run=True` once, on zero
    inputs of its signature, and returns what the dry-run runtime saw:
    {"peak_bytes": the most device memory the call's own allocations held
    at once (inputs excluded), "launches": kernels launched, "tensor_maps":
    TMA tensor maps made (each checked as the driver would), "syncs": host
    waits for a stream (each stream checked alive at every use), "left_bytes":
    device memory still allocated after the call and its results were
    freed (0 unless the program leaks)}."""
    mod = load(so_path)
    lib = mod._lib
    for f in (lib.bptCudaPeakBytes, lib.bptCudaLaunches,
              lib.bptCudaUsedBytes, lib.bptCudaTensorMaps,
              lib.bptCudaStreamSyncs):
        f.restype = ctypes.c_uint64
    args, _ = mod.signatures[function]
    lib.bptCudaResetPeak()
    before = lib.bptCudaLaunches()
    maps = lib.bptCudaTensorMaps()
    syncs = lib.bptCudaStreamSyncs()
    mod.call(function, *[np.zeros(t.shape, dtype=t.dtype) for t in args])
    return {"peak_bytes": lib.bptCudaPeakBytes(),
            "launches": lib.bptCudaLaunches() - before,
            "tensor_maps": lib.bptCudaTensorMaps() - maps,
            "syncs": lib.bptCudaStreamSyncs() - syncs,
            "left_bytes": lib.bptCudaUsedBytes()}


def load(so_path):
    return GPUModule(so_path)


def nvdisasm():
    """The path of nvdisasm: the CUDA toolkit's, or that of the
    nvidia-cuda-nvdisasm wheel in this Python (scripts/setup.sh installs
    it: Debian's toolkit here has no disassembler); None without one."""
    home = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))
    candidates = [home / "bin" / "nvdisasm"]
    try:
        import nvidia  # the namespace package of NVIDIA's wheels
        candidates += [Path(p) / sub / "bin" / "nvdisasm"
                       for p in nvidia.__path__ for sub in ("cu13", "cu12")]
    except ImportError:
        pass
    found = shutil.which("nvdisasm")
    candidates += [Path(found)] if found else []
    return next((str(c) for c in candidates if c.exists()), None)


def _mlir_string(text):
    """The bytes of an MLIR string literal's body (\\XX escapes)."""
    return re.sub(r"\\([0-9A-Fa-f]{2}|\\)",
                  lambda m: "\\" if m.group(1) == "\\"
                  else chr(int(m.group(1), 16)), text)


def sass(isa_mlir):
    """{kernel: (ptxas -v's resource line, [SASS instructions and branch
    labels])} of every gpu.binary in `isa_mlir` (lowered with format=isa),
    in the order nvdisasm lists them. Raises BPTError without ptxas or
    nvdisasm."""
    disasm = nvdisasm()
    if not disasm:
        raise BPTError("nvdisasm not found: scripts/setup.sh installs the "
                       "nvidia-cuda-nvdisasm wheel into .venv")
    ptxas = str(cuda_home() / "bin" / "ptxas")
    kernels = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, m in enumerate(re.finditer(r'assembly = "((?:[^"\\]|\\.)*)"',
                                          isa_mlir)):
            ptx = _mlir_string(m.group(1))
            chip = re.search(r"^\.target\s+(\w+)", ptx, re.M).group(1)
            src, cubin = Path(tmp, f"{i}.ptx"), Path(tmp, f"{i}.cubin")
            src.write_text(ptx)
            _, info = run_capture([ptxas, f"-arch={chip}", "-v", str(src),
                                   "-o", str(cubin)], "ptxas")
            resources, name = {}, None
            for line in info.splitlines():
                entry = re.search(r"Compiling entry function '(\w+)'", line)
                if entry:
                    name = entry.group(1)
                    resources[name] = []
                elif name and ("registers" in line or "spill" in line):
                    resources[name].append(line.split(":", 1)[-1].strip()
                                           if "registers" in line
                                           else line.strip())
            code = run([disasm, "-c", str(cubin)], "nvdisasm")
            name = None
            for line in code.splitlines():
                section = re.match(r"\.text\.(\w+):", line)
                if section:
                    name = section.group(1)
                    kernels[name] = ("; ".join(resources.get(name, [])), [])
                    continue
                instr = re.match(r"\s*/\*[0-9a-f]{4,}\*/\s+(.*?)\s*;?\s*$",
                                 line)
                label = re.match(r"(\.L_x_\d+):", line)
                if name and instr:
                    kernels[name][1].append(instr.group(1).rstrip(" ;"))
                elif name and label:
                    kernels[name][1].append(label.group(1) + ":")
    return kernels


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bpt.gpu",
                                description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="compile an MLIR file to a GPU module")
    b.add_argument("mlir")
    b.add_argument("-o", "--out", required=True)
    b.add_argument("--chip", default="sm_90a")
    b.add_argument("--format", default="bin")
    b.add_argument("--name")
    b.add_argument("--ring", type=int, metavar="N",
                   help="the file is the program of one of N ranks: "
                   "compile it for ring attention over N GPUs (NCCL)")
    b.add_argument("--order", default="contiguous",
                   choices=["contiguous", "zigzag"])
    b.add_argument("--options", default="",
                   help="more --bpt-gpu-pipeline options, e.g. "
                   "'ffn-rows=1024 ffn-chunk=512'")
    b.add_argument("--dry-run", action="store_true",
                   help="link the dry-run runtime: runs without a GPU, "
                   "computes nothing, measures allocations and launches")
    sa = sub.add_parser("sass", help="registers, spills and SASS of the "
                        "kernels of a module lowered with format=isa")
    sa.add_argument("mlir", help="the module, or - for standard input")
    args = p.parse_args(argv)
    if args.cmd == "sass":
        text = sys.stdin.read() if args.mlir == "-" else \
            Path(args.mlir).read_text()
        try:
            kernels = sass(text)
        except BPTError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        for name, (resources, code) in kernels.items():
            print(f"== {name}: {resources}")
            for instr in code:
                print(f"  {instr}")
        return 0
    text = Path(args.mlir).read_text()
    so = build(text, args.out, args.name or Path(args.mlir).stem, args.chip,
               args.format, ring=(args.ring, args.order) if args.ring else None,
               options=args.options, dry_run=args.dry_run)
    print(so)
    return 0


if __name__ == "__main__":
    sys.exit(main())
