// The program of one rank of a ring: causal attention over this rank's 128
// rows of the sequence (f16, GQA 4 query heads over 2 key/value heads).
func.func @attn(%q: tensor<1x4x128x64xf16>, %k: tensor<1x2x128x64xf16>, %v: tensor<1x2x128x64xf16>) -> tensor<1x4x128x64xf16> {
  %e = tensor.empty() : tensor<1x4x128x64xf16>
  %o = bpt.attention causal ins(%q, %k, %v : tensor<1x4x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16>) outs(%e : tensor<1x4x128x64xf16>) -> tensor<1x4x128x64xf16>
  return %o : tensor<1x4x128x64xf16>
}
