//===- GPUOffload.cpp - The rest of a bufferized GPU program onto the GPU -===//
//
// After --bpt-gpu-attention and bufferization, a GPU program's host
// functions hold kernel launches and whatever else the program computes:
// the log-sum-exp merges of ring attention, fills, casts, copies into send
// buffers, projections. All of its memrefs are device memory. This pass
// puts the rest there as well, with upstream's machinery:
//
//   memref.alloc / dealloc   -> gpu.alloc / gpu.dealloc
//   memref.get_global        -> a device copy made at the function's entry
//   memref.copy              -> gpu.memcpy when both sides are contiguous,
//                               else a linalg.copy (next line)
//   linalg ops               -> scf.parallel (linalgOpToParallelLoops), all
//                               parallel dimensions collapsed into one,
//                               tiled by 256 (threads) and mapped to
//                               blocks x threads, then gpu.launch
//                               (SCFToGPU); reductions stay sequential
//                               loops inside each thread
//
// These kernels are plain (one element per thread): right for the
// elementwise work around attention. 2-D f16/bf16 contractions (the
// projections, the FFN) run instead as tensor-core kernels
// (GPUContraction.cpp) unless `tensor-cores` is off.
// Anything else that would read or write device memory on the host
// (memref.load, memref.store, a call, an op this pass does not know) is an
// error naming the op.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "mlir/Conversion/SCFToGPU/SCFToGPU.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

#include <numeric>

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTEXPANDDEALLOCS
#define GEN_PASS_DEF_BPTGPUOFFLOAD
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;

/// Threads per block of the offloaded kernels.
static constexpr int64_t kThreads = 256;

namespace {
struct BPTGPUOffloadPass
    : public bpt::impl::BPTGPUOffloadBase<BPTGPUOffloadPass> {
  using Base::Base;
  void runOnOperation() override;
};

/// bufferization.dealloc as scalar code: for memref i with condition c_i,
///   free_i  = c_i and not (m_i is some retained r_j)
///                 and not (m_i is an earlier m_k with c_k)
///   owns_j  = or_i (c_i and m_i is r_j)      (the op's results)
/// with "is" comparing aligned base pointers, and `scf.if free_i`
/// around a memref.dealloc. Upstream lowers deallocations of several
/// memrefs through a helper function that stores the pointers into host
/// buffers, which a program whose buffers are device memory cannot have.
struct ExpandDealloc : public OpRewritePattern<bufferization::DeallocOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(bufferization::DeallocOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto pointers = [&](ValueRange memrefs) {
      return llvm::map_to_vector(memrefs, [&](Value m) -> Value {
        return memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, m);
      });
    };
    SmallVector<Value> owned = pointers(op.getMemrefs());
    SmallVector<Value> retained = pointers(op.getRetained());
    auto i1 = [&](bool v) {
      return arith::ConstantIntOp::create(rewriter, loc, v, 1).getResult();
    };
    auto same = [&](Value a, Value b) {
      return arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, a,
                                   b)
          .getResult();
    };
    auto both = [&](Value a, Value b) {
      return arith::AndIOp::create(rewriter, loc, a, b).getResult();
    };
    auto either = [&](Value a, Value b) {
      return arith::OrIOp::create(rewriter, loc, a, b).getResult();
    };
    SmallVector<Value> owns(retained.size(), i1(false));
    ValueRange conditions = op.getConditions();
    for (auto [i, memref] : llvm::enumerate(op.getMemrefs())) {
      Value keep = i1(false);
      for (auto [j, r] : llvm::enumerate(retained)) {
        Value is = same(owned[i], r);
        owns[j] = either(owns[j], both(conditions[i], is));
        keep = either(keep, is);
      }
      for (size_t k = 0; k < i; ++k)
        keep = either(keep, both(conditions[k], same(owned[k], owned[i])));
      Value free = both(conditions[i],
                        arith::XOrIOp::create(rewriter, loc, keep, i1(true)));
      auto ifOp = scf::IfOp::create(rewriter, loc, free, /*else=*/false);
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(ifOp.thenBlock());
      memref::DeallocOp::create(rewriter, loc, memref);
    }
    rewriter.replaceOp(op, owns);
    return success();
  }
};

