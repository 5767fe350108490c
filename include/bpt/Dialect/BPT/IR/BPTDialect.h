//===- BPTDialect.h - The bpt dialect ---------------------------*- C++ -*-===//

#ifndef BPT_DIALECT_BPT_IR_BPTDIALECT_H
#define BPT_DIALECT_BPT_IR_BPTDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "bpt/Dialect/BPT/IR/BPTOpsDialect.h.inc"

#endif // BPT_DIALECT_BPT_IR_BPTDIALECT_H
