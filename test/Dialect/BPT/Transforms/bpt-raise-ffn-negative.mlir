// FFN-like subgraphs that must stay as they are; remarks=true says why.
// RUN: bpt-opt %s --bpt-raise-ffn=remarks=true --split-input-file -verify-diagnostics | FileCheck %s
// RUN: bpt-opt %s --split-input-file > %t.plain
// RUN: bpt-opt %s --bpt-raise-ffn --split-input-file > %t.raised
// RUN: diff %t.plain %t.raised

// CHECK-NOT: bpt.ffn

#id2 = affine_map<(r, c) -> (r, c)>

// The hidden activation is returned too: it must stay materialised.
// CHECK-LABEL: func.func @hidden_returned
func.func @hidden_returned(%x: tensor<16x32xf32>, %w1: tensor<32x64xf32>, %w2: tensor<64x32xf32>) -> (tensor<16x32xf32>, tensor<16x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %he = tensor.empty() : tensor<16x64xf32>
  %hz = linalg.fill ins(%zero : f32) outs(%he : tensor<16x64xf32>) -> tensor<16x64xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<16x32xf32>, tensor<32x64xf32>) outs(%hz : tensor<16x64xf32>) -> tensor<16x64xf32>
  %a = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<16x64xf32>) outs(%he : tensor<16x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.maximumf %v, %zero : f32
    linalg.yield %r : f32
  } -> tensor<16x64xf32>
  %ye = tensor.empty() : tensor<16x32xf32>
  %yz = linalg.fill ins(%zero : f32) outs(%ye : tensor<16x32xf32>) -> tensor<16x32xf32>
  // expected-remark @below {{FFN not raised: the value computed by 'linalg.generic' is also read by 'func.return': it must stay materialised}}
  %y = linalg.matmul ins(%a, %w2 : tensor<16x64xf32>, tensor<64x32xf32>) outs(%yz : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y, %a : tensor<16x32xf32>, tensor<16x64xf32>
}

// -----

#id2 = affine_map<(r, c) -> (r, c)>

// The up projection accumulates into a non-zero tensor: not x W (+ b).
// CHECK-LABEL: func.func @up_into_nonzero
func.func @up_into_nonzero(%x: tensor<16x32xf32>, %w1: tensor<32x64xf32>, %w2: tensor<64x32xf32>, %acc: tensor<16x64xf32>) -> tensor<16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %he = tensor.empty() : tensor<16x64xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<16x32xf32>, tensor<32x64xf32>) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  %a = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<16x64xf32>) outs(%he : tensor<16x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.maximumf %v, %zero : f32
    linalg.yield %r : f32
  } -> tensor<16x64xf32>
  %ye = tensor.empty() : tensor<16x32xf32>
  %yz = linalg.fill ins(%zero : f32) outs(%ye : tensor<16x32xf32>) -> tensor<16x32xf32>
  // expected-remark @below {{FFN not raised: the input of the activation is not a projection x W (+ b)}}
  %y = linalg.matmul ins(%a, %w2 : tensor<16x64xf32>, tensor<64x32xf32>) outs(%yz : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

#id2 = affine_map<(r, c) -> (r, c)>

// The gate and the up projection read different rows.
// CHECK-LABEL: func.func @gate_other_rows
func.func @gate_other_rows(%x: tensor<16x32xf32>, %x2: tensor<16x32xf32>, %wg: tensor<32x64xf32>, %wu: tensor<32x64xf32>, %w2: tensor<64x32xf32>) -> tensor<16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %he = tensor.empty() : tensor<16x64xf32>
  %hz = linalg.fill ins(%zero : f32) outs(%he : tensor<16x64xf32>) -> tensor<16x64xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<16x32xf32>, tensor<32x64xf32>) outs(%hz : tensor<16x64xf32>) -> tensor<16x64xf32>
  %u = linalg.matmul ins(%x2, %wu : tensor<16x32xf32>, tensor<32x64xf32>) outs(%hz : tensor<16x64xf32>) -> tensor<16x64xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<16x64xf32>, tensor<16x64xf32>) outs(%he : tensor<16x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %n = arith.negf %a : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %s = arith.divf %a, %d : f32
    %m = arith.mulf %s, %b : f32
    linalg.yield %m : f32
  } -> tensor<16x64xf32>
  %ye = tensor.empty() : tensor<16x32xf32>
  %yz = linalg.fill ins(%zero : f32) outs(%ye : tensor<16x32xf32>) -> tensor<16x32xf32>
  // expected-remark @below {{FFN not raised: the gate and up projections do not read the same rows, or the gate has a bias}}
  %y = linalg.matmul ins(%h, %w2 : tensor<16x64xf32>, tensor<64x32xf32>) outs(%yz : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

#id2 = affine_map<(r, c) -> (r, c)>

// A sigmoid alone is no FFN activation: not raised, and no remark (the
// contraction is simply not the end of an FFN).
// CHECK-LABEL: func.func @sigmoid_is_not_an_activation
func.func @sigmoid_is_not_an_activation(%x: tensor<16x32xf32>, %w1: tensor<32x64xf32>, %w2: tensor<64x32xf32>) -> tensor<16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %he = tensor.empty() : tensor<16x64xf32>
  %hz = linalg.fill ins(%zero : f32) outs(%he : tensor<16x64xf32>) -> tensor<16x64xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<16x32xf32>, tensor<32x64xf32>) outs(%hz : tensor<16x64xf32>) -> tensor<16x64xf32>
  %a = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<16x64xf32>) outs(%he : tensor<16x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %s = arith.divf %one, %d : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  %ye = tensor.empty() : tensor<16x32xf32>
  %yz = linalg.fill ins(%zero : f32) outs(%ye : tensor<16x32xf32>) -> tensor<16x32xf32>
  %y = linalg.matmul ins(%a, %w2 : tensor<16x64xf32>, tensor<64x32xf32>) outs(%yz : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}
