// The sm_90a attention kernel (--bpt-gpu-attention{wgmma=true}, in the
// pipeline wgmma=true): head dims 128, 96 and 256.
// RUN: bpt-opt %s --bpt-gpu-attention=wgmma=true --split-input-file | FileCheck %s --check-prefix=ATTN
// RUN: bpt-opt %s --bpt-gpu-attention --split-input-file | FileCheck %s --check-prefix=OFF
// Down to PTX and a cubin (ptxas accepts it for sm_90a); refused on sm_80:
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a format=isa wgmma=true" --split-input-file | FileCheck %s --dump-input=never --check-prefix=PTX
// RUN: bpt-opt %s --bpt-gpu-pipeline="chip=sm_90a wgmma=true" --split-input-file | FileCheck %s --dump-input=never --check-prefix=BIN
// RUN: not bpt-opt %s --bpt-gpu-pipeline="chip=sm_80 wgmma=true" --split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=SM80

// On the host: when Q, K and V have 16-byte aligned rows (first element
// and every outer stride, checked at run time), one tensor map each, of
// 1 x 1 x 128 x 64 boxes for Q and 1 x 1 x 64 x 64 for K and V (128-byte
// swizzle, zero fill), and the wgmma kernel: blocks of 128 query rows, two
// warpgroups (256 threads), Q, K and V as arguments too (they live until
// the launch), 1 KiB + Q's 32 KiB + three stages of 32 KiB of dynamic
// shared memory; otherwise the mma.sync kernel (blocks
// of 64 rows, 128 threads), as without wgmma.
// ATTN-LABEL: func.func @gqa_d128
//       ATTN:   memref.extract_aligned_pointer_as_index %[[Q:.+]] : memref<2x8x1024x128xbf16>
//       ATTN:   memref.extract_strided_metadata %[[Q]]
//       ATTN:   scf.if %{{.+}} {
//       ATTN:     nvgpu.tma.create.descriptor %{{.+}} box[%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] : memref<*xbf16> -> <tensor = memref<1x1x128x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, interleave = none>
//  ATTN-COUNT-2:  nvgpu.tma.create.descriptor %{{.+}} box[%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] : memref<*xbf16> -> <tensor = memref<1x1x64x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, interleave = none>
//       ATTN:     %[[SHARED:.+]] = arith.constant 132096 : i32
//       ATTN:     %[[GX:.+]] = arith.constant 8 : index
//       ATTN:     %[[T256:.+]] = arith.constant 256 : index
//       ATTN:     gpu.launch_func  @bpt_kernels::@bpt_attention_b2_h8x2_q1024_k1024_d128x128_bf16_bf16_causal_s3db504f3_wgmma blocks in (%[[GX]], %{{.+}}, %{{.+}}) threads in (%[[T256]], %{{.+}}, %{{.+}})  dynamic_shared_memory_size %[[SHARED]] args(%{{.+}} : !llvm.ptr, %{{.+}} : !llvm.ptr, %{{.+}} : !llvm.ptr, %[[Q]] : memref<2x8x1024x128xbf16>, %{{.+}} : memref<2x2x1024x128xbf16>, %{{.+}} : memref<2x2x1024x128xbf16>, %{{.+}} : memref<2x8x1024x128xbf16>, %{{.+}} : index, %{{.+}} : index)
//       ATTN:   } else {
//       ATTN:     gpu.launch_func  @bpt_kernels::@bpt_attention_b2_h8x2_q1024_k1024_d128x128_bf16_bf16_causal_s3db504f3 blocks in (%c16
//       ATTN:   }
// The kernel (256 threads; warpgroup wg computes rows 64 wg .. of the
// block, reading its Q rows 8 KiB into Q's boxes): mbarriers for Q and the three stages, initialised by thread 0
// and made visible to TMA by a fence; Q's two boxes and the first three
// tiles of K and V (4 boxes a stage: 32 KiB) by TMA, coordinates (feature,
// row, head, batch), the key/value head h / 4; a wait for Q; the first
// tile's scores (if there is one: a wait on its mbarrier, S = Q K^T as
// eight m64n64k16 MMAs, K-major B: layout col), waited for. Per tile: the
// next tile's scores issued and committed but not waited for (they run
// while this tile's softmax does); the softmax; P's 16 registers (all
// written before the wgmma.fence, else ptxas fences again); O +=
// P V as four m64n128k16 MMAs with P in registers (four 32-bit registers
// of bf16 pairs each; wgmma's register-A form as inline PTX, the accumulators
// tied; V N-major: trans-b 1), no barrier between the softmax and them;
// one wait for both groups; a barrier, then thread 0 refills the stage
// with tile t + 3.
//       ATTN: gpu.func @bpt_attention_b2_h8x2_q1024_k1024_d128x128_bf16_bf16_causal_s3db504f3_wgmma(%{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %{{.+}}: memref<2x8x1024x128xbf16>, %{{.+}}: memref<2x2x1024x128xbf16>, %{{.+}}: memref<2x2x1024x128xbf16>, %{{.+}}: memref<2x8x1024x128xbf16>, %{{.+}}: index, %{{.+}}: index) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
//   ATTN-NOT: workgroup(
//       ATTN:   gpu.dynamic_shared_memory
//       ATTN:   nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 4>
//       ATTN:   nvvm.fence.proxy
//       ATTN:   nvgpu.mbarrier.arrive.expect_tx %{{.+}}[%{{.+}}], %{{.+}}, predicate
//  ATTN-COUNT-2: nvgpu.tma.async.load %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}], %{{.+}}[%{{.+}}] to %{{.+}}, predicate {{.+}} -> memref<1x1x128x64xbf16
//       ATTN:   nvgpu.mbarrier.arrive.expect_tx %{{.+}}[%{{.+}}], %c32768{{(_[0-9]+)?}}, predicate
//  ATTN-COUNT-4: nvgpu.tma.async.load {{.+}} -> memref<1x1x64x64xbf16
//       ATTN:   nvgpu.mbarrier.try_wait.parity
//       ATTN:   scf.if %{{.+}} -> (!llvm.struct<(f32, {{.+}})>) {
//       ATTN:     nvgpu.mbarrier.try_wait.parity
//       ATTN:     nvvm.wgmma.fence.aligned
//       ATTN:     nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
//  ATTN-COUNT-7: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
//       ATTN:     nvvm.wgmma.commit.group.sync.aligned
//       ATTN:   } else {
//       ATTN:     llvm.mlir.zero
//       ATTN:   }
//       ATTN:   nvvm.wgmma.wait.group.sync.aligned 0
//       ATTN:   scf.for
//       ATTN:     scf.if
//       ATTN:       nvgpu.mbarrier.try_wait.parity
//       ATTN:       nvvm.wgmma.fence.aligned
//  ATTN-COUNT-8: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>
//       ATTN:       nvvm.wgmma.commit.group.sync.aligned
//   ATTN-NOT:       nvvm.wgmma.wait.group.sync.aligned
//       ATTN:     arith.maximumf
//   ATTN-NOT:     nvvm.wgmma.wait.group.sync.aligned
//   ATTN-NOT:     vector.store
//   ATTN-NOT:     gpu.barrier
//  ATTN-COUNT-16: vector.bitcast %{{.+}} : vector<2xbf16> to vector<1xi32>
//   ATTN-NOT:     gpu.barrier
//       ATTN:     nvvm.wgmma.fence.aligned
//   ATTN-NOT:     vector.bitcast
//  ATTN-COUNT-4: llvm.inline_asm has_side_effects asm_dialect = att "{\0A.reg .pred p;\0Asetp.ne.b32 p, 1, 0;\0Awgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {$0, {{.+}}, $63}, {$128, $129, $130, $131}, $132, p, 1, 1, 1;\0A}\0A", "=f,{{.+}},=f,0,{{.+}},63,r,r,r,r,l"
//       ATTN:     nvvm.wgmma.commit.group.sync.aligned
//       ATTN:     nvvm.wgmma.wait.group.sync.aligned 0
//       ATTN:     gpu.barrier
//       ATTN:     nvgpu.mbarrier.arrive.expect_tx
//  ATTN-COUNT-4: nvgpu.tma.async.load
//       ATTN:     scf.yield
//       ATTN:   gpu.return

