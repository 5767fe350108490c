// Softmaxes whose surroundings do not make an attention that can be raised
// exactly: each stays as it was, and remarks=true says which op stopped the
// match and why.
// RUN: bpt-opt %s --bpt-raise-attention=remarks=true --split-input-file -verify-diagnostics | FileCheck %s
// RUN: bpt-opt %s --bpt-raise-attention --split-input-file | FileCheck %s
// Unchanged means unchanged: the output equals the input's round trip.
// RUN: bpt-opt %s --split-input-file > %t.plain
// RUN: bpt-opt %s --bpt-raise-attention --split-input-file > %t.raised
// RUN: diff %t.plain %t.raised

// CHECK-NOT: bpt.attention

#id3 = affine_map<(b, i, j) -> (b, i, j)>

// The softmax normalises over queries (dimension 1), not keys.
// CHECK-LABEL: func.func @softmax_over_queries
//       CHECK:   linalg.softmax dimension(1)
func.func @softmax_over_queries(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  // expected-remark @below {{softmax not raised: the softmax reduces dimension 1, not the key dimension (the last one) of the scores}}
  %p = linalg.softmax dimension(1) ins(%s : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

#id3 = affine_map<(b, i, j) -> (b, i, j)>

// The scale is applied to the probabilities, after the softmax.
// CHECK-LABEL: func.func @scale_after_softmax
//       CHECK:   linalg.softmax
func.func @scale_after_softmax(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.125 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  // expected-remark @below {{softmax not raised: the probabilities are read by this op, and it is not a contraction}}
  %ps = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%p : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%ps, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

// The value contraction sums over queries (P^T V): not attention.
// CHECK-LABEL: func.func @value_contraction_wrong_dim
//       CHECK:   linalg.softmax
func.func @value_contraction_wrong_dim(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  // expected-remark @below {{softmax not raised: the probabilities are not the left operand, contracted along keys, of this contraction}}
  %o = linalg.generic {indexing_maps = [affine_map<(b, i, d, j) -> (b, j, i)>, affine_map<(b, i, d, j) -> (b, j, d)>, affine_map<(b, i, d, j) -> (b, i, d)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

// The scores are returned too: they must stay materialised.
// CHECK-LABEL: func.func @scores_returned
//       CHECK:   linalg.softmax
func.func @scores_returned(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>) -> (tensor<8x64x16xf32>, tensor<8x64x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  // expected-remark @below {{softmax not raised: this op reads the scores or probabilities computed by 'linalg.batch_matmul': they must stay materialised}}
  return %o, %s : tensor<8x64x16xf32>, tensor<8x64x64xf32>
}

// -----

// The probabilities are also returned (attention weights of a model that
// outputs them).
// CHECK-LABEL: func.func @probabilities_returned
//       CHECK:   linalg.softmax
func.func @probabilities_returned(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>) -> (tensor<8x64x16xf32>, tensor<8x64x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  // expected-remark @below {{softmax not raised: the probabilities are used more than once (or not at all): they must stay materialised}}
  return %o, %p : tensor<8x64x16xf32>, tensor<8x64x64xf32>
}

// -----

#id3 = affine_map<(b, i, j) -> (b, i, j)>
#m3 = affine_map<(b, i, j) -> (0, i, j)>

// The scale multiplies the sum of the scores and an additive mask: raising
// would not scale the mask.
// CHECK-LABEL: func.func @scale_after_additive_mask
//       CHECK:   linalg.softmax
func.func @scale_after_additive_mask(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>, %mask: tensor<1x64x64xf32>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.125 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  // expected-remark @below {{softmax not raised: a scale is applied after this additive mask, which it would scale too}}
  %sm = linalg.generic {indexing_maps = [#id3, #m3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %mask : tensor<8x64x64xf32>, tensor<1x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %r = arith.addf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<8x64x64xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sm : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.mulf %in, %c : f32
    linalg.yield %r : f32
  } -> tensor<8x64x64xf32>
  %p = linalg.softmax dimension(2) ins(%ss : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

// Dynamic sequence lengths are not raised (yet).
// CHECK-LABEL: func.func @dynamic_sequence
//       CHECK:   linalg.softmax
func.func @dynamic_sequence(%q: tensor<8x?x32xf32>, %kt: tensor<8x32x?xf32>, %v: tensor<8x?x16xf32>) -> tensor<8x?x16xf32> {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %sq = tensor.dim %q, %c1 : tensor<8x?x32xf32>
  %sk = tensor.dim %kt, %c2 : tensor<8x32x?xf32>
  %s0 = tensor.empty(%sq, %sk) : tensor<8x?x?xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x?x?xf32>) -> tensor<8x?x?xf32>
  // expected-remark @below {{softmax not raised: the scores are produced by this op, and its shape is dynamic (dynamic attention shapes are not raised)}}
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x?x32xf32>, tensor<8x32x?xf32>) outs(%sz : tensor<8x?x?xf32>) -> tensor<8x?x?xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x?x?xf32>) outs(%s0 : tensor<8x?x?xf32>) -> tensor<8x?x?xf32>
  %o0 = tensor.empty(%sq) : tensor<8x?x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x?x16xf32>) -> tensor<8x?x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x?x?xf32>, tensor<8x?x16xf32>) outs(%oz : tensor<8x?x16xf32>) -> tensor<8x?x16xf32>
  return %o : tensor<8x?x16xf32>
}

// -----

// The scores accumulate into a tensor that is not zero (a bias folded into
// the destination of the matmul) and are not read through an add: not
// raised, the bias would be lost.
// CHECK-LABEL: func.func @scores_into_bias
//       CHECK:   linalg.softmax
func.func @scores_into_bias(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>, %bias: tensor<8x64x64xf32>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  // expected-remark @below {{softmax not raised: the scores are produced by this op, and it accumulates into a destination that is not zero}}
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%bias : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

#id3 = affine_map<(b, i, j) -> (b, i, j)>
#m3 = affine_map<(b, i, j) -> (0, i, j)>

// Two additive masks from the caller: bpt.attention takes one.
// CHECK-LABEL: func.func @two_masks
//       CHECK:   linalg.softmax
func.func @two_masks(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>, %m1: tensor<1x64x64xf32>, %m2: tensor<1x64x64xf32>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %a = linalg.generic {indexing_maps = [#id3, #m3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %m1 : tensor<8x64x64xf32>, tensor<1x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %r = arith.addf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<8x64x64xf32>
  %b = linalg.generic {indexing_maps = [#id3, #m3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%a, %m2 : tensor<8x64x64xf32>, tensor<1x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %r = arith.addf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<8x64x64xf32>
  // expected-remark @below {{softmax not raised: more than one non-causal mask is applied to the scores}}
  %p = linalg.softmax dimension(2) ins(%b : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

#id3 = affine_map<(b, i, j) -> (b, i, j)>

// Logit soft-capping (cap * tanh(s / cap), Gemma 2) between the scores and
// the softmax: bpt.attention has no such term.
// CHECK-LABEL: func.func @soft_capping
//       CHECK:   math.tanh
//       CHECK:   linalg.softmax
func.func @soft_capping(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %cap = arith.constant 50.0 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  // expected-remark @below {{softmax not raised: this op between the scores and the softmax is neither a constant scale, a mask nor a cast}}
  %c = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.divf %in, %cap : f32
    %t = math.tanh %d : f32
    %r = arith.mulf %t, %cap : f32
    linalg.yield %r : f32
  } -> tensor<8x64x64xf32>
  %p = linalg.softmax dimension(2) ins(%c : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

#id3 = affine_map<(b, i, j) -> (b, i, j)>
#m3 = affine_map<(b, i, j) -> (0, i, j)>

// A boolean mask, then a negative scale: -inf scores would become +inf.
// CHECK-LABEL: func.func @negative_scale_after_mask
//       CHECK:   linalg.softmax
func.func @negative_scale_after_mask(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>, %keep: tensor<1x64x64xi1>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c = arith.constant -0.125 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  // expected-remark @below {{softmax not raised: a non-positive scale is applied after this mask}}
  %m = linalg.generic {indexing_maps = [#m3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%keep, %s : tensor<1x64x64xi1>, tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%k: i1, %in: f32, %out: f32):
    %r = arith.select %k, %in, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<8x64x64xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%m : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.mulf %in, %c : f32
    linalg.yield %r : f32
  } -> tensor<8x64x64xf32>
  %p = linalg.softmax dimension(2) ins(%ss : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

#id3 = affine_map<(b, i, j) -> (b, i, j)>
#m3 = affine_map<(b, i, j) -> (0, i, j)>

// A caller's mask applied with finfo.min instead of -inf: a row the mask
// removes entirely averages all values instead of giving 0.
// CHECK-LABEL: func.func @finite_fill_mask
//       CHECK:   linalg.softmax
func.func @finite_fill_mask(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>, %keep: tensor<1x64x64xi1>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %min = arith.constant -3.40282347E+38 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %m = linalg.generic {indexing_maps = [#m3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%keep, %s : tensor<1x64x64xi1>, tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%k: i1, %in: f32, %out: f32):
    %r = arith.select %k, %in, %min : f32
    linalg.yield %r : f32
  } -> tensor<8x64x64xf32>
  // expected-remark @below {{softmax not raised: the mask replaces scores by a finite value, which differs from removing them on rows where every key is masked}}
  %p = linalg.softmax dimension(2) ins(%m : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

#id3 = affine_map<(b, i, j) -> (b, i, j)>
#mt = affine_map<(b, i, j) -> (0, j, i)>

// An additive mask read transposed ([.., key, query]): not a mask operand
// bpt.attention can take without copying it.
// CHECK-LABEL: func.func @transposed_mask
//       CHECK:   linalg.softmax
func.func @transposed_mask(%q: tensor<8x64x32xf32>, %kt: tensor<8x32x64xf32>, %v: tensor<8x64x16xf32>, %mask: tensor<1x64x64xf32>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %m = linalg.generic {indexing_maps = [#id3, #mt, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %mask : tensor<8x64x64xf32>, tensor<1x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%in: f32, %mk: f32, %out: f32):
    %r = arith.addf %in, %mk : f32
    linalg.yield %r : f32
  } -> tensor<8x64x64xf32>
  // expected-remark @below {{softmax not raised: the mask is not broadcast over the attention's batch and heads in their order}}
  %p = linalg.softmax dimension(2) ins(%m : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

#id3 = affine_map<(b, i, j) -> (b, i, j)>

// A mask computed from linalg.index in the op that applies it, but not a
// causal one (it hides the diagonal, j != i): raising it would need a mask
// tensor, so nothing is raised. The same for a causal mask that depends on
// the batch index.
// CHECK-LABEL: func.func @in_body_not_causal
//       CHECK:   linalg.softmax
func.func @in_body_not_causal(%q: tensor<4x16x8xf32>, %kt: tensor<4x8x16xf32>, %v: tensor<4x16x8xf32>) -> tensor<4x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %s0 = tensor.empty() : tensor<4x16x16xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<4x16x8xf32>, tensor<4x8x16xf32>) outs(%sz : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %m = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<4x16x16xf32>) outs(%s0 : tensor<4x16x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %keep = arith.cmpi ne, %j, %i : index
    %r = arith.select %keep, %in, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<4x16x16xf32>
  // expected-remark @below {{softmax not raised: the mask computed from indices in the op applying it does not keep exactly the keys j <= i + c (a causal mask); another one would need a mask tensor}}
  %p = linalg.softmax dimension(2) ins(%m : tensor<4x16x16xf32>) outs(%s0 : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %o0 = tensor.empty() : tensor<4x16x8xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<4x16x16xf32>, tensor<4x16x8xf32>) outs(%oz : tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  return %o : tensor<4x16x8xf32>
}

// CHECK-LABEL: func.func @in_body_causal_per_batch
//       CHECK:   linalg.softmax
func.func @in_body_causal_per_batch(%q: tensor<4x16x8xf32>, %kt: tensor<4x8x16xf32>, %v: tensor<4x16x8xf32>) -> tensor<4x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %s0 = tensor.empty() : tensor<4x16x16xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<4x16x8xf32>, tensor<4x8x16xf32>) outs(%sz : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %m = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<4x16x16xf32>) outs(%s0 : tensor<4x16x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %b = linalg.index 0 : index
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %ib = arith.addi %i, %b : index
    %keep = arith.cmpi sle, %j, %ib : index
    %r = arith.select %keep, %in, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<4x16x16xf32>
  // expected-remark @below {{softmax not raised: the mask computed from indices in the op applying it does not keep exactly the keys j <= i + c (a causal mask); another one would need a mask tensor}}
  %p = linalg.softmax dimension(2) ins(%m : tensor<4x16x16xf32>) outs(%s0 : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %o0 = tensor.empty() : tensor<4x16x8xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<4x16x16xf32>, tensor<4x16x8xf32>) outs(%oz : tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  return %o : tensor<4x16x8xf32>
}
