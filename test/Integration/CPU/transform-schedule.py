# A user's own transform-dialect schedule, executed: upstream
# tile_using_forall over query tiles, then transform.bpt.lower_to_online_softmax
# and transform.bpt.tile_ffn with block sizes other than the defaults of
# --bpt-blockwise, against NumPy and the unfused lowering.
# Tolerance: max abs error / max(1, max |ref|) <= 2e-5 (f32), 2e-3 (f16).
#
# RUN: %python %s

from bpt.testing import AttentionCase as A, FFNCase as F, Suite

SCHEDULE = """
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["bpt.attention"]} in %root
      : (!transform.any_op) -> !transform.any_op
    %tiled, %forall = transform.structured.tile_using_forall %a tile_sizes [1, 1, 24, 0]
      : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %loop = transform.bpt.lower_to_online_softmax %tiled {kv_block = 40}
      : (!transform.any_op) -> !transform.any_op
    %f = transform.structured.match ops{["bpt.ffn"]} in %root
      : (!transform.any_op) -> !transform.any_op
    %chunks = transform.bpt.tile_ffn %f {row_block = 9, ffn_chunk = 20}
      : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}
"""

s = Suite("user transform schedule", seed=17)
s.add(A("causal_gqa", b=1, hq=4, hkv=2, sq=100, sk=130, d=32, causal=True,
        lse=True))
s.add(A("mask", b=2, hq=2, hkv=2, sq=50, sk=61, d=16, mask="add",
        mask_dims=(2, 1, 50, 61)))
s.add(A("f16_window", b=1, hq=2, hkv=1, sq=90, sk=90, d=32, elem="f16",
        causal=True, window=30))
s.add(F("swiglu", rows=(2, 31), d_model=16, d_ff=70, activation="swiglu"))
s.add(F("gelu_f16", rows=(1, 40), d_model=32, d_ff=64, activation="gelu",
        elem="f16"))
raise SystemExit(s.run(schedule=SCHEDULE, compare_with=["--bpt-decompose"]))
