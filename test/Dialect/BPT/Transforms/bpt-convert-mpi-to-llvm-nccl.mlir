// RUN: bpt-opt %s --bpt-convert-mpi-to-llvm="engine=nccl" --split-input-file --verify-diagnostics | FileCheck %s

// With engine=nccl, the receives and sends of a step are one NCCL group,
// opened before the first and closed after the last (the allocation and
// arithmetic between them stay inside); each transfer passes its buffer's
// bytes as i64 (2 x 8 bf16 = 32) and returns a request; mpi.wait becomes
// bptNcclWait. Rank and size still come from MPI; bpt.hold is erased.
// CHECK-DAG:   llvm.func @bptNcclGroupStart()
// CHECK-DAG:   llvm.func @bptNcclGroupEnd()
// CHECK-DAG:   llvm.func @bptNcclIrecv(!llvm.ptr, i64, i32) -> !llvm.ptr
// CHECK-DAG:   llvm.func @bptNcclIsend(!llvm.ptr, i64, i32) -> !llvm.ptr
// CHECK-DAG:   llvm.func @bptNcclWait(!llvm.ptr) -> i32
// CHECK-LABEL: func.func @ring_step
// CHECK:         llvm.call @MPI_Comm_rank
// CHECK:         llvm.call @bptNcclGroupStart()
// CHECK:         %[[R:.+]] = llvm.call @bptNcclIrecv(%{{.+}}, %{{.+}}, %[[PREV:.+]]) :
// CHECK:         memref.alloc
// CHECK:         %[[S:.+]] = llvm.call @bptNcclIsend(%{{.+}}, %{{.+}}, %[[NEXT:.+]]) :
// CHECK-NEXT:    llvm.call @bptNcclGroupEnd()
// CHECK:         gpu.launch_func @k::@k
// CHECK-NEXT:    llvm.call @bptNcclWait(%[[R]])
// CHECK-NEXT:    llvm.call @bptNcclWait(%[[S]])
// CHECK-NOT:     bpt.hold
// CHECK-NOT:     mpi.
// CHECK-NOT:     MPI_Isend
module attributes {gpu.container_module, dlti.map = #dlti.map<"MPI:Implementation" = "OpenMPI">} {
  gpu.module @k {
    gpu.func @k() kernel {
      gpu.return
    }
  }
  func.func @ring_step(%send: memref<2x8xbf16>, %recv: memref<2x8xbf16>) -> i32 {
    %comm = mpi.comm_world : !mpi.comm
    %rank = mpi.comm_rank(%comm) : i32
    %tag = arith.constant 0 : i32
    %one = arith.constant 1 : i32
    %prev = arith.subi %rank, %one : i32
    %r = mpi.irecv(%recv, %tag, %prev, %comm) : memref<2x8xbf16>, i32, i32 -> !mpi.request
    %tmp = memref.alloc() : memref<4xf32>
    %next = arith.addi %rank, %one : i32
    %s = mpi.isend(%send, %tag, %next, %comm) : memref<2x8xbf16>, i32, i32 -> !mpi.request
    %c1 = arith.constant 1 : index
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    mpi.wait(%r) : !mpi.request
    mpi.wait(%s) : !mpi.request
    bpt.hold %send, %recv : memref<2x8xbf16>, memref<2x8xbf16>
    memref.dealloc %tmp : memref<4xf32>
    return %rank : i32
  }
}

// -----

// Negative: an engine that is neither mpi nor nccl.
// RUN: not bpt-opt %s --bpt-convert-mpi-to-llvm="engine=gloo" --split-input-file 2>&1 | FileCheck %s --check-prefix=ENGINE
// ENGINE: error: bpt-convert-mpi-to-llvm: unknown engine 'gloo' (mpi or nccl)
module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "OpenMPI">} {
  func.func @engine(%recv: memref<8xf32>) {
    %comm = mpi.comm_world : !mpi.comm
    return
  }
}
