// RUN: bpt-opt %s --bpt-decompose --split-input-file | FileCheck %s --enable-var-scope

// Attention: the full score tensor, the scale and causal mask, a
// max-subtracted softmax guarded against fully masked rows, and the value
// product, with GQA indexing its key/value head by h floordiv G.

// CHECK-DAG: #[[$Q:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[$K:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 4, d3, d4)>
// CHECK-DAG: #[[$V:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 4, d4, d3)>
// CHECK-LABEL: func @attention_gqa_causal
// CHECK-SAME: (%[[QA:.+]]: tensor<1x8x16x32xf16>, %[[KA:.+]]: tensor<1x2x24x32xf16>, %[[VA:.+]]: tensor<1x2x24x32xf16>, %[[OA:.+]]: tensor<1x8x16x32xf16>)
// CHECK-DAG:  %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:  %[[SCALE:.+]] = arith.constant 0.176776{{[0-9]*}} : f32
// CHECK-DAG:  %[[OFFSET:.+]] = arith.constant 8 : index
// CHECK:      %[[ZEROS:.+]] = linalg.fill {{.*}} -> tensor<1x8x16x24xf32>
// CHECK:      %[[SCORES:.+]] = linalg.generic {indexing_maps = [#[[$Q]], #[[$K]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:   ins(%[[QA]], %[[KA]] : {{.*}}) outs(%[[ZEROS]] : tensor<1x8x16x24xf32>)
// CHECK:        arith.extf
// CHECK:        arith.extf
// CHECK:      %[[MASKED:.+]] = linalg.generic {{.*}} ins(%[[SCORES]] : tensor<1x8x16x24xf32>)
// CHECK:        %[[I:.+]] = linalg.index 2
// CHECK:        %[[QP:.+]] = arith.addi %[[I]], %[[OFFSET]]
// CHECK:        %[[J:.+]] = linalg.index 3
// CHECK:        %[[VIS:.+]] = arith.cmpi sle, %[[J]], %[[QP]]
// CHECK:        %[[S:.+]] = arith.mulf %{{.+}}, %[[SCALE]]
// CHECK:        arith.select %[[VIS]], %[[S]], %[[NEGINF]]
// CHECK:      %[[MAX:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[MASKED]] :
// CHECK:        arith.maximumf
// CHECK:      %[[EXP:.+]] = linalg.generic {{.*}} ins(%[[MASKED]], %[[MAX]] :
// CHECK:        arith.cmpf oeq
// CHECK:        arith.select
// CHECK:        arith.subf
// CHECK:        math.exp
// CHECK:      %[[SUM:.+]] = linalg.generic {{.*}} ins(%[[EXP]] :
// CHECK:        arith.addf
// CHECK:      %[[P:.+]] = linalg.generic {{.*}} ins(%[[EXP]], %[[SUM]] :
// CHECK:        arith.divf
// CHECK:      %[[ACC:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[$V]], #{{.+}}], {{.*}} ins(%[[P]], %[[VA]] :
// CHECK:      %[[OUT:.+]] = linalg.generic {{.*}} ins(%[[ACC]] : tensor<1x8x16x32xf32>) outs(%[[OA]] : tensor<1x8x16x32xf16>)
// CHECK:        arith.truncf
// CHECK:      return %[[OUT]]
// CHECK-NOT:  bpt.
func.func @attention_gqa_causal(%q: tensor<1x8x16x32xf16>, %k: tensor<1x2x24x32xf16>,
                                %v: tensor<1x2x24x32xf16>, %o: tensor<1x8x16x32xf16>)
    -> tensor<1x8x16x32xf16> {
  %0 = bpt.attention causal ins(%q, %k, %v : tensor<1x8x16x32xf16>, tensor<1x2x24x32xf16>, tensor<1x2x24x32xf16>)
         outs(%o : tensor<1x8x16x32xf16>) -> tensor<1x8x16x32xf16>
  return %0 : tensor<1x8x16x32xf16>
}

// -----

// A broadcast boolean mask reads index 0 on its broadcast dimensions; the
// window adds a distance test; the log-sum-exp is max + log(sum).

