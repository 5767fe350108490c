//===- GPUStream.cpp - A GPU program's work on one stream per call --------===//
//
// --bpt-gpu-offload leaves every device operation synchronous: each
// allocation, free, copy and launch gets a stream of its own and the host
// waits for it (a launch without a token is lowered that way too). That is
// simple and safe, but each wait costs a round trip to the device, and a
// transformer block makes dozens of launches per call. Here the operations
// of a host function go, in program order, onto one stream made at its
// entry, and the host waits once, before each return: CUDA runs the work of
// a stream in order, so each kernel still sees what the ones before it
// wrote, and stream-ordered allocation (cuMemAllocAsync / cuMemFreeAsync)
// keeps a buffer's memory until the work before its free is done. Nothing
// on the host reads device memory in these programs (--bpt-gpu-offload
// refuses it), so nothing else needs a wait.
//
// A function that does anything else with side effects on the host (a
// call, an MPI or NCCL exchange of ring attention, a host load or store,
// host-shared memory) or whose body has several blocks is left as it is:
// what it calls may expect the device work before it to be done.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTGPUSTREAM
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;

namespace {

/// The op that stops `func` from running on one stream, or null; `why`
/// says why. A body of several blocks is one too (the chain follows one
/// block and the regions of its ops; branches are not followed).
Operation *orderingHazard(func::FuncOp func, StringRef &why) {
  if (!func.getBody().hasOneBlock()) {
    why = "its body has several blocks";
    return func.getBody().back().getTerminator();
  }
  Operation *hazard = nullptr;
  func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op == func.getOperation())
      return WalkResult::advance();
    // Host-shared memory is read by the host (and its allocation cannot be
    // asynchronous).
    if (auto alloc = dyn_cast<gpu::AllocOp>(op);
        alloc && alloc.getHostShared()) {
      why = "the host reads host-shared memory";
      hazard = op;
      return WalkResult::interrupt();
    }
    // Device work and what the host computes without touching memory.
    if (isa<gpu::GPUDialect>(op->getDialect()))
      return isa<gpu::LaunchOp>(op) ? WalkResult::skip()
                                    : WalkResult::advance();
    // A tensor map describes device memory; it reads none.
    if (isa<nvgpu::TmaCreateDescriptorOp>(op) || isMemoryEffectFree(op) ||
        isa<RegionBranchOpInterface, RegionBranchTerminatorOpInterface>(op) ||
        op->hasTrait<OpTrait::ReturnLike>())
      return WalkResult::advance();
    why = "this host op may need the device work before it done";
    hazard = op;
    return WalkResult::interrupt();
  });
  return hazard;
}

/// `op`'s async dependencies replaced by `token` alone.
void dependOn(Operation *op, Value token) {
  auto set = [&](MutableOperandRange deps) { deps.assign(token); };
  if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op))
    set(launch.getAsyncDependenciesMutable());
  else if (auto launch = dyn_cast<gpu::LaunchOp>(op))
    set(launch.getAsyncDependenciesMutable());
  else if (auto alloc = dyn_cast<gpu::AllocOp>(op))
    set(alloc.getAsyncDependenciesMutable());
  else if (auto dealloc = dyn_cast<gpu::DeallocOp>(op))
    set(dealloc.getAsyncDependenciesMutable());
  else if (auto memcpy = dyn_cast<gpu::MemcpyOp>(op))
    set(memcpy.getAsyncDependenciesMutable());
  else if (auto memset = dyn_cast<gpu::MemsetOp>(op))
    set(memset.getAsyncDependenciesMutable());
  else
    gpu::addAsyncDependency(op, token);
}

/// `op` (a synchronous device operation) made asynchronous: a clone that
/// also returns a token.
Operation *makeAsync(OpBuilder &b, Operation *op) {
  SmallVector<Type> types(op->getResultTypes());
  types.push_back(gpu::AsyncTokenType::get(op->getContext()));
  b.setInsertionPoint(op);
  OperationState state(op->getLoc(), op->getName(), op->getOperands(), types,
                       op->getAttrs(), op->getSuccessors());
  state.propertiesAttr = op->getPropertiesAsAttribute();
  for (Region &region : op->getRegions())
    state.addRegion()->takeBody(region);
  Operation *async = b.create(state);
  op->replaceAllUsesWith(async->getResults().drop_back());
  op->erase();
  return async;
}

struct BPTGPUStreamPass : public bpt::impl::BPTGPUStreamBase<BPTGPUStreamPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      StringRef why;
      if (Operation *hazard = orderingHazard(func, why)) {
        hazard->emitRemark()
            << "bpt-gpu-stream: '" << func.getName()
            << "' keeps a host wait per device operation: " << why;
        continue;
      }
      runOnFunction(func);
    }
  }

  void runOnFunction(func::FuncOp func) {
    OpBuilder b(func.getContext());
    Type tokenTy = gpu::AsyncTokenType::get(func.getContext());
    // The waits that gave each operation a stream of its own go: the host
    // waits (now), then the streams they made (once nothing depends on
    // them any more).
    SmallVector<gpu::WaitOp> waits;
    func.walk([&](gpu::WaitOp wait) { waits.push_back(wait); });
    SmallVector<gpu::WaitOp> streams;
    for (gpu::WaitOp wait : waits) {
      if (wait.getAsyncToken())
        streams.push_back(wait);
      else
        wait->erase();
    }
    b.setInsertionPointToStart(&func.getBody().front());
    Value stream = gpu::WaitOp::create(b, func.getLoc(), tokenTy, ValueRange{})
                       .getAsyncToken();
    chain(b, func.getBody().front(), stream, /*top=*/true);
    for (gpu::WaitOp wait : streams) {
      wait.getAsyncToken().replaceAllUsesWith(stream);
      wait->erase();
    }
  }

  /// Makes the device operations of `block` a chain: each depends on the
  /// one before it, the first on `token` (the operation before the region
  /// that holds `block`, on the same stream). Ops in nested regions chain
  /// from the token before their region op; they run on the same stream,
  /// which orders them after it, and what follows the region after them.
  /// In the function's body, the host waits for the last op before each
  /// return.
  void chain(OpBuilder &b, Block &block, Value token, bool top) {
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (isa<gpu::WaitOp>(op))
        continue;
      if (auto async = dyn_cast<gpu::AsyncOpInterface>(&op)) {
        Operation *now = &op;
        if (!async.getAsyncToken())
          now = makeAsync(b, now);
        dependOn(now, token);
        token = cast<gpu::AsyncOpInterface>(now).getAsyncToken();
        continue;
      }
      for (Region &region : op.getRegions())
        for (Block &inner : region)
          chain(b, inner, token, /*top=*/false);
      if (top && isa<func::ReturnOp>(op)) {
        b.setInsertionPoint(&op);
        gpu::WaitOp::create(b, op.getLoc(), Type(), ValueRange{token});
      }
    }
  }
};

} // namespace
