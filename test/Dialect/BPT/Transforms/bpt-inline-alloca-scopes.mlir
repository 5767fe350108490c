// RUN: bpt-opt %s --bpt-inline-alloca-scopes | FileCheck %s

// CHECK-LABEL: func @no_alloca
// CHECK-NOT: memref.alloca_scope
// CHECK:     %[[V:.+]] = arith.addi
// CHECK:     return %[[V]]
func.func @no_alloca(%a: index) -> index {
  %r = memref.alloca_scope -> (index) {
    %v = arith.addi %a, %a : index
    memref.alloca_scope.return %v : index
  }
  return %r : index
}

// Negative: a scope that releases an alloca stays.
// CHECK-LABEL: func @with_alloca
// CHECK: memref.alloca_scope
// CHECK:   memref.alloca
func.func @with_alloca(%a: f32) {
  memref.alloca_scope {
    %m = memref.alloca() : memref<4xf32>
    %c0 = arith.constant 0 : index
    memref.store %a, %m[%c0] : memref<4xf32>
  }
  return
}
