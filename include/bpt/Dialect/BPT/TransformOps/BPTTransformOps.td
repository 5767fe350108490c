//===- BPTTransformOps.td - Transform ops for the bpt rewrites -*- tablegen -*-===//
//
// Schedules written in the transform dialect can apply the bpt rewrites to
// the ops they choose, with their own block sizes; --bpt-blockwise is the
// default schedule built from the same functions.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_DIALECT_BPT_TRANSFORMOPS_BPTTRANSFORMOPS_TD
#define BPT_DIALECT_BPT_TRANSFORMOPS_BPTTRANSFORMOPS_TD

include "mlir/Dialect/Transform/IR/TransformDialect.td"
include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.td"
include "mlir/Dialect/Transform/IR/TransformTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

class BPT_TransformOp<string mnemonic, list<Trait> traits = []>
    : Op<Transform_Dialect, "bpt." # mnemonic, !listconcat(traits, [
        FunctionalStyleTransformOpTrait, MemoryEffectsOpInterface,
        TransformOpInterface, TransformEachOpTrait,
        ReportTrackingListenerFailuresOpTrait])> {
  let assemblyFormat =
      "$target attr-dict `:` functional-type(operands, results)";
}

def LowerToOnlineSoftmaxOp : BPT_TransformOp<"lower_to_online_softmax"> {
  let summary = "Lower bpt.attention to the online-softmax key/value loop";
  let description = [{
    Replaces each targeted `bpt.attention` (typically a query tile made by
    `transform.structured.tile_using_forall`) by an `scf.for` over blocks of
    `kv_block` keys carrying the running max, running sum and f32
    accumulator, as `--bpt-blockwise` does. Returns the loops. Fails
    (silenceably) on ops that are not `bpt.attention`.
  }];
  let arguments = (ins TransformHandleTypeInterface:$target,
                       DefaultValuedAttr<I64Attr, "128">:$kv_block);
  let results = (outs TransformHandleTypeInterface:$loop);
  let extraClassDeclaration = [{
    ::mlir::DiagnosedSilenceableFailure applyToOne(
        ::mlir::transform::TransformRewriter &rewriter,
        ::mlir::Operation *target,
        ::mlir::transform::ApplyToEachResultList &results,
        ::mlir::transform::TransformState &state);
  }];
}

def FuseBlockOp : BPT_TransformOp<"fuse_block"> {
  let summary = "Compute a bpt.block per block of query rows and inline it";
  let description = [{
    Computes each targeted `bpt.block` per block of `q_block` query rows
    (upstream tile-and-fuse of the op producing its result, keys and values
    computed once before the loop), then inlines the block. Returns the
    loop over query blocks. A block that cannot be fused gives a silenceable
    failure with the reason, and is inlined unfused.
  }];
  let arguments = (ins TransformHandleTypeInterface:$target,
                       DefaultValuedAttr<I64Attr, "64">:$q_block);
  let results = (outs TransformHandleTypeInterface:$loop);
  let extraClassDeclaration = [{
    ::mlir::DiagnosedSilenceableFailure applyToOne(
        ::mlir::transform::TransformRewriter &rewriter,
        ::mlir::Operation *target,
        ::mlir::transform::ApplyToEachResultList &results,
        ::mlir::transform::TransformState &state);
  }];
}

def TileFFNOp : BPT_TransformOp<"tile_ffn"> {
  let summary = "Tile bpt.ffn into row blocks and hidden chunks and lower it";
  let description = [{
    Tiles each targeted `bpt.ffn` into blocks of `row_block` rows and
    chunks of `ffn_chunk` hidden units (accumulating in f32), and gives each
    chunk its reference lowering, as `--bpt-blockwise` does. Returns the
    loop over chunks.
  }];
  let arguments = (ins TransformHandleTypeInterface:$target,
                       DefaultValuedAttr<I64Attr, "64">:$row_block,
                       DefaultValuedAttr<I64Attr, "256">:$ffn_chunk);
  let results = (outs TransformHandleTypeInterface:$loop);
  let extraClassDeclaration = [{
    ::mlir::DiagnosedSilenceableFailure applyToOne(
        ::mlir::transform::TransformRewriter &rewriter,
        ::mlir::Operation *target,
        ::mlir::transform::ApplyToEachResultList &results,
        ::mlir::transform::TransformState &state);
  }];
}

#endif // BPT_DIALECT_BPT_TRANSFORMOPS_BPTTRANSFORMOPS_TD
