// RUN: bpt-opt %s --bpt-gpu-attention="f32-inputs=bf16" --split-input-file -verify-diagnostics | FileCheck %s --check-prefix=BF16
// RUN: bpt-opt %s --bpt-gpu-attention="f32-inputs=f16" --split-input-file 2>/dev/null | FileCheck %s --check-prefix=F16
// RUN: not bpt-opt %s --bpt-gpu-attention="f32-inputs=tf32" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD

// With f32-inputs, f32 queries, keys and values are rounded for the tensor
// cores by elementwise generics before the kernel, which keeps the f32
// output (scores, softmax and accumulation are f32 anyway); a remark says
// so. Without the option this is an error (bpt-gpu-attention-invalid.mlir).
// BF16-LABEL: func.func @f32_attention
//       BF16:   %[[QE:.+]] = tensor.empty() : tensor<1x2x100x64xbf16>
//       BF16:   %[[Q:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<1x2x100x64xf32>) outs(%[[QE]] : tensor<1x2x100x64xbf16>)
//       BF16:     arith.truncf %{{.+}} : f32 to bf16
//       BF16:   %[[K:.+]] = linalg.generic {{.+}} ins(%arg1 : tensor<1x1x100x64xf32>)
//       BF16:   %[[V:.+]] = linalg.generic {{.+}} ins(%arg2 : tensor<1x1x100x64xf32>)
//       BF16:   bufferization.to_buffer %[[Q]] read_only : tensor<1x2x100x64xbf16>
//       BF16:   %[[O:.+]] = memref.alloc() : memref<1x2x100x64xf32>
//       BF16:   gpu.launch_func @bpt_kernels::@bpt_attention_b1_h2x1_q100_k100_d64x64_bf16_f32_causal_s3e000000
// F16-LABEL: func.func @f32_attention
//       F16:   gpu.launch_func @bpt_kernels::@bpt_attention_b1_h2x1_q100_k100_d64x64_f16_f32_causal_s3e000000
// BAD: error: bpt-gpu-attention: f32-inputs must be bf16 or f16, not 'tf32'
func.func @f32_attention(%q: tensor<1x2x100x64xf32>, %k: tensor<1x1x100x64xf32>, %v: tensor<1x1x100x64xf32>) -> tensor<1x2x100x64xf32> {
  %e = tensor.empty() : tensor<1x2x100x64xf32>
  // expected-remark @below {{bpt-gpu-attention: f32 queries, keys and values rounded to 'bf16' for the tensor cores (f32-inputs)}}
  %o = bpt.attention causal ins(%q, %k, %v : tensor<1x2x100x64xf32>, tensor<1x1x100x64xf32>, tensor<1x1x100x64xf32>) outs(%e : tensor<1x2x100x64xf32>) -> tensor<1x2x100x64xf32>
  return %o : tensor<1x2x100x64xf32>
}

// -----

// 16-bit inputs are untouched by the option.
// BF16-LABEL: func.func @bf16_attention
//   BF16-NOT:   arith.truncf
//       BF16:   gpu.launch_func @bpt_kernels::@bpt_attention_b1_h2x2_q64_k64_d64x64_bf16_bf16_s3e000000
func.func @bf16_attention(%q: tensor<1x2x64x64xbf16>, %k: tensor<1x2x64x64xbf16>, %v: tensor<1x2x64x64xbf16>) -> tensor<1x2x64x64xbf16> {
  %e = tensor.empty() : tensor<1x2x64x64xbf16>
  %o = bpt.attention ins(%q, %k, %v : tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>) outs(%e : tensor<1x2x64x64xbf16>) -> tensor<1x2x64x64xbf16>
  return %o : tensor<1x2x64x64xbf16>
}
