// The blockwise program (OpenMP parallel loops) runs under mlir-runner with
// libomp, and gives the values computed by hand in runner-golden.mlir.
// RUN: bpt-opt %s --bpt-blockwise="q-block=2 kv-block=1" --bpt-cpu-pipeline | \
// RUN:   mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libomp.so | \
// RUN:   FileCheck %s

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  // Causal, Sq = 3 > Sk = 2: query 0 sees no key (0), query 1 sees key 0,
  // query 2 sees both keys with equal scores (their mean). Key blocks of one
  // key: the online softmax merges two blocks for query 2.
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
  %ul = tensor.cast %r#1 : tensor<1x2x3xf32> to tensor<*xf32>
  call @printMemrefF32(%ul) : (tensor<*xf32>) -> ()
  // CHECK:      rank = 3 offset = 0 sizes = [1, 2, 3]
  // CHECK-NEXT: {{\[*}}-inf{{,? +}}0.5{{,? +}}1.19315{{\]*,?}}
  // CHECK-NEXT: {{\[*}}-inf{{,? +}}0.5{{,? +}}1.19315{{\]*,?}}
  return
}
