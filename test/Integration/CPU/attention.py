# Executes bpt.attention through --bpt-cpu-pipeline (the reference lowering)
# on random inputs and compares with the independent NumPy reference.
# Tolerance: max abs error / max(1, max |ref|) <= 2e-5 (f32), 2e-3 (f16),
# 1.6e-2 (bf16).
#
# RUN: %python %s

from bpt.testing import AttentionCase as A, Suite, main

s = Suite("bpt.attention, reference lowering", seed=3)
s.add(A("plain", b=2, hq=4, hkv=4, sq=16, sk=16, d=32))
s.add(A("ragged_dv", b=1, hq=2, hkv=2, sq=7, sk=13, d=24, dv=40))
s.add(A("causal_square", b=1, hq=4, hkv=4, sq=17, sk=17, d=16, causal=True))
s.add(A("causal_sq_lt_sk", b=2, hq=2, hkv=2, sq=5, sk=19, d=16, causal=True))
s.add(A("causal_sq_gt_sk", b=1, hq=2, hkv=2, sq=12, sk=5, d=16, causal=True,
        lse=True))
s.add(A("window", b=1, hq=2, hkv=2, sq=20, sk=20, d=16, causal=True,
        window=4))
s.add(A("scale", b=1, hq=2, hkv=2, sq=9, sk=11, d=16, scale=0.3))
s.add(A("additive_mask", b=2, hq=4, hkv=4, sq=9, sk=14, d=16, mask="add",
        mask_dims=(2, 1, 9, 14)))
s.add(A("bool_mask", b=2, hq=4, hkv=4, sq=9, sk=14, d=16, mask="bool"))
s.add(A("padding_mask", b=2, hq=4, hkv=4, sq=9, sk=14, d=16, mask="bool",
        mask_dims=(2, 1, 1, 14)))
s.add(A("gqa_8_2", b=1, hq=8, hkv=2, sq=16, sk=16, d=32, causal=True))
s.add(A("mqa_8_1", b=2, hq=8, hkv=1, sq=10, sk=21, d=16))
s.add(A("lse", b=1, hq=4, hkv=2, sq=8, sk=12, d=16, causal=True, lse=True))
s.add(A("fully_masked_row", b=1, hq=2, hkv=2, sq=6, sk=6, d=8, mask="bool",
        masked_rows=(2, 4), lse=True))
s.add(A("fully_masked_row_add", b=1, hq=2, hkv=2, sq=6, sk=6, d=8,
        mask="add", masked_rows=(0,), lse=True))
s.add(A("causal_no_key", b=1, hq=1, hkv=1, sq=6, sk=3, d=8, causal=True,
        lse=True))
s.add(A("f16", b=1, hq=4, hkv=2, sq=16, sk=24, d=32, elem="f16",
        causal=True))
s.add(A("f16_to_f32", b=1, hq=2, hkv=2, sq=8, sk=8, d=32, elem="f16",
        out_elem="f32", mask="add"))
s.add(A("bf16", b=1, hq=4, hkv=4, sq=16, sk=16, d=32, elem="bf16"))
s.add(A("large_logits", b=1, hq=2, hkv=2, sq=16, sk=16, d=16,
        magnitude=30.0))
s.add(A("dynamic", b=2, hq=4, hkv=2, sq=9, sk=13, d=16, causal=True,
        mask="add", mask_dims=(2, 1, 9, 13), lse=True, dynamic=True))
s.add(A("single", b=1, hq=1, hkv=1, sq=1, sk=1, d=1))
main(s)
