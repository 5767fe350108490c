//===- BPTOps.td - Operations of the bpt dialect ----------*- tablegen -*-===//
//
// bpt.attention, bpt.ffn and the bpt.block unit. The ops are in
// destination-passing style on tensors and implement TilingInterface, so the
// upstream tiling drivers and the transform dialect can tile them.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_DIALECT_BPT_IR_BPTOPS_TD
#define BPT_DIALECT_BPT_IR_BPTOPS_TD

include "bpt/Dialect/BPT/IR/BPTDialect.td"
include "bpt/Dialect/BPT/IR/BPTAttrs.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/TilingInterface.td"
include "mlir/IR/OpAsmInterface.td"

def BPT_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;

//===----------------------------------------------------------------------===//
// bpt.attention
//===----------------------------------------------------------------------===//

def BPT_AttentionOp : BPT_Op<"attention", [
    AttrSizedOperandSegments,
    DestinationStyleOpInterface,
    Pure,
    DeclareOpInterfaceMethods<TilingInterface, [
      "getIterationDomain", "getLoopIteratorTypes", "getTiledImplementation",
      "getResultTilePosition", "generateResultTileValue"]>
  ]> {
  let summary = "scaled dot-product attention with masks, causality and GQA";
  let description = [{
    Computes, for every batch `b`, query head `h` and query row `i`:

    ```
    s[j]   = scale * dot(query[b, h, i, :], key[b, h / G, j, :]) + bias[b, h, i, j]
    out[b, h, i, :] = sum_j softmax(s)[j] * value[b, h / G, j, :]
    lse[b, h, i]    = log(sum_j exp(s[j]))                 (optional result)
    ```

    with `query : [B, Hq, Sq, D]`, `key : [B, Hkv, Sk, D]`,
    `value : [B, Hkv, Sk, Dv]` and `G = Hq / Hkv` (grouped-query attention;
    `Hkv = 1` is multi-query attention). Query and key/value heads are never
    repeated: query head `h` reads key/value head `h / G`.

    Inputs are f32, f16 or bf16; scores, the softmax and the accumulation are
    in f32 and the result is converted to the element type of `out`.
    `scale` defaults to `1 / sqrt(D)`.

    Masking. Every query row and key column has a position. By default key
    `j` has position `j` and query `i` has position `i + Sk - Sq`, the
    bottom-right alignment of FlashAttention-2, so that the last query sees
    the last key. `positions(%qp, %kp)` overrides the positions of the first
    query and the first key (tiled and distributed forms of the op use it).
    - `causal`: query position `p` sees key positions `<= p`.
    - `window(W)` (needs `causal`): query position `p` sees only the keys at
      positions `> p - W`, the sliding window of Mistral/Longformer.
    - `mask(%m)`: rank 4 `[B|1, Hq|1, Sq|1, Sk|1]`, broadcast where a
      dimension is 1. An `i1` mask keeps the scores where it is true; a float
      mask is added to the scores (use `-inf` to remove a key).

    A query row that sees no key gives 0 in `out` (never NaN) and `-inf` in
    `lse`.

    The second, optional destination receives the log-sum-exp `[B, Hq, Sq]`
    in f32, needed by the backward pass and for merging partial results.

    Example:

    ```mlir
    %o = bpt.attention causal ins(%q, %k, %v : tensor<1x8x128x64xf16>,
           tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16>)
           outs(%init : tensor<1x8x128x64xf16>) -> tensor<1x8x128x64xf16>
    ```
  }];

  let arguments = (ins
    BPT_FloatTensor:$query,
    BPT_FloatTensor:$key,
    BPT_FloatTensor:$value,
    Optional<RankedTensorOf<[F32, F16, BF16, I1]>>:$mask,
    Optional<Index>:$query_pos,
    Optional<Index>:$key_pos,
    Variadic<AnyRankedTensor>:$outputs,
    OptionalAttr<F32Attr>:$scale,
    UnitAttr:$causal,
    OptionalAttr<I64Attr>:$window
  );
  let results = (outs Variadic<AnyRankedTensor>:$results);

  let assemblyFormat = [{
    (`causal` $causal^)? (`window` `(` $window^ `)`)? (`scale` `(` $scale^ `)`)?
    `ins` `(` $query `,` $key `,` $value `:` type($query) `,` type($key) `,` type($value) `)`
    (`mask` `(` $mask^ `:` type($mask) `)`)?
    (`positions` `(` $query_pos^ `,` $key_pos `)`)?
    `outs` `(` $outputs `:` type($outputs) `)`
    attr-dict `->` type($results)
  }];

  let hasVerifier = 1;

  let extraClassDeclaration = [{
    ::mlir::RankedTensorType getQueryType() { return getQuery().getType(); }
    ::mlir::RankedTensorType getKeyType() { return getKey().getType(); }
    ::mlir::RankedTensorType getValueType() { return getValue().getType(); }

    /// Query heads that share one key/value head (1 for plain multi-head).
    int64_t getGroupSize();
    /// The scale applied to the scores: the attribute or 1/sqrt(D).
    float getScaleOrDefault();
    /// True when the op also produces the log-sum-exp.
    bool hasLogSumExp() { return getOutputs().size() == 2; }
    ::mlir::Value getOutputInit() { return getOutputs()[0]; }
    ::mlir::Value getLogSumExpInit() {
      return hasLogSumExp() ? getOutputs()[1] : ::mlir::Value();
    }
    /// True when scores can be removed by causality, a window or a mask.
    bool hasMasking() { return getCausal() || getMask(); }

    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
}

//===----------------------------------------------------------------------===//
// bpt.ffn
//===----------------------------------------------------------------------===//

def BPT_FFNOp : BPT_Op<"ffn", [
    AttrSizedOperandSegments,
    DestinationStyleOpInterface,
    Pure,
    DeclareOpInterfaceMethods<TilingInterface, [
      "getIterationDomain", "getLoopIteratorTypes", "getTiledImplementation",
      "getResultTilePosition", "generateResultTileValue"]>
  ]> {
  let summary = "position-wise feed-forward network, plain or gated";
  let description = [{
    For input rows `x : [..., N, d_model]`, weights `up : [d_model, d_ff]`,
    `down : [d_ff, d_out]` and optional biases `up_bias : [d_ff]`,
    `down_bias : [d_out]`, accumulates into the destination:

    ```
    plain (relu, gelu, gelu_tanh, silu):
      result = init + act(x up + up_bias) down + down_bias
    gated (swiglu, geglu), with gate : [d_model, d_ff]:
      result = init + (act(x gate) * (x up + up_bias)) down + down_bias
    ```

    `gelu` is the exact erf form, `gelu_tanh` the tanh approximation, `silu`
    is `x * sigmoid(x)`; `swiglu` gates with silu and `geglu` with gelu.

    The destination is an accumulator, like the destination of
    `linalg.matmul`: pass zeros for the plain FFN, or the residual stream to
    get `residual + FFN(x)` in one op. This is also what makes the hidden
    dimension `d_ff` a true reduction that can be tiled in chunks.

    Inputs are f32, f16 or bf16. The hidden activation and the accumulation
    are in f32; the result is converted to the element type of `init`.

    Example:

    ```mlir
    %y = bpt.ffn swiglu ins(%x : tensor<128x512xf32>)
           up(%wu : tensor<512x1376xf32>) gate(%wg : tensor<512x1376xf32>)
           down(%wd : tensor<1376x512xf32>)
           outs(%res : tensor<128x512xf32>) -> tensor<128x512xf32>
    ```
  }];

  let arguments = (ins
    BPT_ActivationAttr:$activation,
    BPT_FloatTensor:$input,
    BPT_FloatTensor:$up,
    Optional<BPT_FloatTensor>:$gate,
    Optional<BPT_FloatTensor>:$up_bias,
    BPT_FloatTensor:$down,
    Optional<BPT_FloatTensor>:$down_bias,
    BPT_FloatTensor:$init
  );
  let results = (outs BPT_FloatTensor:$result);

  let assemblyFormat = [{
    custom<ActivationKeyword>($activation) `ins` `(` $input `:` type($input) `)`
    `up` `(` $up `:` type($up) `)`
    (`gate` `(` $gate^ `:` type($gate) `)`)?
    (`up_bias` `(` $up_bias^ `:` type($up_bias) `)`)?
    `down` `(` $down `:` type($down) `)`
    (`down_bias` `(` $down_bias^ `:` type($down_bias) `)`)?
    `outs` `(` $init `:` type($init) `)`
    attr-dict `->` type($result)
  }];

  let hasVerifier = 1;

  let extraClassDeclaration = [{
    /// True for swiglu and geglu, which take a `gate` weight.
    bool isGated() {
      return getActivation() == ::mlir::bpt::Activation::swiglu ||
             getActivation() == ::mlir::bpt::Activation::geglu;
    }
    /// Number of leading row dimensions of the input (its rank minus one).
    unsigned getNumRowDims() { return getInput().getType().getRank() - 1; }
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
  }];
}

//===----------------------------------------------------------------------===//
// bpt.block and bpt.yield
//===----------------------------------------------------------------------===//

def BPT_BlockOp : BPT_Op<"block", [
    IsolatedFromAbove,
    RecursiveMemoryEffects,
    SingleBlockImplicitTerminator<"YieldOp">,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>
  ]> {
  let summary = "one attention -> FFN transformer block, held as a unit";
  let description = [{
    A region that holds one transformer block: exactly one `bpt.attention`,
    the row-wise ops around it (projections, residual adds, LayerNorm or
    RMSNorm as ordinary linalg) and usually a `bpt.ffn`. The region is
    isolated from above: every value it reads comes in as an operand and is
    bound to a block argument, so the blockwise rewrite sees the whole
    dataflow of the block in one place. The region's `bpt.yield` gives the
    results.

    The op has no meaning of its own beyond its body: `--bpt-decompose`
    inlines it, and `--bpt-blockwise` tiles it per query block.

    Example:

    ```mlir
    %y = bpt.block (%xa = %x : tensor<1x128x64xf32>,
                    %wa = %w : tensor<64x64xf32>) -> tensor<1x128x64xf32> {
      ...
      bpt.yield %r : tensor<1x128x64xf32>
    }
    ```
  }];

  let arguments = (ins Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);

  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "::mlir::TypeRange":$resultTypes,
                   "::mlir::ValueRange":$inputs)>
  ];

  let extraClassDeclaration = [{
    ::mlir::Block *getBodyBlock() { return &getBody().front(); }
    /// The single attention op of the block.
    AttentionOp getAttention();
  }];
}

