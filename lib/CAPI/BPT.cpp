//===- BPT.cpp - C API of bpt-mlir ----------------------------------------===//

#include "bpt-c/BPT.h"

#include "bpt/Dialect/BPT/IR/BPTDialect.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/InitAll.h"
#include "bpt/Pipelines/Pipelines.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(BPT, bpt, mlir::bpt::BPTDialect)

void mlirRegisterBPTPasses(void) {
  mlir::bpt::registerBPTPasses();
  mlir::bpt::registerPipelines();
}

void mlirBPTRegisterAllDialects(MlirDialectRegistry registry) {
  mlir::bpt::registerAllDialects(*unwrap(registry));
}
