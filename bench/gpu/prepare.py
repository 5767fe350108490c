"""Builds, on a machine with LLVM/MLIR and the CUDA toolkit, everything the
GPU checks and benchmark need, into one directory to carry to a GPU machine
that has only a driver, PyTorch and NumPy (bench/gpu/run.py runs it there).

    python bench/gpu/prepare.py [-o build/gpu-carry] [--chip sm_90a] [--quick]

Correctness cases (the emulator's, and larger ones) and benchmark
configurations (S in {1K, 4K, 16K}, D in {64, 128}, bf16, causal or not,
B * S = 16K tokens, 16 heads) each become a shared object holding the host
code and the cubin; so do whole transformer blocks (small ones checked
against the NumPy model; a GPT-2-shaped bf16 block, d_model 1024, 16 heads,
d_ff 4096, causal, at S = 4K and 16K, timed and measured against PyTorch);
contractions alone (the FFN's and the projections' shapes at S = 4K and
16K, bf16, the result rounded to bf16 in the kernel's epilogue) are timed
against torch.matmul; for sm_90a, attention, blocks and contractions are
built both with the mma.sync kernels and with the TMA + wgmma ones
(wgmma=true).
manifest.json lists them.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

from bpt import gpu, gpuemu, models, testing  # noqa: E402

CHECKS = [
    dict(b=1, hq=2, hkv=1, sq=100, sk=77, d=64, elem="f16", causal=True,
         lse=True),
    dict(b=2, hq=2, hkv=2, sq=65, sk=130, d=64, elem="bf16"),
    dict(b=1, hq=4, hkv=2, sq=64, sk=64, d=64, elem="f16", out_elem="f16",
         causal=True),
    dict(b=1, hq=2, hkv=1, sq=150, sk=150, d=64, elem="bf16", causal=True,
         window=40, lse=True),
    dict(b=1, hq=1, hkv=1, sq=1, sk=1, d=16, elem="f16"),
    dict(b=1, hq=1, hkv=1, sq=33, sk=200, d=128, elem="f16", lse=True),
    dict(b=2, hq=8, hkv=2, sq=1000, sk=1000, d=128, elem="bf16",
         causal=True),
    dict(b=1, hq=4, hkv=4, sq=2048, sk=2048, d=64, elem="f16"),
    dict(b=2, hq=2, hkv=1, sq=70, sk=50, d=32, elem="f16",
         mask=("i1", (2, 1, 70, 50)), lse=True),
    dict(b=1, hq=2, hkv=2, sq=300, sk=900, d=64, elem="bf16",
         mask=("f32", (1, 2, 1, 900)), causal=True),
    dict(b=1, hq=2, hkv=1, sq=300, sk=300, d=96, elem="bf16", causal=True,
         lse=True),
    dict(b=1, hq=2, hkv=2, sq=200, sk=500, d=256, elem="f16", causal=True),
]


def variants(chip):
    """The contraction kernels to build: the mma.sync one, and on sm_90a
    the TMA + wgmma one too."""
    return ["", "wgmma=true"] if chip == "sm_90a" else [""]


def block_bench_configs(quick, chip):
    for s in ([4096] if quick else [4096, 16384]):
        for options in variants(chip):
            yield (dict(model="gpt2", seq=s, d_model=1024, heads=16,
                        d_ff=4096, elem="bf16"), options)


def gemm_bench_configs(quick, chip):
    """(M, N, K): the QKV, FFN-up and FFN-down shapes of the GPT-2-shaped
    block (d_model 1024, d_ff 4096) over S rows."""
    for s in ([4096] if quick else [4096, 16384]):
        for n, k in ((3072, 1024), (4096, 1024), (1024, 4096)):
            for options in variants(chip):
                yield dict(m=s, n=n, k=k), options


def gemm_mlir(m, n, k):
    """C = A B in bf16 with f32 accumulation, as torch.matmul computes it:
    the rounding is fused into the contraction kernel's epilogue."""
    return f"""func.func @gemm(%a: tensor<{m}x{k}xbf16>, %b: tensor<{k}x{n}xbf16>) -> tensor<{m}x{n}xbf16> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %c = linalg.matmul ins(%a, %b : tensor<{m}x{k}xbf16>, tensor<{k}x{n}xbf16>) outs(%f : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %o = tensor.empty() : tensor<{m}x{n}xbf16>
  %r = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}}
      ins(%c : tensor<{m}x{n}xf32>) outs(%o : tensor<{m}x{n}xbf16>) {{
    ^bb0(%x: f32, %y: bf16):
      %t = arith.truncf %x : f32 to bf16
      linalg.yield %t : bf16
  }} -> tensor<{m}x{n}xbf16>
  return %r : tensor<{m}x{n}xbf16>
}}
"""


