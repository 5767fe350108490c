// RUN: bpt-opt %s --bpt-gpu-attention --split-input-file -verify-diagnostics

func.func @f32_operands(%q: tensor<1x1x64x64xf32>, %k: tensor<1x1x64x64xf32>, %v: tensor<1x1x64x64xf32>) -> tensor<1x1x64x64xf32> {
  %e = tensor.empty() : tensor<1x1x64x64xf32>
  // expected-error @below {{cannot run on the GPU: the GPU kernel runs on tensor cores and takes f16 or bf16 queries, keys and values (convert f32 first, or let the pass round them: f32-inputs=bf16 or f16)}}
  %o = bpt.attention ins(%q, %k, %v : tensor<1x1x64x64xf32>, tensor<1x1x64x64xf32>, tensor<1x1x64x64xf32>) outs(%e : tensor<1x1x64x64xf32>) -> tensor<1x1x64x64xf32>
  return %o : tensor<1x1x64x64xf32>
}

// -----

func.func @dynamic(%q: tensor<1x1x?x64xf16>, %k: tensor<1x1x64x64xf16>, %v: tensor<1x1x64x64xf16>, %e: tensor<1x1x?x64xf16>) -> tensor<1x1x?x64xf16> {
  // expected-error @below {{cannot run on the GPU: dynamic shapes are not supported by the GPU kernel}}
  %o = bpt.attention ins(%q, %k, %v : tensor<1x1x?x64xf16>, tensor<1x1x64x64xf16>, tensor<1x1x64x64xf16>) outs(%e : tensor<1x1x?x64xf16>) -> tensor<1x1x?x64xf16>
  return %o : tensor<1x1x?x64xf16>
}

// -----

func.func @head_dim(%q: tensor<1x1x64x72xf16>, %k: tensor<1x1x64x72xf16>, %v: tensor<1x1x64x72xf16>) -> tensor<1x1x64x72xf16> {
  %e = tensor.empty() : tensor<1x1x64x72xf16>
  // expected-error @below {{cannot run on the GPU: head dimensions must be multiples of 16 up to 256 (got 72 and 72)}}
  %o = bpt.attention ins(%q, %k, %v : tensor<1x1x64x72xf16>, tensor<1x1x64x72xf16>, tensor<1x1x64x72xf16>) outs(%e : tensor<1x1x64x72xf16>) -> tensor<1x1x64x72xf16>
  return %o : tensor<1x1x64x72xf16>
}

// -----

func.func @empty(%q: tensor<1x1x0x64xf16>, %k: tensor<1x1x64x64xf16>, %v: tensor<1x1x64x64xf16>) -> tensor<1x1x0x64xf16> {
  %e = tensor.empty() : tensor<1x1x0x64xf16>
  // expected-error @below {{cannot run on the GPU: empty attentions are not supported by the GPU kernel}}
  %o = bpt.attention ins(%q, %k, %v : tensor<1x1x0x64xf16>, tensor<1x1x64x64xf16>, tensor<1x1x64x64xf16>) outs(%e : tensor<1x1x0x64xf16>) -> tensor<1x1x0x64xf16>
  return %o : tensor<1x1x0x64xf16>
}
