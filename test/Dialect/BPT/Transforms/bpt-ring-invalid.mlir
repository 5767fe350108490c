// RUN: bpt-opt %s --bpt-ring="devices=2 order=zigzag" --split-input-file --verify-diagnostics
// RUN: not bpt-opt %s --bpt-ring="devices=0" 2>&1 | FileCheck %s --check-prefix=DEVICES
// RUN: not bpt-opt %s --bpt-ring="order=striped" 2>&1 | FileCheck %s --check-prefix=ORDER

// DEVICES: error: bpt-ring: devices must be at least 1
// ORDER: error: bpt-ring: order must be contiguous or zigzag, got 'striped'

func.func @mask(%q: tensor<1x2x8x4xf32>, %m: tensor<1x1x8x8xf32>) -> tensor<1x2x8x4xf32> {
  %e = tensor.empty() : tensor<1x2x8x4xf32>
  // expected-error @+1 {{bpt-ring: an attention with a mask operand cannot be distributed}}
  %o = bpt.attention ins(%q, %q, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) mask(%m : tensor<1x1x8x8xf32>) outs(%e : tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

func.func @positions(%q: tensor<1x2x8x4xf32>, %p: index) -> tensor<1x2x8x4xf32> {
  %e = tensor.empty() : tensor<1x2x8x4xf32>
  // expected-error @+1 {{bpt-ring: an attention with explicit positions cannot be distributed}}
  %o = bpt.attention causal ins(%q, %q, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) positions(%p, %p) outs(%e : tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

func.func @dynamic(%q: tensor<1x2x?x4xf32>, %e: tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32> {
  // expected-error @+1 {{bpt-ring: the local sequence lengths must be static}}
  %o = bpt.attention ins(%q, %q, %q : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) outs(%e : tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return %o : tensor<1x2x?x4xf32>
}

// -----

func.func @odd(%q: tensor<1x2x7x4xf32>) -> tensor<1x2x7x4xf32> {
  %e = tensor.empty() : tensor<1x2x7x4xf32>
  // expected-error @+1 {{bpt-ring: zigzag order splits each rank's 7 rows into two chunks of equal size: the local sequence length must be even}}
  %o = bpt.attention causal ins(%q, %q, %q : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>) outs(%e : tensor<1x2x7x4xf32>) -> tensor<1x2x7x4xf32>
  return %o : tensor<1x2x7x4xf32>
}

// -----

func.func @empty(%q: tensor<1x2x0x4xf32>) -> tensor<1x2x0x4xf32> {
  %e = tensor.empty() : tensor<1x2x0x4xf32>
  // expected-error @+1 {{bpt-ring: zigzag order splits each rank's rows into two chunks, and this rank has none (an empty local sequence)}}
  %o = bpt.attention causal ins(%q, %q, %q : tensor<1x2x0x4xf32>, tensor<1x2x0x4xf32>, tensor<1x2x0x4xf32>) outs(%e : tensor<1x2x0x4xf32>) -> tensor<1x2x0x4xf32>
  return %o : tensor<1x2x0x4xf32>
}

// -----

func.func @cross(%q: tensor<1x2x4x4xf32>, %k: tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32> {
  %e = tensor.empty() : tensor<1x2x4x4xf32>
  // expected-error @+1 {{bpt-ring: zigzag order needs as many queries as keys per rank}}
  %o = bpt.attention causal ins(%q, %k, %k : tensor<1x2x4x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) outs(%e : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %o : tensor<1x2x4x4xf32>
}
