//===- BPTAttrs.td - Attributes of the bpt dialect -------*- tablegen -*-===//

#ifndef BPT_DIALECT_BPT_IR_BPTATTRS_TD
#define BPT_DIALECT_BPT_IR_BPTATTRS_TD

include "bpt/Dialect/BPT/IR/BPTDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def BPT_Activation : I32EnumAttr<"Activation",
    "activation of the feed-forward network", [
      I32EnumAttrCase<"relu", 0>,
      I32EnumAttrCase<"gelu", 1>,
      I32EnumAttrCase<"gelu_tanh", 2>,
      I32EnumAttrCase<"silu", 3>,
      I32EnumAttrCase<"swiglu", 4>,
      I32EnumAttrCase<"geglu", 5>
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::bpt";
}

def BPT_ActivationAttr : EnumAttr<BPT_Dialect, BPT_Activation, "activation">;

#endif // BPT_DIALECT_BPT_IR_BPTATTRS_TD