struct BPTExpandDeallocsPass
    : public bpt::impl::BPTExpandDeallocsBase<BPTExpandDeallocsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandDealloc>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};
} // namespace

namespace {
/// The ops a rewriter erased (a contraction with a fused epilogue erases
/// ops collected for later).
struct ErasedOps : public RewriterBase::Listener {
  void notifyOperationErased(Operation *op) override { ops.insert(op); }
  llvm::DenseSet<Operation *> ops;
};
} // namespace

/// A contiguous memref gpu.memcpy can take: identity layout, or a cast of
/// one (the to_buffer of a function argument).
static Value contiguous(Value v) {
  if (auto cast = v.getDefiningOp<memref::CastOp>())
    v = cast.getSource();
  auto type = cast<MemRefType>(v.getType());
  return type.getLayout().isIdentity() ? v : Value();
}

/// `%t = gpu.wait async`: a fresh stream for one asynchronous op.
static Value newStream(OpBuilder &b, Location loc) {
  return gpu::WaitOp::create(b, loc, gpu::AsyncTokenType::get(b.getContext()),
                             ValueRange{})
      .getAsyncToken();
}

/// `gpu.wait [%t]`: the host waits for the op.
static void await(OpBuilder &b, Location loc, Value token) {
  gpu::WaitOp::create(b, loc, Type(), ValueRange{token});
}

/// Frees a device buffer; the host waits for it.
static void deviceFree(OpBuilder &b, Location loc, Value memref) {
  auto free =
      gpu::DeallocOp::create(b, loc, gpu::AsyncTokenType::get(b.getContext()),
                             ValueRange{newStream(b, loc)}, memref);
  await(b, loc, free.getAsyncToken());
}

/// memref.copy as gpu.memcpy, or as a linalg.copy kernel when a side is
/// strided.
static void offloadCopy(IRRewriter &rewriter, memref::CopyOp copy) {
  Location loc = copy.getLoc();
  rewriter.setInsertionPoint(copy);
  Value src = contiguous(copy.getSource()), dst = contiguous(copy.getTarget());
  if (src && dst) {
    Value token = newStream(rewriter, loc);
    auto memcpy = gpu::MemcpyOp::create(
        rewriter, loc, gpu::AsyncTokenType::get(rewriter.getContext()),
        ValueRange{token}, dst, src);
    await(rewriter, loc, memcpy.getAsyncToken());
  } else {
    linalg::CopyOp::create(rewriter, loc, copy.getSource(), copy.getTarget());
  }
  rewriter.eraseOp(copy);
}

/// A linalg op on buffers as an scf.parallel loop nest.
static LogicalResult toParallelLoops(IRRewriter &rewriter,
                                     linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics())
    return op->emitError("bpt-gpu-offload: the op still computes on tensors "
                         "(bufferize the program first)");
  if (op.getNumParallelLoops() == 0)
    return op->emitError("bpt-gpu-offload: the op has no parallel dimension "
                         "to spread over GPU threads (a full reduction)");
  rewriter.setInsertionPoint(op);
  if (failed(linalg::linalgOpToParallelLoops(rewriter, op)))
    return op->emitError("bpt-gpu-offload: cannot generate loops for the op");
  rewriter.eraseOp(op);
  return success();
}

/// The scf.parallel ops on the host that are not inside another one.
static SmallVector<scf::ParallelOp> outermostParallelLoops(func::FuncOp func) {
  SmallVector<scf::ParallelOp> loops;
  func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      loops.push_back(loop);
      return WalkResult::skip();
    }
    return isa<gpu::LaunchOp>(op) ? WalkResult::skip() : WalkResult::advance();
  });
  return loops;
}

