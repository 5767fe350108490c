//===- Decompose.cpp - Textbook lowering of the bpt ops (--bpt-decompose) -===//
//
// The reference semantics of the dialect, written the way a textbook writes
// attention and the FFN: materialised scores, a max-subtracted softmax and a
// full hidden layer, every step a linalg.generic on tensors. Every other
// lowering is tested against this one.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/BuilderUtils.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTDECOMPOSE
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;
using namespace mlir::bpt;

using utils::IteratorType;
static constexpr IteratorType kPar = IteratorType::parallel;
static constexpr IteratorType kRed = IteratorType::reduction;

/// One linalg.generic with a single result.
static Value buildGeneric(
    OpBuilder &b, Location loc, ValueRange ins, Value out,
    ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iters,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  auto op = linalg::GenericOp::create(
      b, loc, out.getType(), ins, out, maps, iters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, body(nb, nloc, args));
      });
  return op.getResult(0);
}

/// The map of a broadcastable operand: dimension i of the operand is loop
/// `dims[i]`, or the constant 0 where the operand has extent 1 but the loop
/// does not.
static AffineMap broadcastMap(MLIRContext *ctx, unsigned numLoops,
                              RankedTensorType ty, ArrayRef<unsigned> dims,
                              ArrayRef<int64_t> loopExtents) {
  SmallVector<AffineExpr> exprs;
  for (auto [i, d] : llvm::enumerate(dims)) {
    bool broadcast = ty.getDimSize(i) == 1 && loopExtents[d] != 1;
    exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                              : getAffineDimExpr(d, ctx));
  }
  return AffineMap::get(numLoops, 0, exprs, ctx);
}

namespace {

struct DecomposeAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Type f32 = rewriter.getF32Type();
    int64_t group = op.getGroupSize();

    // Loops (b, h, i, j, e) with e the reduction of the contractions.
    AffineExpr b, h, i, j, e;
    bindDims(ctx, b, h, i, j, e);
    AffineExpr hkv = h.floorDiv(group);
    auto map5 = [&](ArrayRef<AffineExpr> exprs) {
      return AffineMap::get(5, 0, exprs, ctx);
    };
    auto map4 = [&](ArrayRef<AffineExpr> exprs) {
      return AffineMap::get(4, 0, exprs, ctx);
    };

    OpFoldResult bSz = tensor::getMixedSize(rewriter, loc, op.getQuery(), 0);
    OpFoldResult hSz = tensor::getMixedSize(rewriter, loc, op.getQuery(), 1);
    OpFoldResult sqSz = tensor::getMixedSize(rewriter, loc, op.getQuery(), 2);
    OpFoldResult skSz = tensor::getMixedSize(rewriter, loc, op.getKey(), 2);
    OpFoldResult dvSz = tensor::getMixedSize(rewriter, loc, op.getValue(), 3);

