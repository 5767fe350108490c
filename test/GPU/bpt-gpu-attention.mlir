// RUN: bpt-opt %s --bpt-gpu-attention --split-input-file | FileCheck %s

// f16, causal, GQA (4 query heads over 2 key/value heads), ragged Sq = 100:
// one launch of a kernel in @bpt_kernels over (ceil(100 / 64), 4, 1) blocks
// of 128 threads; the operands are the tensors' buffers (read only), the
// result a fresh buffer; default positions (Sk - Sq = 0, 0).

// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @causal_gqa_f16
//  CHECK-SAME:   (%[[Q:.+]]: tensor<1x4x100x64xf16>, %[[K:.+]]: tensor<1x2x100x64xf16>, %[[V:.+]]: tensor<1x2x100x64xf16>)
//   CHECK-DAG:   %[[QB:.+]] = bufferization.to_buffer %[[Q]] read_only : tensor<1x4x100x64xf16> to memref<1x4x100x64xf16>
//   CHECK-DAG:   %[[KB:.+]] = bufferization.to_buffer %[[K]] read_only
//   CHECK-DAG:   %[[VB:.+]] = bufferization.to_buffer %[[V]] read_only
//       CHECK:   %[[OUT:.+]] = memref.alloc() : memref<1x4x100x64xf16>
//   CHECK-DAG:   %[[C2:.+]] = arith.constant 2 : index
//   CHECK-DAG:   %[[C4:.+]] = arith.constant 4 : index
//   CHECK-DAG:   %[[C128:.+]] = arith.constant 128 : index
//       CHECK:   gpu.launch_func @bpt_kernels::@[[KERNEL:bpt_attention_b1_h4x2_q100_k100_d64x64_f16_f16_causal_s3e000000]] blocks in (%[[C2]], %[[C4]], %{{[a-z0-9_]+}}) threads in (%[[C128]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}})
//  CHECK-SAME:     args(%[[QB]] : memref<1x4x100x64xf16>, %[[KB]] : memref<1x2x100x64xf16>, %[[VB]] : memref<1x2x100x64xf16>, %[[OUT]] : memref<1x4x100x64xf16>, %{{[a-z0-9_]+}} : index, %{{[a-z0-9_]+}} : index)
//       CHECK:   %[[R:.+]] = bufferization.to_tensor %[[OUT]] restrict writable
//       CHECK:   return %[[R]]
//   CHECK-NOT:   bpt.attention

func.func @causal_gqa_f16(%q: tensor<1x4x100x64xf16>, %k: tensor<1x2x100x64xf16>, %v: tensor<1x2x100x64xf16>) -> tensor<1x4x100x64xf16> {
  %e = tensor.empty() : tensor<1x4x100x64xf16>
  %o = bpt.attention causal ins(%q, %k, %v : tensor<1x4x100x64xf16>, tensor<1x2x100x64xf16>, tensor<1x2x100x64xf16>) outs(%e : tensor<1x4x100x64xf16>) -> tensor<1x4x100x64xf16>
  return %o : tensor<1x4x100x64xf16>
}

// -----

// bf16 through nvvm.mma.sync (nvgpu.mma.sync has no bf16), f32 output, a
// log-sum-exp result (a second buffer, written by lane 0 of each row),
// a sliding window (a lower bound on the key tiles too), a scale, and the
// default query position Sk - Sq = 53. Two attentions with the same
// specification share one kernel.

