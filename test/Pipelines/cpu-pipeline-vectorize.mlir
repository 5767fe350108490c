// The contractions of --bpt-cpu-pipeline run as register tiles: each step
// of the reduction broadcasts one element of A per row and multiplies it
// into a 32-wide row of B with one vector FMA per row of the 8 x 32 tile.
// RUN: bpt-opt %s --bpt-cpu-pipeline | FileCheck %s
// RUN: bpt-opt %s --bpt-cpu-pipeline="vectorize=false" | FileCheck %s --check-prefix=SCALAR

// CHECK-LABEL: llvm.func @matmul(
// CHECK-COUNT-8: llvm.intr.fmuladd(%{{.+}}, %{{.+}}, %{{.+}}) : (vector<32xf32>, vector<32xf32>, vector<32xf32>) -> vector<32xf32>
// CHECK-NOT:     vector.
// CHECK-LABEL: llvm.func @matmul_bf16(
// bf16 rows are widened as integers (arith-expand): shifted into the high
// half of an i32 lane.
// CHECK:         llvm.load %{{.+}} : !llvm.ptr -> vector<32xbf16>
// CHECK:         llvm.shl %{{.+}}, %{{.+}} : vector<32xi32>
// CHECK-COUNT-8: llvm.intr.fmuladd(%{{.+}}, %{{.+}}, %{{.+}}) : (vector<32xf32>, vector<32xf32>, vector<32xf32>) -> vector<32xf32>
// SCALAR-NOT:    vector<32xf32>
func.func @matmul(%a: tensor<16x64xf32>, %b: tensor<64x64xf32>, %c: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<16x64xf32>, tensor<64x64xf32>) outs(%c : tensor<16x64xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

func.func @matmul_bf16(%a: tensor<16x64xbf16>, %b: tensor<64x64xbf16>, %c: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
         ins(%a, %b : tensor<16x64xbf16>, tensor<64x64xbf16>) outs(%c : tensor<16x64xf32>) {
  ^bb0(%x: bf16, %y: bf16, %z: f32):
    %xe = arith.extf %x : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %z, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}
