// RUN: bpt-opt %s --bpt-gpu-offload --split-input-file -verify-diagnostics | FileCheck %s
// RUN: bpt-opt %s --bpt-gpu-offload="tensor-cores=false" --split-input-file | FileCheck %s --check-prefix=PLAIN

// 2-D f16/bf16 contractions run as tensor-core kernels: the operands as
// views with dynamic strides (transposed first when stored transposed), one
// launch of a 64 x 64-tile kernel per contraction (grid ceil(N / 64) x
// ceil(M / 64), 128 threads); two contractions of the same shapes and types
// share one kernel. Those the kernel does not take get a remark and run as
// plain kernels.

// CHECK-LABEL: func.func @matmuls
//  CHECK-SAME:   (%[[A:.+]]: memref<100x70xf16>, %[[B:.+]]: memref<70x50xf16>, %[[C:.+]]: memref<100x50xf32>, %[[D:.+]]: memref<100x50xf32>)
//   CHECK-DAG:   %[[AV:.+]] = memref.cast %[[A]] : memref<100x70xf16> to memref<100x70xf16, strided<[?, 1], offset: ?>>
//   CHECK-DAG:   %[[BV:.+]] = memref.cast %[[B]] : memref<70x50xf16> to memref<70x50xf16, strided<[?, 1], offset: ?>>
//   CHECK-DAG:   %[[CV:.+]] = memref.cast %[[C]] : memref<100x50xf32> to memref<100x50xf32, strided<[?, ?], offset: ?>>
//   CHECK-DAG:   %[[C1:.+]] = arith.constant 1 : index
//   CHECK-DAG:   %[[C2:.+]] = arith.constant 2 : index
//   CHECK-DAG:   %[[C128:.+]] = arith.constant 128 : index
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m100_n50_k70_f16xf16_f32_async blocks in (%[[C1]], %[[C2]], %{{.+}}) threads in (%[[C128]], %{{.+}}, %{{.+}}) args(%[[AV]] : {{.+}}, %[[BV]] : {{.+}}, %[[CV]] : {{.+}})
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m100_n50_k70_f16xf16_f32_async
//   CHECK-NOT:   gpu.launch
//       CHECK:   return
// The kernel: f16 operands with unit-stride rows take, when both are
// 16-byte aligned at run time, a two-stage cp.async loop (step t + 1 copied
// while step t is multiplied; chunks past the edges zero-filled by
// cp.async); otherwise the plain loop stages the tiles by element loads.
// Then, per k16 step, one ldmatrix.x4 of A, four transposed ones of B,
// eight m16n8k16 MMAs; C = C + acc stored inside C only.
//       CHECK: gpu.module @bpt_kernels
//       CHECK:   gpu.func @bpt_matmul_m100_n50_k70_f16xf16_f32_async(%[[KA:[^:]+]]: memref<100x70xf16, strided<[?, 1], offset: ?>>, %[[KB:[^:]+]]: memref<70x50xf16, strided<[?, 1], offset: ?>>, %[[KC:[^:]+]]: memref<100x50xf32, strided<[?, ?], offset: ?>>) workgroup(%[[SM:.+]] : memref<32768xi8, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
//   CHECK-DAG:     memref.extract_aligned_pointer_as_index %[[KA]]
//   CHECK-DAG:     memref.extract_aligned_pointer_as_index %[[KB]]
//       CHECK:     %[[ACC:.+]]:8 = scf.if %{{.+}} -> (vector<2x2xf32>,
//   CHECK-COUNT-4:   nvgpu.device_async_copy %[[KA]][{{.+}}], %{{.+}}[{{.+}}], 8, %{{.+}} {bypassL1}
//   CHECK-COUNT-4:   nvgpu.device_async_copy %[[KB]][{{.+}}], %{{.+}}[{{.+}}], 8, %{{.+}} {bypassL1}
//       CHECK:       %[[FIRST:.+]] = nvgpu.device_async_create_group
//       CHECK:       scf.for %{{.+}} = %{{.+}} to %[[C2]] step %{{.+}} iter_args
//   CHECK-COUNT-8:     nvgpu.device_async_copy
//       CHECK:         %[[G:.+]] = nvgpu.device_async_create_group
//       CHECK:         nvgpu.device_async_wait %[[G]] {numGroups = 1 : i32}
//       CHECK:         gpu.barrier
//       CHECK:         nvgpu.ldmatrix %{{.+}}[{{.+}}] {numTiles = 4 : i32, transpose = false} : memref<64x64xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
//       CHECK:         nvgpu.ldmatrix %{{.+}}[{{.+}}] {numTiles = 4 : i32, transpose = true}
//       CHECK:         nvgpu.mma.sync({{.+}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
//       CHECK:         gpu.barrier
//       CHECK:         scf.yield
//       CHECK:       nvgpu.device_async_wait %[[FIRST]] {numGroups = 0 : i32}
//       CHECK:     } else {
//       CHECK:       %[[AS:.+]] = memref.view %[[SM]][%{{.+}}][] : {{.+}} to memref<64x64xf16, #gpu.address_space<workgroup>>
//       CHECK:       %[[BS:.+]] = memref.view %[[SM]][%{{.+}}][] : {{.+}} to memref<64x64xf16, #gpu.address_space<workgroup>>
//       CHECK:       scf.for %{{.+}} = %{{.+}} to %[[C2]] step %{{.+}} iter_args
//   CHECK-COUNT-32:    memref.store %{{.+}}, %[[AS]]
//   CHECK-COUNT-32:    memref.store %{{.+}}, %[[BS]]
//       CHECK:         gpu.barrier
//       CHECK:         nvgpu.mma.sync
//       CHECK:         gpu.barrier
//       CHECK:     vector.extract %[[ACC]]#0[0, 0]
//       CHECK:     scf.if
//       CHECK:       memref.store %{{.+}}, %[[KC]]
//   CHECK-NOT:   gpu.func
// Without tensor cores, plain kernels.
// PLAIN-LABEL: func.func @matmuls
//   PLAIN-NOT:   gpu.launch_func
//       PLAIN:   gpu.launch
//       PLAIN:   gpu.launch
//   PLAIN-NOT:   gpu.module
func.func @matmuls(%a: memref<100x70xf16>, %b: memref<70x50xf16>, %c: memref<100x50xf32>, %d: memref<100x50xf32>) {
  linalg.matmul ins(%a, %b : memref<100x70xf16>, memref<70x50xf16>) outs(%c : memref<100x50xf32>)
  linalg.matmul ins(%a, %b : memref<100x70xf16>, memref<70x50xf16>) outs(%d : memref<100x50xf32>)
  return
}

