//===- MPIToLLVM.cpp - The mpi ops of ring attention to OpenMPI calls -----===//
//
// Upstream converts mpi.comm_world, comm_rank, send, recv, allreduce, init
// and finalize to MPI calls. Ring attention also needs the non-blocking
// mpi.isend, mpi.irecv and mpi.wait and mpi.comm_size, which upstream does
// not lower yet: they are converted here, for the OpenMPI ABI (the MPI of
// the Debian packages), with upstream's patterns for the rest.
//
// A buffer is sent as the bytes of its elements (MPI_BYTE), so f16 and bf16
// travel as well as f32; it must have the identity layout (contiguous).
// !mpi.request becomes a pointer to a stack slot holding the MPI_Request.
//
// With engine=nccl the transfers of ring attention on GPUs go through NCCL
// (runtime/nccl/bpt_nccl_runtime.c) instead; see the pass description.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MPIToLLVM/MPIToLLVM.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTCONVERTMPITOLLVM
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;

/// Whether the module asks for another MPI than OpenMPI.
static bool isOpenMPI(ModuleOp module) {
  FailureOr<Attribute> impl =
      dlti::query(module, {"MPI:Implementation"}, /*emitError=*/false);
  auto name = succeeded(impl) ? dyn_cast<StringAttr>(*impl) : StringAttr();
  return name && name.getValue() == "OpenMPI";
}

/// The external function `name` of `type`, declared once per module.
static LLVM::LLVMFuncOp declareFunction(ConversionPatternRewriter &rewriter,
                                        Operation *op, StringRef name,
                                        LLVM::LLVMFunctionType type) {
  auto module = op->getParentOfType<ModuleOp>();
  if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return fn;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(module.getBody());
  return LLVM::LLVMFuncOp::create(rewriter, op->getLoc(), name, type);
}

/// The address of the OpenMPI predefined object `name` (an opaque global).
static Value openMPIGlobal(ConversionPatternRewriter &rewriter, Operation *op,
                           StringRef name, StringRef structName) {
  auto module = op->getParentOfType<ModuleOp>();
  MLIRContext *ctx = rewriter.getContext();
  if (!module.lookupSymbol<LLVM::GlobalOp>(name)) {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(module.getBody());
    LLVM::GlobalOp::create(rewriter, op->getLoc(),
                           LLVM::LLVMStructType::getOpaque(structName, ctx),
                           /*isConstant=*/false, LLVM::Linkage::External, name,
                           Attribute());
  }
  return LLVM::AddressOfOp::create(rewriter, op->getLoc(),
                                   LLVM::LLVMPointerType::get(ctx), name);
}

/// A stack slot for one value of `type`.
static Value stackSlot(ConversionPatternRewriter &rewriter, Location loc,
                       Type type) {
  Value one = LLVM::ConstantOp::create(rewriter, loc, rewriter.getI64Type(),
                                       rewriter.getI64IntegerAttr(1));
  return LLVM::AllocaOp::create(
      rewriter, loc, LLVM::LLVMPointerType::get(rewriter.getContext()), type,
      one);
}

namespace {
/// Shared parts of the OpenMPI patterns.
template <typename Op>
struct OpenMPIPattern : public ConvertOpToLLVMPattern<Op> {
  using ConvertOpToLLVMPattern<Op>::ConvertOpToLLVMPattern;

  Type ptrType() const {
    return LLVM::LLVMPointerType::get(this->getContext());
  }
  Type i32() const { return IntegerType::get(this->getContext(), 32); }

  /// The communicator (i64 after upstream's type conversion) as the
  /// pointer OpenMPI expects.
  Value comm(ConversionPatternRewriter &rewriter, Location loc,
             Value converted) const {
    return LLVM::IntToPtrOp::create(rewriter, loc, ptrType(), converted);
  }

  /// The first byte and the byte count (i64) of a contiguous memref.
  LogicalResult bytes(ConversionPatternRewriter &rewriter, Operation *op,
                      MemRefType type, Value descriptor, Value &ptr,
                      Value &count) const {
    if (!type.getLayout().isIdentity())
      return rewriter.notifyMatchFailure(
          op, "the buffer has a non-identity layout (not contiguous)");
    Type elem = type.getElementType();
    if (!elem.isIntOrFloat())
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    Location loc = op->getLoc();
    MemRefDescriptor desc(descriptor);
    ptr = desc.bufferPtr(rewriter, loc, *this->getTypeConverter(), type);
    Type i64 = rewriter.getI64Type();
    count = LLVM::ConstantOp::create(
        rewriter, loc, i64,
        rewriter.getI64IntegerAttr(
            llvm::divideCeil(elem.getIntOrFloatBitWidth(), 8)));
    for (int64_t d = 0; d < type.getRank(); ++d)
      count = LLVM::MulOp::create(rewriter, loc, count,
                                  desc.size(rewriter, loc, d));
    return success();
  }
};

/// mpi.isend / mpi.irecv: MPI_Isend / MPI_Irecv(buf, count, MPI_BYTE, peer,
/// tag, comm, &request); with NCCL (device buffers) bptNcclIsend /
/// bptNcclIrecv(buf, bytes, peer) -> request, inside the NCCL group around
/// its run.
template <typename Op>
struct NonBlockingLowering : public OpenMPIPattern<Op> {
  static constexpr bool isSend = std::is_same_v<Op, mpi::ISendOp>;

