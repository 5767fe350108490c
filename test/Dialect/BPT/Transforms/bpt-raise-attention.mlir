// RUN: bpt-opt %s --bpt-raise-attention --split-input-file | FileCheck %s --enable-var-scope

// Hand-written linalg: named ops on [heads, S, D] tensors, linalg.softmax,
// the scale on the scores. One merged batch of heads becomes [1, H].

// CHECK-LABEL: func.func @named_softmax
//  CHECK-SAME:   (%[[Q:.+]]: tensor<8x64x32xf32>, %[[K:.+]]: tensor<8x64x32xf32>, %[[V:.+]]: tensor<8x64x16xf32>)
//   CHECK-DAG:   %[[Q4:.+]] = tensor.expand_shape %[[Q]] {{\[\[}}0, 1], [2], [3]] output_shape [1, 8, 64, 32]
//   CHECK-DAG:   %[[K4:.+]] = tensor.expand_shape %[[K]] {{\[\[}}0, 1], [2], [3]] output_shape [1, 8, 64, 32]
//   CHECK-DAG:   %[[V4:.+]] = tensor.expand_shape %[[V]] {{\[\[}}0, 1], [2], [3]] output_shape [1, 8, 64, 16]
//       CHECK:   %[[A:.+]] = bpt.attention scale(1.250000e-01) ins(%[[Q4]], %[[K4]], %[[V4]] : tensor<1x8x64x32xf32>, tensor<1x8x64x32xf32>, tensor<1x8x64x16xf32>)
//  CHECK-SAME:     -> tensor<1x8x64x16xf32>
//       CHECK:   %[[R:.+]] = tensor.collapse_shape %[[A]] {{\[\[}}0, 1], [2], [3]]
//       CHECK:   return %[[R]] : tensor<8x64x16xf32>
//   CHECK-NOT:   linalg.softmax
func.func @named_softmax(%q: tensor<8x64x32xf32>, %k: tensor<8x64x32xf32>, %v: tensor<8x64x16xf32>) -> tensor<8x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.125 : f32
  %kt0 = tensor.empty() : tensor<8x32x64xf32>
  %kt = linalg.transpose ins(%k : tensor<8x64x32xf32>) outs(%kt0 : tensor<8x32x64xf32>) permutation = [0, 2, 1]
  %s0 = tensor.empty() : tensor<8x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<8x64x32xf32>, tensor<8x32x64xf32>) outs(%sz : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %scaled = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %c, %in : f32
    linalg.yield %m : f32
  } -> tensor<8x64x64xf32>
  %p = linalg.softmax dimension(2) ins(%scaled : tensor<8x64x64xf32>) outs(%s0 : tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %o0 = tensor.empty() : tensor<8x64x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x64x64xf32>, tensor<8x64x16xf32>) outs(%oz : tensor<8x64x16xf32>) -> tensor<8x64x16xf32>
  return %o : tensor<8x64x16xf32>
}

// -----

// Generic contractions on 4-D tensors: keys read in [S, D] layout by the
// contraction's map (no transpose), the scale split over queries and keys,
// the softmax normalised by a multiplication with the reciprocal of the sum,
// a boolean mask from the caller (select of -inf where it is false).

#id4 = affine_map<(b, h, i, j) -> (b, h, i, j)>
#row4 = affine_map<(b, h, i, j) -> (b, h, i)>
#bcast = affine_map<(b, h, i, j) -> (b, h, i, 0)>
#maskmap = affine_map<(b, h, i, j) -> (0, 0, i, j)>

