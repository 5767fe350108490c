// A whole GPT-2 block (S = 256, d_model = 64, 4 heads, d_ff = 512) computed
// per query block. The fused QKV projection is split by the slices that read
// it: the key and value projections run once before the loop, the query
// projection of each block inside it, and the whole [S, 3d] result never
// exists. The attention (with its online-softmax key loop), the
// out-projection, the residuals, the second LayerNorm and the chunked FFN
// all run inside the loop over query blocks.
// RUN: bpt-opt %S/Inputs/gpt2-block-s256.mlir --bpt-blockwise="q-block=64 kv-block=64 ffn-chunk=128" --canonicalize --cse | FileCheck %s --enable-var-scope
// RUN: bpt-opt %S/Inputs/gpt2-block-s256.mlir --bpt-blockwise="q-block=64 kv-block=64 ffn-chunk=128" --canonicalize --cse \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=BUF
// The sequence-sized tensors of the fused block (here K and V in head
// layout) get buffers of their own: alloc_tensor, which CSE does not merge
// as it would merge identical tensor.empty ops.
// RUN: bpt-opt %S/Inputs/gpt2-block-s256.mlir --bpt-blockwise="q-block=64 kv-block=64 ffn-chunk=128" --canonicalize --cse | FileCheck %s --check-prefix=ALLOC
// ALLOC-LABEL: func.func @gpt2_block
//       ALLOC:   %[[K:.+]] = bufferization.alloc_tensor() : tensor<4x256x16xf32>
//       ALLOC:   %[[V:.+]] = bufferization.alloc_tensor() : tensor<4x256x16xf32>
//   ALLOC-NOT:   tensor.empty() : tensor<4x256x16xf32>
// attention-only (the memory-efficient-attention baseline): the block is
// inlined unfused, attention gets its key loop, the FFN stays whole.
// RUN: bpt-opt %S/Inputs/gpt2-block-s256.mlir --bpt-blockwise="attention-only q-block=64 kv-block=64" | FileCheck %s --check-prefix=ATT
// Negative cases, with the remark that says why a block is not fused:
// RUN: bpt-opt %s --bpt-blockwise="q-block=8 kv-block=8" --split-input-file -verify-diagnostics | FileCheck %s --check-prefix=NEG

// CHECK-LABEL: func @gpt2_block
// CHECK-SAME: %[[WQKV:[^:]+]]: tensor<64x192xf32>
// CHECK-NOT:   tensor<256x192xf32>
// CHECK:       %[[WQ:.+]] = tensor.extract_slice %[[WQKV]][0, 0] [64, 64]
// CHECK:       %[[WK:.+]] = tensor.extract_slice %[[WQKV]][0, 64] [64, 64]
// CHECK:       linalg.matmul ins(%{{.+}}, %[[WK]] : tensor<256x64xf32>, tensor<64x64xf32>)
// CHECK:       %[[WV:.+]] = tensor.extract_slice %[[WQKV]][0, 128] [64, 64]
// CHECK:       linalg.matmul ins(%{{.+}}, %[[WV]] : tensor<256x64xf32>, tensor<64x64xf32>)
// CHECK:       scf.forall (%[[R:.+]]) = (0) to (256) step (64) shared_outs(
// CHECK:         linalg.matmul ins(%{{.+}}, %[[WQ]] : tensor<64x64xf32>, tensor<64x64xf32>)
// CHECK:         scf.forall (%[[H:.+]]) in (4) shared_outs(
// CHECK:           scf.for %{{.+}} = %c0 to %{{.+}} step %c1 iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) -> (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64x16xf32>)
// CHECK:         linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<64x64xf32>, tensor<64x64xf32>)
// CHECK:         scf.for %{{.+}} = %c0 to %c512 step %c128 iter_args(%{{.+}} = %{{.+}}) -> (tensor<64x64xf32>)
// CHECK:           linalg.generic {{.*}} outs(%{{.+}} : tensor<64x128xf32>)
// CHECK:             math.tanh
// CHECK-NOT:   bpt.
// CHECK:       return

// ATT-LABEL: func @gpt2_block
// ATT-NOT:   bpt.block
// ATT:       scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) = (0, 0, 0) to (1, 4, 256) step (1, 1, 64)
// ATT:         scf.for
// ATT:       bpt.ffn gelu_tanh ins(%{{.+}} : tensor<256x64xf32>)

