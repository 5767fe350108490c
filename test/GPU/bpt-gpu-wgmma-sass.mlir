// What ptxas makes of the sm_90a contraction kernel (--bpt-gpu-pipeline
// {wgmma=true}), read back from the cubin (python -m bpt.gpu sass, as
// bpt-gpu-attention-sass.mlir does for attention): no spills; per K step
// eight m64n128k16 HGMMAs (two 64-row halves x four k16) with B transposed
// (N-major, as upstream's lowering lays it out), then a wait that leaves
// one group in flight (WARPGROUP.DEPBAR.LE gsb0, 0x1: ptxas kept the
// kernel's one-step MMA overlap; no warpgroup wait of its own in the loop),
// and all retired (0x0) before the result tile is stored.
// REQUIRES: nvdisasm
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a format=isa wgmma=true" | %python -m bpt.gpu sass - | FileCheck %s

// CHECK-LABEL: == bpt_matmul_m512_n1024_k256_bf16xbf16_f32_wgmma: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads;
//       CHECK: SYNCS.PHASECHK.TRANS64.TRYWAIT
//       CHECK: WARPGROUP.ARRIVE
// CHECK-COUNT-8: HGMMA.64x128x16.F32.BF16 R{{[0-9]+}}, gdesc[{{[A-Z0-9]+}}].tnspB, R{{[0-9]+}}
//   CHECK-NOT: WARPGROUP.DEPBAR
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x1
//   CHECK-NOT: HGMMA
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x0
//   CHECK-NOT: HGMMA
//       CHECK: EXIT
func.func @ffn_up(%x: tensor<512x256xbf16>, %w: tensor<256x1024xbf16>) -> tensor<512x1024xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<512x1024xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<512x1024xf32>) -> tensor<512x1024xf32>
  %y = linalg.matmul ins(%x, %w : tensor<512x256xbf16>, tensor<256x1024xbf16>) outs(%f : tensor<512x1024xf32>) -> tensor<512x1024xf32>
  return %y : tensor<512x1024xf32>
}