// CHECK-LABEL: func.func @window_lse_bf16
//       CHECK:   memref.alloc() : memref<2x8x77x128xf32>
//       CHECK:   memref.alloc() : memref<2x8x77xf32>
//       CHECK:   %[[C53:.+]] = arith.constant 53 : index
//       CHECK:   gpu.launch_func @bpt_kernels::@[[KERNEL:bpt_attention_b2_h8x2_q77_k130_d128x128_bf16_f32_causal_lse_w50_s3dcccccd]] blocks in
//  CHECK-SAME:     %[[C53]] : index, %{{[a-z0-9_]+}} : index)
//       CHECK:   gpu.launch_func @bpt_kernels::@[[KERNEL]] blocks in
//       CHECK: gpu.module @bpt_kernels
//       CHECK:   gpu.func @[[KERNEL]](
//   CHECK-NOT:   gpu.func
//       CHECK:     arith.floordivsi
//       CHECK:     arith.floordivsi
//       CHECK:     %[[LO0:.+]] = arith.maxsi
//       CHECK:     %[[LO:.+]] = arith.minsi %[[LO0]]
//       CHECK:     scf.for %{{.+}} = %[[LO]] to
//       CHECK:       nvgpu.device_async_copy %{{.+}}, %{{.+}}, 8 {bypassL1} : memref<2x2x130x128xbf16> to memref<64x128xbf16, #gpu.address_space<workgroup>>
//       CHECK:       nvgpu.ldmatrix %{{.+}} : memref<64x128xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
//       CHECK:       vector.bitcast %{{.+}} : vector<2xf16> to vector<2xbf16>
//       CHECK:       nvvm.mma.sync A[{{.+}}] B[{{.+}}] C[{{.+}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
//   CHECK-NOT:       nvgpu.mma.sync
//       CHECK:     llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
//       CHECK:     memref.store %{{.+}} : memref<2x8x77xf32>
func.func @window_lse_bf16(%q: tensor<2x8x77x128xbf16>, %k: tensor<2x2x130x128xbf16>, %v: tensor<2x2x130x128xbf16>) -> (tensor<2x8x77x128xf32>, tensor<2x8x77xf32>, tensor<2x8x77x128xf32>) {
  %e = tensor.empty() : tensor<2x8x77x128xf32>
  %l = tensor.empty() : tensor<2x8x77xf32>
  %o:2 = bpt.attention causal window(50) scale(0.1) ins(%q, %k, %v : tensor<2x8x77x128xbf16>, tensor<2x2x130x128xbf16>, tensor<2x2x130x128xbf16>) outs(%e, %l : tensor<2x8x77x128xf32>, tensor<2x8x77xf32>) -> tensor<2x8x77x128xf32>, tensor<2x8x77xf32>
  %p:2 = bpt.attention causal window(50) scale(0.1) ins(%q, %k, %v : tensor<2x8x77x128xbf16>, tensor<2x2x130x128xbf16>, tensor<2x2x130x128xbf16>) outs(%e, %l : tensor<2x8x77x128xf32>, tensor<2x8x77xf32>) -> tensor<2x8x77x128xf32>, tensor<2x8x77xf32>
  return %o#0, %o#1, %p#0 : tensor<2x8x77x128xf32>, tensor<2x8x77xf32>, tensor<2x8x77x128xf32>
}

// -----

// Explicit positions (a tile of a larger sequence) are kernel arguments;
// non-causal attention loops over every key tile: no bound computation.

// CHECK-LABEL: func.func @positions
//  CHECK-SAME:   %[[QP:[a-z0-9]+]]: index, %[[KP:[a-z0-9]+]]: index
//       CHECK:   gpu.launch_func
//  CHECK-SAME:     %[[QP]] : index, %[[KP]] : index)
//       CHECK: gpu.func
//   CHECK-NOT:   arith.floordivsi
//       CHECK:   scf.for
func.func @positions(%q: tensor<1x1x64x64xf16>, %k: tensor<1x1x64x64xf16>, %v: tensor<1x1x64x64xf16>, %qp: index, %kp: index) -> tensor<1x1x64x64xf32> {
  %e = tensor.empty() : tensor<1x1x64x64xf32>
  %o = bpt.attention ins(%q, %k, %v : tensor<1x1x64x64xf16>, tensor<1x1x64x64xf16>, tensor<1x1x64x64xf16>) positions(%qp, %kp) outs(%e : tensor<1x1x64x64xf32>) -> tensor<1x1x64x64xf32>
  return %o : tensor<1x1x64x64xf32>
}

// -----

// A boolean mask broadcast over heads: a kernel argument after the outputs,
// read per score with index 0 in its broadcast dimension and and-ed into
// what the score keeps.

