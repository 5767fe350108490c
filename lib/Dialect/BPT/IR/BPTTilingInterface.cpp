//===- BPTTilingInterface.cpp - TilingInterface of the bpt ops ------------===//
//
// bpt.attention iterates over [B, Hq, Sq, Sk]: batch, heads and query rows are
// parallel, the key dimension is a reduction. Only the parallel dimensions can
// be tiled by plain tiling: a tile of keys needs the online-softmax merge,
// which is what --bpt-blockwise builds.
//
// bpt.ffn iterates over [rows..., d_ff]: the rows are parallel and the hidden
// dimension is a reduction into the accumulating destination, so both can be
// tiled (the hidden dimension in chunks).
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::bpt;

/// A unit-stride slice of `source`.
static Value extractSlice(OpBuilder &b, Location loc, Value source,
                          ArrayRef<OpFoldResult> offsets,
                          ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, source, offsets, sizes,
                                        strides);
}

/// True when [offset, offset + size) covers dimension `dim` of `source`
/// entirely. A dynamic extent is recognised through the `tensor.dim` that
/// getIterationDomain created for it.
static bool coversDim(OpFoldResult offset, OpFoldResult size, Value source,
                      int64_t dim) {
  if (getConstantIntValue(offset) != 0)
    return false;
  auto ty = cast<RankedTensorType>(source.getType());
  if (!ty.isDynamicDim(dim))
    return getConstantIntValue(size) == ty.getDimSize(dim);
  auto dimOp = dyn_cast_or_null<tensor::DimOp>(
      dyn_cast_if_present<Value>(size) ? cast<Value>(size).getDefiningOp()
                                       : nullptr);
  return dimOp && dimOp.getSource() == source &&
         getConstantIntValue(dimOp.getDimension()) == dim;
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

SmallVector<utils::IteratorType> AttentionOp::getLoopIteratorTypes() {
  return {utils::IteratorType::parallel, utils::IteratorType::parallel,
          utils::IteratorType::parallel, utils::IteratorType::reduction};
}

SmallVector<Range> AttentionOp::getIterationDomain(OpBuilder &b) {
  Location loc = getLoc();
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> ext = {
      tensor::getMixedSize(b, loc, getQuery(), 0),
      tensor::getMixedSize(b, loc, getQuery(), 1),
      tensor::getMixedSize(b, loc, getQuery(), 2),
      tensor::getMixedSize(b, loc, getKey(), 2)};
  return llvm::map_to_vector(
      ext, [&](OpFoldResult e) { return Range{zero, e, one}; });
}

/// The slice of the key/value heads read by the query heads
/// [offset, offset + size). Tiles start at multiples of their size, so a tile
/// either holds whole groups (size a multiple of G) or lies inside one group
/// (size dividing G). Other head tiles would split a group and are refused.
static FailureOr<std::pair<OpFoldResult, OpFoldResult>>
keyHeadSlice(OpBuilder &b, Location loc, int64_t group, OpFoldResult offset,
             OpFoldResult size) {
  if (group == 1)
    return std::make_pair(offset, size);
  std::optional<int64_t> s = getConstantIntValue(size);
  if (!s)
    return failure();
  AffineExpr d0 = b.getAffineDimExpr(0);
  OpFoldResult kvOffset = affine::makeComposedFoldedAffineApply(
      b, loc, d0.floorDiv(group), {offset});
  if (*s % group == 0)
    return std::make_pair(kvOffset, OpFoldResult(b.getIndexAttr(*s / group)));
  if (group % *s == 0)
    return std::make_pair(kvOffset, OpFoldResult(b.getIndexAttr(1)));
  return failure();
}

FailureOr<TilingResult>
AttentionOp::getTiledImplementation(OpBuilder &b,
                                    ArrayRef<OpFoldResult> offsets,
                                    ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  if (!coversDim(offsets[3], sizes[3], getKey(), 2))
    return emitOpError() << "cannot tile the key dimension by plain tiling: "
                            "a key tile needs the online-softmax merge that "
                            "--bpt-blockwise builds";
  FailureOr<std::pair<OpFoldResult, OpFoldResult>> kvHeads =
      keyHeadSlice(b, loc, getGroupSize(), offsets[1], sizes[1]);
  if (failed(kvHeads))
    return emitOpError() << "a tile of query heads must hold whole groups of "
                         << getGroupSize()
                         << " heads or lie inside one group";

  OpFoldResult zero = b.getIndexAttr(0);
  SmallVector<Operation *> slices;
  auto slice = [&](Value source, ArrayRef<OpFoldResult> offs,
                   ArrayRef<OpFoldResult> szs) {
    Value v = extractSlice(b, loc, source, offs, szs);
    slices.push_back(v.getDefiningOp());
    return v;
  };

  OpFoldResult d = tensor::getMixedSize(b, loc, getQuery(), 3);
  OpFoldResult dv = tensor::getMixedSize(b, loc, getValue(), 3);
  OpFoldResult sk = tensor::getMixedSize(b, loc, getKey(), 2);
  Value q = slice(getQuery(), {offsets[0], offsets[1], offsets[2], zero},
                  {sizes[0], sizes[1], sizes[2], d});
  Value k = slice(getKey(), {offsets[0], kvHeads->first, zero, zero},
                  {sizes[0], kvHeads->second, sk, d});
  Value v = slice(getValue(), {offsets[0], kvHeads->first, zero, zero},
                  {sizes[0], kvHeads->second, sk, dv});

  Value mask;
  if (Value m = getMask()) {
    auto mTy = cast<RankedTensorType>(m.getType());
    SmallVector<OpFoldResult> mOffsets, mSizes;
    for (int64_t i = 0; i < 4; ++i) {
      bool broadcast = mTy.getDimSize(i) == 1;
      mOffsets.push_back(broadcast || i == 3 ? zero : offsets[i]);
      mSizes.push_back(broadcast ? OpFoldResult(b.getIndexAttr(1))
                       : i == 3  ? tensor::getMixedSize(b, loc, m, 3)
                                 : sizes[i]);
    }
    mask = slice(m, mOffsets, mSizes);
  }

  SmallVector<Value> outs;
  SmallVector<Type> resultTypes;
  for (unsigned i = 0, e = getOutputs().size(); i < e; ++i) {
    SmallVector<OpFoldResult> rOffsets, rSizes;
    if (failed(getResultTilePosition(b, i, offsets, sizes, rOffsets, rSizes)))
      return failure();
    outs.push_back(slice(getOutputs()[i], rOffsets, rSizes));
    resultTypes.push_back(outs.back().getType());
  }

  // Causality and windows compare absolute positions; a query tile keeps them
  // by shifting the position of its first row by the tile offset.
  Value queryPos, keyPos;
  if (getCausal()) {
    OpFoldResult qp0 = getQueryPos() ? OpFoldResult(getQueryPos()) : nullptr;
    OpFoldResult kp0 = getKeyPos() ? OpFoldResult(getKeyPos())
                                   : OpFoldResult(b.getIndexAttr(0));
    AffineExpr d0, d1, d2;
    bindDims(b.getContext(), d0, d1, d2);
    if (!qp0) {
      // Default bottom-right alignment: the first query sits at Sk - Sq.
      qp0 = affine::makeComposedFoldedAffineApply(
          b, loc, d0 - d1,
          {sk, tensor::getMixedSize(b, loc, getQuery(), 2)});
    }
    queryPos = getValueOrCreateConstantIndexOp(
        b, loc,
        affine::makeComposedFoldedAffineApply(b, loc, d0 + d1,
                                              {qp0, offsets[2]}));
    keyPos = getValueOrCreateConstantIndexOp(b, loc, kp0);
  }

  auto tiled = AttentionOp::create(b, loc, resultTypes, q, k, v, mask,
                                   queryPos, keyPos, outs, getScaleAttr(),
                                   getCausalAttr(), getWindowAttr());
  // The tiled op keeps the scale of the whole op, not 1/sqrt of a tile.
  if (!getScale())
    tiled.setScaleAttr(b.getF32FloatAttr(getScaleOrDefault()));
  return TilingResult{{tiled}, SmallVector<Value>(tiled->getResults()),
                      slices};
}

LogicalResult AttentionOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  resultOffsets.assign(offsets.begin(), offsets.begin() + 3);
  resultSizes.assign(sizes.begin(), sizes.begin() + 3);
  if (resultNumber == 0) {
    resultOffsets.push_back(b.getIndexAttr(0));
    resultSizes.push_back(tensor::getMixedSize(b, getLoc(), getValue(), 3));
  }
  return success();
}

