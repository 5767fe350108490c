// The sm_90a contraction kernel (--bpt-gpu-pipeline{wgmma=true}) down to
// PTX, TMA loads (cp.async.bulk.tensor) counted on mbarriers, warpgroup
// MMAs (wgmma.mma_async m64n128k16, eight per K step of 64: two 64-row
// halves x four k16), one group left in flight in the loop, all retired
// before the result tile is stored; the mma.sync kernel is there too, for
// operands that are not 16-byte aligned at run time. The host makes two
// tensor maps (mgpuTensorMapEncodeTiledMemref, the runtime's) before the
// launch. ptxas accepts the cubin for sm_90a; for sm_80 the wgmma ops are
// refused with a diagnostic naming them.
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a format=isa wgmma=true" | FileCheck %s --dump-input=never --check-prefix=PTX
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a format=isa wgmma=true" | FileCheck %s --dump-input=never --check-prefix=HOST
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a wgmma=true" | FileCheck %s --dump-input=never --check-prefix=BIN
// RUN: not bpt-opt %s --bpt-gpu-pipeline="chip=sm_80 wgmma=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=SM80
// Without wgmma, no TMA and no wgmma at all:
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a format=isa" | FileCheck %s --dump-input=never --check-prefix=OFF

// PTX: .target sm_90a
// PTX: .entry bpt_matmul_m512_n1024_k256_bf16xbf16_f32_async(
// PTX: cp.async.cg.shared.global
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: .entry bpt_matmul_m512_n1024_k256_bf16xbf16_f32_wgmma(
// PTX: mbarrier.init.shared.b64
// PTX: fence.proxy.async.shared::cta
// PTX: mbarrier.arrive.expect_tx.shared.b64
// PTX: cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes
// PTX: mbarrier.try_wait.parity.shared.b64
// PTX: wgmma.fence.sync.aligned
// PTX-COUNT-8: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// PTX: wgmma.commit_group.sync.aligned
// PTX: wgmma.wait_group.sync.aligned{{[^;]*}}1;
// PTX: bar.sync
// PTX: cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes
// PTX: wgmma.wait_group.sync.aligned{{[^;]*}}0;

// HOST-LABEL: llvm.func @ffn_up
// HOST-COUNT-2: llvm.call @mgpuTensorMapEncodeTiledMemref(
// HOST: gpu.launch_func <%{{.+}} : !llvm.ptr> @bpt_kernels::@bpt_matmul_m512_n1024_k256_bf16xbf16_f32_wgmma
// HOST-SAME: dynamic_shared_memory_size
// HOST: gpu.launch_func <%{{.+}} : !llvm.ptr> @bpt_kernels::@bpt_matmul_m512_n1024_k256_bf16xbf16_f32_async

// BIN: gpu.binary @bpt_kernels
// BIN-SAME: chip = "sm_90a"

// SM80: error: 'nvvm.wgmma.fence.aligned' op is not supported on sm_80

// OFF-NOT: wgmma.mma_async
// OFF-NOT: cp.async.bulk.tensor
// OFF: mma.sync.aligned.m16n8k16
// OFF-NOT: wgmma.mma_async
// OFF-NOT: cp.async.bulk.tensor

func.func @ffn_up(%x: tensor<512x256xbf16>, %w: tensor<256x1024xbf16>) -> tensor<512x1024xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<512x1024xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<512x1024xf32>) -> tensor<512x1024xf32>
  %y = linalg.matmul ins(%x, %w : tensor<512x256xbf16>, tensor<256x1024xbf16>) outs(%f : tensor<512x1024xf32>) -> tensor<512x1024xf32>
  return %y : tensor<512x1024xf32>
}