  NonBlockingLowering(const LLVMTypeConverter &converter, bool nccl)
      : OpenMPIPattern<Op>(converter), nccl(nccl) {}

  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value ptr, count;
    if (failed(this->bytes(rewriter, op, op.getRef().getType(),
                           adaptor.getRef(), ptr, count)))
      return failure();
    Value peer;
    if constexpr (isSend)
      peer = adaptor.getDest();
    else
      peer = adaptor.getSource();
    Type p = this->ptrType(), i = this->i32();
    SmallVector<Value> results;
    if (nccl) {
      auto fnType =
          LLVM::LLVMFunctionType::get(p, {p, rewriter.getI64Type(), i});
      LLVM::LLVMFuncOp fn = declareFunction(
          rewriter, op, isSend ? "bptNcclIsend" : "bptNcclIrecv", fnType);
      auto call = LLVM::CallOp::create(rewriter, loc, fn,
                                       ValueRange{ptr, count, peer});
      if (op.getRetval()) // NCCL errors end the process: success here.
        results.push_back(LLVM::ConstantOp::create(
            rewriter, loc, i, rewriter.getI32IntegerAttr(0)));
      results.push_back(call.getResult());
      rewriter.replaceOp(op, results);
      return success();
    }
    count = LLVM::TruncOp::create(rewriter, loc, i, count);
    Value byte = openMPIGlobal(rewriter, op, "ompi_mpi_byte",
                               "ompi_predefined_datatype_t");
    Value request = stackSlot(rewriter, loc, p);
    auto fnType = LLVM::LLVMFunctionType::get(i, {p, i, p, i, i, p, p});
    LLVM::LLVMFuncOp fn = declareFunction(
        rewriter, op, isSend ? "MPI_Isend" : "MPI_Irecv", fnType);
    auto call = LLVM::CallOp::create(
        rewriter, loc, fn,
        ValueRange{ptr, count, byte, peer, adaptor.getTag(),
                   this->comm(rewriter, loc, adaptor.getComm()), request});
    if (op.getRetval())
      results.push_back(call.getResult());
    results.push_back(request);
    rewriter.replaceOp(op, results);
    return success();
  }

  bool nccl;
};

/// mpi.wait: MPI_Wait(&request, MPI_STATUS_IGNORE).
struct WaitLowering : public OpenMPIPattern<mpi::Wait> {
  using OpenMPIPattern::OpenMPIPattern;

  LogicalResult
  matchAndRewrite(mpi::Wait op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type p = ptrType();
    auto fnType = LLVM::LLVMFunctionType::get(i32(), {p, p});
    LLVM::LLVMFuncOp fn = declareFunction(rewriter, op, "MPI_Wait", fnType);
    Value statusIgnore = LLVM::ZeroOp::create(rewriter, loc, p);
    auto call = LLVM::CallOp::create(rewriter, loc, fn,
                                     ValueRange{adaptor.getReq(), statusIgnore});
    if (op.getRetval())
      rewriter.replaceOp(op, call.getResult());
    else
      rewriter.eraseOp(op);
    return success();
  }
};

/// mpi.comm_size: MPI_Comm_size(comm, &size).
struct CommSizeLowering : public OpenMPIPattern<mpi::CommSizeOp> {
  using OpenMPIPattern::OpenMPIPattern;