// CHECK-LABEL: func.func @bool_mask
//  CHECK-SAME:   %[[M:[a-z0-9]+]]: tensor<2x1x70x50xi1>
//       CHECK:   %[[MB:.+]] = bufferization.to_buffer %[[M]] read_only : tensor<2x1x70x50xi1> to memref<2x1x70x50xi1>
//       CHECK:   gpu.launch_func
//  CHECK-SAME:     %[[MB]] : memref<2x1x70x50xi1>, %{{[^,]+}} : index, %{{[^,]+}} : index)
//       CHECK: gpu.func @bpt_attention_b2_h2x1_q70_k50_d32x32_f16_f32_s3e3504f3_m2x1x70x50xi1(
//       CHECK:   %[[KEEP:.+]] = memref.load %{{.+}}[%block_id_z, %c0{{[_0-9]*}}, %{{.+}}, %{{.+}}] : memref<2x1x70x50xi1>
//       CHECK:   arith.andi %{{.+}}, %[[KEEP]] : i1
func.func @bool_mask(%q: tensor<2x2x70x32xf16>, %k: tensor<2x1x50x32xf16>, %v: tensor<2x1x50x32xf16>, %m: tensor<2x1x70x50xi1>) -> tensor<2x2x70x32xf32> {
  %e = tensor.empty() : tensor<2x2x70x32xf32>
  %o = bpt.attention ins(%q, %k, %v : tensor<2x2x70x32xf16>, tensor<2x1x50x32xf16>, tensor<2x1x50x32xf16>) mask(%m : tensor<2x1x70x50xi1>) outs(%e : tensor<2x2x70x32xf32>) -> tensor<2x2x70x32xf32>
  return %o : tensor<2x2x70x32xf32>
}

// -----

// torch-mlir's SDPA in bf16: the inputs widened to f32 and the f32 result
// narrowed back to bf16 around the raised attention. The kernel reads the
// bf16 tensors and writes the bf16 result; the casts disappear.

// CHECK-LABEL: func.func @frontend_casts
//  CHECK-SAME:   (%[[Q:.+]]: tensor<1x4x64x32xbf16>, %[[K:.+]]: tensor<1x2x64x32xbf16>, %[[V:.+]]: tensor<1x2x64x32xbf16>)
//   CHECK-NOT:   linalg.generic
//       CHECK:   bufferization.to_buffer %[[Q]] read_only : tensor<1x4x64x32xbf16>
//       CHECK:   memref.alloc() : memref<1x4x64x32xbf16>
//       CHECK:   gpu.launch_func {{.+}}@bpt_attention_b1_h4x2_q64_k64_d32x32_bf16_bf16_causal
//   CHECK-NOT:   linalg.generic
//       CHECK:   return %{{.+}} : tensor<1x4x64x32xbf16>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @frontend_casts(%q: tensor<1x4x64x32xbf16>, %k: tensor<1x2x64x32xbf16>, %v: tensor<1x2x64x32xbf16>) -> tensor<1x4x64x32xbf16> {
  %eq = tensor.empty() : tensor<1x4x64x32xf32>
  %ekv = tensor.empty() : tensor<1x2x64x32xf32>
  %qf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q : tensor<1x4x64x32xbf16>) outs(%eq : tensor<1x4x64x32xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %x = arith.extf %in : bf16 to f32
    linalg.yield %x : f32
  } -> tensor<1x4x64x32xf32>
  %kf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k : tensor<1x2x64x32xbf16>) outs(%ekv : tensor<1x2x64x32xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %x = arith.extf %in : bf16 to f32
    linalg.yield %x : f32
  } -> tensor<1x2x64x32xf32>
  %vf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%v : tensor<1x2x64x32xbf16>) outs(%ekv : tensor<1x2x64x32xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %x = arith.extf %in : bf16 to f32
    linalg.yield %x : f32
  } -> tensor<1x2x64x32xf32>
  %o = bpt.attention causal ins(%qf, %kf, %vf : tensor<1x4x64x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>) outs(%eq : tensor<1x4x64x32xf32>) -> tensor<1x4x64x32xf32>
  %eb = tensor.empty() : tensor<1x4x64x32xbf16>
  %ob = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%o : tensor<1x4x64x32xf32>) outs(%eb : tensor<1x4x64x32xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %x = arith.truncf %in : f32 to bf16
    linalg.yield %x : bf16
  } -> tensor<1x4x64x32xbf16>
  return %ob : tensor<1x4x64x32xbf16>
}

// -----