/// One scf.parallel as blocks of kThreads threads over its collapsed
/// iteration space, marked for SCFToGPU; none when it is empty.
static void mapToBlocksAndThreads(IRRewriter &rewriter, scf::ParallelOp loop) {
  MLIRContext *ctx = rewriter.getContext();
  // CUDA refuses a launch of no block: a loop with no iteration is no
  // kernel (an op over an empty buffer does nothing), and one whose size is
  // known only at run time launches only when it has some.
  std::optional<int64_t> iterations = 1;
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> lo = getConstantIntValue(lb),
                           hi = getConstantIntValue(ub),
                           st = getConstantIntValue(step);
    if (!lo || !hi || !st) {
      iterations = std::nullopt;
      break;
    }
    *iterations *= std::max<int64_t>(0, llvm::divideCeil(*hi - *lo, *st));
  }
  if (iterations == 0) {
    rewriter.eraseOp(loop);
    return;
  }
  if (loop.getNumLoops() > 1) {
    std::vector<unsigned> all(loop.getNumLoops());
    std::iota(all.begin(), all.end(), 0);
    rewriter.setInsertionPoint(loop);
    // collapseParallelLoops replaces the loop: find its replacement by its
    // position after the op before it.
    Operation *before = loop->getPrevNode();
    Block *block = loop->getBlock();
    collapseParallelLoops(rewriter, loop, {all});
    Operation *next = before ? before->getNextNode() : &block->front();
    while (!isa<scf::ParallelOp>(next))
      next = next->getNextNode();
    loop = cast<scf::ParallelOp>(next);
  }
  if (!iterations) {
    rewriter.setInsertionPoint(loop);
    Value any = arith::CmpIOp::create(
        rewriter, loop.getLoc(), arith::CmpIPredicate::sgt,
        loop.getUpperBound()[0], loop.getLowerBound()[0]);
    auto ifOp =
        scf::IfOp::create(rewriter, loop.getLoc(), any, /*withElse=*/false);
    rewriter.moveOpBefore(loop, ifOp.thenBlock()->getTerminator());
  }
  auto [outer, inner] =
      scf::tileParallelLoop(loop, {kThreads}, /*noMinMaxBounds=*/true);
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  (void)gpu::setMappingAttr(outer, {gpu::ParallelLoopDimMappingAttr::get(
                                       ctx, gpu::Processor::BlockX, id, id)});
  (void)gpu::setMappingAttr(inner, {gpu::ParallelLoopDimMappingAttr::get(
                                       ctx, gpu::Processor::ThreadX, id, id)});
}

/// memref.alloc / memref.dealloc as their GPU forms.
static void offloadAllocations(IRRewriter &rewriter, func::FuncOp func) {
  Type tokenTy = gpu::AsyncTokenType::get(rewriter.getContext());
  func.walk([&](memref::AllocOp alloc) {
    Location loc = alloc.getLoc();
    rewriter.setInsertionPoint(alloc);
    Value token = newStream(rewriter, loc);
    auto device = gpu::AllocOp::create(
        rewriter, loc, alloc.getType(), tokenTy, ValueRange{token},
        alloc.getDynamicSizes(), alloc.getSymbolOperands());
    await(rewriter, loc, device.getAsyncToken());
    rewriter.replaceOp(alloc, device.getMemref());
  });
  func.walk([&](memref::DeallocOp dealloc) {
    rewriter.setInsertionPoint(dealloc);
    deviceFree(rewriter, dealloc.getLoc(), dealloc.getMemref());
    rewriter.eraseOp(dealloc);
  });
}

/// Constant buffers (memref.get_global, host memory) as device copies made
/// once per global at the function's entry and freed at its returns.
static void offloadGlobals(IRRewriter &rewriter, func::FuncOp func) {
  SmallVector<memref::GetGlobalOp> globals;
  func.walk([&](memref::GetGlobalOp op) {
    if (!op->getParentOfType<gpu::LaunchOp>())
      globals.push_back(op);
  });
  Type tokenTy = gpu::AsyncTokenType::get(rewriter.getContext());
  llvm::DenseMap<Attribute, Value> copies;
  for (memref::GetGlobalOp global : globals) {
    if (Value copy = copies.lookup(global.getNameAttr())) {
      rewriter.replaceOp(global, copy);
      continue;
    }
    Location loc = global.getLoc();
    rewriter.setInsertionPointToStart(&func.getBody().front());
    auto host = cast<memref::GetGlobalOp>(rewriter.clone(*global));
    Value token = newStream(rewriter, loc);
    auto device =
        gpu::AllocOp::create(rewriter, loc, host.getType(), tokenTy,
                             ValueRange{token}, ValueRange{}, ValueRange{});
    auto copy = gpu::MemcpyOp::create(rewriter, loc, tokenTy,
                                      ValueRange{device.getAsyncToken()},
                                      device.getMemref(), host);
    await(rewriter, loc, copy.getAsyncToken());
    copies[global.getNameAttr()] = device.getMemref();
    rewriter.replaceOp(global, device.getMemref());
    func.walk([&](func::ReturnOp ret) {
      if (llvm::is_contained(ret.getOperands(), device.getMemref()))
        return; // The caller owns it.
      rewriter.setInsertionPoint(ret);
      deviceFree(rewriter, ret.getLoc(), device.getMemref());
    });
  }
}

