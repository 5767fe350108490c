// RUN: bpt-opt %s --bpt-gpu-offload="wgmma=true" --split-input-file | FileCheck %s
// RUN: bpt-opt %s --bpt-gpu-offload --split-input-file | FileCheck %s --check-prefix=OFF

// With wgmma (sm_90a), a contraction whose A is stored [M, K] and B [K, N]
// with unit-stride rows of the MMA type runs, when the host finds their
// rows 16-byte aligned and K not empty, as the TMA + warpgroup-MMA kernel:
// tensor maps of 128 x 64 boxes of A and 64 x 64 boxes of B made on the
// host, a grid of 128 x 128 tiles of C, one warpgroup per block, 3 stages
// of 32 KiB (+ 1 KiB to align them) of dynamic shared memory. Otherwise the
// mma.sync kernel runs, as without wgmma.

// CHECK-LABEL: func.func @matmul
//       CHECK:   memref.extract_aligned_pointer_as_index
//       CHECK:   memref.extract_aligned_pointer_as_index
//       CHECK:   scf.if %{{.+}} {
//       CHECK:     %[[UA:.+]] = memref.cast %{{.+}} : memref<200x136xbf16, strided<[?, 1], offset: ?>> to memref<*xbf16>
//       CHECK:     %[[MA:.+]] = nvgpu.tma.create.descriptor %[[UA]] box[%{{.+}}, %{{.+}}] : memref<*xbf16> -> <tensor = memref<128x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, interleave = none>
//       CHECK:     %[[PA:.+]] = builtin.unrealized_conversion_cast %[[MA]] {{.*}} to !llvm.ptr
//       CHECK:     nvgpu.tma.create.descriptor %{{.+}} box[%{{.+}}, %{{.+}}] : memref<*xbf16> -> <tensor = memref<64x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b
//       CHECK:     gpu.launch_func @bpt_kernels::@bpt_matmul_m200_n304_k136_bf16xbf16_f32_wgmma blocks in (%{{.+}}, %{{.+}}, %{{.+}}) threads in (%{{.+}}, %{{.+}}, %{{.+}}) dynamic_shared_memory_size %{{.+}} args(%[[PA]] : !llvm.ptr, %{{.+}} : !llvm.ptr, %{{.+}} : memref<200x304xf32, strided<[?, ?], offset: ?>>, %{{.+}} : index, %{{.+}} : index, %{{.+}} : index)
//       CHECK:   } else {
//       CHECK:     gpu.launch_func @bpt_kernels::@bpt_matmul_m200_n304_k136_bf16xbf16_f32_async
//       CHECK:   }
// The kernel: thread 0 initialises one mbarrier per stage (made visible
// to the async proxy by a fence) and issues the TMA loads of the first
// three K steps (the transaction count a stage's full 32 KiB); per step
// all threads wait on the stage's mbarrier with the parity of its use,
// build the wgmma descriptors, run the warpgroup MMA (B stored [K, N] with
// N contiguous: transposed; waitGroup 1, the default: one group left in
// flight), meet at a barrier (every warp's MMAs of step t - 1 retired) and
// thread 0 refills the stage of step t - 1 with step t + 2. Then
// wait_group 0, a barrier, the accumulator into a padded f32 tile in the
// stages' place, a barrier, and row by row the coalesced C = C + acc
// inside C.
//       CHECK: gpu.func @bpt_matmul_m200_n304_k136_bf16xbf16_f32_wgmma(%{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %[[KC:.+]]: memref<200x304xf32, strided<[?, ?], offset: ?>>, %[[M:.+]]: index, %[[N:.+]]: index, %[[K:.+]]: index) kernel
//       CHECK:   gpu.dynamic_shared_memory
//       CHECK:   %[[BARS:.+]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 3>
// CHECK-COUNT-3:   nvgpu.mbarrier.init %[[BARS]][%{{.+}}], %{{.+}}, predicate = %{{.+}}
//       CHECK:   nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
//       CHECK:   gpu.barrier
// CHECK-COUNT-3:   nvgpu.mbarrier.arrive.expect_tx %[[BARS]][%{{.+}}], %{{.+}}, predicate
//       CHECK:   nvgpu.warpgroup.mma.init.accumulator -> <fragmented = vector<128x128xf32>>
//       CHECK:   scf.for
//       CHECK:     nvgpu.mbarrier.try_wait.parity %[[BARS]]
//   CHECK-DAG:     nvgpu.warpgroup.generate.descriptor %{{.+}} : memref<128x64xbf16, #gpu.address_space<workgroup>>
//   CHECK-DAG:     nvgpu.warpgroup.generate.descriptor %{{.+}} : memref<64x128xbf16, #gpu.address_space<workgroup>>
//       CHECK:     nvgpu.warpgroup.mma %{{.+}}, %{{.+}}, %{{.+}} {transposeB} :
//       CHECK:     gpu.barrier
//       CHECK:     nvgpu.mbarrier.arrive.expect_tx
// CHECK-COUNT-3:   nvgpu.tma.async.load
//       CHECK:   }
//       CHECK:   nvvm.wgmma.wait.group.sync.aligned 0
//       CHECK:   gpu.barrier
//       CHECK:   memref.subview %{{.+}}[0, 0] [128, 128] [1, 1] : memref<128x132xf32, #gpu.address_space<workgroup>>
//       CHECK:   nvgpu.warpgroup.mma.store
//       CHECK:   gpu.barrier
//       CHECK:   scf.for
//       CHECK:     memref.store %{{.+}}, %[[KC]]
// OFF-LABEL: func.func @matmul
//   OFF-NOT:   nvgpu.tma
//       OFF:   gpu.launch_func @bpt_kernels::@bpt_matmul_m200_n304_k136_bf16xbf16_f32_async
//   OFF-NOT:   wgmma
func.func @matmul(%A: memref<200x136xbf16>, %B: memref<136x304xbf16>, %C: memref<200x304xf32>) {
  linalg.matmul ins(%A, %B : memref<200x136xbf16>, memref<136x304xbf16>) outs(%C : memref<200x304xf32>)
  return
}

