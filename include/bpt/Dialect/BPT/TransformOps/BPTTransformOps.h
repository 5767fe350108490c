//===- BPTTransformOps.h - Transform ops for the bpt rewrites ---*- C++ -*-===//

#ifndef BPT_DIALECT_BPT_TRANSFORMOPS_BPTTRANSFORMOPS_H
#define BPT_DIALECT_BPT_TRANSFORMOPS_BPTTRANSFORMOPS_H

#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.h"
#include "mlir/IR/OpImplementation.h"

#define GET_OP_CLASSES
#include "bpt/Dialect/BPT/TransformOps/BPTTransformOps.h.inc"

namespace mlir {
class DialectRegistry;
namespace bpt {
/// Registers the transform.bpt.* ops with the transform dialect.
void registerTransformDialectExtension(DialectRegistry &registry);
} // namespace bpt
} // namespace mlir

#endif // BPT_DIALECT_BPT_TRANSFORMOPS_BPTTRANSFORMOPS_H