FailureOr<TilingResult>
AttentionOp::generateResultTileValue(OpBuilder &b, unsigned resultNumber,
                                     ArrayRef<OpFoldResult> offsets,
                                     ArrayRef<OpFoldResult> sizes) {
  // The output tile must span whole rows of the value head dim; the
  // iteration tile then spans all keys.
  if (resultNumber == 0 &&
      !coversDim(offsets[3], sizes[3], getOutputs()[0], 3) &&
      !coversDim(offsets[3], sizes[3], getValue(), 3))
    return failure();
  SmallVector<OpFoldResult> iterOffsets(offsets.begin(), offsets.begin() + 3);
  SmallVector<OpFoldResult> iterSizes(sizes.begin(), sizes.begin() + 3);
  iterOffsets.push_back(b.getIndexAttr(0));
  iterSizes.push_back(tensor::getMixedSize(b, getLoc(), getKey(), 2));
  return getTiledImplementation(b, iterOffsets, iterSizes);
}

//===----------------------------------------------------------------------===//
// FFNOp
//===----------------------------------------------------------------------===//

SmallVector<utils::IteratorType> FFNOp::getLoopIteratorTypes() {
  SmallVector<utils::IteratorType> types(getNumRowDims(),
                                         utils::IteratorType::parallel);
  types.push_back(utils::IteratorType::reduction);
  return types;
}

