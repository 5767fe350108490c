//===- downstream-opt.cpp - A tool of a project that embeds bpt-mlir ------===//
//
// Registers the bpt dialect and passes next to its own, and two pipelines
// that mix upstream passes with bpt's through the C++ API:
//
//   --downstream-fuse       canonicalize, bpt-raise, bpt-blockwise, cse
//   --downstream-to-llvm    the same, then bpt::buildCPUPipeline
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/InitAll.h"
#include "bpt/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {
/// Options of the pipelines: the query-block size of the rewrite.
struct DownstreamOptions : public PassPipelineOptions<DownstreamOptions> {
  Option<int64_t> qBlock{*this, "q-block",
                         llvm::cl::desc("Query rows per block"),
                         llvm::cl::init(32)};
};
} // namespace

static void buildFuse(OpPassManager &pm, const DownstreamOptions &options) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(bpt::createBPTRaise());
  bpt::BPTBlockwiseOptions blockwise;
  blockwise.qBlock = options.qBlock;
  blockwise.kvBlock = 32;
  pm.addPass(bpt::createBPTBlockwise(blockwise));
  pm.addPass(createCSEPass());
}

int main(int argc, char **argv) {
  DialectRegistry registry;
  bpt::registerAllDialects(registry);
  bpt::registerAllPasses();
  PassPipelineRegistration<DownstreamOptions>(
      "downstream-fuse",
      "canonicalize, then bpt-raise and bpt-blockwise, then cse", buildFuse);
  PassPipelineRegistration<DownstreamOptions>(
      "downstream-to-llvm", "downstream-fuse, then bpt's CPU pipeline",
      [](OpPassManager &pm, const DownstreamOptions &options) {
        buildFuse(pm, options);
        bpt::buildCPUPipeline(pm, bpt::CPUPipelineOptions());
      });
  return asMainReturnCode(
      MlirOptMain(argc, argv, "downstream-opt: bpt-mlir embedded\n", registry));
}
