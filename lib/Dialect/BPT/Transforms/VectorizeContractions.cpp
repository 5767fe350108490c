//===- VectorizeContractions.cpp - Register-tiled vector contractions -----===//
//
// Every contraction on tensors whose second operand is contiguous along the
// output's columns (C[i, j] += A[i, k] B[k, j]: matmuls, the projections,
// both products of the key loop) becomes a loop nest over register tiles of
// C: upstream tiling (TilingInterface, scf.for) to an m-tile x n-tile block
// of C with a reduction step of one, upstream linalg vectorisation of the
// tile (masked where the sizes are not multiples of the tiles), and the C
// tile hoisted out of the reduction loop, so it lives in registers while
// A[i, k] is broadcast against the row B[k, j..j+n-tile). Lowering the
// vector.contract to outer products (convert-vector-to-llvm) then gives one
// FMA per vector of C and reduction step.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/SubsetOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTVECTORIZECONTRACTIONS
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;

/// Whether a loop of `op` has static extent 0 (nothing to compute; such
/// ops are left to the loop lowering).
static bool hasEmptyLoop(linalg::LinalgOp op) {
  return llvm::is_contained(op.getStaticLoopRanges(), 0);
}

/// Whether `op` is a contraction this pass handles: tensors, one result,
/// the multiply-add of upstream's contraction interface (element types may
/// be extended in the body).
static bool isCandidate(linalg::LinalgOp op) {
  auto isFloatTensor = [](Type t) {
    return isa<FloatType>(getElementTypeOrSelf(t));
  };
  return op.hasPureTensorSemantics() && op->getNumResults() == 1 &&
         llvm::all_of(op->getOperandTypes(), isFloatTensor) &&
         linalg::isaContractionOpInterface(op) && !hasEmptyLoop(op);
}

/// Named contractions (linalg.matmul, linalg.batch_matmul, ...) as
/// linalg.generic, so their unit loops can be dropped like any other.
static void generalizeCandidates(func::FuncOp func) {
  SmallVector<linalg::LinalgOp> named;
  func.walk([&](linalg::LinalgOp op) {
    if (!isa<linalg::GenericOp>(op) && isCandidate(op))
      named.push_back(op);
  });
  IRRewriter rewriter(func.getContext());
  for (linalg::LinalgOp op : named) {
    rewriter.setInsertionPoint(op);
    (void)linalg::generalizeNamedOp(rewriter, op);
  }
}

/// Extends narrow operands of a vector.contract to the accumulator's
/// element type (upstream folds the extensions of the tile's body into the
/// contraction; its outer-product lowering wants one element type).
static void extendContractOperands(func::FuncOp func) {
  IRRewriter rewriter(func.getContext());
  func.walk([&](vector::ContractionOp contract) {
    auto accTy = dyn_cast<VectorType>(contract.getAccType());
    if (!accTy || !isa<FloatType>(accTy.getElementType()))
      return;
    Type elem = accTy.getElementType();
    rewriter.setInsertionPoint(contract);
    for (OpOperand *operand :
         {&contract.getLhsMutable(), &contract.getRhsMutable()}) {
      auto ty = cast<VectorType>(operand->get().getType());
      if (ty.getElementType() == elem)
        continue;
      Value ext = arith::ExtFOp::create(rewriter, contract.getLoc(),
                                        ty.clone(elem), operand->get());
      rewriter.modifyOpInPlace(contract, [&] { operand->set(ext); });
    }
  });
}

/// Drops the loops of static extent 1 of the candidate contractions (the
/// batch and head loops of a query-block tile, and `h floordiv G` of a
/// grouped key/value head with them), with rank-reducing slices around the
/// op, so each becomes a plain (m, n, k) contraction.
static void dropUnitLoops(func::FuncOp func) {
  linalg::ControlDropUnitDims control;
  control.rankReductionStrategy =
      linalg::ControlDropUnitDims::RankReductionStrategy::ExtractInsertSlice;
  control.controlFn = [](Operation *op) -> SmallVector<unsigned> {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    if (!generic || !generic.hasPureTensorSemantics() ||
        generic->getNumResults() != 1 || hasEmptyLoop(generic))
      return {};
    if (!llvm::any_of(generic.getIteratorTypesArray(), linalg::isReductionIterator))
      return {};
    return llvm::to_vector(llvm::seq<unsigned>(0, generic.getNumLoops()));
  };
  RewritePatternSet patterns(func.getContext());
  linalg::populateFoldUnitExtentDimsPatterns(patterns, control);
  walkAndApplyPatterns(func, FrozenRewritePatternSet(std::move(patterns)));
}

