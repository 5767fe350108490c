// RUN: bpt-opt %s --bpt-raise-ffn --split-input-file | FileCheck %s --enable-var-scope

#id2 = affine_map<(r, c) -> (r, c)>
#col = affine_map<(r, c) -> (c)>

// relu spelled as select(x > 0, x, 0), biases read through a broadcast
// map, weights as [in, out]; no residual: the destination is zeros.
// CHECK-LABEL: func.func @relu_bias_map
//  CHECK-SAME:   (%[[X:.+]]: tensor<64x32xf32>, %[[W1:.+]]: tensor<32x128xf32>, %[[B1:.+]]: tensor<128xf32>, %[[W2:.+]]: tensor<128x32xf32>, %[[B2:.+]]: tensor<32xf32>)
//       CHECK:   %[[Z:.+]] = linalg.fill
//       CHECK:   %[[Y:.+]] = bpt.ffn relu ins(%[[X]] : tensor<64x32xf32>) up(%[[W1]] : tensor<32x128xf32>) up_bias(%[[B1]] : tensor<128xf32>) down(%[[W2]] : tensor<128x32xf32>) down_bias(%[[B2]] : tensor<32xf32>) outs(%[[Z]] : tensor<64x32xf32>)
//       CHECK:   return %[[Y]]
func.func @relu_bias_map(%x: tensor<64x32xf32>, %w1: tensor<32x128xf32>, %b1: tensor<128xf32>, %w2: tensor<128x32xf32>, %b2: tensor<32xf32>) -> tensor<64x32xf32> {
  %zero = arith.constant 0.0 : f32
  %he = tensor.empty() : tensor<64x128xf32>
  %hz = linalg.fill ins(%zero : f32) outs(%he : tensor<64x128xf32>) -> tensor<64x128xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<64x32xf32>, tensor<32x128xf32>) outs(%hz : tensor<64x128xf32>) -> tensor<64x128xf32>
  %hb = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]} ins(%h, %b1 : tensor<64x128xf32>, tensor<128xf32>) outs(%he : tensor<64x128xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<64x128xf32>
  %r = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%hb : tensor<64x128xf32>) outs(%he : tensor<64x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %p = arith.cmpf ugt, %a, %zero : f32
    %s = arith.select %p, %a, %zero : f32
    linalg.yield %s : f32
  } -> tensor<64x128xf32>
  %ye = tensor.empty() : tensor<64x32xf32>
  %yz = linalg.fill ins(%zero : f32) outs(%ye : tensor<64x32xf32>) -> tensor<64x32xf32>
  %y = linalg.matmul ins(%r, %w2 : tensor<64x128xf32>, tensor<128x32xf32>) outs(%yz : tensor<64x32xf32>) -> tensor<64x32xf32>
  %yb = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]} ins(%y, %b2 : tensor<64x32xf32>, tensor<32xf32>) outs(%ye : tensor<64x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %b, %a : f32
    linalg.yield %s : f32
  } -> tensor<64x32xf32>
  return %yb : tensor<64x32xf32>
}

// -----

#id2 = affine_map<(r, c) -> (r, c)>

