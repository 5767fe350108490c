//===- CausalMask.h - Recognise causal masks built from indices -*- C++ -*-===//
//
// Frontends build the causal mask as a tensor: torch's `triu(ones, 1)` and
// SDPA's `is_causal` become an iota, a difference of row and column indices,
// a comparison and a select of 0 / -inf. Raising such a mask as a tensor
// operand would keep an S x S tensor alive and hide the structure the
// blockwise loops exploit (skipping key blocks). This evaluates the mask
// symbolically as a function of the score's row i and column j and says
// whether it keeps exactly the keys j <= i + offset.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_LIB_DIALECT_BPT_TRANSFORMS_CAUSALMASK_H
#define BPT_LIB_DIALECT_BPT_TRANSFORMS_CAUSALMASK_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Value.h"

#include <optional>

namespace mlir {
namespace bpt {

/// How the elements of a mask act on the scores.
enum class MaskKind {
  KeepIfTrue,   ///< i1: true keeps the score (SDPA's boolean attn_mask).
  RemoveIfTrue, ///< i1: true replaces the score by -inf (masked_fill).
  Additive      ///< float: 0 keeps, -inf removes.
};

/// If `mask`, read at `map` by an op whose last two loops are the score's
/// query row and key column (loop extents `loopExtents`), is a function of
/// the row and column only that keeps exactly the keys `j <= i + offset`,
/// returns `offset`.
std::optional<int64_t> matchCausalMask(Value mask, AffineMap map,
                                       ArrayRef<int64_t> loopExtents,
                                       MaskKind kind);

/// The same for a mask computed inside `op`'s body (PyTorch-free frontends
/// and hand-written IR compare linalg.index values in the op that applies
/// the mask): `value` is the body's condition (KeepIfTrue, RemoveIfTrue) or
/// the float added to the score (Additive), and the last two loops of `op`
/// are the score's row and column.
std::optional<int64_t> matchCausalMaskInBody(linalg::GenericOp op,
                                             Value value, MaskKind kind);

} // namespace bpt
} // namespace mlir

#endif // BPT_LIB_DIALECT_BPT_TRANSFORMS_CAUSALMASK_H
