//===- AttentionBuilders.cpp - Steps of attention lowerings ---------------===//

#include "bpt/Dialect/BPT/Transforms/AttentionBuilders.h"
#include "bpt/Dialect/BPT/Transforms/BuilderUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::bpt;

using utils::IteratorType;
static constexpr IteratorType kPar = IteratorType::parallel;
static constexpr IteratorType kRed = IteratorType::reduction;
static constexpr double kNegInf = -std::numeric_limits<double>::infinity();

static Value f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

Value mlir::bpt::buildSafeShift(OpBuilder &b, Location loc, Value m) {
  Value isEmpty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m,
                                        f32Const(b, loc, kNegInf));
  return arith::SelectOp::create(b, loc, isEmpty, f32Const(b, loc, 0.0), m);
}

/// An empty tensor with the shape of `like` and element type `elem`.
static Value emptyLike(OpBuilder &b, Location loc, Value like, Type elem) {
  return tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, like),
                                 elem);
}

AttentionBuilder::AttentionBuilder(OpBuilder &b, AttentionOp op)
    : b(b), op(op), loc(op.getLoc()), group(op.getGroupSize()) {
  batch = tensor::getMixedSize(b, loc, op.getQuery(), 0);
  heads = tensor::getMixedSize(b, loc, op.getQuery(), 1);
  querySize = tensor::getMixedSize(b, loc, op.getQuery(), 2);
  keySize = tensor::getMixedSize(b, loc, op.getKey(), 2);
  valueDim = tensor::getMixedSize(b, loc, op.getValue(), 3);
}

AffineMap AttentionBuilder::map(unsigned numLoops, ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : dims)
    exprs.push_back(b.getAffineDimExpr(d));
  return AffineMap::get(numLoops, 0, exprs, b.getContext());
}

AffineMap AttentionBuilder::kvMap(unsigned numLoops, unsigned j, unsigned e) {
  // Loops (b, h, ...): key/value head h floordiv G.
  return AffineMap::get(numLoops, 0,
                        {b.getAffineDimExpr(0),
                         b.getAffineDimExpr(1).floorDiv(group),
                         b.getAffineDimExpr(j), b.getAffineDimExpr(e)},
                        b.getContext());
}

Value AttentionBuilder::rowTensor(double value) {
  return createFilledTensor(b, loc, {batch, heads, querySize},
                            b.getF32Type(), value);
}

Value AttentionBuilder::zeroAccumulator() {
  return createFilledTensor(b, loc, {batch, heads, querySize, valueDim},
                            b.getF32Type(), 0.0);
}

Value AttentionBuilder::scores(Value keys, bool transposed) {
  Type f32 = b.getF32Type();
  // Loops (b, h, i, j, e); keys [.., j, e], or [.., e, j] when transposed.
  Value init = createFilledTensor(
      b, loc,
      {batch, heads, querySize,
       tensor::getMixedSize(b, loc, keys, transposed ? 3 : 2)},
      f32, 0.0);
  AffineMap keysMap = transposed ? kvMap(5, 4, 3) : kvMap(5, 3, 4);
  return buildGeneric(
      b, loc, ValueRange{op.getQuery(), keys}, init,
      {map(5, {0, 1, 2, 4}), keysMap, map(5, {0, 1, 2, 3})},
      {kPar, kPar, kPar, kPar, kRed},
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value q = convertFloat(nb, nl, a[0], f32);
        Value k = convertFloat(nb, nl, a[1], f32);
        return arith::AddFOp::create(nb, nl, a[2],
                                     arith::MulFOp::create(nb, nl, q, k));
      });
}

Value AttentionBuilder::maskedScores(Value s, Value maskTile, Value queryPos0,
                                     Value keyPos0) {
  auto sTy = cast<RankedTensorType>(s.getType());
  SmallVector<Value> ins = {s};
  SmallVector<AffineMap> maps = {map(4, {0, 1, 2, 3})};
  if (maskTile) {
    ins.push_back(maskTile);
    maps.push_back(broadcastMap(b.getContext(), 4,
                                cast<RankedTensorType>(maskTile.getType()),
                                {0, 1, 2, 3}, sTy.getShape()));
  }
  maps.push_back(map(4, {0, 1, 2, 3}));
  bool hasMask = static_cast<bool>(maskTile);
  return buildGeneric(
      b, loc, ins, emptyLike(b, loc, s, b.getF32Type()), maps,
      {kPar, kPar, kPar, kPar},
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value visible;
        if (queryPos0) {
          Value qp = arith::AddIOp::create(
              nb, nl, queryPos0, linalg::IndexOp::create(nb, nl, 2));
          Value kp = arith::AddIOp::create(
              nb, nl, keyPos0, linalg::IndexOp::create(nb, nl, 3));
          visible = buildCausalVisible(nb, nl, op, qp, kp);
        }
        return buildMaskedScore(nb, nl, op, a[0], hasMask ? a[1] : Value(),
                                visible);
      });
}

