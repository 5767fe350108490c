// RUN: bpt-opt %s --bpt-gpu-stream --split-input-file -verify-diagnostics | FileCheck %s

// What --bpt-gpu-offload leaves (a stream and a host wait per allocation,
// free and copy; launches synchronous) becomes one chain on one stream made
// at the entry: each operation depends on the one before it, and the host
// waits once, for the last, before the return.
// CHECK-LABEL: func.func @straight
//  CHECK-NEXT:   %[[S:.+]] = gpu.wait async
//       CHECK:   %[[M:.+]], %[[T1:.+]] = gpu.alloc async [%[[S]]] () : memref<16xf32>
//  CHECK-NEXT:   %[[T2:.+]] = gpu.memcpy async [%[[T1]]] %[[M]], %{{.+}}
//  CHECK-NEXT:   %[[T3:.+]] = gpu.launch_func async [%[[T2]]] @k::@k
//  CHECK-NEXT:   %[[T4:.+]] = gpu.launch async [%[[T3]]] blocks
//       CHECK:   %[[T5:.+]] = gpu.dealloc async [%[[T4]]] %[[M]]
//  CHECK-NEXT:   gpu.wait [%[[T5]]]
//  CHECK-NEXT:   return
//   CHECK-NOT:   gpu.wait
module attributes {gpu.container_module} {
  func.func @straight(%h: memref<16xf32>) {
    %c1 = arith.constant 1 : index
    %w0 = gpu.wait async
    %m, %t0 = gpu.alloc async [%w0] () : memref<16xf32>
    gpu.wait [%t0]
    %w1 = gpu.wait async
    %t1 = gpu.memcpy async [%w1] %m, %h : memref<16xf32>, memref<16xf32>
    gpu.wait [%t1]
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<16xf32>)
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      gpu.terminator
    }
    %w2 = gpu.wait async
    %t2 = gpu.dealloc async [%w2] %m : memref<16xf32>
    gpu.wait [%t2]
    return
  }
  gpu.module @k {
    gpu.func @k(%m: memref<16xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// Operations in loops and conditionals chain from the operation before
// their region op (the same stream orders them after it, and what follows
// the region after them).
// CHECK-LABEL: func.func @regions
//  CHECK-NEXT:   %[[S:.+]] = gpu.wait async
//       CHECK:   %[[M:.+]], %[[T1:.+]] = gpu.alloc async [%[[S]]]
//  CHECK-NEXT:   scf.for
//  CHECK-NEXT:     %[[T2:.+]] = gpu.launch_func async [%[[T1]]] @k::@k
//  CHECK-NEXT:     scf.if
//  CHECK-NEXT:       gpu.launch_func async [%[[T2]]] @k::@k
//       CHECK:   %[[T3:.+]] = gpu.dealloc async [%[[T1]]] %[[M]]
//  CHECK-NEXT:   gpu.wait [%[[T3]]]
//  CHECK-NEXT:   return
module attributes {gpu.container_module} {
  func.func @regions(%n: index, %p: i1) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %w0 = gpu.wait async
    %m, %t0 = gpu.alloc async [%w0] () : memref<16xf32>
    gpu.wait [%t0]
    scf.for %i = %c0 to %n step %c1 {
      gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<16xf32>)
      scf.if %p {
        gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<16xf32>)
      }
    }
    %w1 = gpu.wait async
    %t1 = gpu.dealloc async [%w1] %m : memref<16xf32>
    gpu.wait [%t1]
    return
  }
  gpu.module @k {
    gpu.func @k(%m: memref<16xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// A host call (ring attention's exchanges are calls once lowered; here a
// func.call) may expect the device work before it done: the function is
// left as it is, a wait per operation.
// CHECK-LABEL: func.func @calls
//       CHECK:   %[[W:.+]] = gpu.wait async
//  CHECK-NEXT:   gpu.alloc async [%[[W]]]
//  CHECK-NEXT:   gpu.wait [%{{.+}}]
//  CHECK-NEXT:   gpu.launch_func @k::@k
//  CHECK-NEXT:   call @exchange
module attributes {gpu.container_module} {
  func.func private @exchange(memref<16xf32>)
  func.func @calls() {
    %c1 = arith.constant 1 : index
    %w0 = gpu.wait async
    %m, %t0 = gpu.alloc async [%w0] () : memref<16xf32>
    gpu.wait [%t0]
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<16xf32>)
    // expected-remark @below {{bpt-gpu-stream: 'calls' keeps a host wait per device operation: this host op may need the device work before it done}}
    func.call @exchange(%m) : (memref<16xf32>) -> ()
    return
  }
  gpu.module @k {
    gpu.func @k(%m: memref<16xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// A body of several blocks (branches are not followed) is left as it is.
// CHECK-LABEL: func.func @blocks
//       CHECK:   %[[W:.+]] = gpu.wait async
//  CHECK-NEXT:   gpu.alloc async [%[[W]]]
//  CHECK-NEXT:   gpu.wait [%{{.+}}]
//  CHECK-NEXT:   cf.br ^bb1
//       CHECK: ^bb1:
//  CHECK-NEXT:   gpu.launch_func @k::@k
module attributes {gpu.container_module} {
  func.func @blocks() {
    %c1 = arith.constant 1 : index
    %w0 = gpu.wait async
    %m, %t0 = gpu.alloc async [%w0] () : memref<16xf32>
    gpu.wait [%t0]
    cf.br ^bb1
  ^bb1:
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<16xf32>)
    // expected-remark @below {{bpt-gpu-stream: 'blocks' keeps a host wait per device operation: its body has several blocks}}
    return
  }
  gpu.module @k {
    gpu.func @k(%m: memref<16xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// Host-shared memory is read by the host: left as it is.
// CHECK-LABEL: func.func @host_shared
//   CHECK-NOT:   gpu.launch_func async
//       CHECK:   gpu.launch_func @k::@k
module attributes {gpu.container_module} {
  func.func @host_shared() {
    %c1 = arith.constant 1 : index
    // expected-remark @below {{bpt-gpu-stream: 'host_shared' keeps a host wait per device operation: the host reads host-shared memory}}
    %m = gpu.alloc host_shared () : memref<16xf32>
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<16xf32>)
    return
  }
  gpu.module @k {
    gpu.func @k(%m: memref<16xf32>) kernel {
      gpu.return
    }
  }
}
