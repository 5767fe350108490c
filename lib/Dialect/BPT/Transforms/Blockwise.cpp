//===- Blockwise.cpp - The Blockwise Parallel Transformer (--bpt-blockwise) ===//
//
// The default schedule of the blockwise rewrite: tile attention over query
// blocks with upstream tiling (TilingInterface), lower each tile to the
// online-softmax key/value loop, and tile the FFN over row blocks and hidden
// chunks.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/BuilderUtils.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTBLOCKWISE
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;
using namespace mlir::bpt;

/// Tiles `op` with upstream tiling; returns the single tiled op.
template <typename OpTy>
static FailureOr<OpTy> tileWith(RewriterBase &rewriter, OpTy op,
                                ArrayRef<int64_t> tileSizes,
                                scf::SCFTilingOptions::LoopType loopType) {
  SmallVector<OpFoldResult> sizes = llvm::map_to_vector(
      tileSizes, [&](int64_t s) -> OpFoldResult {
        return rewriter.getIndexAttr(s);
      });
  scf::SCFTilingOptions options;
  options.setTileSizes(sizes);
  options.setLoopType(loopType);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled))
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  auto tiledOp = dyn_cast<OpTy>(tiled->tiledOps.back());
  if (!tiledOp)
    return failure();
  return tiledOp;
}

FailureOr<AttentionOp> mlir::bpt::tileAttentionQueries(RewriterBase &rewriter,
                                                       AttentionOp op,
                                                       int64_t qBlock) {
  return tileWith(rewriter, op, {1, 1, qBlock, 0},
                  scf::SCFTilingOptions::LoopType::ForallOp);
}

FailureOr<FFNOp> mlir::bpt::tileFFN(RewriterBase &rewriter, FFNOp op,
                                    int64_t rowBlock, int64_t ffnChunk) {
  unsigned rows = op.getNumRowDims();
  SmallVector<int64_t> rowTiles(rows, 1);
  rowTiles.back() = rowBlock;
  rowTiles.push_back(0);
  FailureOr<FFNOp> rowTile =
      tileWith(rewriter, op, rowTiles, scf::SCFTilingOptions::LoopType::ForallOp);
  if (failed(rowTile))
    return failure();
  FFNOp rowOp = *rowTile;
  // The chunk loop accumulates across chunks: keep that accumulator in f32
  // and convert once after the last chunk, instead of rounding to a narrow
  // destination type after every chunk.
  auto initTy = cast<RankedTensorType>(rowOp.getInit().getType());
  if (!initTy.getElementType().isF32()) {
    Location loc = rowOp.getLoc();
    rewriter.setInsertionPoint(rowOp);
    Value init = rowOp.getInit();
    Value wideInit = convertTensor(
        rewriter, loc, init,
        tensor::EmptyOp::create(rewriter, loc,
                                tensor::getMixedSizes(rewriter, loc, init),
                                rewriter.getF32Type()));
    auto wide = FFNOp::create(
        rewriter, loc, wideInit.getType(), rowOp.getActivationAttr(),
        rowOp.getInput(), rowOp.getUp(), rowOp.getGate(), rowOp.getUpBias(),
        rowOp.getDown(), rowOp.getDownBias(), wideInit);
    Value narrow = convertTensor(rewriter, loc, wide.getResult(), init);
    rewriter.replaceOp(rowOp, narrow);
    rowOp = wide;
  }
  SmallVector<int64_t> chunkTiles(rows, 0);
  chunkTiles.push_back(ffnChunk);
  return tileWith(rewriter, rowOp, chunkTiles,
                  scf::SCFTilingOptions::LoopType::ForOp);
}

/// True when an operand of `op` is a tensor with a static extent of 0: there
/// is nothing to tile, and the reference lowering is exact and free.
static bool hasEmptyOperand(Operation *op) {
  return llvm::any_of(op->getOperandTypes(), [](Type t) {
    auto ty = dyn_cast<RankedTensorType>(t);
    return ty && llvm::is_contained(ty.getShape(), 0);
  });
}

namespace {
struct BPTBlockwisePass : public bpt::impl::BPTBlockwiseBase<BPTBlockwisePass> {
  using BPTBlockwiseBase::BPTBlockwiseBase;

  void runOnOperation() override {
    if (qBlock <= 0 || kvBlock <= 0 || ffnChunk <= 0) {
      getOperation()->emitError()
          << "bpt-blockwise: q-block, kv-block and ffn-chunk must be "
             "positive, got "
          << static_cast<int64_t>(qBlock) << ", "
          << static_cast<int64_t>(kvBlock) << " and "
          << static_cast<int64_t>(ffnChunk);
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    IRRewriter rewriter(ctx);

    // Each block is computed per query block; then it is inlined, and its
    // (now per-query-block) attention and FFN are lowered below like any
    // other.
    SmallVector<BlockOp> blocks;
    getOperation()->walk([&](BlockOp op) { blocks.push_back(op); });
    for (BlockOp block : blocks) {
      if (!attentionOnly && !hasEmptyOperand(block.getAttention()))
        (void)fuseBlockPerQueryBlock(rewriter, block, qBlock);
      inlineBlock(rewriter, block);
    }

    // Empty ops take the reference lowering.
    SmallVector<Operation *> empty;
    getOperation()->walk([&](Operation *op) {
      if (isa<AttentionOp, FFNOp>(op) && hasEmptyOperand(op))
        empty.push_back(op);
    });
    RewritePatternSet decompose(ctx);
    populateBPTDecomposePatterns(decompose);
    if (failed(applyOpPatternsGreedily(empty, std::move(decompose))))
      return signalPassFailure();

    SmallVector<AttentionOp> attentions;
    getOperation()->walk([&](AttentionOp op) { attentions.push_back(op); });
    for (AttentionOp op : attentions) {
      FailureOr<AttentionOp> tile = tileAttentionQueries(rewriter, op, qBlock);
      if (failed(tile)) {
        op.emitError() << "bpt-blockwise: could not tile the queries";
        return signalPassFailure();
      }
      if (failed(lowerAttentionToOnlineSoftmax(rewriter, *tile, kvBlock))) {
        tile->emitError() << "bpt-blockwise: could not build the online "
                             "softmax";
        return signalPassFailure();
      }
    }

    if (attentionOnly)
      return;
    SmallVector<FFNOp> ffns;
    getOperation()->walk([&](FFNOp op) { ffns.push_back(op); });
    for (FFNOp op : ffns) {
      if (failed(tileFFN(rewriter, op, qBlock, ffnChunk))) {
        op.emitError() << "bpt-blockwise: could not tile the FFN";
        return signalPassFailure();
      }
    }
    // FFN tiles take their reference lowering: only the chunk of the
    // hidden activation is materialised.
    RewritePatternSet patterns(ctx);
    populateBPTDecomposeFFNPatterns(patterns, narrowHidden);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