/// Ops that may stay on the host of a program whose memory is on the
/// device: they do not touch the elements of a buffer (or, for MPI and
/// bpt.hold, hand device buffers to a device-aware transport).
static bool allowedOnHost(Operation *op) {
  if (isa<gpu::GPUDialect, mpi::MPIDialect>(op->getDialect()))
    return true;
  if (isa<memref::CastOp, memref::SubViewOp, memref::ExpandShapeOp,
          memref::CollapseShapeOp, memref::ReinterpretCastOp, memref::ViewOp,
          memref::TransposeOp, memref::DimOp, memref::ExtractStridedMetadataOp,
          memref::ExtractAlignedPointerAsIndexOp, memref::GetGlobalOp,
          arith::SelectOp, bpt::HoldOp>(op))
    return true;
  // A tensor map describes device memory on the host; it reads none.
  if (isa<nvgpu::TmaCreateDescriptorOp>(op))
    return true;
  // Control flow passes buffers along without reading them.
  if (isa<RegionBranchOpInterface, RegionBranchTerminatorOpInterface,
          BranchOpInterface>(op) ||
      op->hasTrait<OpTrait::ReturnLike>())
    return true;
  // Scalars and the like: no buffer operand or result.
  auto isBuffer = [](Type t) { return isa<BaseMemRefType>(t); };
  return llvm::none_of(op->getOperandTypes(), isBuffer) &&
         llvm::none_of(op->getResultTypes(), isBuffer) &&
         !isa<CallOpInterface>(op);
}

void BPTGPUOffloadPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  IRRewriter rewriter(ctx);
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) { copies.push_back(copy); });
    for (memref::CopyOp copy : copies)
      offloadCopy(rewriter, copy);

    // Contractions first (a fused epilogue takes the fill and the consumer
    // with it), then every other linalg op as a plain kernel.
    if (tensorCores) {
      SmallVector<linalg::LinalgOp> contractions;
      func.walk([&](linalg::LinalgOp op) {
        if (op.hasPureBufferSemantics() && op.getNumReductionLoops() > 0)
          contractions.push_back(op);
      });
      ErasedOps erased;
      rewriter.setListener(&erased);
      for (linalg::LinalgOp op : contractions) {
        if (erased.ops.contains(op))
          continue;
        std::string why;
        if (failed(bpt::launchContractionOnTensorCores(rewriter, op, why,
                                                       wgmma)) &&
            !why.empty())
          op->emitRemark() << "bpt-gpu-offload: runs as a plain kernel, not "
                              "on tensor cores: "
                           << why;
      }
      rewriter.setListener(nullptr);
    }
    SmallVector<linalg::LinalgOp> linalgOps;
    func.walk([&](linalg::LinalgOp op) { linalgOps.push_back(op); });
    for (linalg::LinalgOp op : linalgOps)
      if (failed(toParallelLoops(rewriter, op)))
        return signalPassFailure();

    for (scf::ParallelOp loop : outermostParallelLoops(func))
      mapToBlocksAndThreads(rewriter, loop);
    RewritePatternSet patterns(ctx);
    populateParallelLoopToGPUPatterns(patterns);
    ConversionTarget target(*ctx);
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    configureParallelLoopToGPULegality(target);
    if (failed(applyPartialConversion(func, target, std::move(patterns)))) {
      func.emitError("bpt-gpu-offload: a parallel loop could not become a "
                     "GPU kernel");
      return signalPassFailure();
    }
    finalizeParallelLoopToGPUConversion(func);

    offloadAllocations(rewriter, func);
    offloadGlobals(rewriter, func);

    WalkResult walk = func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (op == func.getOperation() || allowedOnHost(op))
        return WalkResult::advance();
      op->emitError() << "'" << op->getName()
                      << "' would run on the host against device memory: "
                         "bpt-gpu-offload moves only linalg ops, copies and "
                         "allocations to the GPU";
      return WalkResult::interrupt();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
  }
}
