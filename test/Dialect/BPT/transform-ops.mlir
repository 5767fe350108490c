// The transform.bpt.* ops: a user's own schedule applies the bpt rewrites
// with its own block sizes.
// RUN: bpt-opt %s --transform-interpreter --split-input-file -verify-diagnostics --canonicalize | FileCheck %s --enable-var-scope

// CHECK-LABEL: func @attention_schedule
// CHECK:       scf.forall (%{{.+}}, %{{.+}}) in (4, 4)
// CHECK:         scf.for %{{.+}} = %c0 to %{{.+}} step %c1 iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>)
// CHECK:           tensor.extract_slice %{{.+}}[0, 0, %{{.+}}, 0] [1, 1, %{{.+}}, 16]
// CHECK-NOT:   bpt.attention causal
func.func @attention_schedule(%q: tensor<1x4x100x16xf32>, %o: tensor<1x4x100x16xf32>) -> tensor<1x4x100x16xf32> {
  %0 = bpt.attention causal ins(%q, %q, %q : tensor<1x4x100x16xf32>, tensor<1x4x100x16xf32>, tensor<1x4x100x16xf32>)
         outs(%o : tensor<1x4x100x16xf32>) -> tensor<1x4x100x16xf32>
  return %0 : tensor<1x4x100x16xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["bpt.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %forall = transform.structured.tile_using_forall %a tile_sizes [1, 1, 32, 0]
      : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %loop = transform.bpt.lower_to_online_softmax %tiled {kv_block = 24} : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}

// -----

// CHECK-LABEL: func @ffn_schedule
// CHECK:       scf.forall (%{{.+}}) = (0) to (50) step (20)
// CHECK:         scf.for %{{.+}} = %c0 to %c96 step %c32 iter_args(
// CHECK:           linalg.generic {{.*}} outs(%{{.+}} : tensor<?x32xf32>)
// CHECK-NOT:   bpt.ffn silu
func.func @ffn_schedule(%x: tensor<50x16xf32>, %up: tensor<16x96xf32>, %down: tensor<96x16xf32>) -> tensor<50x16xf32> {
  %0 = bpt.ffn silu ins(%x : tensor<50x16xf32>) up(%up : tensor<16x96xf32>) down(%down : tensor<96x16xf32>)
         outs(%x : tensor<50x16xf32>) -> tensor<50x16xf32>
  return %0 : tensor<50x16xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["bpt.ffn"]} in %root : (!transform.any_op) -> !transform.any_op
    %loop = transform.bpt.tile_ffn %f {row_block = 20, ffn_chunk = 32} : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}

// -----

// fuse_block returns the loop over query blocks; the attention inside it is
// then lowered by the same schedule.
// CHECK-LABEL: func @block_schedule
// CHECK:       scf.forall (%{{.+}}) = (0) to (64) step (16)
// CHECK:         scf.for
// CHECK-NOT:   bpt.block (
func.func @block_schedule(%x: tensor<1x1x64x8xf32>) -> tensor<1x1x64x8xf32> {
  %r = bpt.block (%a = %x : tensor<1x1x64x8xf32>) -> (tensor<1x1x64x8xf32>) {
    %e = tensor.empty() : tensor<1x1x64x8xf32>
    %0 = bpt.attention ins(%a, %a, %a : tensor<1x1x64x8xf32>, tensor<1x1x64x8xf32>, tensor<1x1x64x8xf32>)
           outs(%e : tensor<1x1x64x8xf32>) -> tensor<1x1x64x8xf32>
    %1 = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                         iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
           ins(%0, %a : tensor<1x1x64x8xf32>, tensor<1x1x64x8xf32>) outs(%e : tensor<1x1x64x8xf32>) {
    ^bb0(%in: f32, %res: f32, %out: f32):
      %s = arith.addf %in, %res : f32
      linalg.yield %s : f32
    } -> tensor<1x1x64x8xf32>
    bpt.yield %1 : tensor<1x1x64x8xf32>
  }
  return %r : tensor<1x1x64x8xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %b = transform.structured.match ops{["bpt.block"]} in %root : (!transform.any_op) -> !transform.any_op
    %loop = transform.bpt.fuse_block %b {q_block = 16} : (!transform.any_op) -> !transform.any_op
    %a = transform.structured.match ops{["bpt.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %l2 = transform.bpt.lower_to_online_softmax %a {kv_block = 16} : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}

// -----

// Negative: the op must be bpt.attention.
func.func @not_attention(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %m = transform.structured.match ops{["linalg.matmul"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @+1 {{expects bpt.attention, got linalg.matmul}}
    %l = transform.bpt.lower_to_online_softmax %m : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}

// -----

// Negative: block sizes must be positive.
func.func @bad_chunk(%x: tensor<8x4xf32>, %up: tensor<4x8xf32>, %down: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %0 = bpt.ffn relu ins(%x : tensor<8x4xf32>) up(%up : tensor<4x8xf32>) down(%down : tensor<8x4xf32>)
         outs(%x : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["bpt.ffn"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @+1 {{row_block and ffn_chunk must be positive}}
    %l = transform.bpt.tile_ffn %f {ffn_chunk = 0} : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}
