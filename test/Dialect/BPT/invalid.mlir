// Every verifier rule of the bpt ops, one case each.
// RUN: bpt-opt %s -split-input-file -verify-diagnostics

func.func @f(%q: tensor<8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<8x16x32xf32>) {
  // expected-error @+1 {{'bpt.attention' op query must have rank 4 [B, Hq, Sq, D], got 'tensor<8x16x32xf32>'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<8x16x32xf32>) -> tensor<8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{key must have rank 4 [B, Hkv, Sk, D], got 'tensor<2x16x32xf32>'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32x1xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{value must have rank 4 [B, Hkv, Sk, Dv], got 'tensor<1x2x16x32x1xf32>'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32x1xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf16>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{query, key and value must have one element type, got 'f32', 'f16' and 'f32'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf16>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x?x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{key head count and head dim must be static, got 'tensor<1x?x16x32xf32>'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x?x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{batch sizes of query, key and value differ: 1, 2 and 1}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x4x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{value head count 4 differs from key head count 2}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x4x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x15x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{value sequence length 15 differs from key sequence length 16}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x15x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x64xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{key head dim 64 differs from query head dim 32}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x3x16x32xf32>, %v: tensor<1x3x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{key head count 3 does not divide query head count 8}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x3x16x32xf32>, tensor<1x3x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xi32>) {
  // expected-error @+1 {{out must have an f32, f16 or bf16 element type, got 'tensor<1x8x16x32xi32>'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xi32>) -> tensor<1x8x16x32xi32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x64xf32>) {
  // expected-error @+1 {{out must have shape [B, Hq, Sq, Dv] = [1, 8, 16, 32], got 'tensor<1x8x16x64xf32>'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x64xf32>) -> tensor<1x8x16x64xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>, %l: tensor<1x8x16xf16>) {
  // expected-error @+1 {{log-sum-exp must be f32 of shape [B, Hq, Sq] = [1, 8, 16], got 'tensor<1x8x16xf16>'}}
  %r:2 = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o, %l : tensor<1x8x16x32xf32>, tensor<1x8x16xf16>) -> tensor<1x8x16x32xf32>, tensor<1x8x16xf16>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{result type 'tensor<1x8x16x32xf16>' differs from its destination type 'tensor<1x8x16x32xf32>'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf16>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>, %m: tensor<1x2x16x16xi1>) {
  // expected-error @+1 {{mask must have rank 4 and broadcast to [B, Hq, Sq, Sk] = [1, 8, 16, 16], got 'tensor<1x2x16x16xi1>'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) mask(%m : tensor<1x2x16x16xi1>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>, %m: tensor<16x16xf32>) {
  // expected-error @+1 {{mask must have rank 4 and broadcast to [B, Hq, Sq, Sk] = [1, 8, 16, 16], got 'tensor<16x16xf32>'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) mask(%m : tensor<16x16xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{window(8) needs 'causal'}}
  %r = bpt.attention window(8) ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{window must be positive, got 0}}
  %r = bpt.attention causal window(0) ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{scale must be finite and non-zero, got 0}}
  %r = bpt.attention scale(0.0) ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf64>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<1x8x16x32xf64>'}}
  %r = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf64>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>, %l: tensor<1x8x16xf32>) {
  // expected-error @+1 {{expects 1 destination (out) or 2 (out and log-sum-exp), got 3}}
  %r:3 = bpt.attention ins(%q, %k, %v : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%o, %l, %l : tensor<1x8x16x32xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16x32xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{has 1 destinations but 0 results}}
  "bpt.attention"(%q, %k, %k, %o) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 1>}> : (tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x8x16x32xf32>) -> ()
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>, %p: index) {
  // expected-error @+1 {{positions need both the query and the key position}}
  %r = "bpt.attention"(%q, %k, %k, %p, %o) <{causal, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1>}> : (tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>, index, tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @f(%x: tensor<16xf32>, %up: tensor<16x64xf32>, %down: tensor<64x16xf32>, %init: tensor<4x16xf32>) {
  // expected-error @+1 {{'bpt.ffn' op input must have rank >= 2 [..., N, d_model], got 'tensor<16xf32>'}}
  %r = bpt.ffn relu ins(%x : tensor<16xf32>) up(%up : tensor<16x64xf32>) down(%down : tensor<64x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<1x16x64xf32>, %down: tensor<64x16xf32>, %init: tensor<4x16xf32>) {
  // expected-error @+1 {{up must have rank 2 [d_model, d_ff], got 'tensor<1x16x64xf32>'}}
  %r = bpt.ffn relu ins(%x : tensor<4x16xf32>) up(%up : tensor<1x16x64xf32>) down(%down : tensor<64x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<16x64xf32>, %down: tensor<64xf32>, %init: tensor<4x16xf32>) {
  // expected-error @+1 {{down must have rank 2 [d_ff, d_out], got 'tensor<64xf32>'}}
  %r = bpt.ffn relu ins(%x : tensor<4x16xf32>) up(%up : tensor<16x64xf32>) down(%down : tensor<64xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<32x64xf32>, %down: tensor<64x16xf32>, %init: tensor<4x16xf32>) {
  // expected-error @+1 {{up has 32 rows but the input has d_model 16}}
  %r = bpt.ffn relu ins(%x : tensor<4x16xf32>) up(%up : tensor<32x64xf32>) down(%down : tensor<64x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<16x64xf32>, %down: tensor<48x16xf32>, %init: tensor<4x16xf32>) {
  // expected-error @+1 {{down has 48 rows but up has d_ff 64}}
  %r = bpt.ffn relu ins(%x : tensor<4x16xf32>) up(%up : tensor<16x64xf32>) down(%down : tensor<48x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<16x64xf32>, %down: tensor<64x16xf32>, %init: tensor<4x16xf32>) {
  // expected-error @+1 {{activation 'swiglu' is gated and needs a gate weight}}
  %r = bpt.ffn swiglu ins(%x : tensor<4x16xf32>) up(%up : tensor<16x64xf32>) down(%down : tensor<64x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<16x64xf32>, %down: tensor<64x16xf32>, %init: tensor<4x16xf32>, %g: tensor<16x64xf32>) {
  // expected-error @+1 {{activation 'gelu' is not gated and takes no gate weight}}
  %r = bpt.ffn gelu ins(%x : tensor<4x16xf32>) up(%up : tensor<16x64xf32>) gate(%g : tensor<16x64xf32>) down(%down : tensor<64x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<16x64xf32>, %down: tensor<64x16xf32>, %init: tensor<4x16xf32>, %g: tensor<16x32xf32>) {
  // expected-error @+1 {{gate must have the shape of up [16, 64], got 'tensor<16x32xf32>'}}
  %r = bpt.ffn geglu ins(%x : tensor<4x16xf32>) up(%up : tensor<16x64xf32>) gate(%g : tensor<16x32xf32>) down(%down : tensor<64x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<16x64xf32>, %down: tensor<64x16xf32>, %init: tensor<4x16xf32>, %ub: tensor<16xf32>) {
  // expected-error @+1 {{up_bias must have shape [d_ff] = [64], got 'tensor<16xf32>'}}
  %r = bpt.ffn relu ins(%x : tensor<4x16xf32>) up(%up : tensor<16x64xf32>) up_bias(%ub : tensor<16xf32>) down(%down : tensor<64x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<16x64xf32>, %down: tensor<64x16xf32>, %init: tensor<4x16xf32>, %db: tensor<1x16xf32>) {
  // expected-error @+1 {{down_bias must have shape [d_out] = [16], got 'tensor<1x16xf32>'}}
  %r = bpt.ffn relu ins(%x : tensor<4x16xf32>) up(%up : tensor<16x64xf32>) down(%down : tensor<64x16xf32>) down_bias(%db : tensor<1x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<16x64xf32>, %down: tensor<64x16xf32>, %init: tensor<5x16xf32>) {
  // expected-error @+1 {{init must have the rows of the input and d_out 16 columns, got 'tensor<5x16xf32>' for input 'tensor<4x16xf32>'}}
  %r = bpt.ffn relu ins(%x : tensor<4x16xf32>) up(%up : tensor<16x64xf32>) down(%down : tensor<64x16xf32>) outs(%init : tensor<5x16xf32>) -> tensor<5x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<16x64xf32>, %down: tensor<64x16xf32>, %init: tensor<4x16xf32>) {
  // expected-error @+1 {{result type 'tensor<4x16xf16>' differs from the init type 'tensor<4x16xf32>'}}
  %r = bpt.ffn relu ins(%x : tensor<4x16xf32>) up(%up : tensor<16x64xf32>) down(%down : tensor<64x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf16>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<16x64xf32>, %down: tensor<64x16xf32>) {
  // expected-error @+1 {{unknown activation 'tanh'; expected relu, gelu, gelu_tanh, silu, swiglu or geglu}}
  %r = bpt.ffn tanh ins(%x : tensor<4x16xf32>) up(%up : tensor<16x64xf32>) down(%down : tensor<64x16xf32>) outs(%x : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{'bpt.block' op must hold exactly one bpt.attention at its top level, found 0}}
  %r = bpt.block (%a = %x : tensor<4x16xf32>) -> (tensor<4x16xf32>) {
    bpt.yield %a : tensor<4x16xf32>
  }
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{must hold exactly one bpt.attention at its top level, found 2}}
  %r = bpt.block (%qa = %q : tensor<1x8x16x32xf32>, %ka = %k : tensor<1x2x16x32xf32>, %oa = %o : tensor<1x8x16x32xf32>) -> (tensor<1x8x16x32xf32>) {
    %0 = bpt.attention ins(%qa, %ka, %ka : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%oa : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
    %1 = bpt.attention ins(%0, %ka, %ka : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%oa : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
    bpt.yield %1 : tensor<1x8x16x32xf32>
  }
  return
}

// -----

func.func @f(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %o: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{yields 1 values whose types differ from its 1 result types}}
  %r = bpt.block (%qa = %q : tensor<1x8x16x32xf32>, %ka = %k : tensor<1x2x16x32xf32>, %oa = %o : tensor<1x8x16x32xf32>) -> (tensor<1x8x16x32xf16>) {
    %0 = bpt.attention ins(%qa, %ka, %ka : tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) outs(%oa : tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
    bpt.yield %0 : tensor<1x8x16x32xf32>
  }
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{'bpt.block' op has 1 inputs but 0 block arguments}}
  %r = "bpt.block"(%x) ({
    %e = tensor.empty() : tensor<4x16xf32>
    "bpt.yield"(%e) : (tensor<4x16xf32>) -> ()
  }) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{'bpt.block' op input 0 has type 'tensor<4x16xf32>' but its block argument has type 'tensor<4x16xf16>'}}
  %r = "bpt.block"(%x) ({
  ^bb0(%a: tensor<4x16xf16>):
    %e = tensor.empty() : tensor<4x16xf32>
    "bpt.yield"(%e) : (tensor<4x16xf32>) -> ()
  }) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{'bpt.yield' op expects parent op 'bpt.block'}}
  "bpt.yield"(%x) : (tensor<4x16xf32>) -> ()
  return
}

// -----

func.func @f(%q: tensor<1x0x4x8xf32>, %o: tensor<1x0x4x8xf32>) {
  // expected-error @+1 {{head counts must be positive, got 0 query and 0 key heads}}
  %r = bpt.attention ins(%q, %q, %q : tensor<1x0x4x8xf32>, tensor<1x0x4x8xf32>, tensor<1x0x4x8xf32>) outs(%o : tensor<1x0x4x8xf32>) -> tensor<1x0x4x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x2x4x0xf32>, %v: tensor<1x2x4x8xf32>, %o: tensor<1x2x4x8xf32>) {
  // expected-error @+1 {{head dim must be positive (it sets the default scale 1/sqrt(D)), got 0}}
  %r = bpt.attention ins(%q, %q, %v : tensor<1x2x4x0xf32>, tensor<1x2x4x0xf32>, tensor<1x2x4x8xf32>) outs(%o : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return
}