namespace {
/// The register tile of one contraction: a size per loop, the loop order
/// (reduction loops innermost) and the vector size per loop.
struct RegisterTile {
  SmallVector<OpFoldResult> sizes;
  SmallVector<int64_t> interchange;
  SmallVector<int64_t> vectorSizes;
};
} // namespace

/// The register tile of `op`, or failure when its second operand is not
/// read along the output's contiguous dimension (then the vector form would
/// gather; such ops are left to the loop lowering).
static FailureOr<RegisterTile> planRegisterTile(linalg::LinalgOp op,
                                                int64_t mTile, int64_t nTile) {
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty())
    return failure();
  AffineMap outMap = op.getIndexingMapMatchingResult(op->getResult(0));
  if (outMap.getNumResults() < 2)
    return failure();
  auto nExpr = dyn_cast<AffineDimExpr>(outMap.getResults().back());
  auto mExpr =
      dyn_cast<AffineDimExpr>(outMap.getResults()[outMap.getNumResults() - 2]);
  if (!nExpr || !mExpr || !llvm::is_contained(dims->n, nExpr.getPosition()) ||
      !llvm::is_contained(dims->m, mExpr.getPosition()))
    return failure();
  unsigned n = nExpr.getPosition(), m = mExpr.getPosition();
  // The input indexed by n must have n as its last (contiguous) dimension.
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!map.isFunctionOfDim(n))
      continue;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!last || last.getPosition() != n)
      return failure();
  }

  RegisterTile tile;
  OpBuilder b(op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (unsigned d = 0, e = op.getNumLoops(); d < e; ++d) {
    int64_t size = d == m ? mTile : d == n ? nTile : 1;
    // A static extent below the tile is the tile.
    if (!ShapedType::isDynamic(ranges[d]))
      size = std::max<int64_t>(1, std::min(size, ranges[d]));
    tile.sizes.push_back(b.getIndexAttr(size));
    tile.vectorSizes.push_back(size);
  }
  for (unsigned d = 0, e = op.getNumLoops(); d < e; ++d)
    if (!llvm::is_contained(dims->k, d))
      tile.interchange.push_back(d);
  for (unsigned d : dims->k)
    tile.interchange.push_back(d);
  return tile;
}

/// The attribute that marks the tiles of a contraction until they are
/// vectorised, holding their vector sizes.
static constexpr llvm::StringLiteral kTileAttr = "bpt.register_tile";

/// Peels the loops of a perfect tiled nest that `peel` marks, in the main
/// and in the partial iterations alike, so that with static sizes every
/// tile ends up static (the last ones smaller).
static void peelNest(RewriterBase &rewriter, scf::ForOp loop,
                     ArrayRef<bool> peel) {
  if (!loop || peel.empty())
    return;
  SmallVector<scf::ForOp> versions = {loop};
  scf::ForOp partial;
  if (peel.front() &&
      succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, loop, partial)))
    versions.push_back(partial);
  for (scf::ForOp version : versions) {
    auto inner = version.getBody()->getOps<scf::ForOp>();
    peelNest(rewriter, inner.empty() ? scf::ForOp() : *inner.begin(),
             peel.drop_front());
  }
}

/// Tiles one contraction into register tiles and peels the loops over m
/// and n, so every tile but the last of each is full (static sizes once
/// the tile-size arithmetic folds). The tiles are marked with kTileAttr.
/// Fails, leaving `op` as it was, when it has no register tile.
static LogicalResult tileContraction(RewriterBase &rewriter,
                                     linalg::LinalgOp op, int64_t mTile,
                                     int64_t nTile) {
  FailureOr<RegisterTile> tile = planRegisterTile(op, mTile, nTile);
  if (failed(tile))
    return failure();
  scf::SCFTilingOptions options;
  options.setTileSizes(tile->sizes);
  options.setInterchange(tile->interchange);
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()),
                        options);
  if (failed(tiled))
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  Operation *tiledOp = tiled->tiledOps.back();
  tiledOp->setAttr(kTileAttr, rewriter.getDenseI64ArrayAttr(tile->vectorSizes));
  // Loops come in interchange order, one per loop of the op.
  SmallVector<bool> peel;
  for (int64_t dim : tile->interchange)
    peel.push_back(tile->vectorSizes[dim] > 1);
  peelNest(rewriter, cast<scf::ForOp>(tiled->loops.front().getOperation()),
           peel);
  return success();
}

