//===- DeallocAfterLastUse.cpp - Free buffers right after their last use --===//
//
// Upstream deallocation places memref.dealloc at the end of the block of
// the allocation. In a transformer block every buffer then lives until the
// function returns, and the peak memory is the sum of all buffers instead
// of the largest set alive at once: what the Blockwise Parallel Transformer
// saves would not show. Moving each deallocation right after the last use
// of the buffer (through every alias) keeps semantics and gives the peak
// its real meaning.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/BufferViewFlowAnalysis.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTDEALLOCAFTERLASTUSE
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;

namespace {

struct BPTDeallocAfterLastUsePass
    : public bpt::impl::BPTDeallocAfterLastUseBase<
          BPTDeallocAfterLastUsePass> {
  void runOnOperation() override {
    SmallVector<memref::DeallocOp> deallocs;
    getOperation()->walk([&](memref::DeallocOp d) { deallocs.push_back(d); });
    if (deallocs.empty())
      return;
    BufferViewFlowAnalysis aliases(getOperation());
    for (memref::DeallocOp dealloc : deallocs) {
      auto alloc = dealloc.getMemref().getDefiningOp<memref::AllocOp>();
      Block *block = dealloc->getBlock();
      if (!alloc || alloc->getBlock() != block)
        continue;
      // The last op of the block that touches the buffer through any alias.
      Operation *last = alloc;
      bool escapes = false;
      for (Value alias : aliases.resolve(alloc.getResult())) {
        for (Operation *user : alias.getUsers()) {
          if (user == dealloc.getOperation())
            continue;
          Operation *top = block->findAncestorOpInBlock(*user);
          if (!top) {
            escapes = true; // used outside this block: leave it alone
            break;
          }
          if (last->isBeforeInBlock(top))
            last = top;
        }
        if (escapes)
          break;
      }
      if (escapes || !last->isBeforeInBlock(dealloc))
        continue;
      dealloc->moveAfter(last);
    }
  }
};

} // namespace
