//===- CPUPipeline.cpp - --bpt-cpu-pipeline -------------------------------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Pipelines/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/VectorTransforms.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::bpt::buildCPUPipeline(OpPassManager &pm,
                                 const CPUPipelineOptions &options) {
  // Any bpt op still here gets its reference meaning.
  pm.addPass(bpt::createBPTDecompose());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.vectorize) {
    pm.addPass(bpt::createBPTVectorizeContractions());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }

  addBufferization(pm);
  // The ownership-based deallocation does not free buffers allocated in
  // the body of an scf.forall (one leak per iteration): as scf.parallel the
  // bodies get their deallocations.
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // Deallocations come at the end of their block; free each buffer right
  // after its last use instead, so the peak is what the program needs.
  pm.addPass(bpt::createBPTDeallocAfterLastUse());

  // Loops, then LLVM. Named ops are generalised so that the loops of every
  // op can be ordered for unit-stride inner loops and every reduction body
  // can be marked reassociable.
  pm.addNestedPass<func::FuncOp>(createLinalgGeneralizeNamedOpsPass());
  pm.addPass(bpt::createBPTInnermostContiguousLoop());
  if (options.fastReductions)
    pm.addPass(bpt::createBPTReassociateReductions());
  if (options.approximateMath)
    pm.addPass(bpt::createBPTApproximateMath());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // Transfers of rank 2 (the C tiles) become unrolled rank-1 transfers.
  pm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  if (options.openmp) {
    pm.addPass(createConvertSCFToOpenMPPass());
    pm.addPass(bpt::createBPTInlineAllocaScopes());
  }
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  if (options.emitCInterface)
    pm.addPass(bpt::createBPTEmitCInterface());
  // bf16 arithmetic and math in f32 (x86 has no bf16 arithmetic before
  // AVX512-BF16: LLVM would call __truncsfbf2, which GCC 12's libgcc does
  // not have), and the bf16 conversions in integer code.
  arith::ArithEmulateUnsupportedFloatsOptions emulate;
  emulate.sourceTypeStrs = {"bf16"};
  pm.addPass(arith::createArithEmulateUnsupportedFloats(emulate));
  pm.addPass(math::createMathExtendToSupportedTypes());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // Contractions become outer products, then one FMA per vector of C.
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.vectorContractLowering = vector::VectorContractLowering::OuterProduct;
  vectorToLLVM.reassociateFPReductions = options.fastReductions;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // Ring attention's communication (after the deallocations are placed).
  pm.addPass(bpt::createBPTConvertMPIToLLVM());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  if (options.openmp)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::bpt::addBufferization(OpPassManager &pm) {
  // Tensors to buffers. Function arguments and results become plain
  // identity-layout memrefs, so callers can pass dense arrays.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // A tile written into its own place in a shared output bufferizes to a
  // copy between two identical subviews: CSE makes them one value and the
  // canonicalizer drops the self-copy.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::bpt::addRingPass(OpPassManager &pm, int64_t devices,
                            StringRef order) {
  bpt::BPTRingOptions ring;
  ring.devices = devices;
  ring.order = order.str();
  pm.addPass(bpt::createBPTRing(ring));
}

void mlir::bpt::buildRingCPUPipeline(OpPassManager &pm,
                                     const RingCPUPipelineOptions &options) {
  addRingPass(pm, options.devices, options.order);
  bpt::BPTBlockwiseOptions blockwise;
  blockwise.qBlock = options.qBlock;
  blockwise.kvBlock = options.kvBlock;
  blockwise.ffnChunk = options.ffnChunk;
  pm.addPass(bpt::createBPTBlockwise(blockwise));
  CPUPipelineOptions cpu;
  cpu.openmp = false;
  buildCPUPipeline(pm, cpu);
}

void mlir::bpt::registerPipelines() {
  PassPipelineRegistration<GPUPipelineOptions>(
      "bpt-gpu-pipeline",
      "A bpt program on the GPU: bpt.attention as tensor-core CUDA kernels "
      "(--bpt-gpu-attention), bpt.ffn in row chunks, one-shot "
      "bufferization (the function's tensors are device memory), buffer "
      "deallocation, the rest on the device (--bpt-gpu-offload: 2-D "
      "f16/bf16 contractions as tensor-core kernels, the rest as plain "
      "kernels), the "
      "_mlir_ciface_ entry points, and MLIR's NVVM pipeline "
      "(gpu-lower-to-nvvm-pipeline: kernels serialised by "
      "gpu-module-to-binary, host code calling the mgpu* functions of "
      "runtime/cuda/bpt_cuda_runtime.c).",
      buildGPUPipeline);
  PassPipelineRegistration<RingGPUPipelineOptions>(
      "bpt-ring-gpu-pipeline",
      "Ring attention on GPUs: --bpt-ring (devices, order), then "
      "--bpt-gpu-pipeline (chip, format) with the ring's sends and receives "
      "as NCCL groups on a communication stream, issued before each step's "
      "kernels and waited on after them. One MPI rank per GPU; the result "
      "links runtime/cuda, runtime/nccl, NCCL and OpenMPI.",
      buildRingGPUPipeline);
  PassPipelineRegistration<RingCPUPipelineOptions>(
      "bpt-ring-cpu-pipeline",
      "Ring attention on CPU ranks: --bpt-ring (devices, order), "
      "--bpt-blockwise (q-block, kv-block, ffn-chunk) and --bpt-cpu-pipeline "
      "without OpenMP (one thread per MPI rank). The result links OpenMPI "
      "and runs under mpirun.",
      buildRingCPUPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "bpt-cpu-pipeline",
      "Lower bpt ops and linalg on tensors to the LLVM dialect for the CPU: "
      "bpt-decompose, register-tiled vector contractions "
      "(bpt-vectorize-contractions), one-shot bufferization with "
      "identity-layout function boundaries, buffer deallocation, linalg to "
      "loops (reductions marked reassociable), parallel loops to OpenMP, "
      "vector contractions to outer products and FMAs, bf16 arithmetic and "
      "math in f32 with the rounding to bf16 inline (no __truncsfbf2 "
      "calls, which x86 before AVX512-BF16 would need), and conversion to "
      "LLVM (math through LLVM intrinsics and libm). The output runs under "
      "mlir-runner (with libomp when it has parallel loops) or compiles "
      "with mlir-translate, opt and llc.",
      buildCPUPipeline);
}
