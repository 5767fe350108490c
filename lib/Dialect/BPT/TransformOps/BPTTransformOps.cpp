//===- BPTTransformOps.cpp - Transform ops for the bpt rewrites -----------===//

#include "bpt/Dialect/BPT/TransformOps/BPTTransformOps.h"

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace mlir::bpt;

#define GET_OP_CLASSES
#include "bpt/Dialect/BPT/TransformOps/BPTTransformOps.cpp.inc"

// Effects come from FunctionalStyleTransformOpTrait: each op consumes its
// target handle, produces a new one and modifies the payload.

DiagnosedSilenceableFailure transform::LowerToOnlineSoftmaxOp::applyToOne(
    transform::TransformRewriter &rewriter, Operation *target,
    transform::ApplyToEachResultList &results,
    transform::TransformState &state) {
  auto attention = dyn_cast<AttentionOp>(target);
  if (!attention)
    return emitSilenceableError() << "expects bpt.attention, got "
                                  << target->getName();
  if (getKvBlock() <= 0)
    return emitDefiniteFailure() << "kv_block must be positive";
  FailureOr<scf::ForOp> loop =
      lowerAttentionToOnlineSoftmax(rewriter, attention, getKvBlock());
  if (failed(loop))
    return emitDefiniteFailure() << "could not build the online softmax";
  results.push_back(*loop);
  return DiagnosedSilenceableFailure::success();
}

DiagnosedSilenceableFailure transform::FuseBlockOp::applyToOne(
    transform::TransformRewriter &rewriter, Operation *target,
    transform::ApplyToEachResultList &results,
    transform::TransformState &state) {
  auto block = dyn_cast<BlockOp>(target);
  if (!block)
    return emitSilenceableError() << "expects bpt.block, got "
                                  << target->getName();
  if (getQBlock() <= 0)
    return emitDefiniteFailure() << "q_block must be positive";
  FailureOr<SmallVector<Operation *>> fused =
      fuseBlockPerQueryBlock(rewriter, block, getQBlock());
  Operation *loop =
      succeeded(fused) && !fused->empty()
          ? fused->front()->getParentOfType<scf::ForallOp>().getOperation()
          : nullptr;
  inlineBlock(rewriter, block);
  if (!loop)
    return emitSilenceableError()
           << "the block was not fused per query block (see the remark); it "
              "was inlined unfused";
  results.push_back(loop);
  return DiagnosedSilenceableFailure::success();
}

DiagnosedSilenceableFailure transform::TileFFNOp::applyToOne(
    transform::TransformRewriter &rewriter, Operation *target,
    transform::ApplyToEachResultList &results,
    transform::TransformState &state) {
  auto ffn = dyn_cast<FFNOp>(target);
  if (!ffn)
    return emitSilenceableError() << "expects bpt.ffn, got "
                                  << target->getName();
  if (getRowBlock() <= 0 || getFfnChunk() <= 0)
    return emitDefiniteFailure() << "row_block and ffn_chunk must be positive";
  FailureOr<FFNOp> chunk =
      tileFFN(rewriter, ffn, getRowBlock(), getFfnChunk());
  if (failed(chunk))
    return emitDefiniteFailure() << "could not tile the FFN";
  auto loop = (*chunk)->getParentOfType<scf::ForOp>();
  RewritePatternSet patterns(getContext());
  populateBPTDecomposeFFNPatterns(patterns);
  if (failed(applyOpPatternsGreedily({chunk->getOperation()},
                                     std::move(patterns))))
    return emitDefiniteFailure() << "could not lower the FFN chunk";
  results.push_back(loop);
  return DiagnosedSilenceableFailure::success();
}

namespace {
class BPTTransformDialectExtension
    : public transform::TransformDialectExtension<
          BPTTransformDialectExtension> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(BPTTransformDialectExtension)

  BPTTransformDialectExtension() {
    declareGeneratedDialect<BPTDialect>();
    declareGeneratedDialect<scf::SCFDialect>();
    // fuse_block gives the whole-sequence tensors buffers of their own.
    declareGeneratedDialect<bufferization::BufferizationDialect>();
    registerTransformOps<
#define GET_OP_LIST
#include "bpt/Dialect/BPT/TransformOps/BPTTransformOps.cpp.inc"
        >();
  }
};
} // namespace

void mlir::bpt::registerTransformDialectExtension(DialectRegistry &registry) {
  registry.addExtensions<BPTTransformDialectExtension>();
}