// SwiGLU as LLaMA writes it: silu(x W_gate) * (x W_up), silu spelled
// x / (1 + exp(-x)) in an op of its own, weights read as [out, in] through
// the contractions' maps (no transpose op), and a residual.
// CHECK-LABEL: func.func @swiglu_two_ops
//  CHECK-SAME:   (%[[X:.+]]: tensor<16x32xf32>, %[[WG:.+]]: tensor<96x32xf32>, %[[WU:.+]]: tensor<96x32xf32>, %[[WD:.+]]: tensor<32x96xf32>, %[[RES:.+]]: tensor<16x32xf32>)
//   CHECK-DAG:   %[[U:.+]] = linalg.transpose ins(%[[WU]] : tensor<96x32xf32>)
//   CHECK-DAG:   %[[G:.+]] = linalg.transpose ins(%[[WG]] : tensor<96x32xf32>)
//   CHECK-DAG:   %[[D:.+]] = linalg.transpose ins(%[[WD]] : tensor<32x96xf32>)
//       CHECK:   %[[Y:.+]] = bpt.ffn swiglu ins(%[[X]] : tensor<16x32xf32>) up(%[[U]] : tensor<32x96xf32>) gate(%[[G]] : tensor<32x96xf32>) down(%[[D]] : tensor<96x32xf32>) outs(%[[RES]] : tensor<16x32xf32>)
//       CHECK:   return %[[Y]]
//   CHECK-NOT:   math.exp
func.func @swiglu_two_ops(%x: tensor<16x32xf32>, %wg: tensor<96x32xf32>, %wu: tensor<96x32xf32>, %wd: tensor<32x96xf32>, %res: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %he = tensor.empty() : tensor<16x96xf32>
  %hz = linalg.fill ins(%zero : f32) outs(%he : tensor<16x96xf32>) -> tensor<16x96xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(r, f, k) -> (r, k)>, affine_map<(r, f, k) -> (f, k)>, affine_map<(r, f, k) -> (r, f)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %wg : tensor<16x32xf32>, tensor<96x32xf32>) outs(%hz : tensor<16x96xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<16x96xf32>
  %u = linalg.generic {indexing_maps = [affine_map<(r, f, k) -> (r, k)>, affine_map<(r, f, k) -> (f, k)>, affine_map<(r, f, k) -> (r, f)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %wu : tensor<16x32xf32>, tensor<96x32xf32>) outs(%hz : tensor<16x96xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<16x96xf32>
  %sg = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g : tensor<16x96xf32>) outs(%he : tensor<16x96xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %s = arith.divf %a, %d : f32
    linalg.yield %s : f32
  } -> tensor<16x96xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%u, %sg : tensor<16x96xf32>, tensor<16x96xf32>) outs(%he : tensor<16x96xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<16x96xf32>
  %ye = tensor.empty() : tensor<16x32xf32>
  %yz = linalg.fill ins(%zero : f32) outs(%ye : tensor<16x32xf32>) -> tensor<16x32xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(r, o, k) -> (r, k)>, affine_map<(r, o, k) -> (o, k)>, affine_map<(r, o, k) -> (r, o)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%h, %wd : tensor<16x96xf32>, tensor<32x96xf32>) outs(%yz : tensor<16x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<16x32xf32>
  %out = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%res, %y : tensor<16x32xf32>, tensor<16x32xf32>) outs(%ye : tensor<16x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<16x32xf32>
  return %out : tensor<16x32xf32>
}

// -----

#id2 = affine_map<(r, c) -> (r, c)>

// GELU with the tanh approximation, written with powf, in one op.
// CHECK-LABEL: func.func @gelu_tanh
//       CHECK:   bpt.ffn gelu_tanh ins(
//   CHECK-NOT:   math.tanh
func.func @gelu_tanh(%x: tensor<16x32xf32>, %w1: tensor<32x64xf32>, %w2: tensor<64x32xf32>) -> tensor<16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %three = arith.constant 3.0 : f32
  %k = arith.constant 0.044715 : f32
  %c = arith.constant 0.7978845608028654 : f32
  %he = tensor.empty() : tensor<16x64xf32>
  %hz = linalg.fill ins(%zero : f32) outs(%he : tensor<16x64xf32>) -> tensor<16x64xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<16x32xf32>, tensor<32x64xf32>) outs(%hz : tensor<16x64xf32>) -> tensor<16x64xf32>
  %a = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<16x64xf32>) outs(%he : tensor<16x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %p = math.powf %v, %three : f32
    %kp = arith.mulf %k, %p : f32
    %in = arith.addf %v, %kp : f32
    %ci = arith.mulf %c, %in : f32
    %t = math.tanh %ci : f32
    %t1 = arith.addf %one, %t : f32
    %hv = arith.mulf %half, %v : f32
    %r = arith.mulf %hv, %t1 : f32
    linalg.yield %r : f32
  } -> tensor<16x64xf32>
  %ye = tensor.empty() : tensor<16x32xf32>
  %yz = linalg.fill ins(%zero : f32) outs(%ye : tensor<16x32xf32>) -> tensor<16x32xf32>
  %y = linalg.matmul ins(%a, %w2 : tensor<16x64xf32>, tensor<64x32xf32>) outs(%yz : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

#id2 = affine_map<(r, c) -> (r, c)>
#col = affine_map<(r, c) -> (c)>

// GeGLU in one op, the up projection first and the gate second: gelu (erf)
// of the gate times the up projection, with a bias on the up projection.
// CHECK-LABEL: func.func @geglu_one_op
//  CHECK-SAME:   (%[[X:.+]]: tensor<16x32xf32>, %[[WU:.+]]: tensor<32x64xf32>, %[[BU:.+]]: tensor<64xf32>, %[[WG:.+]]: tensor<32x64xf32>, %[[WD:.+]]: tensor<64x32xf32>)
//       CHECK:   bpt.ffn geglu ins(%[[X]] : tensor<16x32xf32>) up(%[[WU]] : tensor<32x64xf32>) gate(%[[WG]] : tensor<32x64xf32>) up_bias(%[[BU]] : tensor<64xf32>) down(%[[WD]] : tensor<64x32xf32>)
func.func @geglu_one_op(%x: tensor<16x32xf32>, %wu: tensor<32x64xf32>, %bu: tensor<64xf32>, %wg: tensor<32x64xf32>, %wd: tensor<64x32xf32>) -> tensor<16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %rsqrt2 = arith.constant 0.70710678118654757 : f32
  %he = tensor.empty() : tensor<16x64xf32>
  %hz = linalg.fill ins(%zero : f32) outs(%he : tensor<16x64xf32>) -> tensor<16x64xf32>
  %u0 = linalg.matmul ins(%x, %wu : tensor<16x32xf32>, tensor<32x64xf32>) outs(%hz : tensor<16x64xf32>) -> tensor<16x64xf32>
  %u = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]} ins(%u0, %bu : tensor<16x64xf32>, tensor<64xf32>) outs(%he : tensor<16x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<16x32xf32>, tensor<32x64xf32>) outs(%hz : tensor<16x64xf32>) -> tensor<16x64xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%u, %g : tensor<16x64xf32>, tensor<16x64xf32>) outs(%he : tensor<16x64xf32>) {
  ^bb0(%up: f32, %gt: f32, %o: f32):
    %s = arith.mulf %gt, %rsqrt2 : f32
    %e = math.erf %s : f32
    %e1 = arith.addf %e, %one : f32
    %hg = arith.mulf %gt, %half : f32
    %gl = arith.mulf %hg, %e1 : f32
    %r = arith.mulf %up, %gl : f32
    linalg.yield %r : f32
  } -> tensor<16x64xf32>
  %ye = tensor.empty() : tensor<16x32xf32>
  %yz = linalg.fill ins(%zero : f32) outs(%ye : tensor<16x32xf32>) -> tensor<16x32xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<16x64xf32>, tensor<64x32xf32>) outs(%yz : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}
