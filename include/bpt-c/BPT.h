/*===- bpt-c/BPT.h - C API of bpt-mlir ----------------------------*- C -*-===*\
|*                                                                            *|
|* The bpt dialect and passes for C (and any language with a C FFI), in the  *|
|* conventions of the MLIR C API: a dialect handle, and registration calls.  *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef BPT_C_BPT_H
#define BPT_C_BPT_H

#include "mlir-c/IR.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The handle of the bpt dialect: mlirGetDialectHandle__bpt__().
MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(BPT, bpt);

/// Registers every bpt pass and pipeline (--bpt-raise, --bpt-blockwise,
/// --bpt-ring, --bpt-cpu-pipeline, ...) with the global pass registry, so
/// that mlirParsePassPipeline knows them.
MLIR_CAPI_EXPORTED void mlirRegisterBPTPasses(void);

/// Inserts the bpt dialect, the upstream dialects its pipelines use and the
/// interface models they need (bpt::registerAllDialects) into `registry`.
MLIR_CAPI_EXPORTED void mlirBPTRegisterAllDialects(MlirDialectRegistry registry);

#ifdef __cplusplus
}
#endif

#endif // BPT_C_BPT_H
