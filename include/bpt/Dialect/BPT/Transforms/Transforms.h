//===- Transforms.h - Rewrites of the bpt ops as functions ------*- C++ -*-===//
//
// The rewrites behind --bpt-blockwise, callable without the pass: a compiler
// that embeds bpt-mlir (or a transform-dialect schedule) can apply them to
// the ops it chooses.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_DIALECT_BPT_TRANSFORMS_TRANSFORMS_H
#define BPT_DIALECT_BPT_TRANSFORMS_TRANSFORMS_H

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace bpt {

/// Replaces `block` by its body: the body's ops move before it, its
/// arguments become the block's inputs, and its results the yielded values.
void inlineBlock(RewriterBase &rewriter, BlockOp block);

/// Inlines every bpt.block nested in `root` (for passes that work on the
/// block's ops one by one).
void inlineBlocks(RewriterBase &rewriter, Operation *root);

/// Replaces `op` by the online-softmax loop over key/value blocks of
/// `kvBlock` keys (the inner loop of FlashAttention and of the Blockwise
/// Parallel Transformer): an scf.for carrying the running row max m, the
/// running row sum l and the f32 accumulator acc, updated per block j as
///   m' = max(m, rowmax(S_j)); P = exp(S_j - m'); a = exp(m - m')
///   l' = l a + rowsum(P);     acc' = acc a + P V_j
/// and out = acc / l after the loop (0 where l = 0, lse = m + log l). With
/// `causal` (and a window), the loop bounds skip key blocks that no query of
/// the op sees, and only blocks that cross the diagonal (or the window's
/// edge) evaluate the causal test. Returns the loop over key blocks.
FailureOr<scf::ForOp> lowerAttentionToOnlineSoftmax(RewriterBase &rewriter,
                                                    AttentionOp op,
                                                    int64_t kvBlock);

/// Tiles `op` over (batch, query head, query block of `qBlock` rows) with an
/// scf.forall (upstream tiling through TilingInterface); each tile reads the
/// key/value head of its query head. Returns the tiled attention op.
FailureOr<AttentionOp> tileAttentionQueries(RewriterBase &rewriter,
                                            AttentionOp op, int64_t qBlock);

/// Tiles `op` over rows (an scf.forall over blocks of `rowBlock` rows of its
/// last row dimension, single rows of the others) and then its hidden
/// dimension in chunks of `ffnChunk` (an scf.for accumulating into the row
/// tile). Returns the innermost tiled FFN op.
FailureOr<FFNOp> tileFFN(RewriterBase &rewriter, FFNOp op, int64_t rowBlock,
                         int64_t ffnChunk);

/// Computes the whole `block` per block of `qBlock` query rows: tiles the
/// op producing the block's result over rows (scf.forall) and fuses its
/// producers into the loop with upstream tile-and-fuse, through reshapes;
/// the attention, the query path, the norms, the out-projection, the FFN
/// and the residuals become per-query-block computations, while the key and
/// value producers stay before the loop. On failure, emits a remark on the
/// block saying why and returns failure; the IR then still computes the
/// same values (at worst some of it outside the loop). Returns the tiled
/// and fused ops.
FailureOr<SmallVector<Operation *>>
fuseBlockPerQueryBlock(RewriterBase &rewriter, BlockOp block, int64_t qBlock);

/// Raises the attention whose softmax ends at `softmaxRoot` (a
/// linalg.softmax or the last op of a decomposed softmax) to bpt.attention,
/// replacing the contraction with the values. On failure nothing is changed
/// and `whyNot`, when given, says why.
FailureOr<AttentionOp> raiseAttention(RewriterBase &rewriter,
                                      Operation *softmaxRoot,
                                      std::string *whyNot = nullptr);

/// Raises the position-wise FFN whose down projection is `downProjection`
/// (with its biases, activation or gate, and a residual added to its
/// output) to bpt.ffn. On failure nothing is changed and `whyNot`, when
/// given, says why (empty when the op is no FFN's down projection at all).
FailureOr<FFNOp> raiseFFN(RewriterBase &rewriter, Operation *downProjection,
                          std::string *whyNot = nullptr);

/// Moves the transformer layer ending at `ffn` (see --bpt-raise-block) into
/// a bpt.block whose result replaces the FFN's. On failure nothing is
/// changed and `whyNot`, when given, says why.
FailureOr<BlockOp> formBlock(RewriterBase &rewriter, FFNOp ffn,
                             std::string *whyNot = nullptr);

/// Replaces the 2-D contraction `op` on buffers (C[M, N] += A[M, K]
/// B[K, N], operands possibly stored transposed; f16/bf16 operands, or one
/// of them f32 and rounded; f32 accumulation) by a launch of a tensor-core
/// kernel in the module's gpu.module @bpt_kernels. With `warpgroupMma`
/// (sm_90a), an A stored [M, K] and B [K, N] with unit-stride rows of the
/// MMA type run as a TMA + wgmma kernel when 16-byte aligned at run time
/// (the mma.sync kernel otherwise). Failure leaves `op` unchanged; `why` is
/// then empty when `op` is no contraction at all, else the reason it does
/// not run on tensor cores.
LogicalResult launchContractionOnTensorCores(RewriterBase &rewriter,
                                             linalg::LinalgOp op,
                                             std::string &why,
                                             bool warpgroupMma = false);

} // namespace bpt
} // namespace mlir

#endif // BPT_DIALECT_BPT_TRANSFORMS_TRANSFORMS_H
