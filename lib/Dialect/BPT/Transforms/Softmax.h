//===- Softmax.h - Recognise softmaxes however they are spelled -*- C++ -*-===//
//
// The anchor of attention raising: linalg.softmax, or the max / sub + exp /
// sum / div (or reciprocal multiply) that frontends decompose it into, and
// SDPA's guard that zeroes fully masked rows after it.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_LIB_DIALECT_BPT_TRANSFORMS_SOFTMAX_H
#define BPT_LIB_DIALECT_BPT_TRANSFORMS_SOFTMAX_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir {
namespace bpt {

/// A softmax found in the IR.
struct SoftmaxMatch {
  Value input;  // the scores
  Value result; // the probabilities
  int64_t dim;  // the reduced dimension of `input`
  SmallVector<Operation *> ops;
};

/// Looks through reshapes that only add or drop dimensions of extent 1
/// (torch's keepdim).
Value stripUnitReshapes(Value v);

/// True when `map` (of an operand of an op whose loops are the dimensions of
/// a tensor) reads every loop but `dim` in order, and `dim` not at all or at
/// index 0: a value broadcast along `dim`.
bool isBroadcastAlong(AffineMap map, int64_t dim);

/// Matches the decomposed softmax ending at `root`:
///   m = rowmax(x); e = exp(x - m); s = rowsum(e); p = e / s (or e * (1/s)).
FailureOr<SoftmaxMatch> matchDecomposedSoftmax(linalg::GenericOp root);

/// linalg.softmax or the decomposed form ending at `op`.
FailureOr<SoftmaxMatch> matchSoftmax(Operation *op);

/// Matches the guard SDPA puts after its softmax so that a row whose scores
/// are all -inf gives zeros instead of NaN:
///   all = and-reduce(scores == -inf); out = select(all, 0, probs)
/// Appends its ops to `ops`.
bool matchMaskedRowGuard(linalg::GenericOp guard, Value probs, Value scores,
                         SmallVector<Operation *> &ops);

} // namespace bpt
} // namespace mlir

#endif // BPT_LIB_DIALECT_BPT_TRANSFORMS_SOFTMAX_H
