// A whole GPT-2 block (f16, S = 256, d_model 64, 4 heads, d_ff 512, causal)
// raised and compiled for the GPU: the attention is one tensor-core kernel
// launch; layer norms, projections, the residuals and the FFN are device
// kernels (--bpt-gpu-offload); the FFN runs in chunks of 64 rows x 64
// hidden units, so neither the S x S scores nor the S x d_ff hidden
// activation is ever allocated. Every buffer is a device allocation.
// RUN: bpt-opt %S/Inputs/gpt2-block-f16.mlir --bpt-raise --bpt-gpu-pipeline="format=isa ffn-chunk=64" --mlir-print-ir-after=bpt-gpu-offload -o %t.ll.mlir 2>&1 | FileCheck %s
// RUN: mlir-translate --mlir-to-llvmir %t.ll.mlir | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @gpt2_block
//   CHECK-NOT:   memref.alloc
//   CHECK-NOT:   memref<256x256x
//   CHECK-NOT:   memref<1x4x256x256x
//   CHECK-NOT:   memref<256x512x
//       CHECK:   gpu.launch_func  @bpt_kernels::@bpt_attention_b1_h4x4_q256_k256_d16x16_f16_f16_causal
//   CHECK-NOT:   memref<256x512x
//       CHECK:   scf.forall (%{{.+}}) = (0) to (256) step (64)
//       CHECK:     scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} {
//       CHECK:       gpu.alloc async [%{{.+}}] () : memref<64x64xf32>
//       CHECK:       gpu.launch
//   CHECK-NOT:   memref<256x512x
//   CHECK-NOT:   memref.alloc
//       CHECK:   return

// LLVM: define {{.*}} @gpt2_block(
// LLVM-NOT: call ptr @malloc
// LLVM: call ptr @mgpuMemAlloc
// LLVM-NOT: call ptr @malloc
// LLVM: call void @mgpuMemFree
// LLVM-NOT: call ptr @malloc
