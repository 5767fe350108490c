// RUN: bpt-opt %s --bpt-reassociate-reductions | FileCheck %s

// A reduction body gets reassoc/contract on its arithmetic.
// CHECK-LABEL: func @row_sum
// CHECK: arith.mulf %{{.+}}, %{{.+}} fastmath<reassoc,contract> : f32
// CHECK: arith.addf %{{.+}}, %{{.+}} fastmath<reassoc,contract> : f32
func.func @row_sum(%x: tensor<4x8xf32>, %acc: tensor<4xf32>) -> tensor<4xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                       iterator_types = ["parallel", "reduction"]}
         ins(%x : tensor<4x8xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %b : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// Negative: elementwise ops keep strict semantics, and conversions get no
// flags at all.
// CHECK-LABEL: func @elementwise
// CHECK:     arith.extf %{{.+}} : f16 to f32
// CHECK-NOT: fastmath
// CHECK:     return
func.func @elementwise(%x: tensor<4xf16>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
         ins(%x : tensor<4xf16>) outs(%y : tensor<4xf32>) {
  ^bb0(%a: f16, %b: f32):
    %e = arith.extf %a : f16 to f32
    %s = arith.addf %e, %b : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
