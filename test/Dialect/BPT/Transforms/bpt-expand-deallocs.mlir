// RUN: bpt-opt %s --bpt-expand-deallocs --split-input-file | FileCheck %s
// The expansion frees each buffer once and reports ownership right, run on
// the CPU (a double free aborts in glibc's allocator):
// RUN: bpt-opt %s --split-input-file --bpt-expand-deallocs --convert-scf-to-cf \
// RUN:   --convert-vector-to-llvm --finalize-memref-to-llvm --convert-arith-to-llvm \
// RUN:   --convert-index-to-llvm --convert-func-to-llvm --convert-cf-to-llvm \
// RUN:   --reconcile-unrealized-casts 2>&1 | sed -n '/^\/\/ -----/,$p' | \
// RUN:   mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s --check-prefix=EXEC

// Negative: plain deallocations and other ops are left as they are.

// CHECK-LABEL: func.func @plain
//  CHECK-NEXT:   memref.dealloc %{{.+}} : memref<2xf32>
//  CHECK-NEXT:   return
func.func @plain(%a: memref<2xf32>) {
  memref.dealloc %a : memref<2xf32>
  return
}

// Two memrefs, one retained: pointer comparisons on the host, one scf.if
// around each memref.dealloc, no helper function and no host buffer.

// CHECK-LABEL: func.func @two_memrefs_one_retained
//  CHECK-SAME:   (%[[A:.+]]: memref<2xf32>, %[[B:.+]]: memref<2xf32>, %[[CA:.+]]: i1, %[[CB:.+]]: i1, %[[R:.+]]: memref<2xf32>)
//   CHECK-DAG:   %[[PA:.+]] = memref.extract_aligned_pointer_as_index %[[A]]
//   CHECK-DAG:   %[[PB:.+]] = memref.extract_aligned_pointer_as_index %[[B]]
//   CHECK-DAG:   %[[PR:.+]] = memref.extract_aligned_pointer_as_index %[[R]]
//       CHECK:   %[[AR:.+]] = arith.cmpi eq, %[[PA]], %[[PR]]
//       CHECK:   scf.if
//  CHECK-NEXT:     memref.dealloc %[[A]]
//       CHECK:   %[[BR:.+]] = arith.cmpi eq, %[[PB]], %[[PR]]
//       CHECK:   %[[AB:.+]] = arith.cmpi eq, %[[PA]], %[[PB]]
//       CHECK:   arith.andi %[[CA]], %[[AB]]
//       CHECK:   scf.if
//  CHECK-NEXT:     memref.dealloc %[[B]]
//       CHECK:   return
//   CHECK-NOT:   func.call
//   CHECK-NOT:   memref.store
func.func @two_memrefs_one_retained(%a: memref<2xf32>, %b: memref<2xf32>, %ca: i1, %cb: i1, %r: memref<2xf32>) -> i1 {
  %o = bufferization.dealloc (%a, %b : memref<2xf32>, memref<2xf32>) if (%ca, %cb) retain (%r : memref<2xf32>)
  return %o : i1
}

// -----

// EXEC: 1
// EXEC-NEXT: 0
// EXEC-NEXT: 1
// EXEC-NEXT: 0
// EXEC-NEXT: done
func.func @main() {
  %t = arith.constant true
  %f = arith.constant false
  // The same buffer twice, both owned: freed once.
  %x = memref.alloc() : memref<16xf32>
  bufferization.dealloc (%x, %x : memref<16xf32>, memref<16xf32>) if (%t, %t)
  // x freed, y retained and owned through its condition: kept, owns = 1.
  %x2 = memref.alloc() : memref<16xf32>
  %y2 = memref.alloc() : memref<16xf32>
  %o2 = bufferization.dealloc (%x2, %y2 : memref<16xf32>, memref<16xf32>) if (%t, %t) retain (%y2 : memref<16xf32>)
  vector.print %o2 : i1
  memref.dealloc %y2 : memref<16xf32>
  // Retained but not owned here: kept, owns = 0.
  %x3 = memref.alloc() : memref<16xf32>
  %o3 = bufferization.dealloc (%x3 : memref<16xf32>) if (%f) retain (%x3 : memref<16xf32>)
  vector.print %o3 : i1
  memref.dealloc %x3 : memref<16xf32>
  // Owned and retained: kept, owns = 1.
  %x4 = memref.alloc() : memref<16xf32>
  %o4 = bufferization.dealloc (%x4 : memref<16xf32>) if (%t) retain (%x4 : memref<16xf32>)
  vector.print %o4 : i1
  memref.dealloc %x4 : memref<16xf32>
  // The second of two copies owned, the first not: freed once (by the
  // second), and another retained buffer is not owned.
  %x5 = memref.alloc() : memref<16xf32>
  %z5 = memref.alloc() : memref<16xf32>
  %o5 = bufferization.dealloc (%x5, %x5 : memref<16xf32>, memref<16xf32>) if (%f, %t) retain (%z5 : memref<16xf32>)
  vector.print %o5 : i1
  memref.dealloc %z5 : memref<16xf32>
  vector.print str "done\n"
  return
}
