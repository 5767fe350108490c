//===- EmitCInterface.cpp - Mark functions for the C interface ------------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTEMITCINTERFACE
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;

namespace {
struct BPTEmitCInterfacePass
    : public bpt::impl::BPTEmitCInterfaceBase<BPTEmitCInterfacePass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal())
        func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                      UnitAttr::get(&getContext()));
  }
};
} // namespace