// CHECK-DAG: #[[$MASK:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, 0, 0, d3)>
// CHECK-LABEL: func @attention_mask_window_lse
// CHECK-SAME: %[[M:[^:]+]]: tensor<2x1x1x24xi1>
// CHECK-SAME: %[[L:[^:]+]]: tensor<2x4x16xf32>
// CHECK:      linalg.generic {indexing_maps = [#{{.+}}, #[[$MASK]], #{{.+}}], {{.*}} ins(%{{.+}}, %[[M]] : tensor<2x4x16x24xf32>, tensor<2x1x1x24xi1>)
// CHECK:        ^bb0(%{{.+}}: f32, %[[KEEP:.+]]: i1, %{{.+}}: f32):
// CHECK:        %[[DIST:.+]] = arith.subi
// CHECK:        arith.cmpi slt, %[[DIST]], %c4
// CHECK:        arith.select %[[KEEP]]
// CHECK:      linalg.generic {{.*}} outs(%[[L]] : tensor<2x4x16xf32>)
// CHECK:        %[[MS:.+]] = arith.select
// CHECK:        %[[LOG:.+]] = math.log
// CHECK:        arith.addf %[[MS]], %[[LOG]]
// CHECK:      return
func.func @attention_mask_window_lse(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x24x8xf32>,
                                     %v: tensor<2x4x24x8xf32>, %m: tensor<2x1x1x24xi1>,
                                     %o: tensor<2x4x16x8xf32>, %l: tensor<2x4x16xf32>)
    -> (tensor<2x4x16x8xf32>, tensor<2x4x16xf32>) {
  %0:2 = bpt.attention causal window(4) ins(%q, %k, %v : tensor<2x4x16x8xf32>, tensor<2x4x24x8xf32>, tensor<2x4x24x8xf32>)
           mask(%m : tensor<2x1x1x24xi1>)
           outs(%o, %l : tensor<2x4x16x8xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16x8xf32>, tensor<2x4x16xf32>
  return %0#0, %0#1 : tensor<2x4x16x8xf32>, tensor<2x4x16xf32>
}

// -----

// Dynamic batch and sequence lengths: sizes come from tensor.dim, and the
// causal offset is Sk - Sq computed at run time.

// CHECK-LABEL: func @attention_dynamic
// CHECK:      tensor.dim %arg0, %c2
// CHECK-NEXT: %[[SQ2:.+]] = tensor.dim %arg0, %c2
// CHECK-NEXT: %[[SK:.+]] = tensor.dim %arg1, %c2
// CHECK-NEXT: %[[OFF:.+]] = arith.subi %[[SK]], %[[SQ2]]
// CHECK:      tensor.empty(%{{.+}}, %{{.+}}, %{{.+}}) : tensor<?x2x?x?xf32>
// CHECK:        arith.addi %[[OFF]], %{{.+}}
func.func @attention_dynamic(%q: tensor<?x2x?x8xf32>, %k: tensor<?x2x?x8xf32>,
                             %v: tensor<?x2x?x8xf32>, %o: tensor<?x2x?x8xf32>)
    -> tensor<?x2x?x8xf32> {
  %0 = bpt.attention causal ins(%q, %k, %v : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>)
         outs(%o : tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  return %0 : tensor<?x2x?x8xf32>
}

// -----

// FFN: the full hidden activation [rows, d_ff] exists, then the down
// projection accumulates into the destination.

// CHECK-LABEL: func @ffn_swiglu
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x8x16xf32>, %[[UP:[^:]+]]: tensor<16x64xf32>, %[[G:[^:]+]]: tensor<16x64xf32>, %[[DOWN:[^:]+]]: tensor<64x16xf32>, %[[B2:[^:]+]]: tensor<16xf32>, %[[INIT:[^:]+]]: tensor<2x8x16xf32>)
// CHECK:      %[[HUP:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[UP]] : {{.*}}) outs(%{{.+}} : tensor<2x8x64xf32>)
// CHECK:      %[[HG:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[G]] : {{.*}}) outs(%{{.+}} : tensor<2x8x64xf32>)
// CHECK:      %[[H:.+]] = linalg.generic {{.*}} ins(%[[HUP]], %[[HG]] : {{.*}}) outs(%{{.+}} : tensor<2x8x64xf32>)
// CHECK:        ^bb0(%[[U:.+]]: f32, %[[GV:.+]]: f32, %{{.+}}: f32):
// CHECK:        arith.negf %[[GV]]
// CHECK:        math.exp
// CHECK:        %[[SILU:.+]] = arith.divf %[[GV]]
// CHECK:        arith.mulf %[[SILU]], %[[U]]
// CHECK:      %[[ACC0:.+]] = linalg.generic {{.*}} ins(%[[INIT]] :
// CHECK:      %[[ACC:.+]] = linalg.generic {{.*}} ins(%[[H]], %[[DOWN]] : {{.*}}) outs(%[[ACC0]] :
// CHECK:      %[[Y:.+]] = linalg.generic {{.*}} ins(%[[ACC]], %[[B2]] : {{.*}}) outs(%[[INIT]] :
// CHECK:      return %[[Y]]
func.func @ffn_swiglu(%x: tensor<2x8x16xf32>, %up: tensor<16x64xf32>, %g: tensor<16x64xf32>,
                      %down: tensor<64x16xf32>, %b2: tensor<16xf32>, %init: tensor<2x8x16xf32>)
    -> tensor<2x8x16xf32> {
  %0 = bpt.ffn swiglu ins(%x : tensor<2x8x16xf32>) up(%up : tensor<16x64xf32>) gate(%g : tensor<16x64xf32>)
         down(%down : tensor<64x16xf32>) down_bias(%b2 : tensor<16xf32>)
         outs(%init : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func @ffn_gelu
// CHECK:      math.erf
// CHECK-LABEL: func @ffn_gelu_tanh
// CHECK:      math.tanh
// CHECK-LABEL: func @ffn_relu
// CHECK:      arith.maximumf
func.func @ffn_gelu(%x: tensor<4x8xf32>, %up: tensor<8x32xf32>, %down: tensor<32x8xf32>) -> tensor<4x8xf32> {
  %0 = bpt.ffn gelu ins(%x : tensor<4x8xf32>) up(%up : tensor<8x32xf32>) down(%down : tensor<32x8xf32>) outs(%x : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
func.func @ffn_gelu_tanh(%x: tensor<4x8xf32>, %up: tensor<8x32xf32>, %down: tensor<32x8xf32>) -> tensor<4x8xf32> {
  %0 = bpt.ffn gelu_tanh ins(%x : tensor<4x8xf32>) up(%up : tensor<8x32xf32>) down(%down : tensor<32x8xf32>) outs(%x : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
func.func @ffn_relu(%x: tensor<4x8xf32>, %up: tensor<8x32xf32>, %down: tensor<32x8xf32>) -> tensor<4x8xf32> {
  %0 = bpt.ffn relu ins(%x : tensor<4x8xf32>) up(%up : tensor<8x32xf32>) down(%down : tensor<32x8xf32>) outs(%x : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// A block is inlined: its body takes its place, its inputs replace the
// block arguments, and nothing of bpt is left.

// CHECK-LABEL: func @block
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x2x8x4xf32>
// CHECK-NOT:  bpt.
// CHECK:      linalg.generic {{.*}} ins(%[[X]], %[[X]] :
// CHECK:      return
func.func @block(%x: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %r = bpt.block (%a = %x : tensor<1x2x8x4xf32>) -> (tensor<1x2x8x4xf32>) {
    %e = tensor.empty() : tensor<1x2x8x4xf32>
    %0 = bpt.attention ins(%a, %a, %a : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
           outs(%e : tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
    bpt.yield %0 : tensor<1x2x8x4xf32>
  }
  return %r : tensor<1x2x8x4xf32>
}

// -----

// Negative: IR without bpt ops is left exactly as it was.

// CHECK-LABEL: func @no_bpt
// CHECK-NEXT:  %[[R:.+]] = linalg.matmul
// CHECK-NEXT:  return %[[R]]
func.func @no_bpt(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// A block that yields one of its own arguments: after inlining, the result
// is the block's input (regression: this used to crash).

// CHECK-LABEL: func @block_yields_argument
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x1x4x4xf32>)
// CHECK:      return %{{.+}}, %[[X]]
func.func @block_yields_argument(%x: tensor<1x1x4x4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %r:2 = bpt.block (%a = %x : tensor<1x1x4x4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
    %0 = bpt.attention ins(%a, %a, %a : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>)
           outs(%a : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
    bpt.yield %0, %a : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
  }
  return %r#0, %r#1 : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}
