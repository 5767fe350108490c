//===- GPUPipeline.cpp - bpt programs to CUDA kernels and host code -------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Pipelines/Pipelines.h"

#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::bpt::buildGPUPipeline(OpPassManager &pm,
                                 const GPUPipelineOptions &options) {
  bpt::BPTGPUAttentionOptions attention;
  attention.f32Inputs = options.attentionF32Inputs;
  attention.wgmma = options.wgmma;
  pm.addPass(bpt::createBPTGPUAttention(attention));
  // The FFN in tiles of rows x hidden units (BPT's bound on its hidden
  // activation; large tiles, so that each contraction fills the GPU), then
  // anything else of the bpt dialect as linalg. Attention has become
  // kernels already: q-block tiles only the FFN here.
  if (options.ffnChunk > 0 && options.ffnRows > 0) {
    bpt::BPTBlockwiseOptions blockwise;
    blockwise.qBlock = options.ffnRows;
    blockwise.ffnChunk = options.ffnChunk;
    // The down projection's tensor cores take the hidden activation in the
    // input's type: store it so (half the bytes; its operand then arrives
    // by cp.async).
    blockwise.narrowHidden = true;
    pm.addPass(bpt::createBPTBlockwise(blockwise));
  }
  pm.addPass(bpt::createBPTDecompose());
  pm.addPass(createCanonicalizerPass());
  addBufferization(pm);
  // The ownership-based deallocation does not free buffers allocated in
  // the body of an scf.forall (one leak per iteration, found by the dry-run
  // runtime): the host loops over FFN row tiles become scf.for, whose
  // bodies get their deallocations (each iteration launches kernels; the
  // loop itself stays sequential on the host).
  pm.addNestedPass<func::FuncOp>(createForallToForLoopPass());
  // Upstream's deallocation pipeline, with the deallocations lowered by
  // --bpt-expand-deallocs: upstream's lowering would keep pointer lists in
  // host buffers, which this program must not have.
  pm.addPass(bufferization::createOwnershipBasedBufferDeallocationPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(bufferization::createBufferDeallocationSimplificationPass());
  pm.addPass(bpt::createBPTExpandDeallocs());
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(bpt::createBPTDeallocAfterLastUse());
  // Every buffer on the device, every remaining op a kernel.
  bpt::BPTGPUOffloadOptions offload;
  offload.tensorCores = options.tensorCores;
  offload.wgmma = options.wgmma;
  pm.addPass(bpt::createBPTGPUOffload(offload));
  pm.addPass(createCanonicalizerPass());
  // One stream per call, one wait per return (functions with host calls,
  // e.g. ring attention's exchanges, keep a wait per operation).
  if (options.oneStream)
    pm.addPass(bpt::createBPTGPUStream());
  // Ring attention's transfers (there are none elsewhere) through NCCL.
  bpt::BPTConvertMPIToLLVMOptions mpi;
  mpi.engine = "nccl";
  pm.addPass(bpt::createBPTConvertMPIToLLVM(mpi));
  if (options.emitCInterface)
    pm.addPass(bpt::createBPTEmitCInterface());
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  // PTX ISA 8.0 (CUDA 12.0) is the first with sm_90a.
  nvvm.cubinFeatures = "+ptx80";
  nvvm.cubinFormat = options.format;
  nvvm.optLevel = 3;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}

void mlir::bpt::buildRingGPUPipeline(OpPassManager &pm,
                                     const RingGPUPipelineOptions &options) {
  addRingPass(pm, options.devices, options.order);
  GPUPipelineOptions gpu;
  gpu.chip = options.chip;
  gpu.format = options.format;
  buildGPUPipeline(pm, gpu);
}
