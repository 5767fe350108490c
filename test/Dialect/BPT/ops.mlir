// Round trip of every op form: print, parse again, print the same.
// RUN: bpt-opt %s | bpt-opt | FileCheck %s
// RUN: bpt-opt %s --mlir-print-op-generic | bpt-opt | FileCheck %s

// CHECK-LABEL: func @attention_plain
// CHECK: bpt.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x8x128x64xf32>, tensor<2x8x128x64xf32>, tensor<2x8x128x64xf32>) outs(%{{.*}} : tensor<2x8x128x64xf32>) -> tensor<2x8x128x64xf32>
func.func @attention_plain(%q: tensor<2x8x128x64xf32>, %k: tensor<2x8x128x64xf32>,
                           %v: tensor<2x8x128x64xf32>, %o: tensor<2x8x128x64xf32>)
    -> tensor<2x8x128x64xf32> {
  %0 = bpt.attention ins(%q, %k, %v : tensor<2x8x128x64xf32>, tensor<2x8x128x64xf32>, tensor<2x8x128x64xf32>)
         outs(%o : tensor<2x8x128x64xf32>) -> tensor<2x8x128x64xf32>
  return %0 : tensor<2x8x128x64xf32>
}

// CHECK-LABEL: func @attention_all_attributes
// CHECK: bpt.attention causal window(256) scale(1.250000e-01) ins({{.*}}) mask(%{{.*}} : tensor<1x1x100x300xf16>) outs(%{{.*}}, %{{.*}} : tensor<1x8x100x80xf16>, tensor<1x8x100xf32>) -> tensor<1x8x100x80xf16>, tensor<1x8x100xf32>
func.func @attention_all_attributes(%q: tensor<1x8x100x64xf16>, %k: tensor<1x2x300x64xf16>,
                                    %v: tensor<1x2x300x80xf16>, %m: tensor<1x1x100x300xf16>,
                                    %o: tensor<1x8x100x80xf16>, %l: tensor<1x8x100xf32>)
    -> (tensor<1x8x100x80xf16>, tensor<1x8x100xf32>) {
  %0:2 = bpt.attention causal window(256) scale(0.125)
           ins(%q, %k, %v : tensor<1x8x100x64xf16>, tensor<1x2x300x64xf16>, tensor<1x2x300x80xf16>)
           mask(%m : tensor<1x1x100x300xf16>)
           outs(%o, %l : tensor<1x8x100x80xf16>, tensor<1x8x100xf32>)
           -> tensor<1x8x100x80xf16>, tensor<1x8x100xf32>
  return %0#0, %0#1 : tensor<1x8x100x80xf16>, tensor<1x8x100xf32>
}

// CHECK-LABEL: func @attention_bool_mask_positions_dynamic
// CHECK: bpt.attention causal ins({{.*}} : tensor<?x4x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>) mask(%{{.*}} : tensor<?x1x1x?xi1>) positions(%{{.*}}, %{{.*}}) outs(%{{.*}} : tensor<?x4x?x32xf32>) -> tensor<?x4x?x32xf32>
func.func @attention_bool_mask_positions_dynamic(
    %q: tensor<?x4x?x32xbf16>, %k: tensor<?x1x?x32xbf16>, %v: tensor<?x1x?x32xbf16>,
    %m: tensor<?x1x1x?xi1>, %qp: index, %kp: index, %o: tensor<?x4x?x32xf32>)
    -> tensor<?x4x?x32xf32> {
  %0 = bpt.attention causal
         ins(%q, %k, %v : tensor<?x4x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>)
         mask(%m : tensor<?x1x1x?xi1>) positions(%qp, %kp)
         outs(%o : tensor<?x4x?x32xf32>) -> tensor<?x4x?x32xf32>
  return %0 : tensor<?x4x?x32xf32>
}