    // scores[b, h, i, j] = sum_e q[b, h, i, e] * k[b, h / G, j, e]
    Value scoresInit =
        createFilledTensor(rewriter, loc, {bSz, hSz, sqSz, skSz}, f32, 0.0);
    Value scores = buildGeneric(
        rewriter, loc, ValueRange{op.getQuery(), op.getKey()}, scoresInit,
        {map5({b, h, i, e}), map5({b, hkv, j, e}), map5({b, h, i, j})},
        {kPar, kPar, kPar, kPar, kRed},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value q = convertFloat(nb, nl, a[0], f32);
          Value k = convertFloat(nb, nl, a[1], f32);
          return arith::AddFOp::create(nb, nl, a[2],
                                       arith::MulFOp::create(nb, nl, q, k));
        });

    // Scale, mask, causality and window, in one elementwise pass.
    auto [queryPos0, keyPos0] =
        op.getCausal() ? buildAttentionPositions(rewriter, op)
                       : std::pair<Value, Value>();
    SmallVector<Value> maskedIns = {scores};
    SmallVector<AffineMap> maskedMaps = {map4({b, h, i, j})};
    if (Value mask = op.getMask()) {
      auto qTy = op.getQueryType();
      SmallVector<int64_t> extents = {qTy.getDimSize(0), qTy.getDimSize(1),
                                      qTy.getDimSize(2),
                                      op.getKeyType().getDimSize(2)};
      maskedIns.push_back(mask);
      maskedMaps.push_back(broadcastMap(ctx, 4,
                                        cast<RankedTensorType>(mask.getType()),
                                        {0, 1, 2, 3}, extents));
    }
    maskedMaps.push_back(map4({b, h, i, j}));
    Value maskedInit =
        tensor::EmptyOp::create(rewriter, loc, {bSz, hSz, sqSz, skSz}, f32);
    Value masked = buildGeneric(
        rewriter, loc, maskedIns, maskedInit, maskedMaps,
        {kPar, kPar, kPar, kPar},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value visible;
          if (op.getCausal()) {
            Value qp = arith::AddIOp::create(
                nb, nl, queryPos0, linalg::IndexOp::create(nb, nl, 2));
            Value kp = arith::AddIOp::create(
                nb, nl, keyPos0, linalg::IndexOp::create(nb, nl, 3));
            visible = buildCausalVisible(nb, nl, op, qp, kp);
          }
          return buildMaskedScore(nb, nl, op, a[0],
                                  op.getMask() ? a[1] : Value(), visible);
        });

    // Row max; a row that sees no key has max -inf and is shifted by 0
    // instead, so that exp gives 0 rather than NaN.
    double negInf = -std::numeric_limits<double>::infinity();
    Value maxInit =
        createFilledTensor(rewriter, loc, {bSz, hSz, sqSz}, f32, negInf);
    Value rowMax = buildGeneric(
        rewriter, loc, masked, maxInit,
        {map4({b, h, i, j}), map4({b, h, i})}, {kPar, kPar, kPar, kRed},
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
        });
    auto safeMax = [&](OpBuilder &nb, Location nl, Value m) -> Value {
      Value ninf = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(negInf));
      Value isEmpty =
          arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, m, ninf);
      Value zero = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0.0));
      return arith::SelectOp::create(nb, nl, isEmpty, zero, m);
    };

    Value expInit =
        tensor::EmptyOp::create(rewriter, loc, {bSz, hSz, sqSz, skSz}, f32);
    Value exps = buildGeneric(
        rewriter, loc, ValueRange{masked, rowMax}, expInit,
        {map4({b, h, i, j}), map4({b, h, i}), map4({b, h, i, j})},
        {kPar, kPar, kPar, kPar},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value shifted =
              arith::SubFOp::create(nb, nl, a[0], safeMax(nb, nl, a[1]));
          return math::ExpOp::create(nb, nl, shifted);
        });

    Value sumInit = createFilledTensor(rewriter, loc, {bSz, hSz, sqSz}, f32, 0);
    Value rowSum = buildGeneric(
        rewriter, loc, exps, sumInit, {map4({b, h, i, j}), map4({b, h, i})},
        {kPar, kPar, kPar, kRed},
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return arith::AddFOp::create(nb, nl, a[0], a[1]);
        });

    // probs = exps / sum, and 0 for a row whose sum is 0.
    Value probsInit =
        tensor::EmptyOp::create(rewriter, loc, {bSz, hSz, sqSz, skSz}, f32);
    Value probs = buildGeneric(
        rewriter, loc, ValueRange{exps, rowSum}, probsInit,
        {map4({b, h, i, j}), map4({b, h, i}), map4({b, h, i, j})},
        {kPar, kPar, kPar, kPar},
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value zero =
              arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0.0));
          Value isEmpty = arith::CmpFOp::create(
              nb, nl, arith::CmpFPredicate::OEQ, a[1], zero);
          Value p = arith::DivFOp::create(nb, nl, a[0], a[1]);
          return arith::SelectOp::create(nb, nl, isEmpty, zero, p);
        });

    // out[b, h, i, e] = sum_j probs[b, h, i, j] * v[b, h / G, j, e], with
    // loops (b, h, i, e, j).
    AffineExpr lb, lh, li, le, lj;
    bindDims(ctx, lb, lh, li, le, lj);
    Value accInit =
        createFilledTensor(rewriter, loc, {bSz, hSz, sqSz, dvSz}, f32, 0.0);
    Value acc = buildGeneric(
        rewriter, loc, ValueRange{probs, op.getValue()}, accInit,
        {map5({lb, lh, li, lj}), map5({lb, lh.floorDiv(group), lj, le}),
         map5({lb, lh, li, le})},
        {kPar, kPar, kPar, kPar, kRed},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value v = convertFloat(nb, nl, a[1], f32);
          return arith::AddFOp::create(nb, nl, a[2],
                                       arith::MulFOp::create(nb, nl, a[0], v));
        });
    Value out = op.getOutputInit();
    Type outElem = cast<RankedTensorType>(out.getType()).getElementType();
    SmallVector<Value> results;
    results.push_back(buildGeneric(
        rewriter, loc, acc, out, {map4({b, h, i, j}), map4({b, h, i, j})},
        {kPar, kPar, kPar, kPar},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return convertFloat(nb, nl, a[0], outElem);
        }));

    if (Value lseInit = op.getLogSumExpInit()) {
      // lse = max + log(sum); -inf for a row that sees no key.
      AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
      results.push_back(buildGeneric(
          rewriter, loc, ValueRange{rowMax, rowSum}, lseInit,
          {id3, id3, id3}, {kPar, kPar, kPar},
          [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            Value m = safeMax(nb, nl, a[0]);
            Value logSum = math::LogOp::create(nb, nl, a[1]);
            return arith::AddFOp::create(nb, nl, m, logSum);
          }));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct DecomposeFFN : OpRewritePattern<FFNOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(FFNOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Type f32 = rewriter.getF32Type();
    unsigned rows = op.getNumRowDims();

    SmallVector<OpFoldResult> rowSizes;
    for (unsigned r = 0; r < rows; ++r)
      rowSizes.push_back(tensor::getMixedSize(rewriter, loc, op.getInput(), r));
    OpFoldResult dFF = tensor::getMixedSize(rewriter, loc, op.getUp(), 1);

    // Contractions over loops (rows..., n, k): out[rows, n] += a[rows, k] w[k, n].
    unsigned nLoops = rows + 2;
    SmallVector<AffineExpr> rowExprs;
    for (unsigned r = 0; r < rows; ++r)
      rowExprs.push_back(getAffineDimExpr(r, ctx));
    AffineExpr n = getAffineDimExpr(rows, ctx), k = getAffineDimExpr(rows + 1, ctx);
    auto withTail = [&](ArrayRef<AffineExpr> tail) {
      SmallVector<AffineExpr> exprs(rowExprs);
      exprs.append(tail.begin(), tail.end());
      return AffineMap::get(nLoops, 0, exprs, ctx);
    };
    SmallVector<IteratorType> contractIters(rows + 1, kPar);
    contractIters.push_back(kRed);
    auto contract = [&](Value a, Value w, Value acc) {
      return buildGeneric(
          rewriter, loc, ValueRange{a, w}, acc,
          {withTail({k}), AffineMap::get(nLoops, 0, {k, n}, ctx),
           withTail({n})},
          contractIters, [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value x = convertFloat(nb, nl, args[0], f32);
            Value y = convertFloat(nb, nl, args[1], f32);
            return arith::AddFOp::create(
                nb, nl, args[2], arith::MulFOp::create(nb, nl, x, y));
          });
    };

    SmallVector<OpFoldResult> hiddenSizes(rowSizes);
    hiddenSizes.push_back(dFF);
    Value upAcc = contract(op.getInput(), op.getUp(),
                           createFilledTensor(rewriter, loc, hiddenSizes, f32, 0));
    Value gateAcc =
        op.getGate()
            ? contract(op.getInput(), op.getGate(),
                       createFilledTensor(rewriter, loc, hiddenSizes, f32, 0))
            : Value();

    // hidden = act(up + up_bias), or act(gate) * (up + up_bias).
    unsigned hLoops = rows + 1;
    AffineMap hId = AffineMap::getMultiDimIdentityMap(hLoops, ctx);
    AffineMap hLast =
        AffineMap::get(hLoops, 0, getAffineDimExpr(rows, ctx), ctx);
    SmallVector<Value> hIns = {upAcc};
    SmallVector<AffineMap> hMaps = {hId};
    if (gateAcc) {
      hIns.push_back(gateAcc);
      hMaps.push_back(hId);
    }
    if (Value bias = op.getUpBias()) {
      hIns.push_back(bias);
      hMaps.push_back(hLast);
    }
    hMaps.push_back(hId);
    Activation act = op.getActivation();
    bool gated = op.isGated(), hasUpBias = static_cast<bool>(op.getUpBias());
    Value hidden = buildGeneric(
        rewriter, loc, hIns,
        tensor::EmptyOp::create(rewriter, loc, hiddenSizes, f32), hMaps,
        SmallVector<IteratorType>(hLoops, kPar),
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value up = a[0];
          if (hasUpBias)
            up = arith::AddFOp::create(
                nb, nl, up, convertFloat(nb, nl, a[gated ? 2 : 1], f32));
          if (!gated)
            return buildActivation(nb, nl, act, up);
          return arith::MulFOp::create(nb, nl,
                                       buildActivation(nb, nl, act, a[1]), up);
        });

    // result = init + hidden down + down_bias, accumulated in f32.
    Value init = op.getInit();
    Type outElem = cast<RankedTensorType>(init.getType()).getElementType();
    SmallVector<OpFoldResult> outSizes(rowSizes);
    outSizes.push_back(tensor::getMixedSize(rewriter, loc, init, rows));
    Value initF32 = buildGeneric(
        rewriter, loc, init, tensor::EmptyOp::create(rewriter, loc, outSizes, f32),
        {hId, hId}, SmallVector<IteratorType>(hLoops, kPar),
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return convertFloat(nb, nl, a[0], f32);
        });
    Value acc = contract(hidden, op.getDown(), initF32);
    SmallVector<Value> outIns = {acc};
    SmallVector<AffineMap> outMaps = {hId};
    if (Value bias = op.getDownBias()) {
      outIns.push_back(bias);
      outMaps.push_back(hLast);
    }
    outMaps.push_back(hId);
    Value result = buildGeneric(
        rewriter, loc, outIns, init, outMaps,
        SmallVector<IteratorType>(hLoops, kPar),
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value v = a[0];
          if (a.size() == 3)
            v = arith::AddFOp::create(nb, nl, v,
                                      convertFloat(nb, nl, a[1], f32));
          return convertFloat(nb, nl, v, outElem);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// bpt.block has no meaning beyond its body: splice the body in its place.
struct InlineBlock : OpRewritePattern<BlockOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BlockOp op,
                                PatternRewriter &rewriter) const override {
    auto yield = cast<YieldOp>(op.getBodyBlock()->getTerminator());
    SmallVector<Value> results(yield.getValues());
    rewriter.inlineBlockBefore(op.getBodyBlock(), op, op.getInputs());
    rewriter.eraseOp(yield);
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct BPTDecomposePass
    : public bpt::impl::BPTDecomposeBase<BPTDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateBPTDecomposePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::bpt::populateBPTDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeAttention, DecomposeFFN, InlineBlock>(
      patterns.getContext());
}
