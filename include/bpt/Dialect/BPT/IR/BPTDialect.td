//===- BPTDialect.td - The Blockwise Parallel Transformer dialect -*- tablegen -*-===//
//
// The `bpt` dialect holds attention, the feed-forward network and the whole
// attention -> FFN block as single ops on tensors, so that the blockwise
// rewrite can reason about them as units instead of as a graph of matmuls.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_DIALECT_BPT_IR_BPTDIALECT_TD
#define BPT_DIALECT_BPT_IR_BPTDIALECT_TD

include "mlir/IR/OpBase.td"

def BPT_Dialect : Dialect {
  let name = "bpt";
  let cppNamespace = "::mlir::bpt";
  let summary = "Blockwise Parallel Transformer: attention, FFN and the fused block";
  let description = [{
    Ops that describe a transformer block by meaning: `bpt.attention`
    (scaled dot-product attention with masks, causality, sliding windows and
    grouped-query heads), `bpt.ffn` (the position-wise feed-forward network,
    plain or gated) and `bpt.block` (one attention -> FFN block as a unit).
    All ops work on tensors in destination-passing style. `--bpt-decompose`
    gives each op its textbook meaning in linalg; `--bpt-blockwise` turns
    them into the loop nest of the Blockwise Parallel Transformer.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect"
  ];
  let useDefaultAttributePrinterParser = 1;
}

class BPT_Op<string mnemonic, list<Trait> traits = []>
    : Op<BPT_Dialect, mnemonic, traits>;

#endif // BPT_DIALECT_BPT_IR_BPTDIALECT_TD