// CHECK-LABEL: func @ffn_forms
// CHECK: bpt.ffn relu ins(%{{.*}} : tensor<128x512xf32>) up(%{{.*}} : tensor<512x2048xf32>) up_bias(%{{.*}} : tensor<2048xf32>) down(%{{.*}} : tensor<2048x512xf32>) down_bias(%{{.*}} : tensor<512xf32>) outs(%{{.*}} : tensor<128x512xf32>) -> tensor<128x512xf32>
// CHECK: bpt.ffn gelu ins
// CHECK: bpt.ffn gelu_tanh ins
// CHECK: bpt.ffn silu ins
// CHECK: bpt.ffn swiglu ins(%{{.*}} : tensor<128x512xf32>) up(%{{.*}} : tensor<512x2048xf32>) gate(%{{.*}} : tensor<512x2048xf32>) down(%{{.*}} : tensor<2048x512xf32>) outs
// CHECK: bpt.ffn geglu ins(%{{.*}} : tensor<2x?x512xbf16>) up({{.*}}) gate({{.*}}) down({{.*}}) outs(%{{.*}} : tensor<2x?x512xbf16>) -> tensor<2x?x512xbf16>
func.func @ffn_forms(%x: tensor<128x512xf32>, %w1: tensor<512x2048xf32>, %b1: tensor<2048xf32>,
                     %w2: tensor<2048x512xf32>, %b2: tensor<512xf32>, %init: tensor<128x512xf32>,
                     %x3: tensor<2x?x512xbf16>, %w1h: tensor<512x2048xbf16>, %w2h: tensor<2048x512xbf16>,
                     %init3: tensor<2x?x512xbf16>) -> tensor<2x?x512xbf16> {
  %0 = bpt.ffn relu ins(%x : tensor<128x512xf32>) up(%w1 : tensor<512x2048xf32>)
         up_bias(%b1 : tensor<2048xf32>) down(%w2 : tensor<2048x512xf32>)
         down_bias(%b2 : tensor<512xf32>) outs(%init : tensor<128x512xf32>) -> tensor<128x512xf32>
  %1 = bpt.ffn gelu ins(%0 : tensor<128x512xf32>) up(%w1 : tensor<512x2048xf32>)
         down(%w2 : tensor<2048x512xf32>) outs(%init : tensor<128x512xf32>) -> tensor<128x512xf32>
  %2 = bpt.ffn gelu_tanh ins(%1 : tensor<128x512xf32>) up(%w1 : tensor<512x2048xf32>)
         down(%w2 : tensor<2048x512xf32>) outs(%init : tensor<128x512xf32>) -> tensor<128x512xf32>
  %3 = bpt.ffn silu ins(%2 : tensor<128x512xf32>) up(%w1 : tensor<512x2048xf32>)
         down(%w2 : tensor<2048x512xf32>) outs(%init : tensor<128x512xf32>) -> tensor<128x512xf32>
  %4 = bpt.ffn swiglu ins(%3 : tensor<128x512xf32>) up(%w1 : tensor<512x2048xf32>)
         gate(%w1 : tensor<512x2048xf32>) down(%w2 : tensor<2048x512xf32>)
         outs(%init : tensor<128x512xf32>) -> tensor<128x512xf32>
  %5 = bpt.ffn geglu ins(%x3 : tensor<2x?x512xbf16>) up(%w1h : tensor<512x2048xbf16>)
         gate(%w1h : tensor<512x2048xbf16>) down(%w2h : tensor<2048x512xbf16>)
         outs(%init3 : tensor<2x?x512xbf16>) -> tensor<2x?x512xbf16>
  return %5 : tensor<2x?x512xbf16>
}

// CHECK-LABEL: func @block
// CHECK: %[[R:.+]] = bpt.block (%[[X:[^ ]+]] = %{{.*}} : tensor<1x4x16x8xf32>, %[[W:[^ ]+]] = %{{.*}} : tensor<8x32xf32>, %[[W2:[^ ]+]] = %{{.*}} : tensor<32x8xf32>) -> (tensor<1x4x16x8xf32>) {
// CHECK:   %[[A:.+]] = bpt.attention causal ins(%[[X]], %[[X]], %[[X]] :
// CHECK:   %[[F:.+]] = bpt.ffn gelu ins(%[[A]] : tensor<1x4x16x8xf32>) up(%[[W]] : tensor<8x32xf32>) down(%[[W2]] : tensor<32x8xf32>) outs(%[[A]] :
// CHECK:   bpt.yield %[[F]] : tensor<1x4x16x8xf32>
// CHECK: }
// CHECK: return %[[R]]
func.func @block(%x: tensor<1x4x16x8xf32>, %w1: tensor<8x32xf32>, %w2: tensor<32x8xf32>)
    -> tensor<1x4x16x8xf32> {
  %r = bpt.block (%xa = %x : tensor<1x4x16x8xf32>, %wa = %w1 : tensor<8x32xf32>,
                  %wb = %w2 : tensor<32x8xf32>) -> (tensor<1x4x16x8xf32>) {
    %e = tensor.empty() : tensor<1x4x16x8xf32>
    %a = bpt.attention causal ins(%xa, %xa, %xa : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
           outs(%e : tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
    %f = bpt.ffn gelu ins(%a : tensor<1x4x16x8xf32>) up(%wa : tensor<8x32xf32>)
           down(%wb : tensor<32x8xf32>) outs(%a : tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
    bpt.yield %f : tensor<1x4x16x8xf32>
  }
  return %r : tensor<1x4x16x8xf32>
}
