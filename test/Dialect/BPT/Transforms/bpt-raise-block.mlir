// Whole layers exported by torch-mlir become one bpt.block each, which
// --bpt-blockwise then computes per query block: one scf.forall over row
// blocks holding the attention (its own loop over heads and the key loop)
// and the FFN's chunk loop, and nothing else at function level.
// RUN: bpt-opt %S/../../../Corpus/torch-mlir/gpt2_block_f32.mlir --bpt-raise | FileCheck %s --check-prefix=GPT2
// RUN: bpt-opt %S/../../../Corpus/torch-mlir/llama_decoder_layer_f32.mlir --bpt-raise | FileCheck %s --check-prefix=LLAMA
// RUN: bpt-opt %S/../../../Corpus/torch-mlir/gpt2_block_f32.mlir --bpt-raise --bpt-blockwise="q-block=16 kv-block=16 ffn-chunk=32" --canonicalize --cse | FileCheck %s --check-prefix=FUSED
// RUN: bpt-opt %s --bpt-raise-block=remarks=true --split-input-file -verify-diagnostics | FileCheck %s

// GPT2-LABEL: func.func @gpt2_block_f32
//  GPT2-SAME:   (%[[X:.+]]: tensor<1x64x64xf32>)
//       GPT2:   %[[B:.+]] = bpt.block (%[[XA:.+]] = %[[X]] : tensor<1x64x64xf32>) -> (tensor<1x64x64xf32>) {
//       GPT2:     bpt.attention causal scale(2.500000e-01)
//       GPT2:     %[[Y:.+]] = bpt.ffn gelu_tanh ins(%{{[0-9a-z_]+}} : tensor<1x64x64xf32>)
//  GPT2-SAME:       outs(%[[H:.+]] : tensor<1x64x64xf32>)
//       GPT2:     bpt.yield %[[Y]]
//       GPT2:   return %[[B]]

// The rotary tables are inputs of the layer; the transposed weights too.
// LLAMA-LABEL: func.func @llama_decoder_layer_f32
//  LLAMA-SAME:   (%[[X:.+]]: tensor<1x64x64xf32>, %[[COS:.+]]: tensor<64x16xf32>, %[[SIN:.+]]: tensor<64x16xf32>)
//       LLAMA:   bpt.block (%{{.+}} = %[[X]] : tensor<1x64x64xf32>,
//  LLAMA-SAME:     = %[[COS]] : tensor<64x16xf32>, %{{.+}} = %[[SIN]] : tensor<64x16xf32>
//       LLAMA:     bpt.attention causal
//  LLAMA-SAME:       tensor<1x4x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
//       LLAMA:     bpt.ffn swiglu
//       LLAMA:     bpt.yield

// FUSED-LABEL: func.func @gpt2_block_f32
//   FUSED-NOT:   tensor<1x4x64x64xf32>
//       FUSED:   scf.forall (%{{.+}}) = (0) to (64) step (16)
//       FUSED:     scf.forall (%{{.+}}) in (4)
//       FUSED:       scf.for
//       FUSED:     scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}} = %{{.+}}) -> (tensor<1x16x64xf32>)
//       FUSED:   return

// -----

