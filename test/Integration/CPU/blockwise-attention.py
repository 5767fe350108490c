# --bpt-blockwise on bpt.attention, executed: the online-softmax loop nest
# against the unfused reference lowering (--bpt-decompose) and the NumPy
# model, over sequence lengths {1, 7, 64, 100, 257, 1024}, head dims
# {32, 64, 80, 128}, causal and not, windows, masks, GQA/MQA, block sizes that
# do and do not divide S, f32, f16 and bf16, logits of magnitude 1e4, and
# empty batch, query and key extents.
# Tolerance: max abs error / max(1, max |ref|) <= 2e-5 (f32), 2e-3 (f16),
# 1.6e-2 (bf16); against NumPy 5e-3 for the 1e4-logit cases, where the f32
# rounding of the scores themselves (1 ulp of 1e4 is 1e-3) dominates.
#
# RUN: %python %s 32 16
# RUN: %python %s 64 128
# RUN: %python %s 48 40

import sys

from bpt.testing import AttentionCase as A, Suite

q_block, kv_block = int(sys.argv[1]), int(sys.argv[2])
s = Suite(f"blockwise attention q-block={q_block} kv-block={kv_block}",
          seed=q_block * 7 + kv_block)
for seq, d in ((1, 32), (7, 64), (64, 80), (100, 128), (257, 32)):
    s.add(A(f"s{seq}_d{d}", b=1, hq=2, hkv=2, sq=seq, sk=seq, d=d))
    s.add(A(f"s{seq}_d{d}_causal", b=1, hq=2, hkv=2, sq=seq, sk=seq, d=d,
            causal=True, lse=True))
s.add(A("s1024_d64_causal_gqa", b=1, hq=4, hkv=1, sq=1024, sk=1024, d=64,
        causal=True))
s.add(A("causal_sq_lt_sk", b=2, hq=4, hkv=2, sq=37, sk=150, d=32,
        causal=True, lse=True))
s.add(A("causal_sq_gt_sk", b=1, hq=2, hkv=2, sq=90, sk=33, d=32,
        causal=True, lse=True))
s.add(A("window", b=1, hq=2, hkv=2, sq=130, sk=130, d=32, causal=True,
        window=50, lse=True))
s.add(A("window_narrow", b=1, hq=1, hkv=1, sq=100, sk=120, d=16, causal=True,
        window=3))
s.add(A("additive_mask", b=2, hq=4, hkv=4, sq=70, sk=90, d=32, mask="add",
        mask_dims=(2, 1, 70, 90), masked_rows=(3,), lse=True))
s.add(A("bool_mask_causal", b=1, hq=8, hkv=2, sq=80, sk=80, d=32,
        mask="bool", causal=True, masked_rows=(0, 41)))
s.add(A("padding_mask", b=2, hq=4, hkv=4, sq=50, sk=75, d=32, mask="bool",
        mask_dims=(2, 1, 1, 75)))
s.add(A("mqa_8_1", b=1, hq=8, hkv=1, sq=60, sk=60, d=64))
s.add(A("f16", b=1, hq=4, hkv=2, sq=100, sk=100, d=64, elem="f16",
        causal=True))
s.add(A("f16_mask", b=1, hq=2, hkv=2, sq=77, sk=65, d=32, elem="f16",
        mask="add", mask_dims=(1, 1, 77, 65)))
s.add(A("bf16", b=1, hq=2, hkv=2, sq=66, sk=66, d=32, elem="bf16",
        causal=True))
s.add(A("logits_1e4", b=1, hq=2, hkv=2, sq=90, sk=90, d=32, magnitude=100.0,
        numpy_tol=5e-3))
s.add(A("logits_1e4_causal", b=1, hq=2, hkv=2, sq=90, sk=90, d=32,
        magnitude=100.0, causal=True, numpy_tol=5e-3))
# Empty extents: no keys (rows give 0 and lse -inf), no queries, no batch.
s.add(A("no_keys", b=1, hq=2, hkv=2, sq=5, sk=0, d=8, causal=True, lse=True))
s.add(A("no_queries", b=1, hq=2, hkv=2, sq=0, sk=7, d=8, lse=True))
s.add(A("no_batch", b=0, hq=2, hkv=1, sq=4, sk=4, d=8))
s.add(A("dynamic", b=2, hq=4, hkv=2, sq=45, sk=70, d=16, causal=True,
        mask="add", mask_dims=(2, 1, 45, 70), lse=True, dynamic=True))
sys.exit(s.run(passes=[f"--bpt-blockwise=q-block={q_block} "
                       f"kv-block={kv_block}"],
               compare_with=["--bpt-decompose"]))
