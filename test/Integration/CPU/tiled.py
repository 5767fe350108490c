# TilingInterface of the bpt ops, executed: a transform-dialect schedule
# tiles bpt.attention over (batch, heads, query rows) and bpt.ffn over rows
# and d_ff chunks; each tile is then lowered by the reference lowering. The
# tiled program must compute what the untiled one computes: this checks the
# query positions kept for causal tiles, the key/value head slices of GQA
# tiles, mask slices, and the down-projection bias added once over chunks.
# Tolerance as in attention.py / ffn.py.
#
# RUN: %python %s

from bpt.testing import AttentionCase as A, FFNCase as F, Suite

SCHEDULE = """
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["bpt.attention"]} in %root
      : (!transform.any_op) -> !transform.any_op
    %ta, %la:3 = transform.structured.tile_using_for %a tile_sizes [1, 2, 5, 0]
      : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    %f = transform.structured.match ops{["bpt.ffn"]} in %root
      : (!transform.any_op) -> !transform.any_op
    %tf, %lf:3 = transform.structured.tile_using_for %f tile_sizes [1, 3, 16]
      : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}
"""

s = Suite("tiled bpt ops", seed=11)
s.add(A("causal_sq_lt_sk", b=2, hq=4, hkv=4, sq=13, sk=21, d=16, causal=True,
        lse=True))
s.add(A("causal_sq_gt_sk", b=1, hq=2, hkv=2, sq=12, sk=7, d=16, causal=True))
s.add(A("window", b=1, hq=2, hkv=2, sq=17, sk=17, d=8, causal=True,
        window=3))
s.add(A("gqa_8_2_mask", b=2, hq=8, hkv=2, sq=11, sk=9, d=16, mask="add",
        mask_dims=(2, 1, 11, 9)))
s.add(A("mqa_8_1_bool", b=1, hq=8, hkv=1, sq=9, sk=9, d=16, mask="bool",
        causal=True, lse=True))
s.add(A("f16", b=1, hq=4, hkv=2, sq=10, sk=10, d=32, elem="f16",
        causal=True))
for act in ("gelu", "swiglu"):
    s.add(F(f"chunked_{act}", rows=(2, 7), d_model=16, d_ff=40,
            activation=act))
s.add(F("chunked_d_out", rows=(1, 5), d_model=8, d_ff=33, d_out=12,
        activation="relu"))
raise SystemExit(s.run(schedule=SCHEDULE))