def BPT_YieldOp : BPT_Op<"yield", [
    Pure, ReturnLike, Terminator, HasParent<"BlockOp">
  ]> {
  let summary = "yields the results of a bpt.block";
  let arguments = (ins Variadic<AnyType>:$values);
  let builders = [OpBuilder<(ins), [{ /* nothing to build */ }]>];
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

//===----------------------------------------------------------------------===//
// bpt.hold
//===----------------------------------------------------------------------===//

def BPT_HoldOp : BPT_Op<"hold"> {
  let summary = "keeps buffers alive until this point";
  let description = [{
    Marks `buffers` as in use here. Non-blocking communication reads or
    writes a buffer until its request is waited on, but `mpi.wait` names
    only the request, so buffer deallocation could free the buffer right
    after its last visible use, while the MPI library still accesses it.
    `--bpt-ring` places a `bpt.hold` of the buffers of a step right after
    the waits of that step. The op declares reads and writes of its
    operands (the MPI library may have done either), so it is never
    removed as dead; `--bpt-convert-mpi-to-llvm` erases it once
    deallocations are placed.

    ```mlir
    bpt.hold %send_k, %send_v : memref<?xf32>, memref<?xf32>
    ```
  }];
  let arguments = (ins Arg<Variadic<AnyMemRef>, "buffers an MPI request used",
                           [MemRead, MemWrite]>:$buffers);
  let assemblyFormat = "$buffers attr-dict `:` type($buffers)";
}

#endif // BPT_DIALECT_BPT_IR_BPTOPS_TD