/// A reduction over the last (key) dimension of `s` into the per-row `init`.
static Value reduceRows(
    OpBuilder &b, Location loc, Value s, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  MLIRContext *ctx = b.getContext();
  AffineMap all = AffineMap::getMultiDimIdentityMap(4, ctx);
  AffineMap rows = AffineMap::get(
      4, 0, {b.getAffineDimExpr(0), b.getAffineDimExpr(1),
             b.getAffineDimExpr(2)},
      ctx);
  return buildGeneric(b, loc, s, init, {all, rows}, {kPar, kPar, kPar, kRed},
                      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                        return combine(nb, nl, a[0], a[1]);
                      });
}

Value AttentionBuilder::rowMax(Value s, Value init) {
  return reduceRows(b, loc, s, init,
                    [](OpBuilder &nb, Location nl, Value x, Value acc) {
                      return arith::MaximumFOp::create(nb, nl, x, acc)
                          .getResult();
                    });
}

Value AttentionBuilder::shiftedExp(Value s, Value rowMax) {
  return buildGeneric(
      b, loc, ValueRange{s, rowMax}, emptyLike(b, loc, s, b.getF32Type()),
      {map(4, {0, 1, 2, 3}), map(4, {0, 1, 2}), map(4, {0, 1, 2, 3})},
      {kPar, kPar, kPar, kPar},
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value shifted =
            arith::SubFOp::create(nb, nl, a[0], buildSafeShift(nb, nl, a[1]));
        return math::ExpOp::create(nb, nl, shifted);
      });
}

Value AttentionBuilder::rowSum(Value p, Value init) {
  return reduceRows(b, loc, p, init,
                    [](OpBuilder &nb, Location nl, Value x, Value acc) {
                      return arith::AddFOp::create(nb, nl, x, acc)
                          .getResult();
                    });
}

Value AttentionBuilder::valueProduct(Value p, Value values, Value acc) {
  Type f32 = b.getF32Type();
  // Loops (b, h, i, e, j); values [.., j, e].
  AffineMap valuesMap = kvMap(5, 4, 3);
  return buildGeneric(
      b, loc, ValueRange{p, values}, acc,
      {map(5, {0, 1, 2, 4}), valuesMap, map(5, {0, 1, 2, 3})},
      {kPar, kPar, kPar, kPar, kRed},
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value v = convertFloat(nb, nl, a[1], f32);
        return arith::AddFOp::create(nb, nl, a[2],
                                     arith::MulFOp::create(nb, nl, a[0], v));
      });
}

Value AttentionBuilder::normalizedOutput(Value acc, Value sum, Value outInit) {
  Type outElem = cast<RankedTensorType>(outInit.getType()).getElementType();
  return buildGeneric(
      b, loc, ValueRange{acc, sum}, outInit,
      {map(4, {0, 1, 2, 3}), map(4, {0, 1, 2}), map(4, {0, 1, 2, 3})},
      {kPar, kPar, kPar, kPar},
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value zero = f32Const(nb, nl, 0.0);
        Value isEmpty =
            arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, a[1], zero);
        Value o = arith::DivFOp::create(nb, nl, a[0], a[1]);
        return convertFloat(nb, nl,
                            arith::SelectOp::create(nb, nl, isEmpty, zero, o),
                            outElem);
      });
}

Value AttentionBuilder::logSumExp(Value rowMax, Value sum, Value lseInit) {
  AffineMap id = map(3, {0, 1, 2});
  return buildGeneric(
      b, loc, ValueRange{rowMax, sum}, lseInit, {id, id, id},
      {kPar, kPar, kPar},
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value shift = buildSafeShift(nb, nl, a[0]);
        Value logSum = math::LogOp::create(nb, nl, a[1]);
        return arith::AddFOp::create(nb, nl, shift, logSum);
      });
}

Value AttentionBuilder::scaleRows(Value x, Value factor) {
  // In place: x is the destination, so a loop-carried x keeps its buffer.
  unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<unsigned> all = llvm::to_vector(llvm::seq<unsigned>(0, rank));
  SmallVector<IteratorType> iters(rank, kPar);
  return buildGeneric(
      b, loc, ValueRange{factor}, x, {map(rank, {0, 1, 2}), map(rank, all)},
      iters, [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::MulFOp::create(nb, nl, a[1], a[0]);
      });
}
