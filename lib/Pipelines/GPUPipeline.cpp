//===- GPUPipeline.cpp - bpt.attention to CUDA kernels and host code ------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Pipelines/Pipelines.h"

#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::bpt::buildGPUPipeline(OpPassManager &pm,
                                 const GPUPipelineOptions &options) {
  pm.addPass(bpt::createBPTGPUAttention());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
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
