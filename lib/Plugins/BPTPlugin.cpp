//===- BPTPlugin.cpp - bpt for upstream mlir-opt --------------------------===//
//
// One shared library that is both an MLIR dialect plugin and a pass plugin
// of upstream `mlir-opt` (which links libMLIR.so, as this library does):
//
//   mlir-opt --load-dialect-plugin=libBPTPlugin.so \
//            --load-pass-plugin=libBPTPlugin.so --bpt-raise model.mlir
//
// The dialect side registers what upstream mlir-opt does not have: the bpt
// dialect, its transform-dialect extension and the memory effects of the
// mpi ops. The pass side registers the bpt passes and pipelines.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTDialect.h"
#include "bpt/Dialect/BPT/TransformOps/BPTTransformOps.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

using namespace mlir;

extern "C" LLVM_ATTRIBUTE_WEAK DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "BPT", LLVM_VERSION_STRING,
          [](DialectRegistry *registry) {
            registry->insert<bpt::BPTDialect>();
            bpt::registerTransformDialectExtension(*registry);
            bpt::registerMemoryEffectModels(*registry);
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "BPT", LLVM_VERSION_STRING, []() {
            bpt::registerBPTPasses();
            bpt::registerPipelines();
          }};
}
