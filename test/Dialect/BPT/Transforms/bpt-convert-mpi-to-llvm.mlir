// RUN: bpt-opt %s --bpt-convert-mpi-to-llvm --split-input-file --verify-diagnostics | FileCheck %s

// The non-blocking ops become OpenMPI calls on the bytes of the buffer
// (MPI_BYTE, count = elements x element size), the request a stack slot,
// MPI_Wait with MPI_STATUS_IGNORE (null); bpt.hold is erased.
// CHECK-DAG:   llvm.mlir.global external @ompi_mpi_byte()
// CHECK-DAG:   llvm.func @MPI_Isend(!llvm.ptr, i32, !llvm.ptr, i32, i32, !llvm.ptr, !llvm.ptr) -> i32
// CHECK-DAG:   llvm.func @MPI_Irecv(!llvm.ptr, i32, !llvm.ptr, i32, i32, !llvm.ptr, !llvm.ptr) -> i32
// CHECK-DAG:   llvm.func @MPI_Wait(!llvm.ptr, !llvm.ptr) -> i32
// CHECK-DAG:   llvm.func @MPI_Comm_size(!llvm.ptr, !llvm.ptr) -> i32
// CHECK-LABEL: func.func @ring_step
// CHECK:         llvm.call @MPI_Comm_size
// CHECK:         llvm.mlir.constant(2 : i64)
// CHECK:         %[[REQ:.+]] = llvm.alloca %{{.+}} x !llvm.ptr
// CHECK:         llvm.call @MPI_Irecv(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[REQ]])
// CHECK:         llvm.call @MPI_Isend
// CHECK:         %[[NULL:.+]] = llvm.mlir.zero : !llvm.ptr
// CHECK:         llvm.call @MPI_Wait(%[[REQ]], %[[NULL]])
// CHECK-NOT:     bpt.hold
// CHECK-NOT:     mpi.
module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "OpenMPI">} {
  func.func @ring_step(%send: memref<2x8xbf16>, %recv: memref<2x8xbf16>) -> i32 {
    %comm = mpi.comm_world : !mpi.comm
    %size = mpi.comm_size(%comm) : i32
    %tag = arith.constant 0 : i32
    %peer = arith.constant 1 : i32
    %r = mpi.irecv(%recv, %tag, %peer, %comm) : memref<2x8xbf16>, i32, i32 -> !mpi.request
    %s = mpi.isend(%send, %tag, %peer, %comm) : memref<2x8xbf16>, i32, i32 -> !mpi.request
    mpi.wait(%r) : !mpi.request
    mpi.wait(%s) : !mpi.request
    bpt.hold %send, %recv : memref<2x8xbf16>, memref<2x8xbf16>
    return %size : i32
  }
}

// -----

// Negative: a module that does not name OpenMPI is refused.
module {
  func.func @mpich(%recv: memref<8xf32>) {
    // expected-error @+1 {{bpt-convert-mpi-to-llvm: the module must name OpenMPI as its MPI}}
    %comm = mpi.comm_world : !mpi.comm
    %tag = arith.constant 0 : i32
    %r = mpi.irecv(%recv, %tag, %tag, %comm) : memref<8xf32>, i32, i32 -> !mpi.request
    mpi.wait(%r) : !mpi.request
    return
  }
}

// -----

// Negative: a strided buffer is not contiguous: the op is not converted.
module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "OpenMPI">} {
  func.func @strided(%buf: memref<8xf32, strided<[2]>>) {
    %comm = mpi.comm_world : !mpi.comm
    %tag = arith.constant 0 : i32
    // expected-error @+1 {{failed to legalize operation 'mpi.isend'}}
    %s = mpi.isend(%buf, %tag, %tag, %comm) : memref<8xf32, strided<[2]>>, i32, i32 -> !mpi.request
    mpi.wait(%s) : !mpi.request
    return
  }
}
