//===- AttentionBuilders.h - Steps of attention lowerings -------*- C++ -*-===//
//
// The steps every lowering of bpt.attention is made of, each one
// linalg.generic on tensors: scores of a query tile against a key tile, the
// scale/mask/causal conditions, row max, shifted exponentials, row sums,
// the value product and the final normalisation. The textbook lowering
// (--bpt-decompose) and the online-softmax lowering (--bpt-blockwise) are
// different arrangements of the same steps, so they agree per element.
//
// Shapes follow the op: queries [B, Hq, Sq, D]; a key/value tile
// [B, Hkv, Skt, D|Dv]; scores [B, Hq, Sq, Skt]; row statistics [B, Hq, Sq];
// accumulators [B, Hq, Sq, Dv]. Query head h reads key/value head h / G.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_DIALECT_BPT_TRANSFORMS_ATTENTIONBUILDERS_H
#define BPT_DIALECT_BPT_TRANSFORMS_ATTENTIONBUILDERS_H

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "mlir/IR/Builders.h"

namespace mlir {
namespace bpt {

/// `m`, or 0 where `m` is -inf: the shift of a row that sees no key, so that
/// exp(s - shift) is 0 rather than NaN.
Value buildSafeShift(OpBuilder &b, Location loc, Value m);

/// Builds the steps of one bpt.attention op.
class AttentionBuilder {
public:
  AttentionBuilder(OpBuilder &b, AttentionOp op);

  /// scores[b, h, i, j] = sum_e q[b, h, i, e] * keys[b, h / G, j, e] in f32
  /// (keys[b, h / G, e, j] when `transposed`).
  Value scores(Value keys, bool transposed = false);
  /// Scale, the mask tile (or null), and, when `queryPos0` is set, causality
  /// and the window with query i at queryPos0 + i and key j at keyPos0 + j.
  Value maskedScores(Value scores, Value maskTile, Value queryPos0,
                     Value keyPos0);
  /// max(init, max_j s[.., j]) per row.
  Value rowMax(Value s, Value init);
  /// exp(s - shift(rowMax)) elementwise.
  Value shiftedExp(Value s, Value rowMax);
  /// init + sum_j p[.., j] per row.
  Value rowSum(Value p, Value init);
  /// acc + p values, with values a key/value tile [B, Hkv, Skt, Dv].
  Value valueProduct(Value p, Value values, Value acc);
  /// acc / sum per row (0 where sum is 0), converted into `outInit`.
  Value normalizedOutput(Value acc, Value sum, Value outInit);
  /// shift(rowMax) + log(sum) per row into `lseInit` (-inf where sum is 0).
  Value logSumExp(Value rowMax, Value sum, Value lseInit);
  /// A per-row tensor [B, Hq, Sq] filled with `value`.
  Value rowTensor(double value);
  /// An f32 tensor [B, Hq, Sq, Dv] filled with 0.
  Value zeroAccumulator();
  /// x[b, h, i, (e)] * factor[b, h, i], written into x's own tensor.
  Value scaleRows(Value x, Value factor);

  OpFoldResult batch, heads, querySize, keySize, valueDim;

private:
  AffineMap map(unsigned numLoops, ArrayRef<unsigned> dims);
  AffineMap kvMap(unsigned numLoops, unsigned j, unsigned e);

  OpBuilder &b;
  AttentionOp op;
  Location loc;
  int64_t group;
};

} // namespace bpt
} // namespace mlir

#endif // BPT_DIALECT_BPT_TRANSFORMS_ATTENTIONBUILDERS_H
