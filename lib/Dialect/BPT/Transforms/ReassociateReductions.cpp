//===- ReassociateReductions.cpp - Fast-math flags on reductions ----------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTREASSOCIATEREDUCTIONS
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;

namespace {
struct BPTReassociateReductionsPass
    : public bpt::impl::BPTReassociateReductionsBase<
          BPTReassociateReductionsPass> {
  void runOnOperation() override {
    auto flags = arith::FastMathFlagsAttr::get(
        &getContext(),
        arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (op.getNumReductionLoops() == 0)
        return;
      // Only the arithmetic that LLVM reassociates; conversions keep none.
      op->walk([&](Operation *inner) {
        if (isa<arith::AddFOp, arith::MulFOp, arith::SubFOp,
                arith::MaximumFOp, arith::MinimumFOp>(inner))
          inner->setAttr(
              cast<arith::ArithFastMathInterface>(inner).getFastMathAttrName(),
              flags);
      });
    });
  }
};
} // namespace
