//===- BuilderUtils.h - Shared IR builders of the bpt lowerings -*- C++ -*-===//
//
// Scalar and tensor building blocks that every lowering of the bpt ops uses
// the same way: element-type conversion, filled accumulators, the FFN
// activations and the masking of scores. Sharing them keeps the reference
// lowering and the blockwise lowering numerically identical per element.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_DIALECT_BPT_TRANSFORMS_BUILDERUTILS_H
#define BPT_DIALECT_BPT_TRANSFORMS_BUILDERUTILS_H

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Builders.h"

namespace mlir {
namespace bpt {

/// Index arithmetic (arith on index values) at the builder's insertion
/// point.
struct IndexMath {
  OpBuilder &b;
  Location loc;
  Value c(int64_t v);
  Value add(Value x, Value y);
  Value sub(Value x, Value y);
  Value mul(Value x, Value y);
  Value rem(Value x, Value y);
  Value min(Value x, Value y);
  Value max(Value x, Value y);
  Value clamp(Value x, Value lo, Value hi) { return min(max(x, lo), hi); }
  Value ceilDiv(Value x, Value y);
  Value floorDiv(Value x, Value y);
  Value cmp(arith::CmpIPredicate p, Value x, Value y);
  Value gt(Value x, Value y) { return cmp(arith::CmpIPredicate::sgt, x, y); }
  Value le(Value x, Value y) { return cmp(arith::CmpIPredicate::sle, x, y); }
};

/// Converts a float scalar to `type` with extf/truncf (or returns it).
Value convertFloat(OpBuilder &b, Location loc, Value v, Type type);

/// A tensor of `sizes` x `elementType` filled with `value`.
Value createFilledTensor(OpBuilder &b, Location loc,
                         ArrayRef<OpFoldResult> sizes, Type elementType,
                         double value);

/// One linalg.generic with a single result written into `out`.
Value buildGeneric(OpBuilder &b, Location loc, ValueRange ins, Value out,
                   ArrayRef<AffineMap> maps,
                   ArrayRef<utils::IteratorType> iterators,
                   function_ref<Value(OpBuilder &, Location, ValueRange)> body);

/// The map of an operand of `numLoops` loops whose dimension i is loop
/// `dims[i]`, or the constant 0 where the operand has static extent 1 but
/// the loop (of static extent `loopExtents`) does not: a broadcast.
AffineMap broadcastMap(MLIRContext *ctx, unsigned numLoops,
                       RankedTensorType type, ArrayRef<unsigned> dims,
                       ArrayRef<int64_t> loopExtents);

/// `source` converted elementwise (extf/truncf) into `dest`, a tensor of the
/// same shape.
Value convertTensor(OpBuilder &b, Location loc, Value source, Value dest);

/// The activation `act` applied to the f32 scalar `x` (for the gated forms,
/// the activation of the gate branch: silu for swiglu, gelu for geglu).
Value buildActivation(OpBuilder &b, Location loc, Activation act, Value x);

/// Positions used by causal and window masking: the first query and the
/// first key of `op` (explicit operands or the bottom-right default).
std::pair<Value, Value> buildAttentionPositions(OpBuilder &b, AttentionOp op);

/// True (i1) when the key at position `keyPos` is visible from the query at
/// position `queryPos` under the causal flag and window of `op`.
Value buildCausalVisible(OpBuilder &b, Location loc, AttentionOp op,
                         Value queryPos, Value keyPos);

/// Applies the scale, the mask element `maskElem` (or null) and the causal
/// visibility `visible` (or null) to the f32 score `s`.
Value buildMaskedScore(OpBuilder &b, Location loc, AttentionOp op, Value s,
                       Value maskElem, Value visible);

} // namespace bpt
} // namespace mlir

#endif // BPT_DIALECT_BPT_TRANSFORMS_BUILDERUTILS_H
