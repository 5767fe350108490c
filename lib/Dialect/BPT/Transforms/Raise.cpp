//===- Raise.cpp - The raising pipeline -----------------------------------===//
//
// --bpt-raise runs the raising passes in the order their results build on
// each other: attention first (the anchor of a block), then the FFN, then
// the block unit around them.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTDialect.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/PassManager.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTRAISE
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;
using namespace mlir::bpt;

namespace {

struct BPTRaisePass : public bpt::impl::BPTRaiseBase<BPTRaisePass> {
  using BPTRaiseBase::BPTRaiseBase;

  void runOnOperation() override {
    OpPassManager pm(getOperation()->getName());
    pm.addPass(createBPTRaiseAttention(BPTRaiseAttentionOptions{remarks}));
    pm.addPass(createBPTRaiseFFN(BPTRaiseFFNOptions{remarks}));
    pm.addPass(createBPTRaiseBlock(BPTRaiseBlockOptions{remarks}));
    if (failed(runPipeline(pm, getOperation())))
      return signalPassFailure();
  }
};

} // namespace