// An intermediate of the layer is also returned: the block would need a
// second result.
// CHECK-LABEL: func.func @hidden_state_escapes
//       CHECK:   bpt.attention
//   CHECK-NOT:   bpt.block
func.func @hidden_state_escapes(%x: tensor<1x1x16x8xf32>, %w1: tensor<8x32xf32>, %w2: tensor<32x8xf32>) -> (tensor<16x8xf32>, tensor<16x8xf32>) {
  %e = tensor.empty() : tensor<1x1x16x8xf32>
  %a = bpt.attention ins(%x, %x, %x : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) outs(%e : tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
  %h = tensor.collapse_shape %a [[0, 1, 2], [3]] : tensor<1x1x16x8xf32> into tensor<16x8xf32>
  // expected-remark @below {{bpt-raise-block: no block formed: 'tensor.collapse_shape' inside the layer is also read by 'func.return' outside it: the block would need a second result}}
  %y = bpt.ffn relu ins(%h : tensor<16x8xf32>) up(%w1 : tensor<8x32xf32>) down(%w2 : tensor<32x8xf32>) outs(%h : tensor<16x8xf32>) -> tensor<16x8xf32>
  return %y, %h : tensor<16x8xf32>, tensor<16x8xf32>
}

// -----

// An FFN no attention feeds: nothing to form.
// CHECK-LABEL: func.func @ffn_alone
//   CHECK-NOT:   bpt.block
func.func @ffn_alone(%x: tensor<16x8xf32>, %w1: tensor<8x32xf32>, %w2: tensor<32x8xf32>) -> tensor<16x8xf32> {
  // expected-remark @below {{bpt-raise-block: no block formed: no bpt.attention feeds the FFN}}
  %y = bpt.ffn relu ins(%x : tensor<16x8xf32>) up(%w1 : tensor<8x32xf32>) down(%w2 : tensor<32x8xf32>) outs(%x : tensor<16x8xf32>) -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}

// -----

// Two attentions in a row before one FFN: not one transformer block.
// CHECK-LABEL: func.func @two_attentions
//   CHECK-NOT:   bpt.block
func.func @two_attentions(%x: tensor<1x1x16x8xf32>, %w1: tensor<8x32xf32>, %w2: tensor<32x8xf32>) -> tensor<16x8xf32> {
  %e = tensor.empty() : tensor<1x1x16x8xf32>
  %a = bpt.attention ins(%x, %x, %x : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) outs(%e : tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
  %b = bpt.attention ins(%a, %a, %a : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) outs(%e : tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
  %h = tensor.collapse_shape %b [[0, 1, 2], [3]] : tensor<1x1x16x8xf32> into tensor<16x8xf32>
  // expected-remark @below {{bpt-raise-block: no block formed: the FFN depends on more than one bpt.attention without an FFN between them}}
  %y = bpt.ffn relu ins(%h : tensor<16x8xf32>) up(%w1 : tensor<8x32xf32>) down(%w2 : tensor<32x8xf32>) outs(%h : tensor<16x8xf32>) -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}

// -----

// A hand-written layer: the attention's input and the weights are
// arguments; the empty destination is copied into the block.
// CHECK-LABEL: func.func @layer
//  CHECK-SAME:   (%[[X:.+]]: tensor<1x1x16x8xf32>, %[[W1:.+]]: tensor<8x32xf32>, %[[W2:.+]]: tensor<32x8xf32>)
//       CHECK:   %[[B:.+]] = bpt.block (%[[XA:.+]] = %[[X]] : tensor<1x1x16x8xf32>, %[[W1A:.+]] = %[[W1]] : tensor<8x32xf32>, %[[W2A:.+]] = %[[W2]] : tensor<32x8xf32>) -> (tensor<16x8xf32>) {
//       CHECK:     %[[E:.+]] = tensor.empty() : tensor<1x1x16x8xf32>
//       CHECK:     %[[A:.+]] = bpt.attention ins(%[[XA]], %[[XA]], %[[XA]] : {{.+}}) outs(%[[E]] : tensor<1x1x16x8xf32>)
//       CHECK:     %[[H:.+]] = tensor.collapse_shape %[[A]]
//       CHECK:     %[[Y:.+]] = bpt.ffn relu ins(%[[H]] : tensor<16x8xf32>) up(%[[W1A]] : tensor<8x32xf32>) down(%[[W2A]] : tensor<32x8xf32>) outs(%[[H]] : tensor<16x8xf32>)
//       CHECK:     bpt.yield %[[Y]] : tensor<16x8xf32>
//       CHECK:   return %[[B]]
func.func @layer(%x: tensor<1x1x16x8xf32>, %w1: tensor<8x32xf32>, %w2: tensor<32x8xf32>) -> tensor<16x8xf32> {
  %e = tensor.empty() : tensor<1x1x16x8xf32>
  %a = bpt.attention ins(%x, %x, %x : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) outs(%e : tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
  %h = tensor.collapse_shape %a [[0, 1, 2], [3]] : tensor<1x1x16x8xf32> into tensor<16x8xf32>
  %y = bpt.ffn relu ins(%h : tensor<16x8xf32>) up(%w1 : tensor<8x32xf32>) down(%w2 : tensor<32x8xf32>) outs(%h : tensor<16x8xf32>) -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}
