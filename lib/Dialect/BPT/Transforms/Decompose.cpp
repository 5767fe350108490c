//===- Decompose.cpp - Textbook lowering of the bpt ops (--bpt-decompose) -===//
//
// The reference semantics of the dialect, written the way a textbook writes
// attention and the FFN: materialised scores, a max-subtracted softmax and a
// full hidden layer, every step a linalg.generic on tensors. Every other
// lowering is tested against this one.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/AttentionBuilders.h"
#include "bpt/Dialect/BPT/Transforms/BuilderUtils.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

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

namespace {

struct DecomposeAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    AttentionBuilder ab(rewriter, op);

    // The full [B, Hq, Sq, Sk] scores, masked, and a max-subtracted softmax.
    auto [queryPos0, keyPos0] =
        op.getCausal() ? buildAttentionPositions(rewriter, op)
                       : std::pair<Value, Value>();
    Value scores = ab.maskedScores(ab.scores(op.getKey()), op.getMask(),
                                   queryPos0, keyPos0);
    Value rowMax = ab.rowMax(
        scores, ab.rowTensor(-std::numeric_limits<double>::infinity()));
    Value exps = ab.shiftedExp(scores, rowMax);
    Value rowSum = ab.rowSum(exps, ab.rowTensor(0.0));

    // probs = exps / sum (0 for a row whose sum is 0), then probs V.
    AffineMap id4 = AffineMap::getMultiDimIdentityMap(4, ctx);
    AffineMap rows = AffineMap::get(
        4, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx),
               getAffineDimExpr(2, ctx)},
        ctx);
    Value probs = buildGeneric(
        rewriter, loc, ValueRange{exps, rowSum},
        tensor::EmptyOp::create(rewriter, loc,
                                tensor::getMixedSizes(rewriter, loc, exps),
                                rewriter.getF32Type()),
        {id4, rows, id4}, {kPar, kPar, kPar, kPar},
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value zero =
              arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0.0));
          Value isEmpty = arith::CmpFOp::create(
              nb, nl, arith::CmpFPredicate::OEQ, a[1], zero);
          Value p = arith::DivFOp::create(nb, nl, a[0], a[1]);
          return arith::SelectOp::create(nb, nl, isEmpty, zero, p);
        });
    Value acc = ab.valueProduct(probs, op.getValue(), ab.zeroAccumulator());
    Value out = op.getOutputInit();
    Type outElem = cast<RankedTensorType>(out.getType()).getElementType();
    SmallVector<Value> results;
    results.push_back(buildGeneric(
        rewriter, loc, acc, out, {id4, id4}, {kPar, kPar, kPar, kPar},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return convertFloat(nb, nl, a[0], outElem);
        }));
    if (Value lseInit = op.getLogSumExpInit())
      results.push_back(ab.logSumExp(rowMax, rowSum, lseInit));
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct DecomposeFFN : OpRewritePattern<FFNOp> {
  DecomposeFFN(MLIRContext *ctx, bool narrowHidden)
      : OpRewritePattern(ctx), narrowHidden(narrowHidden) {}
  bool narrowHidden;

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
    // Computed in f32; stored in f32, or (narrowHidden) in the input's
    // 16-bit type.
    Type inElem = cast<RankedTensorType>(op.getInput().getType()).getElementType();
    Type hiddenElem =
        narrowHidden && (inElem.isF16() || inElem.isBF16()) ? inElem : f32;
    Value hidden = buildGeneric(
        rewriter, loc, hIns,
        tensor::EmptyOp::create(rewriter, loc, hiddenSizes, hiddenElem), hMaps,
        SmallVector<IteratorType>(hLoops, kPar),
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value up = a[0];
          if (hasUpBias)
            up = arith::AddFOp::create(
                nb, nl, up, convertFloat(nb, nl, a[gated ? 2 : 1], f32));
          Value h = gated ? arith::MulFOp::create(
                                nb, nl, buildActivation(nb, nl, act, a[1]), up)
                          : buildActivation(nb, nl, act, up);
          return convertFloat(nb, nl, h, hiddenElem);
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

/// linalg.softmax has no lowering to loops of its own: give it its
/// upstream decomposition (max, sub + exp, sum, div), so that programs
/// written with it run through the same pipelines as raised ones.
struct DecomposeSoftmax : OpRewritePattern<linalg::SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::SoftmaxOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<SmallVector<Value>> values = op.decomposeOperation(rewriter);
    if (failed(values))
      return rewriter.notifyMatchFailure(op, "no decomposition");
    rewriter.replaceOp(op, *values);
    return success();
  }
};

/// bpt.block has no meaning beyond its body: splice the body in its place.
struct InlineBlock : OpRewritePattern<BlockOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BlockOp op,
                                PatternRewriter &rewriter) const override {
    inlineBlock(rewriter, op);
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

void mlir::bpt::inlineBlock(RewriterBase &rewriter, BlockOp block) {
  Block *body = block.getBodyBlock();
  auto yield = cast<YieldOp>(body->getTerminator());
  // A yielded block argument stands for the block's input after inlining.
  SmallVector<Value> results = llvm::map_to_vector(
      yield.getValues(), [&](Value v) -> Value {
        auto arg = dyn_cast<BlockArgument>(v);
        if (arg && arg.getOwner() == body)
          return block.getInputs()[arg.getArgNumber()];
        return v;
      });
  rewriter.inlineBlockBefore(body, block, block.getInputs());
  rewriter.eraseOp(yield);
  rewriter.replaceOp(block, results);
}

void mlir::bpt::inlineBlocks(RewriterBase &rewriter, Operation *root) {
  SmallVector<BlockOp> blocks;
  root->walk([&](BlockOp block) { blocks.push_back(block); });
  for (BlockOp block : blocks)
    inlineBlock(rewriter, block);
}

void mlir::bpt::populateBPTDecomposeFFNPatterns(RewritePatternSet &patterns,
                                                bool narrowHidden) {
  patterns.add<DecomposeFFN>(patterns.getContext(), narrowHidden);
}

void mlir::bpt::populateBPTDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeAttention, DecomposeSoftmax, InlineBlock>(
      patterns.getContext());
  populateBPTDecomposeFFNPatterns(patterns);
}
