//===- MemoryEffectModels.cpp - Memory effects upstream does not declare --===//
//
// Upstream's mpi.isend, mpi.irecv, gpu.launch_func and gpu.wait declare
// no memory effects, and the ownership-based buffer deallocation refuses
// ops with unknown effects on buffers. These models state what they do:
// isend reads its buffer, irecv writes it, and both communicate (a write to
// the default resource, so they are never removed as dead); mpi.wait
// completes a request, gpu.wait the device work before it; a kernel launch
// may read and write every buffer it is given.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
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

/// mpi.wait completes a request, gpu.wait the work before it: neither
/// touches a buffer of its own, but each finishes reads and writes of
/// others (a write to the default resource).
template <typename Op>
struct WaitEffects
    : public MemoryEffectOpInterface::ExternalModel<WaitEffects<Op>, Op> {
  void getEffects(Operation *op,
                  SmallVectorImpl<SideEffects::EffectInstance<
                      MemoryEffects::Effect>> &effects) const {
    effects.emplace_back(MemoryEffects::Write::get(),
                         SideEffects::DefaultResource::get());
  }
};

/// A kernel launch reads and writes each buffer operand, and is never dead.
struct LaunchEffects
    : public MemoryEffectOpInterface::ExternalModel<LaunchEffects,
                                                    gpu::LaunchFuncOp> {
  void getEffects(Operation *op,
                  SmallVectorImpl<SideEffects::EffectInstance<
                      MemoryEffects::Effect>> &effects) const {
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<BaseMemRefType>(operand.get().getType()))
        continue;
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    }
    effects.emplace_back(MemoryEffects::Write::get(),
                         SideEffects::DefaultResource::get());
  }
};
/// A TMA tensor map of a memref reads its descriptor (address, sizes,
/// strides), not its data: the kernel that gets the map reads that, and
/// takes the memref as an argument too, so that its buffer lives until
/// the launch.
struct TensorMapEffects : public MemoryEffectOpInterface::ExternalModel<
                              TensorMapEffects, nvgpu::TmaCreateDescriptorOp> {
  void
  getEffects(Operation *op,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) const {
    effects.emplace_back(
        MemoryEffects::Read::get(),
        &cast<nvgpu::TmaCreateDescriptorOp>(op).getTensorMutable(),
        SideEffects::DefaultResource::get());
  }
};
} // namespace

void mlir::bpt::registerMemoryEffectModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, mpi::MPIDialect *) {
    mpi::ISendOp::attachInterface<BufferEffects<mpi::ISendOp, false>>(*ctx);
    mpi::SendOp::attachInterface<BufferEffects<mpi::SendOp, false>>(*ctx);
    mpi::IRecvOp::attachInterface<BufferEffects<mpi::IRecvOp, true>>(*ctx);
    mpi::RecvOp::attachInterface<BufferEffects<mpi::RecvOp, true>>(*ctx);
    mpi::Wait::attachInterface<WaitEffects<mpi::Wait>>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, gpu::GPUDialect *) {
    gpu::LaunchFuncOp::attachInterface<LaunchEffects>(*ctx);
    gpu::WaitOp::attachInterface<WaitEffects<gpu::WaitOp>>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, nvgpu::NVGPUDialect *) {
    nvgpu::TmaCreateDescriptorOp::attachInterface<TensorMapEffects>(*ctx);
  });
}