// No S x S scores and no S x d_ff hidden activation anywhere:
// BUF-LABEL: func @gpt2_block
// BUF-NOT:   memref<{{[0-9x]*}}256x256xf32>
// BUF-NOT:   memref<256x512xf32>
// BUF:       scf.forall
// BUF-NOT:   memref<{{[0-9x]*}}256x256xf32>
// BUF-NOT:   memref<256x512xf32>
// BUF:       return

// A block that yields two values is not fused; its attention and FFN are
// still lowered blockwise on their own.
// NEG-LABEL: func @two_results
// NEG:       scf.forall
// NEG:         scf.for
func.func @two_results(%x: tensor<1x1x16x8xf32>) -> (tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) {
  // expected-remark @+1 {{bpt-blockwise: block not fused per query block: it yields more than one value}}
  %r:2 = bpt.block (%a = %x : tensor<1x1x16x8xf32>) -> (tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) {
    %e = tensor.empty() : tensor<1x1x16x8xf32>
    %0 = bpt.attention ins(%a, %a, %a : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>)
           outs(%e : tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
    bpt.yield %0, %a : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>
  }
  return %r#0, %r#1 : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>
}

// -----

// The result comes out of a reshape, which has no tiling of its own.
// NEG-LABEL: func @reshaped_result
// NEG:       scf.forall
func.func @reshaped_result(%x: tensor<1x1x16x8xf32>) -> tensor<16x8xf32> {
  // expected-remark @+1 {{bpt-blockwise: block not fused per query block: its result is not produced by a tileable op}}
  %r = bpt.block (%a = %x : tensor<1x1x16x8xf32>) -> (tensor<16x8xf32>) {
    %e = tensor.empty() : tensor<1x1x16x8xf32>
    %0 = bpt.attention ins(%a, %a, %a : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>)
           outs(%e : tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
    %1 = tensor.collapse_shape %0 [[0, 1, 2], [3]] : tensor<1x1x16x8xf32> into tensor<16x8xf32>
    bpt.yield %1 : tensor<16x8xf32>
  }
  return %r : tensor<16x8xf32>
}

// -----

// The attention reaches the result only through a reduction over all rows
// (a sum over the sequence): rows of the result are not query rows.
// NEG-LABEL: func @pooled
func.func @pooled(%x: tensor<1x1x16x8xf32>) -> tensor<1x8xf32> {
  // expected-remark @+1 {{bpt-blockwise: block not fused per query block: the rows of its result are not the query rows of its attention (each tile holds every query)}}
  %r = bpt.block (%a = %x : tensor<1x1x16x8xf32>) -> (tensor<1x8xf32>) {
    %e = tensor.empty() : tensor<1x1x16x8xf32>
    %0 = bpt.attention ins(%a, %a, %a : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>)
           outs(%e : tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
    %zero = arith.constant 0.0 : f32
    %pe = tensor.empty() : tensor<1x8xf32>
    %pf = linalg.fill ins(%zero : f32) outs(%pe : tensor<1x8xf32>) -> tensor<1x8xf32>
    %p = linalg.generic {indexing_maps = [affine_map<(b, d, s) -> (b, 0, s, d)>, affine_map<(b, d, s) -> (b, d)>],
                         iterator_types = ["parallel", "parallel", "reduction"]}
           ins(%0 : tensor<1x1x16x8xf32>) outs(%pf : tensor<1x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %s = arith.addf %in, %out : f32
      linalg.yield %s : f32
    } -> tensor<1x8xf32>
    bpt.yield %p : tensor<1x8xf32>
  }
  return %r : tensor<1x8xf32>
}

// -----

// The result does not depend on the attention at all (the dead attention
// is dropped; reading it afterwards was a use after free, found by
// scripts/sanitize.sh).
// NEG-LABEL: func @attention_unused
// NEG-NOT:   bpt.attention
// NEG:       return
func.func @attention_unused(%x: tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32> {
  // expected-remark @+1 {{bpt-blockwise: block not fused per query block: its result does not use its attention}}
  %r = bpt.block (%a = %x : tensor<1x1x16x8xf32>) -> (tensor<1x1x16x8xf32>) {
    %e = tensor.empty() : tensor<1x1x16x8xf32>
    %0 = bpt.attention ins(%a, %a, %a : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>)
           outs(%e : tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
    %1 = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                         iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
           ins(%a : tensor<1x1x16x8xf32>) outs(%e : tensor<1x1x16x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %s = arith.mulf %in, %in : f32
      linalg.yield %s : f32
    } -> tensor<1x1x16x8xf32>
    bpt.yield %1 : tensor<1x1x16x8xf32>
  }
  return %r : tensor<1x1x16x8xf32>
}
