// RUN: bpt-opt %s --bpt-dealloc-after-last-use --split-input-file | FileCheck %s --enable-var-scope

// The last use of %a is through its view, and the last of %b the same
// copy: both deallocs follow it, before the unrelated work after it.
// CHECK-LABEL: func.func @after_last_alias_use
//       CHECK:   %[[A:.+]] = memref.alloc() : memref<4xf32>
//       CHECK:   %[[V:.+]] = memref.subview %[[A]]
//       CHECK:   %[[B:.+]] = memref.alloc() : memref<2xf32>
//       CHECK:   memref.copy %[[V]], %[[B]] :
//  CHECK-NEXT:   memref.dealloc %[[A]]
//  CHECK-NEXT:   memref.dealloc %[[B]]
//  CHECK-NEXT:   linalg.fill
//  CHECK-NEXT:   return
func.func @after_last_alias_use(%in: memref<4xf32>, %out: memref<8xf32>) {
  %cst = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<4xf32>
  memref.copy %in, %a : memref<4xf32> to memref<4xf32>
  %v = memref.subview %a[0] [2] [1] : memref<4xf32> to memref<2xf32, strided<[1]>>
  %b = memref.alloc() : memref<2xf32>
  memref.copy %v, %b : memref<2xf32, strided<[1]>> to memref<2xf32>
  linalg.fill ins(%cst : f32) outs(%out : memref<8xf32>)
  memref.dealloc %b : memref<2xf32>
  memref.dealloc %a : memref<4xf32>
  return
}

// -----

// A use inside a loop counts as a use by the loop: the dealloc goes right
// after the loop, not into it.
// CHECK-LABEL: func.func @use_in_a_loop
//       CHECK:   %[[A:.+]] = memref.alloc() : memref<4xf32>
//       CHECK:   scf.for
//       CHECK:     memref.copy %[[A]]
//       CHECK:   }
//  CHECK-NEXT:   memref.dealloc %[[A]]
//  CHECK-NEXT:   linalg.fill
func.func @use_in_a_loop(%in: memref<4xf32>, %out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %cst = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<4xf32>
  scf.for %i = %c0 to %c4 step %c1 {
    memref.copy %a, %in : memref<4xf32> to memref<4xf32>
  }
  linalg.fill ins(%cst : f32) outs(%out : memref<8xf32>)
  memref.dealloc %a : memref<4xf32>
  return
}

// -----

// Negative: a dealloc in another block than its alloc stays where it is.
// CHECK-LABEL: func.func @dealloc_in_a_nested_block
//       CHECK:   scf.if
//       CHECK:     linalg.fill
//  CHECK-NEXT:     memref.dealloc
func.func @dealloc_in_a_nested_block(%c: i1, %out: memref<8xf32>) {
  %cst = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<4xf32>
  scf.if %c {
    linalg.fill ins(%cst : f32) outs(%out : memref<8xf32>)
    memref.dealloc %a : memref<4xf32>
  }
  return
}

// -----

// Negative: a buffer read by the last op before its dealloc does not move.
// CHECK-LABEL: func.func @already_after_last_use
//       CHECK:   linalg.fill ins(%{{.+}} : f32) outs(%[[A:.+]] : memref<4xf32>)
//  CHECK-NEXT:   memref.dealloc %[[A]]
func.func @already_after_last_use() {
  %cst = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<4xf32>
  linalg.fill ins(%cst : f32) outs(%a : memref<4xf32>)
  memref.dealloc %a : memref<4xf32>
  return
}
