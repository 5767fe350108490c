// What ptxas makes of the sm_90a attention kernel (--bpt-gpu-pipeline
// {wgmma=true}), read back from the cubin with nvdisasm (python -m bpt.gpu
// sass): the kernel builder arranges overlaps and register operands that
// ptxas could undo (by spilling, or by a warpgroup wait it injects before a
// register of an unfinished MMA is used), and PTX alone cannot show it.
// For head dims 128, 96 and 192 (the next tile's scores issued before this
// tile's softmax) and 256 (each tile's scores waited for):
// - no spills (ptxas -v); at D = 64, at most 128 registers (two blocks an
//   SM; none spilled here, 16 bytes for bf16 causal);
// - Q K^T as m64n64k16 HGMMAs (.BF16 for bf16; no suffix for f16); the loop's next-tile scores are followed by
//   the softmax's exponentials (MUFU.EX2) with no WARPGROUP.DEPBAR between
//   them: the scores run on the tensor cores while the softmax does (at
//   D = 256, a DEPBAR before them instead);
// - P V as four HGMMAs whose A operand is a register (P) and whose B is
//   transposed (V N-major: .tnspB), then one DEPBAR.
// REQUIRES: nvdisasm
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a format=isa wgmma=true" --split-input-file | %python -m bpt.gpu sass - | FileCheck %s

// CHECK-LABEL: == bpt_attention_b1_h4x2_q1000_k1000_d128x128_bf16_bf16_causal_s3db504f3_wgmma: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads;
// The first tile's scores, waited for before the loop.
//       CHECK: HGMMA.64x64x16.F32.BF16 {{.+}}, gsb0
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x0
// The loop: the next tile's scores, then the softmax, no wait between.
//       CHECK: WARPGROUP.ARRIVE
// CHECK-COUNT-8: HGMMA.64x64x16.F32.BF16 R{{[0-9]+}}, gdesc
//   CHECK-NOT: WARPGROUP.DEPBAR
//       CHECK: MUFU.EX2
//   CHECK-NOT: WARPGROUP.DEPBAR
//       CHECK: WARPGROUP.ARRIVE
// CHECK-COUNT-4: HGMMA.64x128x16.F32.BF16 R{{[0-9]+}}, R{{[0-9]+}}, gdesc[{{[A-Z0-9]+}}].tnspB
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x0
//       CHECK: EXIT
func.func @d128(%q: tensor<1x4x1000x128xbf16>, %k: tensor<1x2x1000x128xbf16>, %v: tensor<1x2x1000x128xbf16>) -> tensor<1x4x1000x128xbf16> {
  %e = tensor.empty() : tensor<1x4x1000x128xbf16>
  %o = bpt.attention causal ins(%q, %k, %v : tensor<1x4x1000x128xbf16>, tensor<1x2x1000x128xbf16>, tensor<1x2x1000x128xbf16>) outs(%e : tensor<1x4x1000x128xbf16>) -> tensor<1x4x1000x128xbf16>
  return %o : tensor<1x4x1000x128xbf16>
}

// -----

// CHECK-LABEL: == bpt_attention_b1_h2x2_q130_k130_d96x96_f16_f32_s3dd105eb_wgmma: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads;
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x0
//       CHECK: WARPGROUP.ARRIVE
// CHECK-COUNT-6: HGMMA.64x64x16.F32 R{{[0-9]+}}, gdesc
//   CHECK-NOT: HGMMA.64x64x16
//   CHECK-NOT: WARPGROUP.DEPBAR
//       CHECK: MUFU.EX2
//   CHECK-NOT: WARPGROUP.DEPBAR
// CHECK-COUNT-4: HGMMA.64x128x16.F32 R{{[0-9]+}}, R{{[0-9]+}}, gdesc[{{[A-Z0-9]+}}].tnspB
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x0
func.func @d96(%q: tensor<1x2x130x96xf16>, %k: tensor<1x2x130x96xf16>, %v: tensor<1x2x130x96xf16>) -> tensor<1x2x130x96xf32> {
  %e = tensor.empty() : tensor<1x2x130x96xf32>
  %o = bpt.attention ins(%q, %k, %v : tensor<1x2x130x96xf16>, tensor<1x2x130x96xf16>, tensor<1x2x130x96xf16>) outs(%e : tensor<1x2x130x96xf32>) -> tensor<1x2x130x96xf32>
  return %o : tensor<1x2x130x96xf32>
}

