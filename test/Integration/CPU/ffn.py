# Executes bpt.ffn through --bpt-cpu-pipeline (the reference lowering) on
# random inputs, for every activation, and compares with NumPy.
# Tolerance: max abs error / max(1, max |ref|) <= 2e-5 (f32), 2e-3 (f16),
# 1.6e-2 (bf16).
#
# RUN: %python %s

from bpt.testing import FFNCase as F, Suite, main

s = Suite("bpt.ffn, reference lowering", seed=5)
for act in ("relu", "gelu", "gelu_tanh", "silu", "swiglu", "geglu"):
    s.add(F(act, rows=(2, 7), d_model=16, d_ff=40, activation=act))
s.add(F("no_bias", rows=(9,), d_model=24, d_ff=64, activation="gelu",
        up_bias=False, down_bias=False, residual=False))
s.add(F("d_out", rows=(3, 5), d_model=16, d_ff=32, d_out=8,
        activation="silu"))
s.add(F("f16_swiglu", rows=(1, 12), d_model=32, d_ff=88,
        activation="swiglu", elem="f16", up_bias=False, down_bias=False))
s.add(F("bf16_gelu", rows=(1, 12), d_model=32, d_ff=64, activation="gelu",
        elem="bf16"))
main(s)
