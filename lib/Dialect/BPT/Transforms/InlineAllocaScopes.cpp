//===- InlineAllocaScopes.cpp - Drop alloca scopes that scope nothing -----===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTINLINEALLOCASCOPES
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;

namespace {
struct BPTInlineAllocaScopesPass
    : public bpt::impl::BPTInlineAllocaScopesBase<BPTInlineAllocaScopesPass> {
  void runOnOperation() override {
    SmallVector<memref::AllocaScopeOp> scopes;
    getOperation()->walk([&](memref::AllocaScopeOp scope) {
      bool hasAlloca = false;
      scope.getBodyRegion().walk([&](memref::AllocaOp) { hasAlloca = true; });
      if (!hasAlloca && scope.getBodyRegion().hasOneBlock())
        scopes.push_back(scope);
    });
    IRRewriter rewriter(&getContext());
    for (memref::AllocaScopeOp scope : scopes) {
      Block *body = &scope.getBodyRegion().front();
      auto ret = cast<memref::AllocaScopeReturnOp>(body->getTerminator());
      SmallVector<Value> results(ret.getResults());
      rewriter.inlineBlockBefore(body, scope);
      rewriter.eraseOp(ret);
      rewriter.replaceOp(scope, results);
    }
  }
};
} // namespace