// -----

// The FFN of --bpt-blockwise: an f32 chunk of the hidden activation times
// a strided f16 slice of the down projection, into an f32 accumulator; B
// stored (n, k) is passed transposed. bf16 uses nvvm.mma.sync. Whole tiles
// need no bounds checks. Neither operand can arrive by cp.async (an f32
// operand is converted; a transposed one has no unit-stride rows): one
// stage of plain loads, 16 KiB of shared memory.
#a = affine_map<(m, n, k) -> (m, k)>
#bt = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @ffn_down
//  CHECK-SAME:   (%[[H:.+]]: memref<64x64xf32>, %[[W:.+]]: memref<128x64xbf16, strided<[512, 1], offset: ?>>, %[[O:.+]]: memref<64x128xf32>)
//       CHECK:   %[[WT:.+]] = memref.transpose %[[W]] (d0, d1) -> (d1, d0) : memref<128x64xbf16, strided<[512, 1], offset: ?>> to memref<64x128xbf16, strided<[1, 512], offset: ?>>
//       CHECK:   %[[WV:.+]] = memref.cast %[[WT]] : memref<64x128xbf16, strided<[1, 512], offset: ?>> to memref<64x128xbf16, strided<[?, ?], offset: ?>>
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m64_n128_k64_f32xbf16_f32 {{.+}} args(%{{.+}} : memref<64x64xf32, strided<[?, ?], offset: ?>>, %[[WV]] : {{.+}}, %{{.+}} : memref<64x128xf32, strided<[?, ?], offset: ?>>)
//       CHECK: gpu.func @bpt_matmul_m64_n128_k64_f32xbf16_f32({{.+}}) workgroup(%{{.+}} : memref<16384xi8, #gpu.address_space<workgroup>>)
//   CHECK-NOT:   nvgpu.device_async_copy
//       CHECK:   %[[V:.+]] = memref.load %{{.+}} : memref<64x64xf32, strided<[?, ?], offset: ?>>
//       CHECK:   arith.truncf %[[V]] : f32 to bf16
//   CHECK-NOT:   arith.select
//       CHECK:   nvvm.mma.sync {{.+}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
//   CHECK-NOT:   scf.if
//       CHECK:   gpu.return
func.func @ffn_down(%h: memref<64x64xf32>, %w: memref<128x64xbf16, strided<[512, 1], offset: ?>>, %o: memref<64x128xf32>) {
  linalg.generic {indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %w : memref<64x64xf32>, memref<128x64xbf16, strided<[512, 1], offset: ?>>) outs(%o : memref<64x128xf32>) {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %yw = arith.extf %y : bf16 to f32
    %p = arith.mulf %x, %yw : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A dynamic size (the last chunk of an FFN whose hidden size the chunk does
// not divide) is read at run time, on the host for the grid and in the
// kernel for the bounds; an empty grid launches nothing.
// CHECK-LABEL: func.func @dynamic
//  CHECK-SAME:   (%[[A:.+]]: memref<?x32xf16>, %[[B:.+]]: memref<32x32xf16>, %[[C:.+]]: memref<?x32xf16>)
//       CHECK:   %[[AV:.+]] = memref.cast %[[A]] : memref<?x32xf16> to memref<?x32xf16, strided<[?, 1], offset: ?>>
//       CHECK:   %[[M:.+]] = memref.dim %[[AV]], %{{.+}} :
//       CHECK:   %[[GY:.+]] = arith.ceildivui %[[M]], %{{.+}} : index
//       CHECK:   arith.cmpi ugt, %[[GY]], %{{.+}} : index
//       CHECK:   scf.if %{{.+}} {
//       CHECK:     gpu.launch_func @bpt_kernels::@bpt_matmul_md_n32_k32_f16xf16_f16_async blocks in (%{{.+}}, %[[GY]], %{{.+}})
//       CHECK: gpu.func @bpt_matmul_md_n32_k32_f16xf16_f16_async(%[[KA:[^:]+]]: memref<?x32xf16, strided<[?, 1], offset: ?>>
//       CHECK:   memref.dim %[[KA]], %{{.+}} : memref<?x32xf16, strided<[?, 1], offset: ?>>
func.func @dynamic(%da: memref<?x32xf16>, %h: memref<32x32xf16>, %dc: memref<?x32xf16>) {
  linalg.matmul ins(%da, %h : memref<?x32xf16>, memref<32x32xf16>) outs(%dc : memref<?x32xf16>)
  return
}

// -----

// Contractions the kernel does not take run as plain kernels, each with a
// remark saying why.
// CHECK-LABEL: func.func @not_on_tensor_cores
//   CHECK-NOT:   gpu.launch_func
//   CHECK-NOT:   gpu.module
func.func @not_on_tensor_cores(%a: memref<32x32xf32>, %c: memref<32x32xf32>,
                               %h: memref<32x32xf16>, %g: memref<32x32xbf16>,
                               %ba: memref<2x32x32xf16>, %bc: memref<2x32x32xf32>) {
  // expected-remark @below {{bpt-gpu-offload: runs as a plain kernel, not on tensor cores: both operands are f32 (tensor cores multiply f16 or bf16)}}
  linalg.matmul ins(%a, %a : memref<32x32xf32>, memref<32x32xf32>) outs(%c : memref<32x32xf32>)
  // expected-remark @below {{bpt-gpu-offload: runs as a plain kernel, not on tensor cores: the operands mix f16 and bf16}}
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %g : memref<32x32xf16>, memref<32x32xbf16>) outs(%c : memref<32x32xf32>) {
  ^bb0(%x: f16, %y: bf16, %acc: f32):
    %xw = arith.extf %x : f16 to f32
    %yw = arith.extf %y : bf16 to f32
    %p = arith.mulf %xw, %yw : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  // expected-remark @below {{bpt-gpu-offload: runs as a plain kernel, not on tensor cores: only 2-D contractions (one M, N and K dimension, no batch) run on tensor cores}}
  linalg.batch_matmul ins(%ba, %ba : memref<2x32x32xf16>, memref<2x32x32xf16>) outs(%bc : memref<2x32x32xf32>)
  return
}

// -----

// Not contractions: a max-reduction and a product without the
// accumulation; neither is touched nor remarked.
// CHECK-LABEL: func.func @not_contractions
//   CHECK-NOT:   gpu.launch_func
//       CHECK:   gpu.launch
//       CHECK:   arith.maximumf
//       CHECK:   gpu.launch
//   CHECK-NOT:   gpu.module
func.func @not_contractions(%h: memref<32x32xf16>, %c: memref<32x32xf16>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %h : memref<32x32xf16>, memref<32x32xf16>) outs(%c : memref<32x32xf16>) {
  ^bb0(%x: f16, %y: f16, %acc: f16):
    %p = arith.mulf %x, %y : f16
    %s = arith.maximumf %acc, %p : f16
    linalg.yield %s : f16
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (n, m)>, affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%h, %h : memref<32x32xf16>, memref<32x32xf16>) outs(%c : memref<32x32xf16>) {
  ^bb0(%x: f16, %y: f16, %acc: f16):
    %p = arith.mulf %x, %y : f16
    linalg.yield %p : f16
  }
  return
}

// -----

// Epilogue fusion: C (zero-filled, read only by the bias-and-cast op) is
// never allocated; the kernel adds the bias, rounds and stores into the
// op's output. The launch takes the consumer's place, after the output's
// allocation; A's deallocation, which came between, moves after it.
// CHECK-LABEL: func.func @fused_bias
//  CHECK-SAME:   (%[[A:.+]]: memref<64x64xf16>, %[[B:.+]]: memref<64x128xf16>, %[[BIAS:.+]]: memref<128xf16>)
//   CHECK-NOT:   memref<64x128xf32>
//       CHECK:   %[[OUT:.+]], %{{.+}} = gpu.alloc async [%{{.+}}] () : memref<64x128xf16>
//   CHECK-DAG:   %[[OV:.+]] = memref.cast %[[OUT]] : memref<64x128xf16> to memref<64x128xf16, strided<[?, ?], offset: ?>>
//   CHECK-DAG:   %[[BV:.+]] = memref.cast %[[BIAS]] : memref<128xf16> to memref<128xf16, strided<[?], offset: ?>>
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m64_n128_k64_f16xf16_f16_async_epilogue0 {{.+}} args(%{{.+}} : {{.+}}, %{{.+}} : {{.+}}, %[[OV]] : {{.+}}, %[[BV]] : memref<128xf16, strided<[?], offset: ?>>)
//   CHECK-NOT:   gpu.launch
//       CHECK:   gpu.dealloc async [%{{.+}}] %[[A]] : memref<64x64xf16>
//   CHECK-NOT:   memref<64x128xf32>
//       CHECK:   return %[[OUT]]
//       CHECK: gpu.func @bpt_matmul_m64_n128_k64_f16xf16_f16_async_epilogue0(%{{[^:]+}}: {{.+}}, %{{[^:]+}}: {{.+}}, %[[KO:[^:]+]]: memref<64x128xf16, strided<[?, ?], offset: ?>>, %[[KB:[^:]+]]: memref<128xf16, strided<[?], offset: ?>>)
//       CHECK:   %[[X:.+]] = memref.load %[[KB]][%{{.+}}] : memref<128xf16, strided<[?], offset: ?>>
//       CHECK:   %[[XW:.+]] = arith.extf %[[X]] : f16 to f32
//       CHECK:   %[[S:.+]] = arith.addf %{{.+}}, %[[XW]] : f32
//       CHECK:   %[[Y:.+]] = arith.truncf %[[S]] : f32 to f16
//       CHECK:   memref.store %[[Y]], %[[KO]][%{{.+}}, %{{.+}}]
func.func @fused_bias(%a: memref<64x64xf16>, %b: memref<64x128xf16>, %bias: memref<128xf16>) -> memref<64x128xf16> {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<64x128xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<64x128xf32>)
  linalg.matmul ins(%a, %b : memref<64x64xf16>, memref<64x128xf16>) outs(%c : memref<64x128xf32>)
  memref.dealloc %a : memref<64x64xf16>
  %out = memref.alloc() : memref<64x128xf16>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<64x128xf32>, memref<128xf16>) outs(%out : memref<64x128xf16>) {
  ^bb0(%x: f32, %y: f16, %o: f16):
    %yw = arith.extf %y : f16 to f32
    %s = arith.addf %x, %yw : f32
    %t = arith.truncf %s : f32 to f16
    linalg.yield %t : f16
  }
  memref.dealloc %c : memref<64x128xf32>
  return %out : memref<64x128xf16>
}

