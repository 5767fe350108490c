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

/// Registers the named pipelines with the pass registry (bpt-opt flags).
void registerPipelines();

} // namespace bpt
} // namespace mlir

#endif // BPT_PIPELINES_PIPELINES_H
