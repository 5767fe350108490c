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
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MPIToLLVM/MPIToLLVM.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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

  /// The first byte and the byte count of a contiguous memref.
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
    count = LLVM::TruncOp::create(rewriter, loc, i32(), count);
    return success();
  }
};

/// mpi.isend / mpi.irecv: MPI_Isend / MPI_Irecv(buf, count, MPI_BYTE, peer,
/// tag, comm, &request).
template <typename Op>
struct NonBlockingLowering : public OpenMPIPattern<Op> {
  using OpenMPIPattern<Op>::OpenMPIPattern;
  static constexpr bool isSend = std::is_same_v<Op, mpi::ISendOp>;

  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value ptr, count;
    if (failed(this->bytes(rewriter, op, op.getRef().getType(),
                           adaptor.getRef(), ptr, count)))
      return failure();
    Value byte = openMPIGlobal(rewriter, op, "ompi_mpi_byte",
                               "ompi_predefined_datatype_t");
    Value request = stackSlot(rewriter, loc, this->ptrType());
    Type p = this->ptrType(), i = this->i32();
    auto fnType = LLVM::LLVMFunctionType::get(i, {p, i, p, i, i, p, p});
    LLVM::LLVMFuncOp fn = declareFunction(
        rewriter, op, isSend ? "MPI_Isend" : "MPI_Irecv", fnType);
    Value peer;
    if constexpr (isSend)
      peer = adaptor.getDest();
    else
      peer = adaptor.getSource();
    auto call = LLVM::CallOp::create(
        rewriter, loc, fn,
        ValueRange{ptr, count, byte, peer, adaptor.getTag(),
                   this->comm(rewriter, loc, adaptor.getComm()), request});
    SmallVector<Value> results;
    if (op.getRetval())
      results.push_back(call.getResult());
    results.push_back(request);
    rewriter.replaceOp(op, results);
    return success();
  }
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

struct BPTConvertMPIToLLVMPass
    : public bpt::impl::BPTConvertMPIToLLVMBase<BPTConvertMPIToLLVMPass> {
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
                 NonBlockingLowering<mpi::IRecvOp>, WaitLowering,
                 CommSizeLowering>(converter);
    ConversionTarget target(*ctx);
    target.addLegalDialect<LLVM::LLVMDialect>();
    target.addIllegalDialect<mpi::MPIDialect>();
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
