#!/usr/bin/env python3
"""Ring attention on OpenMPI ranks of this machine: time per step split
into compute and communication, the fraction of communication hidden behind
compute, and the longest context per rank as the ring grows.

Attention forward, f32, batch 1, 8 heads, D 64, non-causal, S_local rows
per rank. Per configuration (N ranks, S_local):

  step ms     the ring program's time per call on its slowest rank / N
  compute ms  one step's work alone: the attention of S_local queries
              against one block of S_local keys (the same blockwise code),
              on one rank with no communication
  comm ms     one step's exchange alone: the same irecv/isend/wait of the
              K and V blocks, compiled from the mpi dialect by the same
              pipeline, on N ranks with no compute
  hidden      (compute + comm - step) / comm, clipped to [0, 1]

Accounting for 2 cores: every rank runs one thread (OMP_NUM_THREADS=1).
With N = 2 each rank has a core; with N > 2 ranks time-share the two
cores, so the measured step is compared with compute x N / 2 (each rank
gets 2/N of a core), stated in the column `compute (shared)`.

The longest context is read from the IR (bpt.memory): the peak bytes of
one rank's program (a GPT-2-small block, BPT inside ring) plus its inputs,
for the largest S_local within the budget, times N.

The last table is on paper for 8 GPUs: the paper's condition for the
exchange of a block to hide behind its compute, with the throughput and
bandwidths stated (no GPU measured here).

    bench/ring.py [--devices 2,4] [--local 512,1024] [--repeat 3]
                  [--budget-gib 8]
"""

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))
os.environ.setdefault("BPT_TOOLS_DIR", str(REPO / "build" / "bin"))

import numpy as np  # noqa: E402

from bpt import memory, models, ring  # noqa: E402
from bpt.compiler import compile_mlir  # noqa: E402
from bpt.testing import AttentionCase  # noqa: E402

HEADS, DIM = 8, 64
Q_BLOCK, KV_BLOCK, FFN_CHUNK = 64, 128, 256


def exchange_program(devices, local):
    """One step's exchange alone, in the form --bpt-ring emits it."""
    t = f"tensor<1x{HEADS}x{local}x{DIM}xf32>"
    m = f"memref<1x{HEADS}x{local}x{DIM}xf32>"
    anyl = (f"memref<1x{HEADS}x{local}x{DIM}xf32, "
            "strided<[?, ?, ?, ?], offset: ?>>")
    lines = [
        'module attributes {dlti.map = #dlti.map<"MPI:Implementation" = '
        '"OpenMPI">} {',
        f"  func.func @exchange(%k: {t}, %v: {t}) -> ({t}, {t}) {{",
        "    %comm = mpi.comm_world : !mpi.comm",
        "    %rank = mpi.comm_rank(%comm) : i32",
        "    %one = arith.constant 1 : i32",
        f"    %n = arith.constant {devices} : i32",
        f"    %nm1 = arith.constant {devices - 1} : i32",
        "    %t0 = arith.constant 0 : i32",
        "    %t1 = arith.constant 1 : i32",
        "    %r1 = arith.addi %rank, %one : i32",
        "    %next = arith.remui %r1, %n : i32",
        "    %r2 = arith.addi %rank, %nm1 : i32",
        "    %prev = arith.remui %r2, %n : i32",
    ]
    for x in ("k", "v"):
        lines += [
            f"    %{x}src = bufferization.to_buffer %{x} read_only : {t} to "
            f"{anyl}",
            f"    %{x}send = memref.alloc() : {m}",
            f"    memref.copy %{x}src, %{x}send : {anyl} to {m}",
            f"    %{x}recv = memref.alloc() : {m}",
        ]
    lines += [
        f"    %rk = mpi.irecv(%krecv, %t0, %prev, %comm) : {m}, i32, i32 -> "
        "!mpi.request",
        f"    %rv = mpi.irecv(%vrecv, %t1, %prev, %comm) : {m}, i32, i32 -> "
        "!mpi.request",
        f"    %sk = mpi.isend(%ksend, %t0, %next, %comm) : {m}, i32, i32 -> "
        "!mpi.request",
        f"    %sv = mpi.isend(%vsend, %t1, %next, %comm) : {m}, i32, i32 -> "
        "!mpi.request",
        "    mpi.wait(%rk) : !mpi.request",
        "    mpi.wait(%rv) : !mpi.request",
        "    mpi.wait(%sk) : !mpi.request",
        "    mpi.wait(%sv) : !mpi.request",
        f"    bpt.hold %ksend, %vsend, %krecv, %vrecv : {m}, {m}, {m}, {m}",
        f"    %kt = bufferization.to_tensor %krecv restrict : {m} to {t}",
        f"    %vt = bufferization.to_tensor %vrecv restrict : {m} to {t}",
        f"    return %kt, %vt : {t}, {t}",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def best_time(fn, repeat):
    import time
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(devices, local, repeat):
    case = AttentionCase("ring", b=1, hq=HEADS, hkv=HEADS, sq=local, sk=local,
                         d=DIM)
    mlir = "module {\n" + case.mlir() + "\n}\n"
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, HEADS, local * devices, DIM))
               .astype(np.float32) for _ in range(3))
    module = ring.compile_ring(mlir, devices, q_block=Q_BLOCK,
                               kv_block=KV_BLOCK)
    calls = [(case.func, [ring.shard(a, devices) for a in (q, k, v)])]
    _, times = ring.run(module, mlir, calls, devices, repeat=repeat,
                        timeout=1200)
    step = max(times[0]) / devices

    # One step's compute alone: the same blockwise attention of the local
    # queries against one block, one thread.
    os.environ["OMP_NUM_THREADS"] = "1"
    single = compile_mlir(mlir, passes=[
        f"--bpt-blockwise=q-block={Q_BLOCK} kv-block={KV_BLOCK}"],
        pipeline="--bpt-cpu-pipeline=openmp=false")[case.func]
    lq, lk, lv = (a[:, :, :local].copy() for a in (q, k, v))
    compute = best_time(lambda: single(lq, lk, lv, copy=False), repeat)

    xmlir = exchange_program(devices, local)
    xmod = compile_mlir(xmlir, pipeline="--bpt-cpu-pipeline=openmp=false")
    _, xtimes = ring.run(xmod, xmlir, [
        ("exchange", [ring.shard(a, devices) for a in (k, v)])], devices,
        repeat=repeat, timeout=600)
    comm = max(xtimes[0])
    return step, compute, comm


