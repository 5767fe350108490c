// What raising makes of the corpus generated from real PyTorch modules by
// torch-mlir (test/Corpus/torch-mlir) and through TOSA (test/Corpus/tosa):
// the scale, the causal flag, the mask operand and the head grouping.
// Execution of the same files is checked by test/Corpus/*/corpus-executes.py.
//
// RUN: bpt-opt %S/../../../Corpus/torch-mlir/attention_handwritten_mask_f32.mlir --bpt-raise | FileCheck %s --check-prefix=MASK
// RUN: bpt-opt %S/../../../Corpus/tosa/attention_handwritten_mask_f32.mlir --bpt-raise | FileCheck %s --check-prefix=MASK
// MASK-LABEL: func.func @attention_handwritten_mask_f32
//  MASK-SAME:   (%[[Q:.+]]: tensor<1x4x64x32xf32>, %[[K:.+]]: tensor<1x4x64x32xf32>, %[[V:.+]]: tensor<1x4x64x32xf32>, %[[M:.+]]: tensor<1x1x64x64xf32>)
//       MASK:   bpt.attention scale(0.17677{{[0-9]+}}) ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) mask(%[[M]] : tensor<1x1x64x64xf32>)
//   MASK-NOT:   linalg.batch_matmul
//   MASK-NOT:   math.exp

// triu + masked_fill(-inf) is causal, and the S x S mask is gone.
// RUN: bpt-opt %S/../../../Corpus/torch-mlir/attention_causal_masked_fill_f32.mlir --bpt-raise | FileCheck %s --check-prefix=CAUSAL
// RUN: bpt-opt %S/../../../Corpus/tosa/attention_causal_masked_fill_f32.mlir --bpt-raise | FileCheck %s --check-prefix=CAUSAL
// RUN: bpt-opt %S/../../../Corpus/torch-mlir/sdpa_causal_f32.mlir --bpt-raise | FileCheck %s --check-prefix=CAUSAL
// RUN: bpt-opt %S/../../../Corpus/tosa/sdpa_causal_f32.mlir --bpt-raise | FileCheck %s --check-prefix=CAUSAL
// CAUSAL:     bpt.attention causal scale(0.17677{{[0-9]+}}) ins(%arg0, %arg1, %arg2 : tensor<1x4x64x32xf32>, tensor<1x4x64x32xf32>, tensor<1x4x64x32xf32>) outs
// CAUSAL-NOT: positions
// CAUSAL-NOT: tensor<64x64xi1>
// CAUSAL-NOT: tensor<1x1x64x64

// SDPA with enable_gqa: 4 query heads read 2 key/value heads, unrepeated.
// RUN: bpt-opt %S/../../../Corpus/torch-mlir/sdpa_gqa_f32.mlir --bpt-raise | FileCheck %s --check-prefix=GQA
// GQA:     bpt.attention causal scale(0.17677{{[0-9]+}}) ins(%arg0, %arg1, %arg2 : tensor<1x4x64x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>)
// GQA-NOT: tensor<1x2x2x64x32xf32>
// GQA-NOT: tensor<1x1x1x2x2x1x1x64x1x32xf32>
// TOSA repeats the heads with a 10-D broadcast full of unit dimensions.
// RUN: bpt-opt %S/../../../Corpus/tosa/sdpa_gqa_f32.mlir --bpt-raise | FileCheck %s --check-prefix=GQA

// BERT's extended mask [B, 1, 1, S], added to the scores.
// RUN: bpt-opt %S/../../../Corpus/torch-mlir/bert_layer_f32.mlir --bpt-raise | FileCheck %s --check-prefix=BERT
// BERT:     bpt.block
// BERT:       bpt.attention scale(2.500000e-01) ins({{.*}}) mask(%{{.+}} : tensor<1x1x1x64xf32>)
// BERT:       bpt.ffn gelu ins(
// BERT:       bpt.yield
