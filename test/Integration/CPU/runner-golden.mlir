// JIT execution under mlir-runner, checked against values computed by
// hand (exact in f32).
// RUN: bpt-opt %s --bpt-cpu-pipeline | \
// RUN:   mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so | \
// RUN:   FileCheck %s

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  // Causal attention with Sq = 3 > Sk = 2 (bottom-right alignment): query 0
  // sits before every key and gives 0; query 1 sees key 0 only; query 2 sees
  // both keys with equal scores and gives their mean. Both query heads share
  // the single key/value head.
  %q = arith.constant dense<1.0> : tensor<1x2x3x4xf32>
  %k = arith.constant dense<[[[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]]]> : tensor<1x1x2x4xf32>
  %v = arith.constant dense<[[[[1.0, 2.0], [3.0, 4.0]]]]> : tensor<1x1x2x2xf32>
  %o = tensor.empty() : tensor<1x2x3x2xf32>
  %l = tensor.empty() : tensor<1x2x3xf32>
  %r:2 = bpt.attention causal ins(%q, %k, %v : tensor<1x2x3x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x2xf32>)
           outs(%o, %l : tensor<1x2x3x2xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3x2xf32>, tensor<1x2x3xf32>
  %u = tensor.cast %r#0 : tensor<1x2x3x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  // CHECK:      rank = 4 offset = 0 sizes = [1, 2, 3, 2]
  // CHECK-NEXT: {{\[*}}0{{,? +}}0{{\]*,?}}
  // CHECK-NEXT: {{\[*}}1{{,? +}}2{{\]*,?}}
  // CHECK-NEXT: {{\[*}}2{{,? +}}3{{\]*,?}}
  // CHECK-NEXT: {{\[*}}0{{,? +}}0{{\]*,?}}
  // CHECK-NEXT: {{\[*}}1{{,? +}}2{{\]*,?}}
  // CHECK-NEXT: {{\[*}}2{{,? +}}3{{\]*,?}}

  // The log-sum-exp: -inf for the row that sees no key; the score of the
  // visible key is 1 * scale = 0.5, so log(exp(0.5)) = 0.5 and
  // log(2 exp(0.5)) = 0.5 + log 2 = 1.19315.
  %ul = tensor.cast %r#1 : tensor<1x2x3xf32> to tensor<*xf32>
  call @printMemrefF32(%ul) : (tensor<*xf32>) -> ()
  // CHECK:      rank = 3 offset = 0 sizes = [1, 2, 3]
  // CHECK-NEXT: {{\[*}}-inf{{,? +}}0.5{{,? +}}1.19315{{\]*,?}}
  // CHECK-NEXT: {{\[*}}-inf{{,? +}}0.5{{,? +}}1.19315{{\]*,?}}

  // FFN: relu([1, -2] I) = [1, 0]; times [[1], [1]] is 1; plus the
  // destination 0.5 and the bias 0.25 gives 1.75. The second row
  // [-1, 3] gives 3 + 0.5 + 0.25 = 3.75.
  %x = arith.constant dense<[[1.0, -2.0], [-1.0, 3.0]]> : tensor<2x2xf32>
  %up = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %down = arith.constant dense<[[1.0], [1.0]]> : tensor<2x1xf32>
  %b2 = arith.constant dense<0.25> : tensor<1xf32>
  %init = arith.constant dense<0.5> : tensor<2x1xf32>
  %y = bpt.ffn relu ins(%x : tensor<2x2xf32>) up(%up : tensor<2x2xf32>) down(%down : tensor<2x1xf32>)
         down_bias(%b2 : tensor<1xf32>) outs(%init : tensor<2x1xf32>) -> tensor<2x1xf32>
  %uy = tensor.cast %y : tensor<2x1xf32> to tensor<*xf32>
  call @printMemrefF32(%uy) : (tensor<*xf32>) -> ()
  // CHECK:      rank = 2 offset = 0 sizes = [2, 1]
  // CHECK-NEXT: {{\[*}}1.75{{\]*,?}}
  // CHECK-NEXT: {{\[*}}3.75{{\]*,?}}
  return
}
