// RUN: bpt-opt %s --bpt-ring="devices=4" --split-input-file | FileCheck %s --enable-var-scope
// RUN: bpt-opt %s --bpt-ring="devices=2 order=zigzag" --split-input-file | FileCheck %s --check-prefix=ZIG
// The whole path for CPU ranks as one pipeline: OpenMPI calls, no OpenMP.
// RUN: bpt-opt %s --bpt-ring-cpu-pipeline="devices=3 q-block=4 kv-block=4" --split-input-file | FileCheck %s --check-prefix=PIPE
// After bufferization and deallocation, the buffers a request uses are
// freed only after its wait (the bpt.hold), never between the isend and it:
// RUN: bpt-opt %s --bpt-ring="devices=2" --bpt-decompose --split-input-file \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   --buffer-deallocation-pipeline --convert-bufferization-to-memref \
// RUN:   --bpt-dealloc-after-last-use | FileCheck %s --check-prefix=DEALLOC

// Causal attention on 4 ranks: the rank and ring neighbours from MPI, a
// run-time check of the number of ranks, then per step: receives of the
// next key and value blocks and sends of the held ones are started, the
// attention of the local queries against the held block runs (skipped when
// no query sees it), its result is merged with the log-sum-exp, and only
// then are the four requests waited on and the buffers held. The last
// step communicates nothing.
// CHECK:       module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "OpenMPI">}
// CHECK-LABEL: func.func @causal
// CHECK:         %[[COMM:.+]] = mpi.comm_world
// CHECK:         %[[RANK:.+]] = mpi.comm_rank(%[[COMM]])
// CHECK:         %[[SIZE:.+]] = mpi.comm_size(%[[COMM]])
// CHECK:         cf.assert %{{.+}}, "bpt-ring: this program runs on exactly 4 MPI ranks"
// Step 0:
// CHECK:         %[[RK0:.+]] = mpi.irecv(%[[BK1:[^,]+]], %{{.+}}, %[[PREV:[^,]+]], %[[COMM]])
// CHECK:         %[[RV0:.+]] = mpi.irecv(%[[BV1:[^,]+]], %{{.+}}, %[[PREV]], %[[COMM]])
// CHECK:         %[[SK0:.+]] = mpi.isend(%[[BK0:[^,]+]], %{{.+}}, %[[NEXT:[^,]+]], %[[COMM]])
// CHECK:         %[[SV0:.+]] = mpi.isend(%[[BV0:[^,]+]], %{{.+}}, %[[NEXT]], %[[COMM]])
// CHECK:         scf.if
// CHECK:           bpt.attention causal ins(%{{.+}}, %[[K:[^,]+]], %[[V:[^ ]+]] : {{.*}}) positions(
// CHECK:           linalg.generic
// CHECK:           math.log
// CHECK:         mpi.wait(%[[RK0]])
// CHECK:         mpi.wait(%[[RV0]])
// CHECK:         mpi.wait(%[[SK0]])
// CHECK:         mpi.wait(%[[SV0]])
// CHECK:         bpt.hold %[[BK0]], %[[BV0]], %[[BK1]], %[[BV1]]
// CHECK:         %[[K1:.+]] = bufferization.to_tensor %[[BK1]] restrict
// CHECK:         %[[V1:.+]] = bufferization.to_tensor %[[BV1]] restrict
// Step 1 sends what step 0 received and computes on it:
// CHECK:         mpi.irecv
// CHECK:         mpi.irecv
// CHECK:         mpi.isend(%[[BK1]],
// CHECK:         mpi.isend(%[[BV1]],
// CHECK:         bpt.attention causal ins(%{{.+}}, %[[K1]], %[[V1]] :
// CHECK-COUNT-4: mpi.wait
// CHECK:         bpt.hold
// Step 2:
// CHECK-COUNT-2: mpi.irecv
// CHECK-COUNT-2: mpi.isend
// CHECK:         bpt.attention
// CHECK-COUNT-4: mpi.wait
// Step 3, the last: compute only.
// CHECK-NOT:     mpi.isend
// CHECK:         bpt.attention
// CHECK-NOT:     mpi.
// CHECK:         return
// PIPE-LABEL: llvm.func @causal
// PIPE-NOT:    omp.
// PIPE:        llvm.call @MPI_Comm_size
// PIPE:        llvm.call @MPI_Irecv
// PIPE:        llvm.call @MPI_Isend
// PIPE:        llvm.call @MPI_Wait
// PIPE-NOT:    bpt.
// DEALLOC-LABEL: func.func @causal
// DEALLOC:         %[[S:.+]] = mpi.isend(%[[B:[^,]+]],
// DEALLOC-NOT:     memref.dealloc %[[B]]
// DEALLOC:         mpi.wait(%[[S]])
// DEALLOC-NOT:     memref.dealloc %[[B]]
// DEALLOC:         bpt.hold %[[B]],
// DEALLOC:         memref.dealloc %[[B]]
func.func @causal(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %e = tensor.empty() : tensor<1x2x8x4xf32>
  %o = bpt.attention causal ins(%q, %k, %v : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) outs(%e : tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Non-causal: no step is skipped (no scf.if). In zigzag order each shard
// is two chunks of 4 rows: four attentions per step (query chunk x key
// chunk), two running results, inserted into the output at rows 0 and 4.
// CHECK-LABEL: func.func @full
// CHECK-NOT:     scf.if
// CHECK-COUNT-4: bpt.attention ins
// CHECK-NOT:     bpt.attention
// ZIG-LABEL: func.func @full
// ZIG-COUNT-8: bpt.attention ins
// ZIG-NOT:     bpt.attention
// ZIG:         tensor.insert_slice %{{.+}} into %{{.+}}[0, 0, 0, 0] [1, 2, 4, 4]
// ZIG:         tensor.insert_slice %{{.+}} into %{{.+}}[0, 0, 4, 0] [1, 2, 4, 4]
func.func @full(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %e = tensor.empty() : tensor<1x2x8x4xf32>
  %o = bpt.attention ins(%q, %k, %v : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) outs(%e : tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// A bpt.block is dissolved: its ops stay, row-wise and local, around the
// ring.
// CHECK-LABEL: func.func @block
// CHECK-NOT:     bpt.block
// CHECK:         mpi.isend
// CHECK:         bpt.ffn
// CHECK-NOT:     bpt.yield
func.func @block(%x: tensor<1x2x8x4xf32>, %w1: tensor<4x16xf32>, %w2: tensor<16x4xf32>) -> tensor<1x2x8x4xf32> {
  %r = bpt.block (%a = %x : tensor<1x2x8x4xf32>, %u = %w1 : tensor<4x16xf32>,
                  %d = %w2 : tensor<16x4xf32>) -> (tensor<1x2x8x4xf32>) {
    %e = tensor.empty() : tensor<1x2x8x4xf32>
    %0 = bpt.attention causal ins(%a, %a, %a : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
           outs(%e : tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
    %1 = bpt.ffn gelu ins(%0 : tensor<1x2x8x4xf32>) up(%u : tensor<4x16xf32>) down(%d : tensor<16x4xf32>)
           outs(%a : tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
    bpt.yield %1 : tensor<1x2x8x4xf32>
  }
  return %r : tensor<1x2x8x4xf32>
}

// -----

// Negative: a module without attention is left unchanged (no MPI, no
// implementation attribute).
// CHECK-NOT:   dlti.map
// CHECK-LABEL: func.func @no_attention
// CHECK-NOT:     mpi.
func.func @no_attention(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// A block that yields one of its own arguments: dissolved, the result is
// the block's input (regression: this crashed).
// CHECK-LABEL: func.func @block_yields_argument
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<1x1x4x4xf32>)
// CHECK:         return %{{.+}}, %[[X]]
func.func @block_yields_argument(%x: tensor<1x1x4x4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %r:2 = bpt.block (%a = %x : tensor<1x1x4x4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
    %0 = bpt.attention ins(%a, %a, %a : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>)
           outs(%a : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
    bpt.yield %0, %a : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
  }
  return %r#0, %r#1 : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}