// -----

// CHECK-LABEL: == bpt_attention_b1_h2x2_q500_k500_d192x192_bf16_bf16_causal_s3d93cd3a_wgmma: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads;
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x0
//       CHECK: WARPGROUP.ARRIVE
// CHECK-COUNT-12: HGMMA.64x64x16.F32.BF16 R{{[0-9]+}}, gdesc
//   CHECK-NOT: WARPGROUP.DEPBAR
//       CHECK: MUFU.EX2
//   CHECK-NOT: WARPGROUP.DEPBAR
// CHECK-COUNT-4: HGMMA.64x192x16.F32.BF16 R{{[0-9]+}}, R{{[0-9]+}}, gdesc[{{[A-Z0-9]+}}].tnspB
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x0
func.func @d192(%q: tensor<1x2x500x192xbf16>, %k: tensor<1x2x500x192xbf16>, %v: tensor<1x2x500x192xbf16>) -> tensor<1x2x500x192xbf16> {
  %e = tensor.empty() : tensor<1x2x500x192xbf16>
  %o = bpt.attention causal ins(%q, %k, %v : tensor<1x2x500x192xbf16>, tensor<1x2x500x192xbf16>, tensor<1x2x500x192xbf16>) outs(%e : tensor<1x2x500x192xbf16>) -> tensor<1x2x500x192xbf16>
  return %o : tensor<1x2x500x192xbf16>
}

// -----

// D = 64: two blocks an SM (nvvm.minctasm = 2: their 65 KiB of shared
// memory fit twice, and ptxas keeps to 128 registers a thread; one of the
// two blocks' softmax can run while the other's MMAs do).
// CHECK-LABEL: == bpt_attention_b2_h4x4_q1000_k1000_d64x64_f16_f16_s3e000000_wgmma:
//  CHECK-SAME: Used {{([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])}} registers
//       CHECK: HGMMA.64x64x16.F32 {{.+}}, gsb0
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x0
//       CHECK: WARPGROUP.ARRIVE
// CHECK-COUNT-4: HGMMA.64x64x16.F32 R{{[0-9]+}}, gdesc
//   CHECK-NOT: WARPGROUP.DEPBAR
//       CHECK: MUFU.EX2
func.func @d64(%q: tensor<2x4x1000x64xf16>, %k: tensor<2x4x1000x64xf16>, %v: tensor<2x4x1000x64xf16>) -> tensor<2x4x1000x64xf16> {
  %e = tensor.empty() : tensor<2x4x1000x64xf16>
  %o = bpt.attention ins(%q, %k, %v : tensor<2x4x1000x64xf16>, tensor<2x4x1000x64xf16>, tensor<2x4x1000x64xf16>) outs(%e : tensor<2x4x1000x64xf16>) -> tensor<2x4x1000x64xf16>
  return %o : tensor<2x4x1000x64xf16>
}

// -----

// D = 256: each tile's scores waited for before its softmax.
// CHECK-LABEL: == bpt_attention_b1_h2x1_q300_k300_d256x256_bf16_bf16_causal_s3d800000_wgmma: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads;
//       CHECK: WARPGROUP.ARRIVE
// CHECK-COUNT-16: HGMMA.64x64x16.F32.BF16 R{{[0-9]+}}, gdesc
//   CHECK-NOT: MUFU.EX2
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x0
//       CHECK: MUFU.EX2
//       CHECK: WARPGROUP.ARRIVE
// CHECK-COUNT-4: HGMMA.64x256x16.F32.BF16 R{{[0-9]+}}, R{{[0-9]+}}, gdesc[{{[A-Z0-9]+}}].tnspB
//       CHECK: WARPGROUP.DEPBAR.LE gsb0, 0x0
func.func @d256(%q: tensor<1x2x300x256xbf16>, %k: tensor<1x1x300x256xbf16>, %v: tensor<1x1x300x256xbf16>) -> tensor<1x2x300x256xbf16> {
  %e = tensor.empty() : tensor<1x2x300x256xbf16>
  %o = bpt.attention causal ins(%q, %k, %v : tensor<1x2x300x256xbf16>, tensor<1x1x300x256xbf16>, tensor<1x1x300x256xbf16>) outs(%e : tensor<1x2x300x256xbf16>) -> tensor<1x2x300x256xbf16>
  return %o : tensor<1x2x300x256xbf16>
}
