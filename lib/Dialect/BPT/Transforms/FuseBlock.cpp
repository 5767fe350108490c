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
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

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

/// Number of elements of a statically shaped tensor, or nullopt.
static std::optional<int64_t> staticVolume(Type type) {
  auto ty = dyn_cast<RankedTensorType>(type);
  if (!ty || !ty.hasStaticShape())
    return std::nullopt;
  return ty.getNumElements();
}

/// A producer whose result is only ever read in disjoint slices that do not
/// cover it more than once (the fused QKV projection read as Q, K and V) is
/// split into one computation per slice: each slice becomes the producer tiled to that slice. The whole
/// result then never exists, and the slice feeding the query path is free
/// to move into the query-block loop while keys and values stay outside.
static void splitSlicedProducers(RewriterBase &rewriter, Block *body) {
  bool changed = true;
  while (changed) {
    changed = false;
    SmallVector<tensor::ExtractSliceOp> slices;
    body->walk([&](tensor::ExtractSliceOp s) { slices.push_back(s); });
    for (tensor::ExtractSliceOp slice : slices) {
      auto result = dyn_cast<OpResult>(slice.getSource());
      if (!result || !isa<linalg::LinalgOp>(result.getOwner()) ||
          result.getOwner()->getNumResults() != 1)
        continue;
      std::optional<int64_t> whole = staticVolume(result.getType());
      int64_t parts = 0;
      bool onlySlices = llvm::all_of(result.getUsers(), [&](Operation *user) {
        auto use = dyn_cast<tensor::ExtractSliceOp>(user);
        std::optional<int64_t> v =
            use ? staticVolume(use.getType()) : std::nullopt;
        parts += v.value_or(0);
        return use && v;
      });
      // Slices that add up to more than the whole would recompute; a slice
      // that is the whole gains nothing.
      if (!onlySlices || !whole || parts > *whole ||
          staticVolume(slice.getType()) == whole)
        continue;
      rewriter.setInsertionPoint(slice);
      FailureOr<TilingResult> tiled =
          tensor::replaceExtractSliceWithTiledProducer(rewriter, slice, result);
      if (failed(tiled))
        continue;
      rewriter.replaceOp(slice, tiled->tiledValues[0]);
      changed = true;
    }
    for (Operation &op :
         llvm::make_early_inc_range(llvm::reverse(body->getOperations())))
      if (isOpTriviallyDead(&op))
        rewriter.eraseOp(&op);
  }
}

/// Frontends keep reduced dimensions as extent-1 dimensions written through
/// a constant 0 (torch's keepdim: a row mean of [B, S, d] is [B, S, 1]).
/// Upstream tiling cannot slice such results, which would keep the norms,
/// and everything before them, out of the query-block loop. The ops that
/// have such maps get their unit dimensions folded away (upstream
/// FoldUnitExtentDims, with reshapes around them), which tiling handles.
static void dropConstantUnitDims(BlockOp block) {
  linalg::ControlDropUnitDims control;
  control.controlFn = [](Operation *op) -> SmallVector<unsigned> {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    if (!generic || llvm::all_of(generic->getResults(), [&](OpResult r) {
          return generic.getIndexingMapMatchingResult(r)
              .isProjectedPermutation();
        }))
      return {};
    return llvm::to_vector(llvm::seq<unsigned>(0, generic.getNumLoops()));
  };
  RewritePatternSet patterns(block.getContext());
  linalg::populateFoldUnitExtentDimsPatterns(patterns, control);
  // One walk, without the greedy driver's folding and dead-code removal:
  // only the ops with such maps change.
  walkAndApplyPatterns(block, FrozenRewritePatternSet(std::move(patterns)));
}

