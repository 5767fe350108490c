"""The researcher-facing API: compile a model's MLIR with the Blockwise
Parallel Transformer rewrites, and explain what they did.

    import bpt
    module = bpt.compile(open("model.mlir").read(), q_block=128)
    y = module.forward(x)
    print(bpt.explain(open("model.mlir").read()))

The input is linalg on tensors as a frontend emits it (torch-mlir, TOSA
lowered to linalg, `bpt.models`) or IR that already holds bpt ops.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from .compiler import compile_mlir
from .errors import BPTError
from .tools import run_capture, tool

TARGETS = ("cpu", "cuda")

_REMARK = re.compile(r"^(?P<loc>[^\n]*?):(?P<line>\d+):(?P<col>\d+): "
                     r"remark: (?P<msg>[^\n]*)$", re.M)


def _read(mlir):
    if isinstance(mlir, Path):
        return mlir.read_text()
    if not isinstance(mlir, str):
        raise BPTError(f"expected MLIR text or a path, got {type(mlir).__name__}")
    return mlir


def _check_blocks(q_block, kv_block, ffn_chunk):
    for name, value in (("q_block", q_block), ("kv_block", kv_block),
                        ("ffn_chunk", ffn_chunk)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BPTError(f"{name} must be a positive integer, got {value!r}")


def passes(q_block=64, kv_block=128, ffn_chunk=256, raise_ops=True,
           fuse=True):
    """The bpt-opt passes that `compile` runs before the target pipeline."""
    _check_blocks(q_block, kv_block, ffn_chunk)
    out = ["--bpt-raise"] if raise_ops else []
    if fuse:
        out.append(f"--bpt-blockwise=q-block={q_block} kv-block={kv_block} "
                   f"ffn-chunk={ffn_chunk}")
    return out


def compile(mlir, target="cpu", q_block=64, kv_block=128, ffn_chunk=256,
            raise_ops=True, fuse=True, chip="sm_90a", gpu_options=""):
    """Compiles `mlir` into a module whose public functions take and return
    NumPy arrays.

    With `raise_ops`, attention, FFNs and whole layers are first found in the
    IR (`--bpt-raise`); with `fuse`, they are rewritten into the blockwise
    loops (`--bpt-blockwise`) with the given block sizes. Without both, the
    program is compiled as it is.

    target="cuda" compiles each attention into a tensor-core kernel for
    `chip` (`--bpt-gpu-pipeline`; the block sizes are the kernel's own) and
    needs the CUDA toolkit to build and a GPU to load (bpt.gpu);
    `gpu_options` are more options of that pipeline, e.g.
    "attention-f32-inputs=bf16" (f32 attention rounded for the tensor
    cores) or "wgmma=true" (sm_90a TMA + warpgroup-MMA contractions and
    attention).
    """
    if target not in TARGETS:
        raise BPTError(f"unknown target {target!r}: expected one of "
                       f"{', '.join(TARGETS)}")
    if target == "cuda":
        return _compile_cuda(_read(mlir), raise_ops, chip, gpu_options)
    text = _read(mlir)
    return compile_mlir(text, passes=passes(q_block, kv_block, ffn_chunk,
                                            raise_ops, fuse))


def _compile_cuda(text, raise_ops, chip, options):
    import hashlib
    import os

    from . import gpu
    from .compiler import _cache_dir
    passes = ["--bpt-raise"] if raise_ops else []
    key = hashlib.sha256("\0".join(
        [text, chip, options, *passes, tool("bpt-opt"),
         str(os.path.getmtime(tool("bpt-opt"))),
         gpu.RUNTIME_SRC.read_text()]).encode()).hexdigest()[:24]
    out = _cache_dir() / f"cuda-{key}"
    so = out / "module.so"
    if not so.exists():
        gpu.build(text, out, "module", chip=chip, passes=passes,
                  options=options)
    return gpu.load(so)


@dataclass
class Remark:
    """A remark of bpt-opt: where (line, column of the input) and why."""
    line: int
    column: int
    message: str

    def __str__(self):
        return f"line {self.line}:{self.column}: {self.message}"


@dataclass
class Explanation:
    """What raising and the blockwise rewrite made of a program."""
    attention: int = 0          # bpt.attention ops after raising
    causal: int = 0             # of which causal
    ffn: int = 0                # bpt.ffn ops after raising
    blocks: int = 0             # bpt.block units after raising
    fused_blocks: int = 0       # blocks computed per query block
    remarks: list = field(default_factory=list)

    def __str__(self):
        lines = [
            f"raised:  {self.attention} attention ({self.causal} causal), "
            f"{self.ffn} FFN, {self.blocks} block(s)",
            f"fused:   {self.fused_blocks} of {self.blocks} block(s) per "
            f"query block",
        ]
        if self.remarks:
            lines.append("not raised or not fused:")
            lines += [f"  {r}" for r in self.remarks]
        else:
            lines.append("nothing was refused")
        return "\n".join(lines)


def _remarks(stderr):
    return [Remark(int(m["line"]), int(m["col"]), m["msg"])
            for m in _REMARK.finditer(stderr)]


def explain(mlir, q_block=64, kv_block=128, ffn_chunk=256):
    """Reports what `--bpt-raise` raised in `mlir` and what `--bpt-blockwise`
    fused, with bpt-opt's remarks for every softmax, FFN or block left as
    it was and why."""
    _check_blocks(q_block, kv_block, ffn_chunk)
    text = _read(mlir)
    raised, raise_err = run_capture(
        [tool("bpt-opt"), "--bpt-raise=remarks=true"], "bpt-opt --bpt-raise",
        stdin=text)
    report = Explanation(
        attention=len(re.findall(r"= bpt\.attention\b", raised)),
        causal=len(re.findall(r"= bpt\.attention causal\b", raised)),
        ffn=len(re.findall(r"= bpt\.ffn\b", raised)),
        blocks=len(re.findall(r"= bpt\.block\b", raised)),
        remarks=_remarks(raise_err))
    _, fuse_err = run_capture(
        [tool("bpt-opt"), "--bpt-blockwise="
         f"q-block={q_block} kv-block={kv_block} ffn-chunk={ffn_chunk}"],
        "bpt-opt --bpt-blockwise", stdin=raised)
    unfused = _remarks(fuse_err)
    report.fused_blocks = report.blocks - sum(
        "block not fused" in r.message for r in unfused)
    report.remarks += unfused
    return report
