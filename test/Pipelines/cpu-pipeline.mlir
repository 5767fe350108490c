// --bpt-cpu-pipeline takes bpt ops on tensors all the way to the LLVM
// dialect: nothing of bpt, linalg, tensor or memref is left, and every
// public function gets its C interface.
// RUN: bpt-opt %s --bpt-cpu-pipeline | FileCheck %s
// RUN: bpt-opt %s --bpt-cpu-pipeline="c-interface=false" | FileCheck %s --check-prefix=NOCIFACE
// RUN: bpt-opt %s --bpt-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// Without the polynomial approximations, exp and erf go to LLVM and libm:
// RUN: bpt-opt %s --bpt-cpu-pipeline="approximate-math=false" | FileCheck %s --check-prefix=LIBM
// After --bpt-blockwise, the parallel loops run on OpenMP:
// RUN: bpt-opt %s --bpt-blockwise="q-block=4 kv-block=4" --bpt-cpu-pipeline | FileCheck %s --check-prefix=OMP
// RUN: bpt-opt %s --bpt-blockwise="q-block=4 kv-block=4" --bpt-cpu-pipeline="openmp=false" | FileCheck %s --check-prefix=NOOMP

// CHECK-NOT: bpt.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK-LABEL: llvm.func @block(
// CHECK:        llvm.call @malloc
// CHECK-NOT:    llvm.call @erff
// CHECK:        llvm.call @free
// CHECK-LABEL: llvm.func @_mlir_ciface_block(
// CHECK-NOT: memref.
// NOCIFACE-NOT: _mlir_ciface_
// LIBM:        llvm.intr.exp
// LIBM:        llvm.call @erff
// OMP:         omp.parallel
// OMP:           omp.wsloop
// NOOMP-NOT:   omp.
// LLVMIR: define void @_mlir_ciface_block(ptr

func.func @block(%x: tensor<1x2x8x4xf32>, %w1: tensor<4x16xf32>, %w2: tensor<16x4xf32>)
    -> tensor<1x2x8x4xf32> {
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