def ring_peak_bytes(devices, local, cfg_kwargs):
    """Peak bytes of one rank's GPT-2 block program (from the IR) plus its
    inputs."""
    cfg = models.BlockConfig(seq=local, **cfg_kwargs)
    text = memory.bufferized(models.gpt2_block(cfg), passes=(
        f"--bpt-ring=devices={devices}",
        f"--bpt-blockwise=q-block=256 kv-block=256 ffn-chunk=512"))
    inputs = memory.f32_bytes([(cfg.seq, cfg.d_model)] +
                              list(models.gpt2_param_shapes(cfg).values()))
    return memory.peak_live_bytes(text, "gpt2_block",
                                  dynamic_bound=512) + inputs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", default="2,4")
    ap.add_argument("--local", default="512,1024",
                    help="rows of the sequence per rank")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget-gib", type=float, default=8.0)
    ap.add_argument("--context-devices", default="1,2,4,8",
                    help="ring sizes of the longest-context table")
    args = ap.parse_args()
    devices = [int(x) for x in args.devices.split(",") if x]
    locals_ = [int(x) for x in args.local.split(",") if x]

    print(f"ring attention on OpenMPI ranks, f32, {HEADS} heads, D {DIM}, "
          f"non-causal; q-block {Q_BLOCK}, kv-block {KV_BLOCK}; one thread "
          f"per rank, 2 cores; best of {args.repeat}")
    print(f"{'N':>3} {'S_local':>8} {'S':>7} | {'step ms':>8} "
          f"{'compute':>8} {'(shared)':>9} {'comm ms':>8} | {'hidden':>7} "
          f"| {'GFLOP/s':>8}")
    for n in devices:
        for local in locals_:
            step, compute, comm = measure(n, local, args.repeat)
            shared = compute * max(1.0, n / 2)
            hidden = min(1.0, max(0.0, (shared + comm - step) / comm))
            flops = 4.0 * local * local * DIM * HEADS * n * n
            print(f"{n:>3} {local:>8} {local * n:>7} | {step * 1e3:>8.2f} "
                  f"{compute * 1e3:>8.2f} {shared * 1e3:>9.2f} "
                  f"{comm * 1e3:>8.3f} | {hidden:>6.0%} | "
                  f"{flops / (step * n) / 1e9:>8.1f}", flush=True)

    budget = args.budget_gib * (1 << 30)
    gpt2 = dict(d_model=768, heads=12, d_ff=3072)
    print(f"\nlongest context, GPT-2-small block (BPT inside ring), "
          f"{args.budget_gib:g} GiB per rank (IR peak + inputs)")
    print(f"{'N':>3} | {'S_local max':>11} | {'S = N x S_local':>15}")
    for n in [int(x) for x in args.context_devices.split(",") if x]:
        local = memory.largest_fitting(
            lambda s: ring_peak_bytes(n, s, gpt2) <= budget, step=1024)
        print(f"{n:>3} | {local:>11,} | {local * n:>15,}", flush=True)

    # The paper's condition: a block's compute (4 c^2 d h FLOPs at F) must
    # outlast its exchange (K and V, 2 c d h elements of b bytes at B):
    # c >= F b / (2 B). Assumed figures, stated; nothing here ran on a GPU.
    flops = 350e12
    print("\non paper, 8 H100s (assumed: 350 TFLOP/s bf16 attention "
          "forward, FlashAttention-2 class; bf16 K/V, b = 2 bytes)")
    print(f"{'link':>28} | {'GB/s per GPU':>12} | {'min block c (tokens)':>20}")
    for name, bw in (("NVLink 4 (one direction)", 450e9),
                     ("InfiniBand NDR 400 Gb/s", 50e9)):
        c = flops * 2 / (2 * bw)
        print(f"{name:>28} | {bw / 1e9:>12.0f} | {c:>20,.0f}")


if __name__ == "__main__":
    main()
