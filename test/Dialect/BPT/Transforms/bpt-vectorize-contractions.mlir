// RUN: bpt-opt %s --bpt-vectorize-contractions --split-input-file | FileCheck %s --enable-var-scope
// RUN: bpt-opt %s --bpt-vectorize-contractions="m-tile=4 n-tile=16" --split-input-file | FileCheck %s --check-prefix=SMALL
// RUN: not bpt-opt %s --bpt-vectorize-contractions="m-tile=0" --split-input-file 2>&1 | FileCheck %s --check-prefix=ERR

// ERR: error: bpt-vectorize-contractions: m-tile and n-tile must be positive

// A matmul whose sizes are multiples of the tile: loops over 8 x 32 tiles
// of C, each read once into a vector, carried through the reduction loop
// (one step per k) and written once; each step is one vector.contract of a
// column of A (8 x 1) and a row of B (1 x 32).
// CHECK-LABEL: func @matmul
// CHECK-NOT:   linalg.matmul
// CHECK:       scf.for %[[I:.+]] = %c0 to %c64 step %c8 iter_args(
// CHECK:         scf.for %[[J:.+]] = %c0 to %c96 step %c32 iter_args(%[[CT:.+]] =
// CHECK:           %[[C:.+]] = tensor.extract_slice %[[CT]][%[[I]], %[[J]]] [8, 32] [1, 1]
// CHECK:           %[[C0:.+]] = vector.transfer_read %[[C]]{{.*}} : tensor<8x32xf32>, vector<8x32xf32>
// CHECK:           %[[R:.+]] = scf.for %[[K:.+]] = %c0 to %c128 step %c1 iter_args(%[[ACC:.+]] = %[[C0]]) -> (vector<8x32xf32>)
// CHECK:             %[[A:.+]] = vector.transfer_read {{.*}} : tensor<8x1xf32>, vector<8x1xf32>
// CHECK:             %[[B:.+]] = vector.transfer_read {{.*}} : tensor<1x32xf32>, vector<1x32xf32>
// CHECK:             %[[N:.+]] = vector.contract {{.*}} %[[A]], %[[B]], %[[ACC]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:             scf.yield %[[N]] : vector<8x32xf32>
// CHECK:           vector.transfer_write %[[R]], %[[C]]
// CHECK:           tensor.insert_slice
// SMALL-LABEL: func @matmul
// SMALL:         vector.contract {{.*}} : vector<4x1xf32>, vector<1x16xf32> into vector<4x16xf32>
func.func @matmul(%a: tensor<64x128xf32>, %b: tensor<128x96xf32>, %c: tensor<64x96xf32>) -> tensor<64x96xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<64x128xf32>, tensor<128x96xf32>) outs(%c : tensor<64x96xf32>) -> tensor<64x96xf32>
  return %0 : tensor<64x96xf32>
}

// -----

// Ragged static sizes (20 x 40): the loops over rows and columns are
// peeled, in the partial iterations too, so every tile is static and
// vectorised: 8 x 32 and 8 x 8 for the first 16 rows, 4 x 32 and 4 x 8 for
// the last 4.
// CHECK-LABEL: func @ragged
// CHECK-NOT:   linalg.generic
// CHECK:       scf.for %{{.+}} = %c0 to %c16 step %c8
// CHECK:         vector.contract {{.*}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:         vector.contract {{.*}} : vector<8x1xf32>, vector<1x8xf32> into vector<8x8xf32>
// CHECK:       vector.contract {{.*}} : vector<4x1xf32>, vector<1x32xf32> into vector<4x32xf32>
// CHECK:       vector.contract {{.*}} : vector<4x1xf32>, vector<1x8xf32> into vector<4x8xf32>
// CHECK-NOT:   linalg.generic
func.func @ragged(%a: tensor<20x16xf32>, %b: tensor<16x40xf32>, %c: tensor<20x40xf32>) -> tensor<20x40xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<20x16xf32>, tensor<16x40xf32>) outs(%c : tensor<20x40xf32>) -> tensor<20x40xf32>
  return %0 : tensor<20x40xf32>
}

// -----

