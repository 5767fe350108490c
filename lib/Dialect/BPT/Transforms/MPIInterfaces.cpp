//===- MPIInterfaces.cpp - Memory effects of the mpi ops on buffers -------===//
//
// Upstream's mpi.isend and mpi.irecv declare no memory effects, and the
// ownership-based buffer deallocation refuses ops with unknown effects on
// buffers. These models state what they do: isend reads its buffer, irecv
// writes it, and both communicate (a write to the default resource, so
// they are never removed as dead); mpi.wait completes a request.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

namespace {
template <typename Op, bool WritesBuffer>
struct BufferEffects
    : public MemoryEffectOpInterface::ExternalModel<
          BufferEffects<Op, WritesBuffer>, Op> {
  void getEffects(Operation *op,
                  SmallVectorImpl<SideEffects::EffectInstance<
                      MemoryEffects::Effect>> &effects) const {
    OpOperand &ref = cast<Op>(op).getRefMutable();
    if (WritesBuffer)
      effects.emplace_back(MemoryEffects::Write::get(), &ref,
                           SideEffects::DefaultResource::get());
    else
      effects.emplace_back(MemoryEffects::Read::get(), &ref,
                           SideEffects::DefaultResource::get());
    effects.emplace_back(MemoryEffects::Write::get(),
                         SideEffects::DefaultResource::get());
  }
};

/// mpi.wait completes a request: it touches no buffer of its own, but
/// finishes reads and writes of the request's buffer (a write to the
/// default resource).
struct WaitEffects
    : public MemoryEffectOpInterface::ExternalModel<WaitEffects, mpi::Wait> {
  void getEffects(Operation *op,
                  SmallVectorImpl<SideEffects::EffectInstance<
                      MemoryEffects::Effect>> &effects) const {
    effects.emplace_back(MemoryEffects::Write::get(),
                         SideEffects::DefaultResource::get());
  }
};
} // namespace

void mlir::bpt::registerMPIMemoryEffectModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, mpi::MPIDialect *) {
    mpi::ISendOp::attachInterface<BufferEffects<mpi::ISendOp, false>>(*ctx);
    mpi::SendOp::attachInterface<BufferEffects<mpi::SendOp, false>>(*ctx);
    mpi::IRecvOp::attachInterface<BufferEffects<mpi::IRecvOp, true>>(*ctx);
    mpi::RecvOp::attachInterface<BufferEffects<mpi::RecvOp, true>>(*ctx);
    mpi::Wait::attachInterface<WaitEffects>(*ctx);
  });
}
