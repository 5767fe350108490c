// Block sizes must be positive: a clear error, no crash.
// RUN: not bpt-opt %s --bpt-blockwise="q-block=0" 2>&1 | FileCheck %s
// RUN: not bpt-opt %s --bpt-blockwise="kv-block=-4" 2>&1 | FileCheck %s --check-prefix=KV

// CHECK: error: bpt-blockwise: q-block, kv-block and ffn-chunk must be positive, got 0, 128 and 256
// KV: error: bpt-blockwise: q-block, kv-block and ffn-chunk must be positive, got 64, -4 and 256
func.func @f(%q: tensor<1x1x8x8xf32>) -> tensor<1x1x8x8xf32> {
  %0 = bpt.attention ins(%q, %q, %q : tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32>)
         outs(%q : tensor<1x1x8x8xf32>) -> tensor<1x1x8x8xf32>
  return %0 : tensor<1x1x8x8xf32>
}
