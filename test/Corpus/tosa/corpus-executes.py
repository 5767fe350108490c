# The TOSA corpus (python/tools/gen_torch_corpus.py: torch-mlir's TOSA output
# lowered by mlir-opt's tosa-to-linalg passes) raises to the same bpt ops and
# computes the same as the torch-mlir corpus: the check is shared.
#
# RUN: %python %S/../torch-mlir/corpus-executes.py %S
