// RUN: bpt-opt %s --bpt-gpu-offload --canonicalize --split-input-file | FileCheck %s

// Allocations, copies and linalg ops of a host function whose buffers are
// device memory: a contiguous copy is a gpu.memcpy, a strided one a copy
// kernel; each linalg op a kernel over its parallel dimensions collapsed
// into one (5 x 300 = 1500 elements: 6 blocks of 256 threads, the last
// guarded), its reduction a loop in each thread; allocations and
// deallocations are the device's.

// CHECK-LABEL: func.func @offload
//  CHECK-SAME:   (%[[A:.+]]: memref<5x300xf32>, %[[S:.+]]: memref<5x300xf32, strided<[600, 2]>>, %[[V:.+]]: memref<5xf32>)
//   CHECK-DAG:   %[[C6:.+]] = arith.constant 6 : index
//   CHECK-DAG:   %[[C256:.+]] = arith.constant 256 : index
//   CHECK-DAG:   %[[C1500:.+]] = arith.constant 1500 : index
//   CHECK-DAG:   %[[C1:.+]] = arith.constant 1 : index
//       CHECK:   %[[T0:.+]] = gpu.wait async
//       CHECK:   %[[B:.+]], %[[T1:.+]] = gpu.alloc async [%[[T0]]] () : memref<5x300xf32>
//       CHECK:   gpu.wait [%[[T1]]]
//       CHECK:   %[[T2:.+]] = gpu.wait async
//       CHECK:   %[[T3:.+]] = gpu.memcpy async [%[[T2]]] %[[B]], %[[A]]
//       CHECK:   gpu.wait [%[[T3]]]
// The strided copy:
//       CHECK:   gpu.launch blocks(%[[BX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C6]], %{{.+}} = %[[C1]], %{{.+}} = %[[C1]]) threads(%[[TX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C256]], %{{.+}} = %[[C1]], %{{.+}} = %[[C1]])
//       CHECK:     %[[I:.+]] = arith.addi %[[TX]], %{{.+}} : index
//       CHECK:     arith.cmpi ult, %{{.+}}, %[[C1500]]
//       CHECK:     memref.load %[[S]]
//       CHECK:     memref.store %{{.+}}, %[[B]]
//       CHECK:     gpu.terminator
// The row sums: 5 rows in one block, 300 terms in a loop per thread.
//       CHECK:   gpu.launch blocks({{.+}}) in (%{{.+}} = %[[C1]], {{.+}}) threads(%[[TX2:[^,]+]], {{.+}}) in (%{{.+}} = %[[C256]], {{.+}})
//       CHECK:     scf.for
//       CHECK:       math.exp
//       CHECK:       memref.store %{{.+}}, %[[V]][%[[TX2]]]
//       CHECK:   %[[C:.+]], %{{.+}} = gpu.alloc async [%{{.+}}] () : memref<5x300xf32>
//       CHECK:   gpu.launch
//       CHECK:     memref.store %{{.+}}, %[[C]]
//       CHECK:   %[[T4:.+]] = gpu.wait async
//       CHECK:   %[[T5:.+]] = gpu.dealloc async [%[[T4]]] %[[B]]
//       CHECK:   gpu.wait [%[[T5]]]
//       CHECK:   return %[[C]]
//   CHECK-NOT:   memref.alloc
//   CHECK-NOT:   memref.dealloc
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @offload(%a: memref<5x300xf32>, %s: memref<5x300xf32, strided<[600, 2]>>, %v: memref<5xf32>) -> memref<5x300xf32> {
  %b = memref.alloc() : memref<5x300xf32>
  memref.copy %a, %b : memref<5x300xf32> to memref<5x300xf32>
  memref.copy %s, %b : memref<5x300xf32, strided<[600, 2]>> to memref<5x300xf32>
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]} ins(%b : memref<5x300xf32>) outs(%v : memref<5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    %r = arith.addf %e, %out : f32
    linalg.yield %r : f32
  }
  %c = memref.alloc() : memref<5x300xf32>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%b : memref<5x300xf32>) outs(%c : memref<5x300xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  memref.dealloc %b : memref<5x300xf32>
  return %c : memref<5x300xf32>
}

// -----

// Negative: what already runs on the device or does not touch elements is
// left alone: an existing launch (its body is not the host's), views,
// scalar host arithmetic, control flow carrying buffers, MPI transfers.

