# The host's choice between the sm_90a TMA + wgmma contraction kernel and
# the mma.sync one, run without a GPU on the dry-run runtime (which checks
# every tensor map request as the driver would): operands whose rows are
# 16-byte aligned get two tensor maps and the wgmma launch; a view of A
# that starts one element into its buffer (the first element 2 bytes off),
# or whose rows are 76 elements apart (not a multiple of 8), gets none and
# the mma.sync launch (A is a K = 64 column slice of a wider buffer).
# Attention gets three 4-D tensor maps (Q, K, V) for head dims 64, 128, 96
# and 256 (boxes of 64 features: the last one past 96 zero filled).
#
# REQUIRES: cuda
# RUN: %python %s

import sys
import tempfile

from bpt import gpu, gpuemu

CASES = [
    # (name, column offset of the slice, row stride - 8, tensor maps)
    ("rows 72 elements apart, aligned", 0, 64, 2),
    ("first element 2 bytes off", 1, 64, 0),
    ("rows 76 elements apart", 0, 68, 0),
]


def program(offset, width, m=130, n=96, k=64):
    return f"""func.func @mm(%a: tensor<{m}x{width + 8}xbf16>, %b: tensor<{k}x{n}xbf16>) -> tensor<{m}x{n}xf32> {{
  %s = tensor.extract_slice %a[0, {offset}] [{m}, {k}] [1, 1] : tensor<{m}x{width + 8}xbf16> to tensor<{m}x{k}xbf16>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.matmul ins(%s, %b : tensor<{m}x{k}xbf16>, tensor<{k}x{n}xbf16>) outs(%f : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}
"""


failures = 0
with tempfile.TemporaryDirectory() as tmp:
    for i, (name, offset, width, maps) in enumerate(CASES):
        so = gpu.build(program(offset, width), tmp, f"mm{i}", chip="sm_90a",
                       options="wgmma=true", dry_run=True)
        seen = gpu.dry_run(so, "mm")
        ok = seen["tensor_maps"] == maps and seen["launches"] >= 1 and \
            seen["left_bytes"] == 0
        print("ok  " if ok else "FAIL", name, f"{seen['tensor_maps']} tensor "
              f"maps (want {maps}), {seen['launches']} launches")
        failures += not ok
    # Attention (--bpt-gpu-attention{wgmma}): Q, K and V get a tensor map
    # each (4-D: batch, head, row, feature; boxes of 1 x 1 x 64 x 64, which
    # the dry run checks as the driver would).
    for d in (64, 128, 96, 256):
        maps = 3
        text = gpuemu.attention_case(b=2, hq=4, hkv=2, sq=100, sk=130, d=d,
                                     elem="bf16", causal=True)[0]
        so = gpu.build(text, tmp, f"attn{d}", chip="sm_90a",
                       options="wgmma=true", dry_run=True)
        seen = gpu.dry_run(so, "attn")
        ok = seen["tensor_maps"] == maps and seen["launches"] == 1 and \
            seen["left_bytes"] == 0
        print("ok  " if ok else "FAIL", f"attention D={d}: "
              f"{seen['tensor_maps']} tensor maps (want {maps}), "
              f"{seen['launches']} launches")
        failures += not ok
sys.exit(1 if failures else 0)