/// The whole-sequence tensors of a fused block (keys and values in head
/// layout, the loop's output, the inits of the K/V projections) each get a
/// buffer of their own: CSE would otherwise merge identical tensor.empty
/// ops, and one-shot bufferization then keeps a merged buffer alive for
/// the longest of its uses (with a copy out of it), which costs two
/// sequence-sized buffers at the peak of the block.
static void keepBuffersDistinct(RewriterBase &rewriter, BlockOp block) {
  for (Operation &op :
       llvm::make_early_inc_range(block.getBodyBlock()->getOperations())) {
    auto empty = dyn_cast<tensor::EmptyOp>(&op);
    if (!empty)
      continue;
    rewriter.setInsertionPoint(empty);
    rewriter.replaceOpWithNewOp<bufferization::AllocTensorOp>(
        empty, empty.getType(), empty.getDynamicSizes());
  }
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
  dropConstantUnitDims(block);
  auto yield = cast<YieldOp>(block.getBodyBlock()->getTerminator());
  if (yield.getValues().size() != 1)
    return refuse(block, "it yields more than one value");
  Value result = yield.getValues()[0];
  auto root = result.getDefiningOp<TilingInterface>();
  if (!root || root->getNumResults() != 1 ||
      root->getBlock() != block.getBodyBlock())
    return refuse(block, "its result is not produced by a tileable op");
  int64_t queries = block.getAttention().getQueryType().getDimSize(2);
  splitSlicedProducers(rewriter, block.getBodyBlock());
  // Read after the split, which erases dead ops, the attention too when the
  // result does not use it (a use after free that AddressSanitizer found),
  // and before fusion, which erases the untiled attention once it is dead.
  AttentionOp attention = block.getAttention();
  if (!attention)
    return refuse(block, "its result does not use its attention");
  Operation *attentionOp = attention.getOperation();

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
  // once, before the loop, and not fused into it along the key/value
  // operands. A producer they share with the query path is recomputed per
  // query block when it is cheap (a norm or an elementwise op: linear in its
  // data), so its whole result dies once keys and values are projected; an
  // expensive one (a contraction) is computed once and sliced.
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
        Operation *owner = producer.getOwner();
        // Upstream tiling cannot slice a result written through a map that
        // is not a projected permutation (torch's keepdim reductions write
        // [.., 1] through a constant 0): such producers stay outside.
        if (auto linalgOp = dyn_cast<linalg::LinalgOp>(owner))
          if (!linalgOp.getIndexingMapMatchingResult(producer)
                   .isProjectedPermutation())
            return std::nullopt;
        if (keyValueProducers.contains(owner)) {
          auto linalgOp = dyn_cast<linalg::LinalgOp>(owner);
          if (!linalgOp || linalg::isaContractionOpInterface(linalgOp))
            return std::nullopt;
        }
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

  // The attention must have been fused (otherwise the scores of the whole
  // sequence are still computed outside the loop), and the loop over result
  // rows must split its queries (a result whose rows are not query rows, a
  // pooled result say, gives one attention tile with every query).
  std::optional<std::string> problem;
  if (!fused->fusedProducers.contains(attentionOp))
    problem = "the attention does not feed its result row by row (the "
              "attention stays outside the query-block loop)";
  for (Operation *op : fused->tiledAndFusedOps) {
    auto tile = dyn_cast<AttentionOp>(op);
    if (tile && !ShapedType::isDynamic(queries) && queries > qBlock &&
        tile.getQueryType().getDimSize(2) == queries)
      problem = "the rows of its result are not the query rows of its "
                "attention (each tile holds every query)";
  }
  SmallVector<Operation *> tiledOps(fused->tiledAndFusedOps.begin(),
                                    fused->tiledAndFusedOps.end());

  // The untiled originals are dead now, and slices of empty destinations
  // become empty tensors of the slice's size (no buffer of the whole).
  for (Operation &op : llvm::make_early_inc_range(
           llvm::reverse(block.getBodyBlock()->getOperations())))
    if (isOpTriviallyDead(&op))
      rewriter.eraseOp(&op);
  RewritePatternSet emptyFolding(rewriter.getContext());
  tensor::populateFoldTensorEmptyPatterns(emptyFolding);
  (void)applyPatternsGreedily(block, std::move(emptyFolding));
  if (problem)
    return refuse(block, *problem);
  keepBuffersDistinct(rewriter, block);
  return tiledOps;
}
