// The whole GPU pipeline: kernels as PTX (format=isa) for sm_80 and sm_90a,
// with the tensor-core, shuffle and barrier instructions the kernel design
// calls for; as cubins (format=bin: ptxas of the CUDA toolkit accepted them);
// the host code calls the mgpu* entry points of runtime/cuda.
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_80 format=isa" | FileCheck %s --dump-input=never --check-prefixes=CHECK,SM80
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a format=isa" | FileCheck %s --dump-input=never --check-prefixes=CHECK,SM90
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_80" | FileCheck %s --dump-input=never --check-prefixes=BIN
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a" | FileCheck %s --dump-input=never --check-prefixes=BIN
// The function's device work goes, in order, onto one stream made at its
// entry (allocation, launch, frees: --bpt-gpu-stream); the host waits for
// it once, before it returns. With one-stream=false every operation has a
// stream of its own and the host waits for each.
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a format=isa" | mlir-translate --mlir-to-llvmir | FileCheck %s --dump-input=never --check-prefixes=HOST
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a format=isa one-stream=false" | mlir-translate --mlir-to-llvmir | FileCheck %s --dump-input=never --check-prefixes=SYNC

//       CHECK: llvm.func @causal_gqa_f16(
//       CHECK:   llvm.call @mgpuMemAlloc
//       CHECK:   gpu.launch_func <%{{.+}} : !llvm.ptr> @bpt_kernels::@bpt_attention_b1_h4x2_q100_k100_d64x64_f16_f16_causal
//       CHECK: llvm.func @_mlir_ciface_causal_gqa_f16(

//        HOST: define {{.*}} @causal_gqa_f16(
//        HOST:   %[[S:.+]] = call ptr @mgpuStreamCreate()
//        HOST:   call ptr @mgpuMemAlloc(i64 {{.+}}, ptr %[[S]],
//    HOST-NOT:   @mgpuStreamCreate
//    HOST-NOT:   @mgpuStreamSynchronize
//        HOST:   call void @mgpuLaunchKernel({{.+}}, ptr %[[S]],
//    HOST-NOT:   @mgpuStreamCreate
//        HOST:   call void @mgpuStreamSynchronize(ptr %[[S]])
//   HOST-NEXT:   call void @mgpuStreamDestroy(ptr %[[S]])
//   HOST-NEXT:   ret

//        SYNC: define {{.*}} @causal_gqa_f16(
//        SYNC:   %[[A:.+]] = call ptr @mgpuStreamCreate()
//        SYNC:   call ptr @mgpuMemAlloc(i64 {{.+}}, ptr %[[A]],
//        SYNC:   call void @mgpuStreamSynchronize(ptr %[[A]])
//        SYNC:   %[[L:.+]] = call ptr @mgpuStreamCreate()
//        SYNC:   call void @mgpuLaunchKernel({{.+}}, ptr %[[L]],
//        SYNC:   call void @mgpuStreamSynchronize(ptr %[[L]])

//       CHECK: gpu.binary @bpt_kernels
//  SM80-SAME:    #nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">
//  SM90-SAME:    #nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
//  SM80-SAME:    .target sm_80
//  SM90-SAME:    .target sm_90a
//       CHECK-SAME:  .entry bpt_attention_b1_h4x2_q100_k100_d64x64_f16_f16_causal
// (In the order LLVM lays the loop out: the softmax first, then P V, then
// the next tile's scores.)
//       CHECK-SAME:  cp.async.cg.shared.global [{{[^]]+}}], [{{[^]]+}}], 16
//       CHECK-SAME:  cp.async.commit_group
//       CHECK-SAME:  shfl.sync.bfly.b32
//       CHECK-SAME:  ex2.approx.ftz.f32
//       CHECK-SAME:  cp.async.wait_group {{(\\09)?}}1
//       CHECK-SAME:  bar.sync
//       CHECK-SAME:  ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
//       CHECK-SAME:  mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
//       CHECK-SAME:  ldmatrix.sync.aligned.m8n8.x4.shared.b16
//       CHECK-SAME:  .entry bpt_attention_b1_h2x2_q64_k200_d128x128_bf16_f32_lse
//       CHECK-SAME:  mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
//       CHECK-SAME:  lg2.approx.f32

//       BIN: gpu.binary @bpt_kernels
//  BIN-SAME:   bin = "\7FELF

func.func @causal_gqa_f16(%q: tensor<1x4x100x64xf16>, %k: tensor<1x2x100x64xf16>, %v: tensor<1x2x100x64xf16>) -> tensor<1x4x100x64xf16> {
  %e = tensor.empty() : tensor<1x4x100x64xf16>
  %o = bpt.attention causal ins(%q, %k, %v : tensor<1x4x100x64xf16>, tensor<1x2x100x64xf16>, tensor<1x2x100x64xf16>) outs(%e : tensor<1x4x100x64xf16>) -> tensor<1x4x100x64xf16>
  return %o : tensor<1x4x100x64xf16>
}

func.func @lse_bf16(%q: tensor<1x2x64x128xbf16>, %k: tensor<1x2x200x128xbf16>, %v: tensor<1x2x200x128xbf16>) -> (tensor<1x2x64x128xf32>, tensor<1x2x64xf32>) {
  %e = tensor.empty() : tensor<1x2x64x128xf32>
  %l = tensor.empty() : tensor<1x2x64xf32>
  %o:2 = bpt.attention ins(%q, %k, %v : tensor<1x2x64x128xbf16>, tensor<1x2x200x128xbf16>, tensor<1x2x200x128xbf16>) outs(%e, %l : tensor<1x2x64x128xf32>, tensor<1x2x64xf32>) -> tensor<1x2x64x128xf32>, tensor<1x2x64xf32>
  return %o#0, %o#1 : tensor<1x2x64x128xf32>, tensor<1x2x64xf32>
}