// OFF-LABEL: func.func @gqa_d128
//   OFF-NOT: nvgpu.tma
//   OFF-NOT: _wgmma
//       OFF: gpu.launch_func  @bpt_kernels::@bpt_attention_b2_h8x2_q1024_k1024_d128x128_bf16_bf16_causal_s3db504f3 blocks
//   OFF-NOT: wgmma

// PTX: .target sm_90a
// PTX: .entry bpt_attention_b2_h8x2_q1024_k1024_d128x128_bf16_bf16_causal_s3db504f3(
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: .entry bpt_attention_b2_h8x2_q1024_k1024_d128x128_bf16_bf16_causal_s3db504f3_wgmma(
// PTX: mbarrier.init.shared.b64
// PTX: fence.proxy.async.shared::cta
// PTX: mbarrier.arrive.expect_tx.shared.b64
// PTX: cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes
// PTX: mbarrier.try_wait.parity.shared.b64
// PTX: wgmma.fence.sync.aligned
// The last two immediates: A and B not transposed (K-major).
// PTX-COUNT-8: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{[^;]+}}, 0,{{ +}}0;
// PTX: wgmma.commit_group.sync.aligned
// PTX: wgmma.wait_group.sync.aligned{{[^;]*}}0;
// PTX: wgmma.fence.sync.aligned
// A (P) from four registers, B (V) transposed (N-major).
// PTX-COUNT-4: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{[^;]+}}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, p, 1, 1, 1;
// PTX: wgmma.wait_group.sync.aligned{{[^;]*}}0;
// PTX: cp.async.bulk.tensor.4d

// BIN: gpu.binary @bpt_kernels
// BIN-SAME: chip = "sm_90a"

// SM80: error: 'nvvm.wgmma.fence.aligned' op is not supported on sm_80

func.func @gqa_d128(%q: tensor<2x8x1024x128xbf16>, %k: tensor<2x2x1024x128xbf16>, %v: tensor<2x2x1024x128xbf16>) -> tensor<2x8x1024x128xbf16> {
  %e = tensor.empty() : tensor<2x8x1024x128xbf16>
  %o = bpt.attention causal ins(%q, %k, %v : tensor<2x8x1024x128xbf16>, tensor<2x2x1024x128xbf16>, tensor<2x2x1024x128xbf16>) outs(%e : tensor<2x8x1024x128xbf16>) -> tensor<2x8x1024x128xbf16>
  return %o : tensor<2x8x1024x128xbf16>
}

// -----

// A head dim that is not a multiple of 64 (96): boxes of 64 features, the
// second zero filled by TMA past 96; Q K^T over D's six k16 steps only; P V
// over V's two boxes (m64n128k16), whose columns past 96 are zero and are
// not stored. Three stages of 32 KiB, as for D = 128.
// ATTN-LABEL: func.func @d96
//       ATTN:   scf.if
//       ATTN:     arith.constant 132096 : i32
//       ATTN:     gpu.launch_func  @bpt_kernels::@bpt_attention_b1_h2x2_q130_k130_d96x96_f16_f32_s3dd105eb_wgmma blocks
//       ATTN:   } else {
//       ATTN:     gpu.launch_func  @bpt_kernels::@bpt_attention_b1_h2x2_q130_k130_d96x96_f16_f32_s3dd105eb blocks
//       ATTN: gpu.func @bpt_attention_b1_h2x2_q130_k130_d96x96_f16_f32_s3dd105eb_wgmma(
//       ATTN:   nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 4>
//  ATTN-COUNT-2:  nvgpu.tma.async.load {{.+}} -> memref<1x1x128x64xf16
//  ATTN-COUNT-4:  nvgpu.tma.async.load {{.+}} -> memref<1x1x64x64xf16
//       ATTN:   nvvm.wgmma.fence.aligned
//  ATTN-COUNT-6:  nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>
//   ATTN-NEXT:    nvvm.wgmma.commit.group.sync.aligned
//       ATTN:   scf.for
//  ATTN-COUNT-6:    nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>
//   ATTN-NEXT:      nvvm.wgmma.commit.group.sync.aligned
//  ATTN-COUNT-4:    llvm.inline_asm {{.+}}wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// The output's 96 columns: 12 n8 fragments a thread, two rows of pairs.
//  ATTN-COUNT-24: vector.store %{{.+}} : memref<1x2x130x96xf32>, vector<2xf32>
//   ATTN-NOT:   vector.store
//       ATTN:   gpu.return
// PTX-LABEL: .entry bpt_attention_b1_h2x2_q130_k130_d96x96_f16_f32_s3dd105eb_wgmma(
// PTX-COUNT-6: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// PTX-COUNT-4: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
func.func @d96(%q: tensor<1x2x130x96xf16>, %k: tensor<1x2x130x96xf16>, %v: tensor<1x2x130x96xf16>) -> tensor<1x2x130x96xf32> {
  %e = tensor.empty() : tensor<1x2x130x96xf32>
  %o = bpt.attention ins(%q, %k, %v : tensor<1x2x130x96xf16>, tensor<1x2x130x96xf16>, tensor<1x2x130x96xf16>) outs(%e : tensor<1x2x130x96xf32>) -> tensor<1x2x130x96xf32>
  return %o : tensor<1x2x130x96xf32>
}

// -----

// D = 256: four boxes a row; three stages would take 257 KiB, more than an
// sm_90 block's 227: two (1 KiB + Q's 64 KiB + 2 x 64 KiB; mbarriers for Q
// and the two stages). O's accumulators take 128 registers a thread, which
// leaves no room for the next tile's scores: each step issues its own
// scores and waits for them before the softmax (nothing before the loop).
// P V as four m64n256k16 MMAs (P in registers).
// ATTN-LABEL: func.func @d256
//       ATTN:     arith.constant 197632 : i32
//       ATTN:     gpu.launch_func  @bpt_kernels::@bpt_attention_b1_h2x1_q300_k300_d256x256_bf16_bf16_causal_s3d800000_wgmma blocks
//       ATTN: gpu.func @bpt_attention_b1_h2x1_q300_k300_d256x256_bf16_bf16_causal_s3d800000_wgmma(
//       ATTN:   nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 3>
//  ATTN-COUNT-4:  nvgpu.tma.async.load {{.+}} -> memref<1x1x128x64xbf16
//  ATTN-COUNT-8:  nvgpu.tma.async.load {{.+}} -> memref<1x1x64x64xbf16
//       ATTN:   nvgpu.mbarrier.arrive.expect_tx %{{.+}}[%{{.+}}], %c65536{{(_[0-9]+)?}}, predicate
//  ATTN-COUNT-8:  nvgpu.tma.async.load {{.+}} -> memref<1x1x64x64xbf16
//   ATTN-NOT:   nvgpu.tma.async.load
//   ATTN-NOT:   nvvm.wgmma
//       ATTN:   scf.for
//       ATTN:     scf.if
//       ATTN:       nvvm.wgmma.fence.aligned
//  ATTN-COUNT-16:   nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>
//       ATTN:       nvvm.wgmma.commit.group.sync.aligned
//       ATTN:     nvvm.wgmma.wait.group.sync.aligned 0
//       ATTN:     arith.maximumf
//       ATTN:     nvvm.wgmma.fence.aligned
//  ATTN-COUNT-4:    llvm.inline_asm {{.+}}wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {$0, {{.+}}, $127}, {$256, $257, $258, $259}, $260, p, 1, 1, 1;
//       ATTN:     nvvm.wgmma.wait.group.sync.aligned 0
//       ATTN:     gpu.barrier
//       ATTN:   gpu.return
// PTX-LABEL: .entry bpt_attention_b1_h2x1_q300_k300_d256x256_bf16_bf16_causal_s3d800000_wgmma(
// (LLVM lays the scores' block out after P V's.)
// PTX-DAG: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// PTX-DAG: wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {{[^;]+}}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, p, 1, 1, 1;
func.func @d256(%q: tensor<1x2x300x256xbf16>, %k: tensor<1x1x300x256xbf16>, %v: tensor<1x1x300x256xbf16>) -> tensor<1x2x300x256xbf16> {
  %e = tensor.empty() : tensor<1x2x300x256xbf16>
  %o = bpt.attention causal ins(%q, %k, %v : tensor<1x2x300x256xbf16>, tensor<1x1x300x256xbf16>, tensor<1x1x300x256xbf16>) outs(%e : tensor<1x2x300x256xbf16>) -> tensor<1x2x300x256xbf16>
  return %o : tensor<1x2x300x256xbf16>
}
