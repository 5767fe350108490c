# --bpt-blockwise on bpt.ffn, executed: row blocks and hidden-dimension
# chunks (with ragged last blocks and chunks) against the unfused lowering
# and NumPy, for every activation. Tolerance: max abs error / max(1, max
# |ref|) <= 2e-5 (f32), 2e-3 (f16), 1.6e-2 (bf16).
#
# RUN: %python %s 16 32
# RUN: %python %s 5 7
# With narrow-hidden (the GPU pipeline's setting: each hidden chunk stored in
# a 16-bit FFN's own type), same tolerances:
# RUN: %python %s 16 32 narrow-hidden

import sys

from bpt.testing import FFNCase as F, Suite

q_block, chunk = int(sys.argv[1]), int(sys.argv[2])
narrow = " narrow-hidden=true" if "narrow-hidden" in sys.argv[3:] else ""
s = Suite(f"blockwise FFN q-block={q_block} ffn-chunk={chunk}{narrow}",
          seed=chunk)
for act in ("relu", "gelu", "gelu_tanh", "silu", "swiglu", "geglu"):
    s.add(F(act, rows=(2, 37), d_model=24, d_ff=100, activation=act))
s.add(F("rank2_no_bias", rows=(45,), d_model=32, d_ff=64, activation="gelu",
        up_bias=False, down_bias=False, residual=False))
s.add(F("d_out", rows=(1, 20), d_model=16, d_ff=48, d_out=24,
        activation="silu"))
s.add(F("f16", rows=(1, 33), d_model=32, d_ff=96, activation="swiglu",
        elem="f16", up_bias=False, down_bias=False))
s.add(F("bf16", rows=(1, 19), d_model=16, d_ff=40, activation="geglu",
        elem="bf16"))
s.add(F("no_rows", rows=(0, 5), d_model=8, d_ff=16, activation="relu"))
s.add(F("no_hidden", rows=(1, 6), d_model=8, d_ff=0, activation="gelu"))
sys.exit(s.run(passes=[f"--bpt-blockwise=q-block={q_block} "
                       f"ffn-chunk={chunk}{narrow}"],
               compare_with=["--bpt-decompose"]))
