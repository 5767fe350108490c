// Malformed input gives a diagnostic and a non-zero exit, never a crash
// (`not` fails when the tool crashes).
// RUN: not bpt-opt %s --split-input-file 2>&1 | FileCheck %s
// RUN: not bpt-opt %s --split-input-file --bpt-decompose 2>&1 | FileCheck %s
// RUN: not bpt-opt %s --split-input-file --bpt-cpu-pipeline 2>&1 | FileCheck %s

// CHECK: error: custom op 'bpt.attention' expected 'ins'
func.func @bad_syntax(%q: tensor<1x1x4x4xf32>) {
  %0 = bpt.attention causal outs(%q : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return
}

// -----

// CHECK: error: operation being parsed with an unregistered dialect
func.func @unregistered() {
  "frobnicate.op"() : () -> ()
  frobnicate.op
  return
}

// -----

// CHECK: error: use of value '%q' expects different type than prior uses: 'tensor<1x1x4x4xf16>' vs 'tensor<1x1x4x4xf32>'
func.func @wrong_types(%q: tensor<1x1x4x4xf32>) {
  %0 = bpt.attention ins(%q, %q, %q : tensor<1x1x4x4xf16>, tensor<1x1x4x4xf16>, tensor<1x1x4x4xf16>)
         outs(%q : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return
}

// -----

// CHECK: error: custom op 'bpt.ffn' unknown activation 'softplus'
func.func @bad_enum(%x: tensor<4x4xf32>) {
  %0 = bpt.ffn softplus ins(%x : tensor<4x4xf32>) up(%x : tensor<4x4xf32>) down(%x : tensor<4x4xf32>) outs(%x : tensor<4x4xf32>) -> tensor<4x4xf32>
  return
}

// -----

// CHECK: error: 'bpt.attention' op key head count 3 does not divide query head count 4
func.func @bad_heads(%q: tensor<1x4x4x4xf32>, %k: tensor<1x3x4x4xf32>) {
  %0 = bpt.attention ins(%q, %k, %k : tensor<1x4x4x4xf32>, tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>)
         outs(%q : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return
}

// -----

// CHECK: error: expected ')'
func.func @truncated(%q: tensor<1x4x4x4xf32>
