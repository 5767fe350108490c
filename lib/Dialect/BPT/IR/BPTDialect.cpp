//===- BPTDialect.cpp - The bpt dialect -----------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTDialect.h"
#include "bpt/Dialect/BPT/IR/BPTOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::bpt;

#include "bpt/Dialect/BPT/IR/BPTOpsDialect.cpp.inc"
#include "bpt/Dialect/BPT/IR/BPTEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "bpt/Dialect/BPT/IR/BPTAttrs.cpp.inc"

void BPTDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "bpt/Dialect/BPT/IR/BPTAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "bpt/Dialect/BPT/IR/BPTOps.cpp.inc"
      >();
}