// -----

// Not fused (the contraction keeps C and the consumer is a plain kernel):
// C not zero-initialised; C read by a second op; the body reads a value
// from above that is not a constant; an op between the two writes memory;
// the op writes A's buffer (which other blocks of the kernel still read).
// CHECK-LABEL: func.func @not_fused
//   CHECK-NOT:   _epilogue
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m64_n64_k64_f16xf16_f32_async
//       CHECK:   gpu.launch
//       CHECK:     math.exp
//   CHECK-NOT:   _epilogue
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m64_n64_k64_f16xf16_f32_async
//       CHECK:   gpu.launch
//   CHECK-NOT:   _epilogue
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m64_n64_k64_f16xf16_f32_async
//       CHECK:   gpu.launch
//   CHECK-NOT:   _epilogue
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m64_n64_k64_f16xf16_f32_async
//       CHECK:   gpu.launch
//   CHECK-NOT:   _epilogue
//       CHECK:   gpu.launch_func @bpt_kernels::@bpt_matmul_m64_n64_k64_f16xf16_f32_async
//       CHECK:   gpu.launch
//   CHECK-NOT:   _epilogue
//       CHECK:   return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @not_fused(%a: memref<64x64xf16>, %b: memref<64x64xf16>, %o: memref<64x64xf32>, %o2: memref<64x64xf32>, %s: f32) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %c1 = memref.alloc() : memref<64x64xf32>
  linalg.fill ins(%one : f32) outs(%c1 : memref<64x64xf32>)
  linalg.matmul ins(%a, %b : memref<64x64xf16>, memref<64x64xf16>) outs(%c1 : memref<64x64xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%c1 : memref<64x64xf32>) outs(%o : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  memref.dealloc %c1 : memref<64x64xf32>
  %c2 = memref.alloc() : memref<64x64xf32>
  linalg.fill ins(%zero : f32) outs(%c2 : memref<64x64xf32>)
  linalg.matmul ins(%a, %b : memref<64x64xf16>, memref<64x64xf16>) outs(%c2 : memref<64x64xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%c2 : memref<64x64xf32>) outs(%o : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  linalg.copy ins(%c2 : memref<64x64xf32>) outs(%o2 : memref<64x64xf32>)
  memref.dealloc %c2 : memref<64x64xf32>
  %c3 = memref.alloc() : memref<64x64xf32>
  linalg.fill ins(%zero : f32) outs(%c3 : memref<64x64xf32>)
  linalg.matmul ins(%a, %b : memref<64x64xf16>, memref<64x64xf16>) outs(%c3 : memref<64x64xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%c3 : memref<64x64xf32>) outs(%o : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = arith.mulf %x, %s : f32
    linalg.yield %e : f32
  }
  memref.dealloc %c3 : memref<64x64xf32>
  %c4 = memref.alloc() : memref<64x64xf32>
  linalg.fill ins(%zero : f32) outs(%c4 : memref<64x64xf32>)
  linalg.matmul ins(%a, %b : memref<64x64xf16>, memref<64x64xf16>) outs(%c4 : memref<64x64xf32>)
  linalg.fill ins(%zero : f32) outs(%o2 : memref<64x64xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%c4 : memref<64x64xf32>) outs(%o : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  memref.dealloc %c4 : memref<64x64xf32>
  %ab = memref.alloc() : memref<64x64xf16>
  memref.copy %a, %ab : memref<64x64xf16> to memref<64x64xf16>
  %c5 = memref.alloc() : memref<64x64xf32>
  linalg.fill ins(%zero : f32) outs(%c5 : memref<64x64xf32>)
  linalg.matmul ins(%ab, %b : memref<64x64xf16>, memref<64x64xf16>) outs(%c5 : memref<64x64xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%c5 : memref<64x64xf32>) outs(%ab : memref<64x64xf16>) {
  ^bb0(%x: f32, %y: f16):
    %t = arith.truncf %x : f32 to f16
    linalg.yield %t : f16
  }
  memref.dealloc %c5 : memref<64x64xf32>
  memref.dealloc %ab : memref<64x64xf16>
  return
}
