//===- bpt-opt.cpp - The bpt-mlir optimizer driver ------------------------===//

#include "bpt/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::bpt::registerAllDialects(registry);
  mlir::bpt::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "bpt-mlir optimizer driver\n", registry));
}
