//===- RaiseUtils.h - Matchers shared by the raising passes -----*- C++ -*-===//
//
// Frontends spell the same computation many ways: a scale is a mulf by a
// constant or a divf by its inverse, the constant an f64 truncated inside
// the body or a splat tensor operand; a batched matmul sits between
// reshapes that merge the batch and head dimensions. These matchers look at
// what a value computes, not at how it is written, and are shared by
// --bpt-raise-attention and --bpt-raise-ffn.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_DIALECT_BPT_TRANSFORMS_RAISEUTILS_H
#define BPT_DIALECT_BPT_TRANSFORMS_RAISEUTILS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace mlir {
namespace bpt {

/// The value of a float scalar known at compile time: an arith.constant
/// (float or splat tensor), possibly through extf/truncf.
std::optional<double> getConstantFloat(Value v);

/// Like getConstantFloat, for a value used in the body of `op`: a block
/// argument stands for its operand, which may be a constant splat tensor
/// (rank 0 tensors of torch-mlir's `masked_fill`, for instance).
std::optional<double> getConstantFloatInBody(linalg::GenericOp op, Value v);

/// The input operand of `op` whose block argument is `v`, or null.
OpOperand *getInputOperandOfArg(linalg::GenericOp op, Value v);

/// Like getInputOperandOfArg, only for an input read through the identity
/// map (the tensor an elementwise op transforms).
OpOperand *getIdentityInputOperandOfArg(linalg::GenericOp op, Value v);

/// True when `op` has exactly the operands `a` and `b`, in either order.
bool isCommutativeOf(Operation *op, Value a, Value b);

/// True for a linalg.generic with only parallel loops, one result, and the
/// identity map on its destination: an elementwise op, possibly reading
/// some inputs broadcast.
bool isElementwiseGeneric(linalg::GenericOp op);

/// The value yielded by the single-result `op`, looking through nothing.
Value getYieldedValue(linalg::GenericOp op);

/// If `op` is elementwise and multiplies its input by a compile-time
/// constant (`x * c`, `c * x`, `x / c`), returns the constant factor and sets
/// `input` to the scaled operand.
std::optional<double> matchScalarScale(linalg::GenericOp op, Value &input);

/// If `op` is elementwise and only converts its single input to another
/// float type (extf/truncf), returns that input.
Value matchFloatCast(linalg::GenericOp op);

/// True when the reassociation of `op` (a tensor.expand_shape or
/// tensor.collapse_shape) regroups only leading dimensions and keeps the
/// trailing `trailing` dimensions as groups of their own.
bool isLeadingReshape(Operation *op, unsigned trailing);

/// Follows `v` up through tensor reshapes that regroup only its leading
/// dimensions (see isLeadingReshape), the way torch-mlir merges batch and
/// heads around linalg.batch_matmul. The reshapes passed are appended to
/// `seen` when given.
Value stripLeadingReshapes(Value v, unsigned trailing,
                           SmallVectorImpl<Operation *> *seen = nullptr);

/// If `v` is a transpose of its last two dimensions (linalg.transpose or a
/// generic copy with that permutation), returns the transposed value.
Value matchTrailingTranspose(Value v);

/// If `op` is a linalg.fill (or a constant) of zero, true: a destination a
/// contraction can accumulate into without changing its result.
bool isZeroInit(Value init);

/// Reshapes `v` (static shape) so that its leading dimensions become
/// `leading`, keeping the trailing `trailing` dimensions: a collapse into
/// one leading dimension followed by an expansion. Returns null when the
/// element counts differ. Creates nothing when the shape already matches.
Value reshapeLeadingDims(OpBuilder &b, Location loc, Value v,
                         ArrayRef<int64_t> leading, unsigned trailing);

/// Evaluates the scalar body of the single-result `op` (arith and math on
/// floats) in double precision at the given values of its inputs. Returns
/// nothing when the body reads its destination or uses another op. This is
/// how activations are recognised by what they compute, whatever the
/// spelling of the formula.
std::optional<double> evaluateBody(linalg::GenericOp op,
                                   ArrayRef<double> inputs);

/// Erases those of `ops` that are unused and free of side effects, and then
/// the producers that this leaves unused, transitively: what a raised
/// subgraph leaves behind, and nothing else.
void eraseDeadOps(RewriterBase &rewriter, ArrayRef<Operation *> ops);

/// A contraction `out[batch, m, n] = sum_k A B` (named or generic) whose
/// inputs are laid out [batch, m|k, k|m] and [batch, n|k, k|n] and whose
/// destination is zero: what a frontend's matmul or batched matmul is.
struct Contraction {
  linalg::LinalgOp op;
  bool lhsTransposed; ///< the left operand is [batch, k, m]
  bool rhsKN;         ///< the right operand is [batch, k, n] (plain matmul)
  SmallVector<int64_t> batchShape;
};

/// Matches `op` as a Contraction with static shapes, or says why not in
/// `why` (a phrase that completes "it ...").
FailureOr<Contraction> matchContraction(Operation *op, std::string &why);

} // namespace bpt
} // namespace mlir

#endif // BPT_DIALECT_BPT_TRANSFORMS_RAISEUTILS_H
