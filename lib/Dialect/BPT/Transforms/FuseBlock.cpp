//===- FuseBlock.cpp - One transformer block per query block --------------===//
//
// The fusion decision of the Blockwise Parallel Transformer: the whole
// bpt.block is computed per block of query rows. Upstream tile-and-fuse does
// the work: the op that produces the block's result is tiled over rows and
// its producers are fused into the loop (through reshapes, by bubbling the
// slices up), so the FFN, the norms, the out-projection, the residuals, the
// attention and the query path run on the rows of one query block. The
// fusion stops at the key and value operands of the attention: keys and
// values are needed for every query block and are computed once, before the
// loop.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::bpt;

/// Loop tile sizes of `root` that tile the rows of its result: the row
/// dimension (the one before the last) by `qBlock`, leading dimensions by 1,
/// everything else not at all.
static FailureOr<SmallVector<OpFoldResult>> rowTileSizes(OpBuilder &b,
                                                         TilingInterface root,
                                                         int64_t qBlock) {
  auto resultTy = dyn_cast<RankedTensorType>(root->getResult(0).getType());
  if (!resultTy || resultTy.getRank() < 2)
    return failure();
  int64_t rank = resultTy.getRank();
  SmallVector<int64_t> resultTiles(rank, 1);
  resultTiles[rank - 2] = qBlock;
  resultTiles[rank - 1] = 0;

  unsigned numLoops = root.getLoopIteratorTypes().size();
  SmallVector<int64_t> loopTiles(numLoops, 0);
  if (isa<FFNOp>(root.getOperation())) {
    for (int64_t i = 0; i < rank - 1; ++i)
      loopTiles[i] = resultTiles[i];
  } else if (auto linalgOp = dyn_cast<linalg::LinalgOp>(root.getOperation())) {
    AffineMap map = linalgOp.getIndexingMapMatchingResult(
        cast<OpResult>(root->getResult(0)));
    if (!map.isProjectedPermutation())
      return failure();
    for (int64_t i = 0; i < rank; ++i)
      loopTiles[map.getDimPosition(i)] = resultTiles[i];
  } else {
    return failure();
  }
  return llvm::map_to_vector(loopTiles, [&](int64_t t) -> OpFoldResult {
    return b.getIndexAttr(t);
  });
}

/// Emits the remark of a block left unfused and returns failure.
static FailureOr<SmallVector<Operation *>> refuse(BlockOp block,
                                                   const Twine &why) {
  block.emitRemark() << "bpt-blockwise: block not fused per query block: "
                     << why;
  return failure();
}

FailureOr<SmallVector<Operation *>>
mlir::bpt::fuseBlockPerQueryBlock(RewriterBase &rewriter, BlockOp block,
                                  int64_t qBlock) {
  auto yield = cast<YieldOp>(block.getBodyBlock()->getTerminator());
  if (yield.getValues().size() != 1)
    return refuse(block, "it yields more than one value");
  Value result = yield.getValues()[0];
  auto root = result.getDefiningOp<TilingInterface>();
  if (!root || root->getNumResults() != 1 ||
      root->getBlock() != block.getBodyBlock())
    return refuse(block, "its result is not produced by a tileable op");
  AttentionOp attention = block.getAttention();

  rewriter.setInsertionPoint(root);
  FailureOr<SmallVector<OpFoldResult>> tiles =
      rowTileSizes(rewriter, root, qBlock);
  if (failed(tiles))
    return refuse(block, "the rows of its result are not a loop of the op "
                         "that produces it");

  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(*tiles);
  tiling.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  scf::SCFTileAndFuseOptions options;
  options.setTilingOptions(tiling);
  // Keys and values serve every query block: their producers are computed
  // once, before the loop, and never fused into it. That includes producers
  // they share with the query path (a fused QKV projection, the pre-norm):
  // the query block then slices the precomputed value instead of
  // recomputing it.
  SetVector<Operation *> keyValueProducers;
  BackwardSliceOptions sliceOptions;
  sliceOptions.inclusive = true;
  sliceOptions.omitBlockArguments = true;
  for (Value kv : {attention.getKey(), attention.getValue()})
    if (kv.getDefiningOp())
      (void)getBackwardSlice(kv, &keyValueProducers, sliceOptions);
  options.setFusionControlFn(
      [&](tensor::ExtractSliceOp slice, OpResult producer, bool isDestination)
          -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        if (keyValueProducers.contains(producer.getOwner()))
          return std::nullopt;
        for (OpOperand &use : slice->getUses()) {
          auto attn = dyn_cast<AttentionOp>(use.getOwner());
          if (attn && (use.get() == attn.getKey() ||
                       use.get() == attn.getValue()))
            return std::nullopt;
        }
        return scf::SCFTileAndFuseOptions::ControlFnResult{};
      });
  // Slices of reshaped values move above the reshape, so the producers of
  // the reshape's source can be fused too; slices of fills become fills.
  RewritePatternSet cleanup(rewriter.getContext());
  tensor::populateBubbleUpExtractSliceOpPatterns(cleanup);
  tensor::populateMergeConsecutiveInsertExtractSlicePatterns(cleanup);
  linalg::populateSwapExtractSliceWithFillPatterns(cleanup);
  options.cleanupPatterns = FrozenRewritePatternSet(std::move(cleanup));

  FailureOr<scf::SCFTileAndFuseResult> fused =
      scf::tileConsumerAndFuseProducersUsingSCF(rewriter, root, options);
  if (failed(fused))
    return refuse(block, "upstream tile-and-fuse failed");
  for (auto [original, replacement] : fused->replacements)
    rewriter.replaceAllUsesWith(original, replacement);
  // The untiled originals are dead now.
  for (Operation &op : llvm::make_early_inc_range(
           llvm::reverse(block.getBodyBlock()->getOperations())))
    if (isOpTriviallyDead(&op))
      rewriter.eraseOp(&op);

  // The attention must have been fused: otherwise the scores of the whole
  // sequence would still be computed outside the loop.
  if (!fused->fusedProducers.contains(attention.getOperation()))
    return refuse(block, "the attention does not feed its result row by row "
                         "(the attention stays outside the query-block "
                         "loop)");
  // The loop over result rows must also split the queries of the attention:
  // a result whose rows are not query rows (a pooled result, say) gives one
  // attention tile with every query.
  int64_t queries = attention.getQueryType().getDimSize(2);
  for (Operation *op : fused->tiledAndFusedOps) {
    auto tile = dyn_cast<AttentionOp>(op);
    if (!tile)
      continue;
    int64_t tileQueries = tile.getQueryType().getDimSize(2);
    if (!ShapedType::isDynamic(queries) && queries > qBlock &&
        tileQueries == queries)
      return refuse(block, "the rows of its result are not the query rows "
                           "of its attention (each tile holds every query)");
  }
  return SmallVector<Operation *>(fused->tiledAndFusedOps.begin(),
                                  fused->tiledAndFusedOps.end());
}
