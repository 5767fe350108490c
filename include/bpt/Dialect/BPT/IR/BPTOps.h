//===- BPTOps.h - Operations of the bpt dialect -----------------*- C++ -*-===//

#ifndef BPT_DIALECT_BPT_IR_BPTOPS_H
#define BPT_DIALECT_BPT_IR_BPTOPS_H

#include "bpt/Dialect/BPT/IR/BPTDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"

#include "bpt/Dialect/BPT/IR/BPTEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "bpt/Dialect/BPT/IR/BPTAttrs.h.inc"

#define GET_OP_CLASSES
#include "bpt/Dialect/BPT/IR/BPTOps.h.inc"

#endif // BPT_DIALECT_BPT_IR_BPTOPS_H