// CHECK-LABEL: func.func @generic_forms
//  CHECK-SAME:   (%[[Q:.+]]: tensor<2x4x16x8xf32>, %[[K:.+]]: tensor<2x4x24x8xf32>, %[[V:.+]]: tensor<2x4x24x8xf32>, %[[M:.+]]: tensor<1x1x16x24xi1>)
//       CHECK:   %[[A:.+]] = bpt.attention scale(2.500000e-01) ins(%[[Q]], %[[K]], %[[V]] :
//  CHECK-SAME:     mask(%[[M]] : tensor<1x1x16x24xi1>)
//       CHECK:   return %[[A]]
//   CHECK-NOT:   math.exp
func.func @generic_forms(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x24x8xf32>, %v: tensor<2x4x24x8xf32>, %mask: tensor<1x1x16x24xi1>) -> tensor<2x4x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %qe = tensor.empty() : tensor<2x4x16x8xf32>
  %qs = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q : tensor<2x4x16x8xf32>) outs(%qe : tensor<2x4x16x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x4x16x8xf32>
  %ke = tensor.empty() : tensor<2x4x24x8xf32>
  %ks = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k : tensor<2x4x24x8xf32>) outs(%ke : tensor<2x4x24x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x4x24x8xf32>
  %se = tensor.empty() : tensor<2x4x16x24xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%se : tensor<2x4x16x24xf32>) -> tensor<2x4x16x24xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(b, h, i, j, e) -> (b, h, i, e)>, affine_map<(b, h, i, j, e) -> (b, h, j, e)>, affine_map<(b, h, i, j, e) -> (b, h, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%qs, %ks : tensor<2x4x16x8xf32>, tensor<2x4x24x8xf32>) outs(%sz : tensor<2x4x16x24xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16x24xf32>
  %masked = linalg.generic {indexing_maps = [#maskmap, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%mask, %s : tensor<1x1x16x24xi1>, tensor<2x4x16x24xf32>) outs(%se : tensor<2x4x16x24xf32>) {
  ^bb0(%keep: i1, %in: f32, %out: f32):
    %r = arith.select %keep, %in, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16x24xf32>
  %re = tensor.empty() : tensor<2x4x16xf32>
  %rinit = linalg.fill ins(%ninf : f32) outs(%re : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %max = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%masked : tensor<2x4x16x24xf32>) outs(%rinit : tensor<2x4x16xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.maxnumf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16xf32>
  %e = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%masked, %max : tensor<2x4x16x24xf32>, tensor<2x4x16xf32>) outs(%se : tensor<2x4x16x24xf32>) {
  ^bb0(%in: f32, %mx: f32, %out: f32):
    %d = arith.subf %in, %mx : f32
    %x = math.exp %d : f32
    linalg.yield %x : f32
  } -> tensor<2x4x16x24xf32>
  %sinit = linalg.fill ins(%zero : f32) outs(%re : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%e : tensor<2x4x16x24xf32>) outs(%sinit : tensor<2x4x16xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %in, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16xf32>
  %rcp = linalg.generic {indexing_maps = [affine_map<(b, h, i) -> (b, h, i)>, affine_map<(b, h, i) -> (b, h, i)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sum : tensor<2x4x16xf32>) outs(%re : tensor<2x4x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.divf %one, %in : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16xf32>
  %p = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%e, %rcp : tensor<2x4x16x24xf32>, tensor<2x4x16xf32>) outs(%se : tensor<2x4x16x24xf32>) {
  ^bb0(%in: f32, %r: f32, %out: f32):
    %m = arith.mulf %in, %r : f32
    linalg.yield %m : f32
  } -> tensor<2x4x16x24xf32>
  %oe = tensor.empty() : tensor<2x4x16x8xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%oe : tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  %o = linalg.generic {indexing_maps = [affine_map<(b, h, i, d, j) -> (b, h, i, j)>, affine_map<(b, h, i, d, j) -> (b, h, j, d)>, affine_map<(b, h, i, d, j) -> (b, h, i, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<2x4x16x24xf32>, tensor<2x4x24x8xf32>) outs(%oz : tensor<2x4x16x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// A causal mask built from indices with top-left alignment (key j visible
// from row i when j <= i) on Sq != Sk: the causal flag, with positions that
// put row i at position i and key j at j. The values are read transposed
// ([Dv, Sk]) by the output contraction.

#id4 = affine_map<(b, h, i, j) -> (b, h, i, j)>
#row4 = affine_map<(b, h, i, j) -> (b, h, i)>
#ij = affine_map<(b, h, i, j) -> (i, j)>

// CHECK-LABEL: func.func @causal_top_left
//  CHECK-SAME:   (%[[Q:.+]]: tensor<1x2x16x8xf32>, %[[K:.+]]: tensor<1x2x32x8xf32>, %[[VT:.+]]: tensor<1x2x8x32xf32>)
//   CHECK-DAG:   %[[C0:.+]] = arith.constant 0 : index
//   CHECK-DAG:   %[[V:.+]] = linalg.transpose ins(%[[VT]] : tensor<1x2x8x32xf32>) outs(%{{.+}} : tensor<1x2x32x8xf32>) permutation = [0, 1, 3, 2]
//       CHECK:   bpt.attention causal scale(1.000000e+00) ins(%[[Q]], %[[K]], %[[V]] :
//  CHECK-SAME:     positions(%[[C0]], %[[C0]])
//   CHECK-NOT:   linalg.index
func.func @causal_top_left(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x32x8xf32>, %vt: tensor<1x2x8x32xf32>) -> tensor<1x2x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %se = tensor.empty() : tensor<1x2x16x32xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%se : tensor<1x2x16x32xf32>) -> tensor<1x2x16x32xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(b, h, i, j, e) -> (b, h, i, e)>, affine_map<(b, h, i, j, e) -> (b, h, j, e)>, affine_map<(b, h, i, j, e) -> (b, h, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x2x16x8xf32>, tensor<1x2x32x8xf32>) outs(%sz : tensor<1x2x16x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x32xf32>
  %me = tensor.empty() : tensor<16x32xf32>
  %cmask = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} outs(%me : tensor<16x32xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %vis = arith.cmpi ule, %j, %i : index
    %r = arith.select %vis, %zero, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<16x32xf32>
  %masked = linalg.generic {indexing_maps = [#id4, #ij, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s, %cmask : tensor<1x2x16x32xf32>, tensor<16x32xf32>) outs(%se : tensor<1x2x16x32xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %r = arith.addf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x32xf32>
  %p = linalg.softmax dimension(3) ins(%masked : tensor<1x2x16x32xf32>) outs(%se : tensor<1x2x16x32xf32>) -> tensor<1x2x16x32xf32>
  %oe = tensor.empty() : tensor<1x2x16x8xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%oe : tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  %o = linalg.generic {indexing_maps = [affine_map<(b, h, i, d, j) -> (b, h, i, j)>, affine_map<(b, h, i, d, j) -> (b, h, d, j)>, affine_map<(b, h, i, d, j) -> (b, h, i, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %vt : tensor<1x2x16x32xf32>, tensor<1x2x8x32xf32>) outs(%oz : tensor<1x2x16x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x8xf32>
  return %o : tensor<1x2x16x8xf32>
}

// -----

// The causal mask computed in the op that applies it, from linalg.index,
// as masked_fill (a select of -inf where j > i + (Sk - Sq)), then an
// additive 0 / -inf form of the same mask in a second function: both are
// the causal flag, bottom-right aligned (positions Sk - Sq and 0 by default).
#id3 = affine_map<(b, i, j) -> (b, i, j)>

// CHECK-LABEL: func.func @causal_in_body_select
//       CHECK:   bpt.attention causal scale(1.000000e+00) ins(
//  CHECK-SAME:     tensor<1x4x16x8xf32>, tensor<1x4x24x8xf32>, tensor<1x4x24x8xf32>
//   CHECK-NOT:   linalg.index
//   CHECK-NOT:   linalg.softmax
func.func @causal_in_body_select(%q: tensor<4x16x8xf32>, %kt: tensor<4x8x24xf32>, %v: tensor<4x24x8xf32>) -> tensor<4x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %s0 = tensor.empty() : tensor<4x16x24xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<4x16x24xf32>) -> tensor<4x16x24xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<4x16x8xf32>, tensor<4x8x24xf32>) outs(%sz : tensor<4x16x24xf32>) -> tensor<4x16x24xf32>
  %m = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<4x16x24xf32>) outs(%s0 : tensor<4x16x24xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %off = arith.constant 8 : index
    %io = arith.addi %i, %off : index
    %hide = arith.cmpi ugt, %j, %io : index
    %r = arith.select %hide, %ninf, %in : f32
    linalg.yield %r : f32
  } -> tensor<4x16x24xf32>
  %p = linalg.softmax dimension(2) ins(%m : tensor<4x16x24xf32>) outs(%s0 : tensor<4x16x24xf32>) -> tensor<4x16x24xf32>
  %o0 = tensor.empty() : tensor<4x16x8xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<4x16x24xf32>, tensor<4x24x8xf32>) outs(%oz : tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  return %o : tensor<4x16x8xf32>
}

// CHECK-LABEL: func.func @causal_in_body_additive
//       CHECK:   bpt.attention causal scale(1.000000e+00) ins(
//   CHECK-NOT:   linalg.index
func.func @causal_in_body_additive(%q: tensor<4x16x8xf32>, %kt: tensor<4x8x16xf32>, %v: tensor<4x16x8xf32>) -> tensor<4x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %s0 = tensor.empty() : tensor<4x16x16xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%s0 : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<4x16x8xf32>, tensor<4x8x16xf32>) outs(%sz : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %m = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<4x16x16xf32>) outs(%s0 : tensor<4x16x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %keep = arith.cmpi sle, %j, %i : index
    %add = arith.select %keep, %zero, %ninf : f32
    %r = arith.addf %in, %add : f32
    linalg.yield %r : f32
  } -> tensor<4x16x16xf32>
  %p = linalg.softmax dimension(2) ins(%m : tensor<4x16x16xf32>) outs(%s0 : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %o0 = tensor.empty() : tensor<4x16x8xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%o0 : tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<4x16x16xf32>, tensor<4x16x8xf32>) outs(%oz : tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  return %o : tensor<4x16x8xf32>
}

// -----

// Keys and values widened from bf16, queries in f32: the casts stay (a
// bpt.attention needs one element type for all three).
#id4 = affine_map<(b, h, i, j) -> (b, h, i, j)>

// CHECK-LABEL: func.func @mixed_types
//  CHECK-SAME:   (%[[Q:.+]]: tensor<1x2x16x8xf32>, %[[K:.+]]: tensor<1x2x16x8xbf16>, %[[V:.+]]: tensor<1x2x16x8xbf16>)
//       CHECK:   %[[KF:.+]] = linalg.generic
//       CHECK:     arith.extf
//       CHECK:   %[[VF:.+]] = linalg.generic
//       CHECK:     arith.extf
//       CHECK:   bpt.attention scale(1.000000e+00) ins(%[[Q]], %[[KF]], %[[VF]] : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
func.func @mixed_types(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xbf16>, %v: tensor<1x2x16x8xbf16>) -> tensor<1x2x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %fe = tensor.empty() : tensor<1x2x16x8xf32>
  %kf = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k : tensor<1x2x16x8xbf16>) outs(%fe : tensor<1x2x16x8xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %x = arith.extf %in : bf16 to f32
    linalg.yield %x : f32
  } -> tensor<1x2x16x8xf32>
  %vf = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%v : tensor<1x2x16x8xbf16>) outs(%fe : tensor<1x2x16x8xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %x = arith.extf %in : bf16 to f32
    linalg.yield %x : f32
  } -> tensor<1x2x16x8xf32>
  %se = tensor.empty() : tensor<1x2x16x16xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%se : tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(b, h, i, j, e) -> (b, h, i, e)>, affine_map<(b, h, i, j, e) -> (b, h, j, e)>, affine_map<(b, h, i, j, e) -> (b, h, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %kf : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) outs(%sz : tensor<1x2x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x16xf32>
  %p = linalg.softmax dimension(3) ins(%s : tensor<1x2x16x16xf32>) outs(%se : tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%fe : tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  %o = linalg.generic {indexing_maps = [affine_map<(b, h, i, d, j) -> (b, h, i, j)>, affine_map<(b, h, i, d, j) -> (b, h, j, d)>, affine_map<(b, h, i, d, j) -> (b, h, i, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %vf : tensor<1x2x16x16xf32>, tensor<1x2x16x8xf32>) outs(%oz : tensor<1x2x16x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x8xf32>
  return %o : tensor<1x2x16x8xf32>
}
