func.func @attn(%q: tensor<1x4x100x64xf16>, %k: tensor<1x2x100x64xf16>, %v: tensor<1x2x100x64xf16>) -> tensor<1x4x100x64xf16> {
  %e = tensor.empty() : tensor<1x4x100x64xf16>
  %o = bpt.attention causal ins(%q, %k, %v : tensor<1x4x100x64xf16>, tensor<1x2x100x64xf16>, tensor<1x2x100x64xf16>) outs(%e : tensor<1x4x100x64xf16>) -> tensor<1x4x100x64xf16>
  return %o : tensor<1x4x100x64xf16>
}