// -----

// Not for TMA + wgmma: B stored transposed ([N, K]), an f32 operand (staged
// with a conversion), A stored transposed. The mma.sync kernel runs alone.
// CHECK-LABEL: func.func @transposed_or_f32
//   CHECK-NOT:   nvgpu.tma.create.descriptor
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m64_n64_k64_f16xf16_f32 blocks
//   CHECK-NOT:   nvgpu.tma.create.descriptor
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m64_n64_k64_f32xf16_f32 blocks
//   CHECK-NOT:   nvgpu.tma.create.descriptor
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m64_n64_k64_f16xf16_f32 blocks
//   CHECK-NOT:   nvgpu.tma.create.descriptor
//       CHECK:   return
//   CHECK-NOT:   _wgmma
func.func @transposed_or_f32(%A: memref<64x64xf16>, %Bt: memref<64x64xf16>, %F: memref<64x64xf32>, %C: memref<64x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %Bt : memref<64x64xf16>, memref<64x64xf16>) outs(%C : memref<64x64xf32>) {
    ^bb0(%a: f16, %b: f16, %c: f32):
      %aw = arith.extf %a : f16 to f32
      %bw = arith.extf %b : f16 to f32
      %p = arith.mulf %aw, %bw : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%F, %A : memref<64x64xf32>, memref<64x64xf16>) outs(%C : memref<64x64xf32>) {
    ^bb0(%a: f32, %b: f16, %c: f32):
      %bw = arith.extf %b : f16 to f32
      %p = arith.mulf %a, %bw : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %Bt : memref<64x64xf16>, memref<64x64xf16>) outs(%C : memref<64x64xf32>) {
    ^bb0(%a: f16, %b: f16, %c: f32):
      %aw = arith.extf %a : f16 to f32
      %bw = arith.extf %b : f16 to f32
      %p = arith.mulf %aw, %bw : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
  }
  return
}

// -----

// Dynamic M and K: sizes read on the host (memref.dim) for the grid and
// the kernel; the K = 0 case stays with the mma.sync kernel (a tensor map
// has no empty dimension).
// CHECK-LABEL: func.func @dynamic
//  CHECK-SAME:   (%[[A:.+]]: memref<?x?xf16>, %[[B:.+]]: memref<?x128xf16>
//       CHECK:   %[[K:.+]] = memref.dim %{{.+}}, %c1{{.*}} : memref<?x?xf16, strided<[?, 1], offset: ?>>
//       CHECK:   arith.cmpi ugt, %[[K]], %c0
//       CHECK:   scf.if
//       CHECK:     gpu.launch_func @bpt_kernels::@bpt_matmul_md_n128_kd_f16xf16_f16_wgmma
//       CHECK:   } else {
//       CHECK:     gpu.launch_func @bpt_kernels::@bpt_matmul_md_n128_kd_f16xf16_f16_async
func.func @dynamic(%A: memref<?x?xf16>, %B: memref<?x128xf16>, %C: memref<?x128xf16>) {
  linalg.matmul ins(%A, %B : memref<?x?xf16>, memref<?x128xf16>) outs(%C : memref<?x128xf16>)
  return
}
