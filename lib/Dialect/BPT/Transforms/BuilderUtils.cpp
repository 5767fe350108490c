//===- BuilderUtils.cpp - Shared IR builders of the bpt lowerings ---------===//

#include "bpt/Dialect/BPT/Transforms/BuilderUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::bpt;

Value IndexMath::c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
Value IndexMath::add(Value x, Value y) {
  return arith::AddIOp::create(b, loc, x, y);
}
Value IndexMath::sub(Value x, Value y) {
  return arith::SubIOp::create(b, loc, x, y);
}
Value IndexMath::mul(Value x, Value y) {
  return arith::MulIOp::create(b, loc, x, y);
}
Value IndexMath::rem(Value x, Value y) {
  return arith::RemUIOp::create(b, loc, x, y);
}
Value IndexMath::min(Value x, Value y) {
  return arith::MinSIOp::create(b, loc, x, y);
}
Value IndexMath::max(Value x, Value y) {
  return arith::MaxSIOp::create(b, loc, x, y);
}
Value IndexMath::ceilDiv(Value x, Value y) {
  return arith::CeilDivSIOp::create(b, loc, x, y);
}
Value IndexMath::floorDiv(Value x, Value y) {
  return arith::FloorDivSIOp::create(b, loc, x, y);
}
Value IndexMath::cmp(arith::CmpIPredicate p, Value x, Value y) {
  return arith::CmpIOp::create(b, loc, p, x, y);
}

using utils::IteratorType;

Value mlir::bpt::convertFloat(OpBuilder &b, Location loc, Value v, Type type) {
  unsigned from = v.getType().getIntOrFloatBitWidth();
  unsigned to = type.getIntOrFloatBitWidth();
  if (v.getType() == type)
    return v;
  // bf16 and f16 have the same width but neither holds the other: go
  // through f32.
  if (from == to) {
    Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
    return arith::TruncFOp::create(b, loc, type, wide);
  }
  if (from < to)
    return arith::ExtFOp::create(b, loc, type, v);
  return arith::TruncFOp::create(b, loc, type, v);
}

Value mlir::bpt::createFilledTensor(OpBuilder &b, Location loc,
                                    ArrayRef<OpFoldResult> sizes,
                                    Type elementType, double value) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  Value cst = arith::ConstantOp::create(b, loc,
                                        b.getFloatAttr(elementType, value));
  return linalg::FillOp::create(b, loc, cst, empty).getResult(0);
}

Value mlir::bpt::buildGeneric(
    OpBuilder &b, Location loc, ValueRange ins, Value out,
    ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iterators,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  auto op = linalg::GenericOp::create(
      b, loc, out.getType(), ins, out, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, body(nb, nloc, args));
      });
  return op.getResult(0);
}

AffineMap mlir::bpt::broadcastMap(MLIRContext *ctx, unsigned numLoops,
                                  RankedTensorType type,
                                  ArrayRef<unsigned> dims,
                                  ArrayRef<int64_t> loopExtents) {
  SmallVector<AffineExpr> exprs;
  for (auto [i, d] : llvm::enumerate(dims)) {
    bool broadcast = type.getDimSize(i) == 1 && loopExtents[d] != 1;
    exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                              : getAffineDimExpr(d, ctx));
  }
  return AffineMap::get(numLoops, 0, exprs, ctx);
}

Value mlir::bpt::convertTensor(OpBuilder &b, Location loc, Value source,
                               Value dest) {
  unsigned rank = cast<RankedTensorType>(source.getType()).getRank();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  Type elem = cast<RankedTensorType>(dest.getType()).getElementType();
  return buildGeneric(
      b, loc, source, dest, {id, id},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return convertFloat(nb, nl, a[0], elem);
      });
}

static Value f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

Value mlir::bpt::buildActivation(OpBuilder &b, Location loc, Activation act,
                                 Value x) {
  Value half = f32Const(b, loc, 0.5), one = f32Const(b, loc, 1.0);
  switch (act) {
  case Activation::relu:
    return arith::MaximumFOp::create(b, loc, x, f32Const(b, loc, 0.0));
  case Activation::gelu:
  case Activation::geglu: {
    // 0.5 x (1 + erf(x / sqrt(2)))
    Value t = arith::MulFOp::create(b, loc, x, f32Const(b, loc, M_SQRT1_2));
    Value e = math::ErfOp::create(b, loc, t);
    Value s = arith::AddFOp::create(b, loc, one, e);
    return arith::MulFOp::create(b, loc,
                                 arith::MulFOp::create(b, loc, half, x), s);
  }
  case Activation::gelu_tanh: {
    // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
    Value x3 = arith::MulFOp::create(b, loc, x,
                                     arith::MulFOp::create(b, loc, x, x));
    Value inner = arith::AddFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, f32Const(b, loc, 0.044715), x3));
    Value t = math::TanhOp::create(
        b, loc,
        arith::MulFOp::create(b, loc, f32Const(b, loc, std::sqrt(2.0 / M_PI)),
                              inner));
    Value s = arith::AddFOp::create(b, loc, one, t);
    return arith::MulFOp::create(b, loc,
                                 arith::MulFOp::create(b, loc, half, x), s);
  }
  case Activation::silu:
  case Activation::swiglu: {
    // x * sigmoid(x) = x / (1 + exp(-x))
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
    return arith::DivFOp::create(b, loc, x,
                                 arith::AddFOp::create(b, loc, one, e));
  }
  }
  llvm_unreachable("unknown activation");
}

std::pair<Value, Value> mlir::bpt::buildAttentionPositions(OpBuilder &b,
                                                           AttentionOp op) {
  if (op.getQueryPos())
    return {op.getQueryPos(), op.getKeyPos()};
  Location loc = op.getLoc();
  Value sq = tensor::DimOp::create(b, loc, op.getQuery(), 2);
  Value sk = tensor::DimOp::create(b, loc, op.getKey(), 2);
  return {arith::SubIOp::create(b, loc, sk, sq),
          arith::ConstantIndexOp::create(b, loc, 0)};
}

Value mlir::bpt::buildCausalVisible(OpBuilder &b, Location loc, AttentionOp op,
                                    Value queryPos, Value keyPos) {
  Value visible = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle,
                                        keyPos, queryPos);
  if (std::optional<int64_t> w = op.getWindow()) {
    // keyPos > queryPos - W  <=>  queryPos - keyPos < W
    Value dist = arith::SubIOp::create(b, loc, queryPos, keyPos);
    Value inWindow = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::slt, dist,
        arith::ConstantIndexOp::create(b, loc, *w));
    visible = arith::AndIOp::create(b, loc, visible, inWindow);
  }
  return visible;
}

Value mlir::bpt::buildMaskedScore(OpBuilder &b, Location loc, AttentionOp op,
                                  Value s, Value maskElem, Value visible) {
  Value scaled = arith::MulFOp::create(
      b, loc, s, f32Const(b, loc, op.getScaleOrDefault()));
  Value negInf =
      f32Const(b, loc, -std::numeric_limits<double>::infinity());
  if (maskElem) {
    if (maskElem.getType().isInteger(1))
      scaled = arith::SelectOp::create(b, loc, maskElem, scaled, negInf);
    else
      scaled = arith::AddFOp::create(
          b, loc, scaled, convertFloat(b, loc, maskElem, b.getF32Type()));
  }
  if (visible)
    scaled = arith::SelectOp::create(b, loc, visible, scaled, negInf);
  return scaled;
}
