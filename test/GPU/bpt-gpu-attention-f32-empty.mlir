// RUN: bpt-opt %s --bpt-gpu-attention="f32-inputs=bf16" -verify-diagnostics -o /dev/null

// With f32-inputs, an empty f32 attention is refused for being empty, with
// nothing rounded and no rounding remark first (an unexpected remark fails
// -verify-diagnostics).
func.func @empty_f32(%q: tensor<1x1x0x64xf32>, %k: tensor<1x1x0x64xf32>, %v: tensor<1x1x0x64xf32>) -> tensor<1x1x0x64xf32> {
  %e = tensor.empty() : tensor<1x1x0x64xf32>
  // expected-error @below {{cannot run on the GPU: empty attentions are not supported by the GPU kernel}}
  %o = bpt.attention ins(%q, %k, %v : tensor<1x1x0x64xf32>, tensor<1x1x0x64xf32>, tensor<1x1x0x64xf32>) outs(%e : tensor<1x1x0x64xf32>) -> tensor<1x1x0x64xf32>
  return %o : tensor<1x1x0x64xf32>
}
