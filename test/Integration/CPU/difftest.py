# Differential testing (bpt.difftest): 150 random attention graphs in linalg
# (shapes, scale on queries or scores or none, additive / boolean / causal
# masks, three softmax spellings, f32/f16/bf16) and near-misses that must
# not be raised (softmax over queries, probabilities scaled after the
# softmax). Each graph: raised exactly when it is attention, and compiled as
# written, raised + decomposed, raised + blockwise, all equal to its NumPy
# model (2e-5 f32, 2e-3 f16, 1.6e-2 bf16). Fixed seed; longer runs:
# `python -m bpt.difftest --cases N --seed S`.
#
# RUN: %python -m bpt.difftest --cases 150 --seed 1 --per-module 30