SmallVector<Range> FFNOp::getIterationDomain(OpBuilder &b) {
  Location loc = getLoc();
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<Range> domain;
  for (unsigned i = 0, e = getNumRowDims(); i < e; ++i)
    domain.push_back({zero, tensor::getMixedSize(b, loc, getInput(), i), one});
  domain.push_back({zero, tensor::getMixedSize(b, loc, getUp(), 1), one});
  return domain;
}

FailureOr<TilingResult>
FFNOp::getTiledImplementation(OpBuilder &b, ArrayRef<OpFoldResult> offsets,
                              ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  unsigned rows = getNumRowDims();
  OpFoldResult zero = b.getIndexAttr(0);
  OpFoldResult hOff = offsets[rows], hSize = sizes[rows];
  SmallVector<Operation *> slices;
  auto slice = [&](Value source, ArrayRef<OpFoldResult> offs,
                   ArrayRef<OpFoldResult> szs) {
    Value v = extractSlice(b, loc, source, offs, szs);
    slices.push_back(v.getDefiningOp());
    return v;
  };

  SmallVector<OpFoldResult> xOffsets(offsets.take_front(rows));
  SmallVector<OpFoldResult> xSizes(sizes.take_front(rows));
  xOffsets.push_back(zero);
  xSizes.push_back(tensor::getMixedSize(b, loc, getInput(), rows));
  Value x = slice(getInput(), xOffsets, xSizes);

  OpFoldResult dModel = tensor::getMixedSize(b, loc, getUp(), 0);
  OpFoldResult dOut = tensor::getMixedSize(b, loc, getDown(), 1);
  Value up = slice(getUp(), {zero, hOff}, {dModel, hSize});
  Value gate = getGate() ? slice(getGate(), {zero, hOff}, {dModel, hSize})
                         : Value();
  Value upBias = getUpBias() ? slice(getUpBias(), {hOff}, {hSize}) : Value();
  Value down = slice(getDown(), {hOff, zero}, {hSize, dOut});

  SmallVector<OpFoldResult> rOffsets, rSizes;
  if (failed(getResultTilePosition(b, 0, offsets, sizes, rOffsets, rSizes)))
    return failure();
  Value init = slice(getInit(), rOffsets, rSizes);

  // The down-projection bias belongs to the whole reduction over d_ff: a
  // chunk of the hidden dimension adds it only when it is the first chunk.
  Value downBias = getDownBias();
  if (downBias && !coversDim(hOff, hSize, getUp(), 1)) {
    auto biasTy = cast<RankedTensorType>(downBias.getType());
    Value isFirst = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq,
        getValueOrCreateConstantIndexOp(b, loc, hOff),
        arith::ConstantIndexOp::create(b, loc, 0));
    Value zero = arith::ConstantOp::create(
        b, loc, b.getFloatAttr(biasTy.getElementType(), 0.0));
    Value zeros = tensor::SplatOp::create(
        b, loc, zero, tensor::getMixedSizes(b, loc, downBias));
    downBias = arith::SelectOp::create(b, loc, isFirst, downBias, zeros);
  }

  auto tiled = FFNOp::create(b, loc, init.getType(), getActivationAttr(), x,
                             up, gate, upBias, down, downBias, init);
  return TilingResult{{tiled}, {tiled.getResult()}, slices};
}

LogicalResult FFNOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  unsigned rows = getNumRowDims();
  resultOffsets.assign(offsets.begin(), offsets.begin() + rows);
  resultSizes.assign(sizes.begin(), sizes.begin() + rows);
  resultOffsets.push_back(b.getIndexAttr(0));
  resultSizes.push_back(tensor::getMixedSize(b, getLoc(), getInit(), rows));
  return success();
}

FailureOr<TilingResult>
FFNOp::generateResultTileValue(OpBuilder &b, unsigned resultNumber,
                               ArrayRef<OpFoldResult> offsets,
                               ArrayRef<OpFoldResult> sizes) {
  unsigned rows = getNumRowDims();
  if (!coversDim(offsets[rows], sizes[rows], getInit(), rows))
    return failure();
  SmallVector<OpFoldResult> iterOffsets(offsets.take_front(rows));
  SmallVector<OpFoldResult> iterSizes(sizes.take_front(rows));
  iterOffsets.push_back(b.getIndexAttr(0));
  iterSizes.push_back(tensor::getMixedSize(b, getLoc(), getUp(), 1));
  return getTiledImplementation(b, iterOffsets, iterSizes);
}
