"""Ring attention on MPI ranks: compile a one-rank program with --bpt-ring,
scatter the sequence over the ranks, run them with mpirun, gather.

The program passed in is the program of one rank (SPMD): its sequence
dimension (axis 2 of [B, H, S, D] tensors, the only layout ring attention
shards) has the local length S / N. `shard` and `unshard` convert between
global arrays and the per-rank pieces for both orders of --bpt-ring:

  contiguous  rank r holds rows [r S/N, (r + 1) S/N)
  zigzag      rank r holds chunks r and 2N - 1 - r of S / (2N) rows

`run(...)` is the driver; `python -m bpt.ring worker ...` is what every rank
runs under mpirun (MPI_Init, call the compiled function on its shard, save
the result, MPI_Finalize). `compile_ring` makes a module for CPU ranks,
`compile_ring_gpu` one for GPUs (one rank per GPU, NCCL transfers); `run`
takes either.
"""

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .compiler import CompiledModule, compile_mlir, parse_signatures
from .errors import BPTError

SEQ_AXIS = 2
MPI_LIB = "libmpi.so.40"


def _chunks(seq, devices, order):
    """Per rank, the (start, stop) global row ranges it holds, in order."""
    if order == "contiguous":
        if seq % devices:
            raise BPTError(f"sequence length {seq} is not a multiple of the "
                           f"{devices} ranks")
        n = seq // devices
        return [[(r * n, (r + 1) * n)] for r in range(devices)]
    if order == "zigzag":
        if seq % (2 * devices):
            raise BPTError(f"zigzag order needs a sequence length that is a "
                           f"multiple of 2 x {devices} ranks, got {seq}")
        c = seq // (2 * devices)
        return [[(r * c, (r + 1) * c),
                 ((2 * devices - 1 - r) * c, (2 * devices - r) * c)]
                for r in range(devices)]
    raise BPTError(f"unknown order {order!r}: contiguous or zigzag")


def shard(x, devices, order="contiguous", axis=SEQ_AXIS):
    """The per-rank pieces of a global array along `axis`."""
    seq = x.shape[axis]
    return [np.ascontiguousarray(np.concatenate(
        [np.take(x, range(a, b), axis=axis) for a, b in ranges], axis=axis))
        for ranges in _chunks(seq, devices, order)]


def unshard(parts, order="contiguous", axis=SEQ_AXIS):
    """The global array from its per-rank pieces (inverse of `shard`)."""
    devices = len(parts)
    seq = sum(p.shape[axis] for p in parts)
    shape = list(parts[0].shape)
    shape[axis] = seq
    out = np.empty(shape, parts[0].dtype)
    for part, ranges in zip(parts, _chunks(seq, devices, order)):
        offset = 0
        for a, b in ranges:
            idx = [slice(None)] * out.ndim
            idx[axis] = slice(a, b)
            src = [slice(None)] * out.ndim
            src[axis] = slice(offset, offset + b - a)
            out[tuple(idx)] = part[tuple(src)]
            offset += b - a
    return out