/// Vectorises a marked tile of static shape into one vector.contract.
static void vectorizeTile(RewriterBase &rewriter, linalg::LinalgOp tileOp) {
  tileOp->removeAttr(kTileAttr);
  if (tileOp.hasDynamicShape())
    return;
  rewriter.setInsertionPoint(tileOp);
  FailureOr<linalg::VectorizationResult> vectorized = linalg::vectorize(
      rewriter, tileOp, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
      /*vectorizeNDExtract=*/false, /*flatten1DDepthwiseConv=*/false,
      /*assumeDynamicDimsMatchVecSizes=*/false,
      /*createNamedContraction=*/true);
  if (failed(vectorized)) {
    tileOp->emitRemark("bpt-vectorize-contractions: register tile left "
                       "scalar: upstream vectorisation refused it");
    return;
  }
  rewriter.replaceOp(tileOp, vectorized->replacements);
}

/// The canonicalization patterns of every loaded dialect and op.
static void populateAllCanonicalizations(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  for (Dialect *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
}

namespace {
struct BPTVectorizeContractionsPass
    : public bpt::impl::BPTVectorizeContractionsBase<
          BPTVectorizeContractionsPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    // Transfers as subsets of the tensors they read and write: what lets
    // the C tile be hoisted out of the reduction loop.
    vector::registerSubsetOpInterfaceExternalModels(registry);
  }

  void runOnOperation() override {
    if (mTile <= 0 || nTile <= 0) {
      getOperation()->emitError("bpt-vectorize-contractions: m-tile and "
                                "n-tile must be positive");
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> funcs;
    getOperation()->walk([&](func::FuncOp f) { funcs.push_back(f); });
    for (func::FuncOp func : funcs)
      runOnFunction(func);
  }

  void runOnFunction(func::FuncOp func) {
    MLIRContext *ctx = func.getContext();
    generalizeCandidates(func);
    dropUnitLoops(func);

    SmallVector<linalg::LinalgOp> candidates;
    func.walk([&](linalg::LinalgOp op) {
      if (isCandidate(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(ctx);
    bool changed = false;
    for (linalg::LinalgOp op : candidates)
      changed |= succeeded(tileContraction(rewriter, op, mTile, nTile));
    if (!changed)
      return;

    // Full tiles get static sizes: the tile-size arithmetic folds and the
    // casts to dynamic shapes fold into the tiles.
    {
      RewritePatternSet patterns(ctx);
      populateAllCanonicalizations(patterns);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> tiles;
    func.walk([&](linalg::LinalgOp op) {
      if (op->hasAttr(kTileAttr))
        tiles.push_back(op);
    });
    for (linalg::LinalgOp tileOp : tiles)
      vectorizeTile(rewriter, tileOp);

    // What the generic vectoriser left as multiply + reduction becomes
    // vector.contract, and the broadcasts of its operands (reads of the
    // whole iteration space) fold into its indexing maps.
    RewritePatternSet patterns(ctx);
    vector::populateVectorReductionToContractPatterns(patterns);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    // Extensions of f16/bf16 operands move before the broadcasts, which can
    // then fold.
    vector::populateSinkVectorOpsPatterns(patterns);
    populateAllCanonicalizations(patterns);
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      return signalPassFailure();
    extendContractOperands(func);

    // The C tile is read before and written after the reduction loop, and
    // carried in registers through it.
    SmallVector<scf::ForOp> loops;
    func.walk([&](scf::ForOp loop) {
      if (llvm::any_of(loop.getBody()->getOperations(), [](Operation &op) {
            return isa<vector::ContractionOp>(op);
          }))
        loops.push_back(loop);
    });
    for (scf::ForOp loop : loops)
      (void)hoistLoopInvariantSubsets(rewriter, loop);
    // Hoisting leaves the tensors the loops carried unused.
    RewritePatternSet cleanup(ctx);
    populateAllCanonicalizations(cleanup);
    (void)applyPatternsGreedily(func, std::move(cleanup));
  }
};
} // namespace