// Dynamic sizes (a key block of min(128, S - start) keys): full tiles of
// the peeled column loop are vectorised, the last partial tile of dynamic
// size stays a linalg.generic for the loop lowering; the reduction loop
// over a dynamic extent needs no peeling.
// CHECK-LABEL: func @dynamic
// CHECK:       %[[N:.+]] = tensor.dim %{{.+}}, %c1 : tensor<64x?xf32>
// CHECK:       %[[FULL:.+]] = affine.apply #{{.+}}()[%[[N]]]
// CHECK:       scf.for %{{.+}} = %c0 to %[[FULL]] step %c32
// CHECK:         scf.for %{{.+}} = %c0 to %c64 step %c1 iter_args(%{{.+}}) -> (vector<8x32xf32>)
// CHECK:           vector.contract
// CHECK:       scf.for %{{.+}} = %[[FULL]] to %[[N]] step %c32
// CHECK:         linalg.generic {{.*}} outs(%{{.+}} : tensor<8x?xf32>)
func.func @dynamic(%q: tensor<64x64xf32>, %kt: tensor<64x?xf32>, %s: tensor<64x?xf32>) -> tensor<64x?xf32> {
  %0 = linalg.matmul ins(%q, %kt : tensor<64x64xf32>, tensor<64x?xf32>) outs(%s : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %0 : tensor<64x?xf32>
}

// -----

// The product of probabilities and values of a key-loop step, as
// --bpt-blockwise emits it: loops (b, h, i, e, j) with b and h of extent 1
// and f16 values extended in the body. The unit loops are dropped, the
// narrow operand is extended on vectors and the contraction runs in f32.
// CHECK-LABEL: func @value_product_f16
// CHECK:       scf.for %{{.+}} = %c0 to %c64 step %c8
// CHECK:         scf.for %{{.+}} = %c0 to %c64 step %c32
// CHECK:           scf.for %{{.+}} = %c0 to %c128 step %c1 iter_args(%[[ACC:.+]] = %{{.+}}) -> (vector<8x32xf32>)
// CHECK:             %[[P:.+]] = vector.transfer_read {{.*}} : tensor<8x1xf32>, vector<8x1xf32>
// CHECK:             %[[V:.+]] = vector.transfer_read {{.*}} : tensor<1x32xf16>, vector<1x32xf16>
// CHECK:             %[[VX:.+]] = arith.extf %[[V]] : vector<1x32xf16> to vector<1x32xf32>
// CHECK:             vector.contract {{.*}} %[[P]], %[[VX]], %[[ACC]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
#p = affine_map<(b, h, i, e, j) -> (b, h, i, j)>
#v = affine_map<(b, h, i, e, j) -> (b, h floordiv 4, j, e)>
#o = affine_map<(b, h, i, e, j) -> (b, h, i, e)>
func.func @value_product_f16(%p: tensor<1x1x64x128xf32>, %v: tensor<1x1x128x64xf16>, %acc: tensor<1x1x64x64xf32>) -> tensor<1x1x64x64xf32> {
  %0 = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
         ins(%p, %v : tensor<1x1x64x128xf32>, tensor<1x1x128x64xf16>) outs(%acc : tensor<1x1x64x64xf32>) {
  ^bb0(%x: f32, %y: f16, %z: f32):
    %ye = arith.extf %y : f16 to f32
    %m = arith.mulf %x, %ye : f32
    %s = arith.addf %z, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x1x64x64xf32>
  return %0 : tensor<1x1x64x64xf32>
}

// -----

// A batched matmul with a batch of one: the unit batch loop is dropped and
// the tiles are plain 2-D contractions.
// CHECK-LABEL: func @batch_of_one
// CHECK-NOT:   linalg.batch_matmul
// CHECK:       vector.contract {{.*}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
func.func @batch_of_one(%a: tensor<1x16x8xf32>, %b: tensor<1x8x64xf32>, %c: tensor<1x16x64xf32>) -> tensor<1x16x64xf32> {
  %0 = linalg.batch_matmul ins(%a, %b : tensor<1x16x8xf32>, tensor<1x8x64xf32>) outs(%c : tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  return %0 : tensor<1x16x64xf32>
}

// -----

// Negative: a dot-product form (S[i, j] += Q[i, e] K[j, e]) reads its second
// operand across rows along j; a vector of j would be a gather. Unchanged.
// CHECK-LABEL: func @dot_product_form
// CHECK-NOT:   vector.
// CHECK-NOT:   scf.for
// CHECK:       linalg.generic
func.func @dot_product_form(%q: tensor<64x16xf32>, %k: tensor<64x16xf32>, %s: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(i, j, e) -> (i, e)>, affine_map<(i, j, e) -> (j, e)>, affine_map<(i, j, e) -> (i, j)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
         ins(%q, %k : tensor<64x16xf32>, tensor<64x16xf32>) outs(%s : tensor<64x64xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %m = arith.mulf %x, %y : f32
    %a = arith.addf %z, %m : f32
    linalg.yield %a : f32
  } -> tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}

// -----

// Negative: integer contractions, contractions on buffers, empty extents
// and ops that are not contractions (a row sum) are left alone.
// CHECK-LABEL: func @not_candidates
// CHECK-NOT:   vector.
// CHECK-NOT:   scf.for
// CHECK:       linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<16x16xi32>, tensor<16x32xi32>)
// CHECK:       linalg.matmul ins(%{{.+}}, %{{.+}} : memref<16x16xf32>, memref<16x32xf32>)
// CHECK:       linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<16x0xf32>, tensor<0x32xf32>)
// CHECK:       linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
func.func @not_candidates(%ai: tensor<16x16xi32>, %bi: tensor<16x32xi32>, %ci: tensor<16x32xi32>,
                          %am: memref<16x16xf32>, %bm: memref<16x32xf32>, %cm: memref<16x32xf32>,
                          %ae: tensor<16x0xf32>, %be: tensor<0x32xf32>, %ce: tensor<16x32xf32>,
                          %x: tensor<16x32xf32>, %r: tensor<16xf32>)
    -> (tensor<16x32xi32>, tensor<16x32xf32>, tensor<16xf32>) {
  %0 = linalg.matmul ins(%ai, %bi : tensor<16x16xi32>, tensor<16x32xi32>) outs(%ci : tensor<16x32xi32>) -> tensor<16x32xi32>
  linalg.matmul ins(%am, %bm : memref<16x16xf32>, memref<16x32xf32>) outs(%cm : memref<16x32xf32>)
  %1 = linalg.matmul ins(%ae, %be : tensor<16x0xf32>, tensor<0x32xf32>) outs(%ce : tensor<16x32xf32>) -> tensor<16x32xf32>
  %2 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                       iterator_types = ["parallel", "reduction"]}
         ins(%x : tensor<16x32xf32>) outs(%r : tensor<16xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  return %0, %1, %2 : tensor<16x32xi32>, tensor<16x32xf32>, tensor<16xf32>
}