def mpirun_command(devices):
    """mpirun for `devices` ranks on this machine (oversubscribed: more
    ranks than cores is fine; shared-memory transport only)."""
    mpirun = shutil.which("mpirun")
    if not mpirun:
        raise BPTError("mpirun not found: install openmpi-bin "
                       "(scripts/setup.sh does)")
    cmd = [mpirun, "-np", str(devices), "--oversubscribe", "--bind-to",
           "none", "--mca", "btl", "self,vader",
           "--mca", "btl_vader_single_copy_mechanism", "none"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd


def compile_ring(mlir, devices, order="contiguous", q_block=64, kv_block=128,
                 ffn_chunk=256):
    """Compiles a one-rank program with --bpt-ring-cpu-pipeline (the ring,
    the blockwise rewrite, the CPU pipeline without OpenMP: the ranks are
    the parallelism)."""
    return compile_mlir(
        mlir, pipeline=f"--bpt-ring-cpu-pipeline=devices={devices} "
        f"order={order} q-block={q_block} kv-block={kv_block} "
        f"ffn-chunk={ffn_chunk}")


class GPURingModule:
    """A ring module for GPUs built by `compile_ring_gpu` (a .so + .json)."""

    def __init__(self, path):
        self.path = Path(path)


def compile_ring_gpu(mlir, devices, out_dir, order="contiguous",
                     chip="sm_90a", name="ring"):
    """Compiles a one-rank program with --bpt-ring-gpu-pipeline into
    OUT_DIR/NAME.so: attention steps as tensor-core kernels, merges and the
    rest as device kernels, the ring's transfers as NCCL groups. It links
    NCCL and OpenMPI and runs with `run` on a machine with `devices` GPUs
    (one rank per GPU)."""
    from . import gpu
    return GPURingModule(gpu.build(mlir, out_dir, name, chip=chip,
                                   ring=(devices, order)))


def run(module, mlir, calls, devices, timeout=120, env=None, fail_rank=None,
        repeat=0, kill_rank=None, kill_after=0.5):
    """Runs functions of a compiled ring module (compiled from the one-rank
    program `mlir`) on `devices` ranks, in one mpirun job.

    `calls` is a list of (function name, per-argument lists of per-rank
    arrays): `args[i][r]` is argument i on rank r. Returns, per call, per
    result, the list of per-rank arrays. Raises BPTError if any rank fails,
    or if the job does not finish within `timeout` seconds (all ranks are
    then killed). `fail_rank` makes that rank exit with an error after
    MPI_Init, and `kill_rank` has that rank killed by SIGKILL `kill_after`
    seconds into its calls (to test failure handling). With `repeat` > 0 every call is
    made once more to warm up and then `repeat` times, and the result is
    (results, times) with times[c][r] the best wall time of call c on rank r
    in seconds.
    """
    with tempfile.TemporaryDirectory(prefix="bpt-ring-") as tmp:
        tmp = Path(tmp)
        (tmp / "program.mlir").write_text(mlir)
        (tmp / "calls.txt").write_text("\n".join(f for f, _ in calls))
        for c, (_, args) in enumerate(calls):
            for r in range(devices):
                np.savez(tmp / f"in{c}_{r}.npz", *[a[r] for a in args])
        cmd = mpirun_command(devices) + [
            sys.executable, "-m", "bpt.ring", "worker", str(module.path),
            str(tmp)]
        run_env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
        if fail_rank is not None:
            run_env["BPT_RING_FAIL_RANK"] = str(fail_rank)
        if repeat:
            run_env["BPT_RING_REPEAT"] = str(repeat)
        if kill_rank is not None:
            run_env["BPT_RING_KILL_RANK"] = str(kill_rank)
            run_env["BPT_RING_KILL_AFTER"] = str(kill_after)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=timeout, env=run_env)
        except subprocess.TimeoutExpired as e:
            raise BPTError(f"ring job on {devices} ranks did not finish in "
                           f"{timeout} s and was killed") from e
        if proc.returncode != 0:
            lines = (proc.stdout + proc.stderr).strip().splitlines()
            # The program's own messages first (a failed check names its
            # cause), then what mpirun says.
            ours = [l for l in lines if "bpt-ring" in l or "rank " in l]
            raise BPTError(f"ring job on {devices} ranks failed (mpirun exit "
                           f"{proc.returncode}):\n  " +
                           "\n  ".join(ours[:4] + lines[-6:]))
        results = []
        for c in range(len(calls)):
            outs = [np.load(tmp / f"out{c}_{r}.npz") for r in range(devices)]
            results.append([[o[f"arr_{i}"] for o in outs]
                            for i in range(len(outs[0].files))])
        if not repeat:
            return results
        times = [[float((tmp / f"time{c}_{r}.txt").read_text())
                  for r in range(devices)] for c in range(len(calls))]
        return results, times


def _worker(so_path, tmp):
    """One rank: MPI_Init, call every function on this rank's inputs, save
    the results, MPI_Finalize."""
    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
    mpi = ctypes.CDLL(MPI_LIB, mode=ctypes.RTLD_GLOBAL)
    if mpi.MPI_Init(None, None) != 0:
        raise SystemExit(f"rank {rank}: MPI_Init failed")
    if os.environ.get("BPT_RING_FAIL_RANK") == str(rank):
        print(f"rank {rank}: failing on purpose (BPT_RING_FAIL_RANK)",
              file=sys.stderr)
        os._exit(3)
    if os.environ.get("BPT_RING_KILL_RANK") == str(rank):
        # Killed in the middle of the computation, from another thread.
        import signal
        import threading
        threading.Timer(float(os.environ["BPT_RING_KILL_AFTER"]),
                        os.kill, (os.getpid(), signal.SIGKILL)).start()
    tmp = Path(tmp)
    if Path(so_path).with_suffix(".json").exists():
        # A GPU ring module (compile_ring_gpu): device copies in and out.
        from . import gpu
        module = gpu.load(so_path)
        function = lambda name: (lambda *a: module.call(name, *a))
    else:
        module = CompiledModule(
            so_path, parse_signatures((tmp / "program.mlir").read_text()))
        function = lambda name: module[name]
    for c, func in enumerate((tmp / "calls.txt").read_text().split("\n")):
        inputs = np.load(tmp / f"in{c}_{rank}.npz")
        args = [inputs[f"arr_{i}"] for i in range(len(inputs.files))]
        result = function(func)(*args)
        repeat = int(os.environ.get("BPT_RING_REPEAT", "0"))
        if repeat:
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                function(func)(*args)
                best = min(best, time.perf_counter() - t0)
            (tmp / f"time{c}_{rank}.txt").write_text(repr(best))
        results = result if isinstance(result, tuple) else (result,)
        np.savez(tmp / f"out{c}_{rank}.npz", *results)
    mpi.MPI_Finalize()


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "worker":
        raise SystemExit("usage: python -m bpt.ring worker SO DIR")
    _worker(*sys.argv[2:])