// Q, K and V split into heads from one fused QKV projection (a slice per
// operand, [S, H, D] -> [H, S, D], a unit batch dimension): the kernel reads
// the projection's buffer through transposed views, no copy of the heads.
// The kernel then takes Q, K and V as views with unit-stride rows.
// CHECK-LABEL: func.func @head_split
//  CHECK-SAME:   (%[[X:.+]]: tensor<128x64xf16>, %[[W:.+]]: tensor<64x192xf16>)
//       CHECK:   %[[QKV:.+]] = linalg.matmul
//       CHECK:   %[[QS:.+]] = tensor.extract_slice %[[QKV]][0, 0] [128, 64] [1, 1]
//       CHECK:   %[[QE:.+]] = tensor.expand_shape %[[QS]] {{\[}}[0], [1, 2]] output_shape [128, 2, 32]
//       CHECK:   %[[QB:.+]] = bufferization.to_buffer %[[QE]] read_only : tensor<128x2x32xf16> to memref<128x2x32xf16, strided<[?, ?, 1], offset: ?>>
//       CHECK:   %[[QT:.+]] = memref.transpose %[[QB]] (d0, d1, d2) -> (d1, d0, d2)
//       CHECK:   %[[QV:.+]] = memref.expand_shape %[[QT]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 128, 32]
//   CHECK-NOT:   linalg.transpose
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_attention_{{.+}}_views {{.+}} args(%[[QV]] : memref<1x2x128x32xf16, strided<[?, ?, ?, 1], offset: ?>>
//   CHECK-NOT:   linalg.transpose
//       CHECK:   return
func.func @head_split(%x: tensor<128x64xf16>, %w: tensor<64x192xf16>) -> tensor<1x2x128x32xf16> {
  %z = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<128x192xf16>
  %f = linalg.fill ins(%z : f16) outs(%e : tensor<128x192xf16>) -> tensor<128x192xf16>
  %qkv = linalg.matmul ins(%x, %w : tensor<128x64xf16>, tensor<64x192xf16>) outs(%f : tensor<128x192xf16>) -> tensor<128x192xf16>
  %qs = tensor.extract_slice %qkv[0, 0] [128, 64] [1, 1] : tensor<128x192xf16> to tensor<128x64xf16>
  %qe = tensor.expand_shape %qs [[0], [1, 2]] output_shape [128, 2, 32] : tensor<128x64xf16> into tensor<128x2x32xf16>
  %qt0 = tensor.empty() : tensor<2x128x32xf16>
  %qt = linalg.transpose ins(%qe : tensor<128x2x32xf16>) outs(%qt0 : tensor<2x128x32xf16>) permutation = [1, 0, 2]
  %q4 = tensor.expand_shape %qt [[0, 1], [2], [3]] output_shape [1, 2, 128, 32] : tensor<2x128x32xf16> into tensor<1x2x128x32xf16>
  %ks = tensor.extract_slice %qkv[0, 64] [128, 64] [1, 1] : tensor<128x192xf16> to tensor<128x64xf16>
  %ke = tensor.expand_shape %ks [[0], [1, 2]] output_shape [128, 2, 32] : tensor<128x64xf16> into tensor<128x2x32xf16>
  %kt0 = tensor.empty() : tensor<2x128x32xf16>
  %kt = linalg.transpose ins(%ke : tensor<128x2x32xf16>) outs(%kt0 : tensor<2x128x32xf16>) permutation = [1, 0, 2]
  %k4 = tensor.expand_shape %kt [[0, 1], [2], [3]] output_shape [1, 2, 128, 32] : tensor<2x128x32xf16> into tensor<1x2x128x32xf16>
  %vs = tensor.extract_slice %qkv[0, 128] [128, 64] [1, 1] : tensor<128x192xf16> to tensor<128x64xf16>
  %ve = tensor.expand_shape %vs [[0], [1, 2]] output_shape [128, 2, 32] : tensor<128x64xf16> into tensor<128x2x32xf16>
  %vt0 = tensor.empty() : tensor<2x128x32xf16>
  %vt = linalg.transpose ins(%ve : tensor<128x2x32xf16>) outs(%vt0 : tensor<2x128x32xf16>) permutation = [1, 0, 2]
  %v4 = tensor.expand_shape %vt [[0, 1], [2], [3]] output_shape [1, 2, 128, 32] : tensor<2x128x32xf16> into tensor<1x2x128x32xf16>
  %o0 = tensor.empty() : tensor<1x2x128x32xf16>
  %o = bpt.attention causal ins(%q4, %k4, %v4 : tensor<1x2x128x32xf16>, tensor<1x2x128x32xf16>, tensor<1x2x128x32xf16>) outs(%o0 : tensor<1x2x128x32xf16>) -> tensor<1x2x128x32xf16>
  return %o : tensor<1x2x128x32xf16>
}

// -----

// Not read in place: the projection's rows (100 elements, 200 bytes) are
// not a multiple of 16 bytes, so cp.async could not copy them; nor is a
// function argument's buffer (its layout and alignment are the caller's).
// The heads are copied as written.
// CHECK-LABEL: func.func @head_split_unaligned
//       CHECK:   linalg.transpose
//       CHECK:   linalg.transpose
//       CHECK:   gpu.launch_func
func.func @head_split_unaligned(%in: tensor<64x100xf16>, %kv: tensor<64x32xf16>, %v: tensor<1x2x64x16xf16>) -> tensor<1x2x64x16xf16> {
  %c0 = tensor.empty() : tensor<64x100xf16>
  %qkv = linalg.copy ins(%in : tensor<64x100xf16>) outs(%c0 : tensor<64x100xf16>) -> tensor<64x100xf16>
  %ke = tensor.expand_shape %kv [[0], [1, 2]] output_shape [64, 2, 16] : tensor<64x32xf16> into tensor<64x2x16xf16>
  %kt0 = tensor.empty() : tensor<2x64x16xf16>
  %kt = linalg.transpose ins(%ke : tensor<64x2x16xf16>) outs(%kt0 : tensor<2x64x16xf16>) permutation = [1, 0, 2]
  %k = tensor.expand_shape %kt [[0, 1], [2], [3]] output_shape [1, 2, 64, 16] : tensor<2x64x16xf16> into tensor<1x2x64x16xf16>
  %qs = tensor.extract_slice %qkv[0, 0] [64, 32] [1, 1] : tensor<64x100xf16> to tensor<64x32xf16>
  %qe = tensor.expand_shape %qs [[0], [1, 2]] output_shape [64, 2, 16] : tensor<64x32xf16> into tensor<64x2x16xf16>
  %qt0 = tensor.empty() : tensor<2x64x16xf16>
  %qt = linalg.transpose ins(%qe : tensor<64x2x16xf16>) outs(%qt0 : tensor<2x64x16xf16>) permutation = [1, 0, 2]
  %q4 = tensor.expand_shape %qt [[0, 1], [2], [3]] output_shape [1, 2, 64, 16] : tensor<2x64x16xf16> into tensor<1x2x64x16xf16>
  %o0 = tensor.empty() : tensor<1x2x64x16xf16>
  %o = bpt.attention ins(%q4, %k, %v : tensor<1x2x64x16xf16>, tensor<1x2x64x16xf16>, tensor<1x2x64x16xf16>) outs(%o0 : tensor<1x2x64x16xf16>) -> tensor<1x2x64x16xf16>
  return %o : tensor<1x2x64x16xf16>
}

// -----

// Head dims 256: the K and V tiles (64 keys x 256 x 2, 64 KiB) exceed the
// 48 KiB of static shared memory: the kernel takes dynamic shared memory
// and the launch asks for it. Head dims 96: rows of 12 chunks get one of
// padding (104 elements; odd chunk counts keep ldmatrix conflict-free).
// Past D = 128 the Q tile is kept in shared memory too, after K and V
// (96 KiB in all).
// CHECK-LABEL: func.func @head_dims_256
//       CHECK:   %[[BYTES:.+]] = arith.constant 98304 : i32
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_attention_b1_h2x2_q64_k64_d256x256_bf16_bf16_s3d800000 {{.+}} dynamic_shared_memory_size %[[BYTES]]
//       CHECK: gpu.func @bpt_attention_b1_h2x2_q64_k64_d256x256_bf16_bf16_s3d800000({{[^)]+}}) kernel attributes
//       CHECK:   %[[SM:.+]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
//       CHECK:   %[[QOFF:.+]] = arith.constant 65536 : index
//       CHECK:   memref.view %[[SM]][%[[QOFF]]][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x256xf16, #gpu.address_space<workgroup>>
//       CHECK:   %[[QOFF2:.+]] = arith.constant 65536 : index
//       CHECK:   %[[QIN:.+]] = memref.view %[[SM]][%[[QOFF2]]][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x256xbf16, #gpu.address_space<workgroup>>
//       CHECK:   nvgpu.device_async_copy {{.+}}, %[[QIN]]
func.func @head_dims_256(%q: tensor<1x2x64x256xbf16>, %k: tensor<1x2x64x256xbf16>, %v: tensor<1x2x64x256xbf16>) -> tensor<1x2x64x256xbf16> {
  %e = tensor.empty() : tensor<1x2x64x256xbf16>
  %o = bpt.attention ins(%q, %k, %v : tensor<1x2x64x256xbf16>, tensor<1x2x64x256xbf16>, tensor<1x2x64x256xbf16>) outs(%e : tensor<1x2x64x256xbf16>) -> tensor<1x2x64x256xbf16>
  return %o : tensor<1x2x64x256xbf16>
}

// -----

// CHECK-LABEL: func.func @head_dims_96
//   CHECK-NOT:   dynamic_shared_memory_size
//       CHECK: gpu.func @bpt_attention_b1_h1x1_q64_k64_d96x96_f16_f16_s3dd105eb({{[^)]+}}) workgroup(%{{.+}} : memref<26624xi8, #gpu.address_space<workgroup>>)
//       CHECK:   memref.view {{.+}} to memref<64x104xf16, #gpu.address_space<workgroup>>
func.func @head_dims_96(%q: tensor<1x1x64x96xf16>, %k: tensor<1x1x64x96xf16>, %v: tensor<1x1x64x96xf16>) -> tensor<1x1x64x96xf16> {
  %e = tensor.empty() : tensor<1x1x64x96xf16>
  %o = bpt.attention ins(%q, %k, %v : tensor<1x1x64x96xf16>, tensor<1x1x64x96xf16>, tensor<1x1x64x96xf16>) outs(%e : tensor<1x1x64x96xf16>) -> tensor<1x1x64x96xf16>
  return %o : tensor<1x1x64x96xf16>
}

// -----

// Masks only where they are needed. A causal kernel tests, per key tile,
// whether the whole tile is inside Sk and visible from the block's first
// row: such tiles yield their raw scores (no multiply, compare or select)
// and the factor scale * log2(e) (0.125 * 1.4427), the others (at the
// diagonal, at Sk's edge) take every bound score by score and yield scaled
// scores and the factor 1. The softmax's exponent is one FMA a score with
// that factor (FlashAttention's folding of the scale). Without causality,
// a ragged Sk or a mask operand there is no test at all.
// CHECK-LABEL: func.func @mask_where_needed
//       CHECK: gpu.func @bpt_attention_b1_h1x1_q256_k256_d64x64_f16_f32_causal_s3e000000(
//       CHECK:   %[[C:.+]] = arith.constant 0.180336878 : f32
//       CHECK:   scf.for
//       CHECK:     %[[WHOLE:.+]] = arith.andi %{{.+}}, %{{.+}} : i1
//       CHECK:     %[[S:.+]]:33 = scf.if %[[WHOLE]] -> (f32, f32, {{.+}}) {
//   CHECK-NOT:       arith.select
//   CHECK-NOT:       arith.mulf
//       CHECK:       scf.yield {{.+}}, %[[C]] : f32,
//       CHECK:     } else {
//       CHECK:       arith.mulf
//       CHECK:       arith.cmpi sle
//       CHECK:       arith.select
//       CHECK:       %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
//       CHECK:       scf.yield {{.+}}, %[[ONE]] : f32,
//       CHECK:     }
//  CHECK-COUNT-32:  llvm.intr.fma(%[[S]]#{{[0-9]+}}, %[[S]]#32, %{{.+}}) : (f32, f32, f32) -> f32
//       CHECK: gpu.func @bpt_attention_b1_h1x1_q256_k256_d64x64_f16_f32_s3e000000(
//   CHECK-NOT:   scf.if {{.+}} -> (f32, f32
//       CHECK:   gpu.return
func.func @mask_where_needed(%q: tensor<1x1x256x64xf16>, %k: tensor<1x1x256x64xf16>, %v: tensor<1x1x256x64xf16>) -> (tensor<1x1x256x64xf32>, tensor<1x1x256x64xf32>) {
  %e = tensor.empty() : tensor<1x1x256x64xf32>
  %c = bpt.attention causal ins(%q, %k, %v : tensor<1x1x256x64xf16>, tensor<1x1x256x64xf16>, tensor<1x1x256x64xf16>) outs(%e : tensor<1x1x256x64xf32>) -> tensor<1x1x256x64xf32>
  %n = bpt.attention ins(%q, %k, %v : tensor<1x1x256x64xf16>, tensor<1x1x256x64xf16>, tensor<1x1x256x64xf16>) outs(%e : tensor<1x1x256x64xf32>) -> tensor<1x1x256x64xf32>
  return %c, %n : tensor<1x1x256x64xf32>, tensor<1x1x256x64xf32>
}