  LogicalResult
  matchAndRewrite(mpi::CommSizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type p = ptrType();
    auto fnType = LLVM::LLVMFunctionType::get(i32(), {p, p});
    LLVM::LLVMFuncOp fn =
        declareFunction(rewriter, op, "MPI_Comm_size", fnType);
    Value slot = stackSlot(rewriter, loc, i32());
    auto call = LLVM::CallOp::create(
        rewriter, loc, fn,
        ValueRange{comm(rewriter, loc, adaptor.getComm()), slot});
    Value size = LLVM::LoadOp::create(rewriter, loc, i32(), slot);
    SmallVector<Value> results;
    if (op.getRetval())
      results.push_back(call.getResult());
    results.push_back(size);
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// mpi.wait on an NCCL request: bptNcclWait(request).
struct NcclWaitLowering : public OpenMPIPattern<mpi::Wait> {
  using OpenMPIPattern::OpenMPIPattern;

  LogicalResult
  matchAndRewrite(mpi::Wait op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto fnType = LLVM::LLVMFunctionType::get(i32(), {ptrType()});
    LLVM::LLVMFuncOp fn = declareFunction(rewriter, op, "bptNcclWait", fnType);
    auto call = LLVM::CallOp::create(rewriter, op.getLoc(), fn,
                                     ValueRange{adaptor.getReq()});
    if (op.getRetval())
      rewriter.replaceOp(op, call.getResult());
    else
      rewriter.eraseOp(op);
    return success();
  }
};

/// Whether `op` ends a run of transfers that form one NCCL group: an op
/// that waits, computes on the device or has regions. Allocations and
/// scalar arithmetic between the transfers stay inside the group.
static bool endsGroup(Operation *op) {
  return op->getNumRegions() > 0 ||
         isa<mpi::Wait, gpu::LaunchFuncOp, gpu::LaunchOp, CallOpInterface>(op);
}

/// Brackets each run of mpi.isend / mpi.irecv in a block by calls to
/// bptNcclGroupStart / bptNcclGroupEnd: NCCL issues the sends and receives
/// of a ring step together, so no rank's send waits on a receive that is
/// queued behind it.
static void groupTransfers(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  auto declare = [&](StringRef name) {
    if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
      return fn;
    b.setInsertionPointToStart(module.getBody());
    return LLVM::LLVMFuncOp::create(
        b, module.getLoc(), name,
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {}));
  };
  SmallVector<std::pair<Operation *, Operation *>> runs;
  module.walk([&](Block *block) {
    Operation *first = nullptr, *last = nullptr;
    for (Operation &op : *block) {
      if (isa<mpi::ISendOp, mpi::IRecvOp>(op)) {
        first = first ? first : &op;
        last = &op;
      } else if (first && endsGroup(&op)) {
        runs.emplace_back(first, last);
        first = last = nullptr;
      }
    }
    if (first)
      runs.emplace_back(first, last);
  });
  for (auto [first, last] : runs) {
    LLVM::LLVMFuncOp start = declare("bptNcclGroupStart");
    LLVM::LLVMFuncOp end = declare("bptNcclGroupEnd");
    b.setInsertionPoint(first);
    LLVM::CallOp::create(b, first->getLoc(), start, ValueRange{});
    b.setInsertionPointAfter(last);
    LLVM::CallOp::create(b, last->getLoc(), end, ValueRange{});
  }
}

struct BPTConvertMPIToLLVMPass
    : public bpt::impl::BPTConvertMPIToLLVMBase<BPTConvertMPIToLLVMPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Deallocations are placed: the holds have done their work.
    module.walk([](bpt::HoldOp hold) { hold.erase(); });
    Operation *firstMPI = nullptr;
    module.walk([&](Operation *op) {
      if (!firstMPI && isa<mpi::MPIDialect>(op->getDialect()))
        firstMPI = op;
    });
    if (!firstMPI)
      return;
    if (!isOpenMPI(module)) {
      firstMPI->emitError(
          "bpt-convert-mpi-to-llvm: the module must name OpenMPI as its MPI "
          "(#dlti.map<\"MPI:Implementation\" = \"OpenMPI\">, which "
          "--bpt-ring sets): the lowering targets the OpenMPI ABI only");
      return signalPassFailure();
    }

    bool nccl = engine == "nccl";
    if (!nccl && engine != "mpi") {
      firstMPI->emitError("bpt-convert-mpi-to-llvm: unknown engine '")
          << engine << "' (mpi or nccl)";
      return signalPassFailure();
    }
    if (nccl)
      groupTransfers(module);

    MLIRContext *ctx = &getContext();
    LLVMTypeConverter converter(ctx);
    converter.addConversion([](mpi::RequestType type) {
      return LLVM::LLVMPointerType::get(type.getContext());
    });
    converter.addConversion([](mpi::RetvalType type) {
      return IntegerType::get(type.getContext(), 32);
    });
    RewritePatternSet patterns(ctx);
    mpi::populateMPIToLLVMConversionPatterns(converter, patterns);
    patterns.add<NonBlockingLowering<mpi::ISendOp>,
                 NonBlockingLowering<mpi::IRecvOp>>(converter, nccl);
    if (nccl)
      patterns.add<NcclWaitLowering>(converter);
    else
      patterns.add<WaitLowering>(converter);
    patterns.add<CommSizeLowering>(converter);
    ConversionTarget target(*ctx);
    target.addLegalDialect<LLVM::LLVMDialect>();
    target.addIllegalDialect<mpi::MPIDialect>();
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