def bench_configs(quick):
    seqs = [1024, 4096] if quick else [1024, 4096, 16384]
    for s in seqs:
        for d in (64, 128):
            for causal in (False, True):
                yield dict(b=max(1, 16384 // s), hq=16, hkv=16, sq=s, sk=s,
                           d=d, elem="bf16", out_elem="bf16", causal=causal)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", default="build/gpu-carry")
    p.add_argument("--chip", default="sm_90a")
    p.add_argument("--quick", action="store_true",
                   help="benchmarks at S = 1K and 4K only")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for kind, cases in (("check", CHECKS),
                        ("bench", list(bench_configs(args.quick)))):
        cases = [(kw, v) for kw in cases for v in variants(args.chip)]
        for i, (kw, options) in enumerate(cases):
            name = f"{kind}{i}"
            mlir, _ = gpuemu.attention_case(**kw)
            gpu.build(mlir, out, name, chip=args.chip, options=options)
            manifest.append(dict(kind=kind, name=name, case=kw,
                                 options=options))
            print(f"[prepare] {name}: {kw} {options}", flush=True)
    block_checks = [(kw, f"{options} {v}".strip())
                    for kw, options in testing.GPU_BLOCK_CHECKS
                    for v in variants(args.chip)]
    for kind, cases in (("block-check", block_checks),
                        ("block-bench",
                         list(block_bench_configs(args.quick, args.chip)))):
        for i, (kw, options) in enumerate(cases):
            name = f"{kind.replace('-', '_')}{i}"
            kw = dict(kw)
            cfg = models.config(kw.pop("model"), **kw)
            gpu.build(models.block(cfg), out, name, chip=args.chip,
                      options=options)
            manifest.append(dict(kind=kind, name=name, case=dict(
                model=cfg.model, **kw), options=options,
                function=models.function_name(cfg)))
            print(f"[prepare] {name}: {cfg} {options}", flush=True)
    for i, (case, options) in enumerate(gemm_bench_configs(args.quick,
                                                           args.chip)):
        name = f"gemm{i}"
        gpu.build(gemm_mlir(**case), out, name, chip=args.chip,
                  options=options)
        manifest.append(dict(kind="gemm-bench", name=name, case=case,
                             options=options))
        print(f"[prepare] {name}: {case} {options}", flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    # What run.py needs on the GPU machine, next to the modules.
    for f in ("gpu.py", "gpuemu.py", "compiler.py", "errors.py", "tools.py",
              "dtypes.py", "models.py", "reference.py", "testing.py"):
        src = Path(gpu.__file__).with_name(f)
        (out / "bpt").mkdir(exist_ok=True)
        (out / "bpt" / f).write_text(src.read_text())
    (out / "bpt" / "__init__.py").write_text("")
    for script in ("run.py", "triton_attention.py"):
        src = Path(__file__).with_name(script)
        (out / script).write_text(src.read_text())
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"[prepare] {len(manifest)} modules in {out} ({size / 2**20:.1f} "
          "MiB); on the GPU machine: python run.py .")


if __name__ == "__main__":
    main()
