//===- Pipelines.h - Named pipelines of bpt-mlir ----------------*- C++ -*-===//
//
// Pipelines as C++ API: a compiler that embeds the bpt passes builds the same
// pipelines that `bpt-opt --bpt-cpu-pipeline` runs.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_PIPELINES_PIPELINES_H
#define BPT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace bpt {

/// Options of --bpt-cpu-pipeline.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<bool> emitCInterface{
      *this, "c-interface",
      llvm::cl::desc("Emit the _mlir_ciface_ entry point of every public "
                     "function, for callers from C and Python"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> openmp{
      *this, "openmp",
      llvm::cl::desc("Run parallel loops (scf.forall: batch, heads, query "
                     "blocks) on OpenMP threads; the program then links "
                     "libomp"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> approximateMath{
      *this, "approximate-math",
      llvm::cl::desc("Polynomial exp/log/tanh/erf (bpt-approximate-math), "
                     "so loops around them vectorise"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Register-tile and vectorise contractions "
                     "(bpt-vectorize-contractions) and lower them to FMAs "
                     "on vectors"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fastReductions{
      *this, "fast-reductions",
      llvm::cl::desc("Let LLVM reassociate the arithmetic of reductions "
                     "(bpt-reassociate-reductions) so it can vectorise them"),
      llvm::cl::init(true)};
};

/// From bpt ops and linalg on tensors to the LLVM dialect: bpt ops are
/// decomposed, contractions become register-tiled vector code, the module
/// is one-shot bufferized (function boundaries included, identity layouts),
/// temporaries are deallocated, linalg becomes loops, parallel loops become
/// OpenMP, and everything is converted to LLVM. The result runs under
/// mlir-runner or compiles with mlir-translate + llc into an object.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Options of --bpt-ring-cpu-pipeline: the ring, the blockwise rewrite of
/// each step and the CPU pipeline (without OpenMP: the ranks are the
/// parallelism).
struct RingCPUPipelineOptions
    : public PassPipelineOptions<RingCPUPipelineOptions> {
  PassOptions::Option<int64_t> devices{
      *this, "devices", llvm::cl::desc("Number of MPI ranks in the ring"),
      llvm::cl::init(2)};
  PassOptions::Option<std::string> order{
      *this, "order",
      llvm::cl::desc("Layout of the sequence over the ranks: contiguous or "
                     "zigzag"),
      llvm::cl::init("contiguous")};
  PassOptions::Option<int64_t> qBlock{*this, "q-block",
                                      llvm::cl::desc("Query rows per block"),
                                      llvm::cl::init(64)};
  PassOptions::Option<int64_t> kvBlock{
      *this, "kv-block", llvm::cl::desc("Keys per block of each step"),
      llvm::cl::init(128)};
  PassOptions::Option<int64_t> ffnChunk{
      *this, "ffn-chunk", llvm::cl::desc("Hidden units per FFN chunk"),
      llvm::cl::init(256)};
};

/// Ring attention for CPU ranks: --bpt-ring, --bpt-blockwise, then the CPU
/// pipeline without OpenMP (one rank per core). The program links OpenMPI.
void buildRingCPUPipeline(OpPassManager &pm,
                          const RingCPUPipelineOptions &options);

/// Options of --bpt-gpu-pipeline.
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("GPU architecture of the kernels: sm_80 (A100), sm_90a "
                     "(H100/H200), or any sm_XY the tensor-core MMA runs on"),
      llvm::cl::init("sm_90a")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("How the kernels are embedded: bin (a cubin, made by "
                     "the CUDA toolkit's ptxas, found through CUDA_HOME or "
                     "PATH), isa (PTX, compiled by the driver at load time) "
                     "or fatbin"),
      llvm::cl::init("bin")};
  PassOptions::Option<bool> emitCInterface{
      *this, "c-interface",
      llvm::cl::desc("Emit the _mlir_ciface_ entry point of every public "
                     "function"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> ffnRows{
      *this, "ffn-rows",
      llvm::cl::desc("Rows of a bpt.ffn computed at a time (with ffn-chunk: "
                     "its hidden activation lives as ffn-rows x ffn-chunk "
                     "f32 tiles); 0 computes the FFN whole"),
      llvm::cl::init(2048)};
  PassOptions::Option<int64_t> ffnChunk{
      *this, "ffn-chunk",
      llvm::cl::desc("Hidden units of a bpt.ffn per chunk (see ffn-rows); "
                     "0 computes the FFN whole"),
      llvm::cl::init(1024)};
  PassOptions::Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("Run the 2-D f16/bf16 contractions outside attention "
                     "(projections, FFN) as tensor-core kernels; else as "
                     "plain kernels"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> attentionF32Inputs{
      *this, "attention-f32-inputs",
      llvm::cl::desc("Round f32 attention inputs to bf16 or f16 for the "
                     "tensor cores (--bpt-gpu-attention{f32-inputs}); by "
                     "default f32 attention is refused"),
      llvm::cl::init("")};
  PassOptions::Option<bool> oneStream{
      *this, "one-stream",
      llvm::cl::desc("Run each host function's device work in order on one "
                     "stream and wait once per call (--bpt-gpu-stream); "
                     "else the host waits for every launch, copy and free"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> wgmma{
      *this, "wgmma",
      llvm::cl::desc("With chip=sm_90a: contractions of unit-stride "
                     "[M, K] x [K, N] operands (with tensor-cores) and "
                     "attention (head dims up to 256) as TMA + "
                     "warpgroup-MMA kernels when their rows are 16-byte "
                     "aligned at run time (not yet run on a GPU: off by "
                     "default)"),
      llvm::cl::init(false)};
};

/// A program on the GPU: --bpt-gpu-attention (bpt.attention as tensor-core
/// kernels; bpt.block dissolved), bpt.ffn chunked by rows (--bpt-blockwise)
/// and the rest decomposed, one-shot bufferization with identity-layout
/// function boundaries, buffer deallocation, --bpt-gpu-offload (allocations,
/// copies and the remaining linalg ops on the device, 2-D f16/bf16
/// contractions on tensor cores), ring transfers
/// through NCCL, then MLIR's own NVVM pipeline (gpu-lower-to-nvvm-pipeline:
/// nvgpu/gpu to NVVM, gpu-module-to-binary, host code to LLVM calling the
/// mgpu* entry points of runtime/cuda).
void buildGPUPipeline(OpPassManager &pm, const GPUPipelineOptions &options);

/// Options of --bpt-ring-gpu-pipeline.
struct RingGPUPipelineOptions
    : public PassPipelineOptions<RingGPUPipelineOptions> {
  PassOptions::Option<int64_t> devices{
      *this, "devices",
      llvm::cl::desc("Number of GPUs (MPI ranks) in the ring"),
      llvm::cl::init(2)};
  PassOptions::Option<std::string> order{
      *this, "order",
      llvm::cl::desc("Sequence layout over ranks: contiguous or zigzag"),
      llvm::cl::init("contiguous")};
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("GPU architecture of the kernels"),
      llvm::cl::init("sm_90a")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("How the kernels are embedded: bin, isa or fatbin"),
      llvm::cl::init("bin")};
};

/// Ring attention on GPUs: --bpt-ring, then --bpt-gpu-pipeline with the
/// ring's transfers as NCCL calls. One MPI rank per GPU; the program links
/// runtime/cuda, runtime/nccl, NCCL and OpenMPI.
void buildRingGPUPipeline(OpPassManager &pm,
                          const RingGPUPipelineOptions &options);

/// Adds one-shot bufferization with function boundaries bufferized to
/// identity-layout memrefs (callers pass dense arrays or device buffers),
/// then CSE and canonicalization: the CPU and GPU pipelines' shared step.
void addBufferization(OpPassManager &pm);

/// Adds --bpt-ring{devices order} (the first step of both ring pipelines).
void addRingPass(OpPassManager &pm, int64_t devices, StringRef order);

/// Registers the named pipelines with the pass registry (bpt-opt flags).
void registerPipelines();

} // namespace bpt
} // namespace mlir

#endif // BPT_PIPELINES_PIPELINES_H