// CHECK-LABEL: func.func @left_alone
//       CHECK:   memref.subview
//       CHECK:   memref.subview
//       CHECK:   scf.if
//       CHECK:     scf.yield %{{.+}} : memref<4x4xf32, strided<[8, 1], offset: ?>>
//       CHECK:   gpu.launch
//       CHECK:     memref.store
//       CHECK:   mpi.isend
//   CHECK-NOT:   gpu.alloc
//   CHECK-NOT:   gpu.memcpy
func.func @left_alone(%a: memref<8x8xf32>, %p: i1, %x: f32) -> memref<4x4xf32, strided<[8, 1], offset: ?>> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %v = memref.subview %a[0, 0] [4, 4] [1, 1] : memref<8x8xf32> to memref<4x4xf32, strided<[8, 1]>>
  %w = memref.subview %a[4, 4] [4, 4] [1, 1] : memref<8x8xf32> to memref<4x4xf32, strided<[8, 1], offset: 36>>
  %r = scf.if %p -> memref<4x4xf32, strided<[8, 1], offset: ?>> {
    %c = memref.cast %v : memref<4x4xf32, strided<[8, 1]>> to memref<4x4xf32, strided<[8, 1], offset: ?>>
    scf.yield %c : memref<4x4xf32, strided<[8, 1], offset: ?>>
  } else {
    %c = memref.cast %w : memref<4x4xf32, strided<[8, 1], offset: 36>> to memref<4x4xf32, strided<[8, 1], offset: ?>>
    scf.yield %c : memref<4x4xf32, strided<[8, 1], offset: ?>>
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %x, %a[%c0, %c0] : memref<8x8xf32>
    gpu.terminator
  }
  %comm = mpi.comm_world : !mpi.comm
  %tag = arith.constant 0 : i32
  %req = mpi.isend(%a, %tag, %tag, %comm) : memref<8x8xf32>, i32, i32 -> !mpi.request
  mpi.wait(%req) : !mpi.request
  return %r : memref<4x4xf32, strided<[8, 1], offset: ?>>
}

// -----

// A constant buffer (host memory) becomes a device copy made once at the
// function's entry and freed before the return; the kernel reads the copy.
// A select between buffers stays on the host (it picks a pointer).

// CHECK-LABEL: func.func @constant
//       CHECK:   %[[HOST:.+]] = memref.get_global @table : memref<4xf32>
//       CHECK:   %[[T0:.+]] = gpu.wait async
//       CHECK:   %[[DEV:.+]], %[[T1:.+]] = gpu.alloc async [%[[T0]]] () : memref<4xf32>
//       CHECK:   %[[T2:.+]] = gpu.memcpy async [%[[T1]]] %[[DEV]], %[[HOST]]
//       CHECK:   gpu.wait [%[[T2]]]
//       CHECK:   %[[PICK:.+]] = arith.select %{{.+}}, %[[DEV]], %{{.+}} : memref<4xf32>
//       CHECK:   gpu.launch
//       CHECK:     memref.load %[[PICK]]
//       CHECK:   gpu.dealloc async [%{{.+}}] %[[DEV]]
//       CHECK:   return
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
#id1 = affine_map<(d0) -> (d0)>
func.func @constant(%a: memref<4xf32>, %p: i1) {
  %t = memref.get_global @table : memref<4xf32>
  %s = arith.select %p, %t, %a : memref<4xf32>
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]} ins(%s : memref<4xf32>) outs(%a : memref<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// The same constant read twice (here in two branches) is copied to the
// device once.

// CHECK-LABEL: func.func @constant_twice
//       CHECK:   memref.get_global @table
//       CHECK:   %[[DEV:.+]], %{{.+}} = gpu.alloc async
//   CHECK-NOT:   gpu.alloc
//       CHECK:   scf.if
//       CHECK:     gpu.launch
//       CHECK:       memref.load %[[DEV]]
//       CHECK:   } else {
//       CHECK:     gpu.launch
//       CHECK:       memref.load %[[DEV]]
//   CHECK-NOT:   gpu.alloc
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
#id1 = affine_map<(d0) -> (d0)>
func.func @constant_twice(%a: memref<4xf32>, %p: i1) {
  scf.if %p {
    %t = memref.get_global @table : memref<4xf32>
    linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]} ins(%t : memref<4xf32>) outs(%a : memref<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.addf %in, %out : f32
      linalg.yield %r : f32
    }
  } else {
    %t = memref.get_global @table : memref<4xf32>
    linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]} ins(%t : memref<4xf32>) outs(%a : memref<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.mulf %in, %out : f32
      linalg.yield %r : f32
    }
  }
  return
}

// -----

// CUDA refuses a launch of no block: an op over an empty buffer is no
// kernel at all, and one whose size is known only at run time launches only
// when it has iterations.
// CHECK-LABEL: func.func @empty_iteration_space
//   CHECK-NOT:   gpu.launch
//       CHECK:   return
func.func @empty_iteration_space(%a: memref<0x4xf32>, %c: memref<0x4xf32>) {
  linalg.copy ins(%a : memref<0x4xf32>) outs(%c : memref<0x4xf32>)
  return
}

// CHECK-LABEL: func.func @dynamic_iteration_space
//       CHECK:   %[[N:.+]] = arith.muli
//       CHECK:   %[[ANY:.+]] = arith.cmpi sgt, %[[N]], %{{.+}} : index
//       CHECK:   scf.if %[[ANY]] {
//       CHECK:     gpu.launch
//       CHECK:       math.exp
//       CHECK:   }
//       CHECK:   return
func.func @dynamic_iteration_space(%a: memref<?x4xf32>, %c: memref<?x4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x4xf32>) outs(%c : memref<?x4xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}
