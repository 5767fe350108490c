//===- InnermostContiguousLoop.cpp - Unit-stride innermost loops ----------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTINNERMOSTCONTIGUOUSLOOP
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;

/// The loop that indexes the last dimension of the most operands (ties go
/// to the loop that is innermost already), or nullopt if that is the
/// innermost loop.
static std::optional<unsigned> bestInnermostLoop(linalg::GenericOp op) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<int> votes(numLoops, 0);
  for (AffineMap map : op.getIndexingMapsArray()) {
    if (map.getNumResults() == 0)
      continue;
    if (auto dim = dyn_cast<AffineDimExpr>(map.getResults().back()))
      ++votes[dim.getPosition()];
  }
  unsigned best = numLoops - 1;
  for (unsigned i = 0; i < numLoops; ++i)
    if (votes[i] > votes[best])
      best = i;
  if (best == numLoops - 1)
    return std::nullopt;
  return best;
}

namespace {
struct BPTInnermostContiguousLoopPass
    : public bpt::impl::BPTInnermostContiguousLoopBase<
          BPTInnermostContiguousLoopPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      std::optional<unsigned> inner = bestInnermostLoop(op);
      if (!inner)
        continue;
      // interchangeVector[i] = the old loop that becomes loop i.
      SmallVector<unsigned> order;
      for (unsigned i = 0, e = op.getNumLoops(); i < e; ++i)
        if (i != *inner)
          order.push_back(i);
      order.push_back(*inner);
      rewriter.setInsertionPoint(op);
      (void)linalg::interchangeGenericOp(rewriter, op, order);
    }
  }
};
} // namespace
