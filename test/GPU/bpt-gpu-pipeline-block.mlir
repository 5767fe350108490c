// A whole GPT-2 block (f16, S = 256, d_model 64, 4 heads, d_ff 512, causal)
// raised and compiled for the GPU: the attention is one tensor-core kernel
// launch; the four contractions (QKV and out-projections, the FFN's up and
// down projections per chunk) are tensor-core contraction kernels, the
// first three with what follows them fused into their epilogue (bias and
// rounding; bias, residual and rounding; bias and GELU); layer norms, the
// down projection's bias and residual and the head reshuffles are plain
// device kernels (--bpt-gpu-offload); the FFN runs in tiles of 64 rows x
// 64 hidden units (the hidden chunk stored in f16, as the down projection's
// tensor cores take it), so neither the S x S scores nor the S x d_ff hidden
// activation is ever allocated. Every buffer is a device allocation.
// RUN: bpt-opt %S/Inputs/gpt2-block-f16.mlir --bpt-raise --bpt-gpu-pipeline="format=isa ffn-rows=64 ffn-chunk=64" --mlir-print-ir-after=bpt-gpu-offload -o %t.ll.mlir 2>&1 | FileCheck %s
// RUN: mlir-translate --mlir-to-llvmir %t.ll.mlir | FileCheck %s --check-prefix=LLVM
// RUN: FileCheck %s --input-file=%t.ll.mlir --check-prefix=PTX --dump-input=never
// ptxas accepts the kernels for sm_80 and sm_90a:
// RUN: bpt-opt %S/Inputs/gpt2-block-f16.mlir --bpt-raise --bpt-gpu-pipeline="chip=sm_80 ffn-rows=64 ffn-chunk=64" | FileCheck %s --check-prefix=BIN --dump-input=never
// RUN: bpt-opt %S/Inputs/gpt2-block-f16.mlir --bpt-raise --bpt-gpu-pipeline="chip=sm_90a ffn-rows=64 ffn-chunk=64" | FileCheck %s --check-prefix=BIN --dump-input=never

// CHECK-LABEL: func.func @gpt2_block
//   CHECK-NOT:   memref.alloc
//   CHECK-NOT:   memref<256x256x
//   CHECK-NOT:   memref<1x4x256x256x
//   CHECK-NOT:   memref<256x512x
//       CHECK:   gpu.launch_func  @bpt_kernels::@bpt_matmul_m256_n192_k64_f16xf16_f16_async_epilogue0
//       CHECK:   gpu.launch_func  @bpt_kernels::@bpt_attention_b1_h4x4_q256_k256_d16x16_f16_f16_causal
//       CHECK:   gpu.launch_func  @bpt_kernels::@bpt_matmul_m256_n64_k64_f16xf16_f16_async_epilogue0
//   CHECK-NOT:   memref<256x512x
// The host loop over row tiles (0 to 256 step 64) holds the tile's f32
// accumulator, freed at the end of each iteration; the loop over hidden
// chunks (0 to 512 step 64) the chunk's hidden activation.
//       CHECK:   scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} {
//       CHECK:     %[[ACC:.+]], %{{.+}} = gpu.alloc async [%{{.+}}] () : memref<64x64xf32>
//       CHECK:     scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} {
//       CHECK:       gpu.alloc async [%{{.+}}] () : memref<64x64xf16>
//       CHECK:       gpu.launch_func  @bpt_kernels::@bpt_matmul_m64_n64_k64_f16xf16_f16_async_epilogue0
//   CHECK-NOT:       gpu.launch blocks
//       CHECK:       gpu.launch_func  @bpt_kernels::@bpt_matmul_m64_n64_k64_f16xf16_f32_async
//       CHECK:     }
//       CHECK:     gpu.dealloc async [%{{.+}}] %[[ACC]] : memref<64x64xf32>
//       CHECK:   }
//   CHECK-NOT:   memref<256x512x
//   CHECK-NOT:   memref.alloc
//       CHECK:   return

// LLVM: define {{.*}} @gpt2_block(
// LLVM-NOT: call ptr @malloc
// LLVM: call ptr @mgpuMemAlloc
// LLVM-NOT: call ptr @malloc
// LLVM: call void @mgpuMemFree
// LLVM-NOT: call ptr @malloc

// The contraction kernels in PTX form use shared tiles, ldmatrix (B
// transposed), f16 MMAs with f32 accumulators; those whose operands are
// f16 with unit-stride rows also have the two-stage cp.async loop (taken
// when the rows are 16-byte aligned at run time).
//      PTX: gpu.binary @bpt_kernels
// PTX-SAME:   .entry bpt_matmul_m256_n192_k64_f16xf16_f16_async_epilogue0
// PTX-SAME:   bar.sync
// PTX-SAME:   ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-SAME:   ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX-SAME:   mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-SAME:   cp.async.cg.shared.global [{{[^]]+}}], [{{[^]]+}}], 16
// PTX-SAME:   cp.async.commit_group
// PTX-SAME:   cp.async.wait_group {{(\\09)?}}1
// PTX-SAME:   mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-SAME:   .entry bpt_matmul_m64_n64_k64_f16xf16_f32_async
// PTX-SAME:   mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32

//      BIN: gpu.binary @bpt_kernels
// BIN-SAME:   bin = "\7FELF
