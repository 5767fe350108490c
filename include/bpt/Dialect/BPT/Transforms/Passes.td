//===- Passes.td - Passes of the bpt dialect ---------------*- tablegen -*-===//
//
// `bpt-opt --help` prints these descriptions: they are the manual.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_DIALECT_BPT_TRANSFORMS_PASSES_TD
#define BPT_DIALECT_BPT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def BPTDecompose : Pass<"bpt-decompose"> {
  let summary = "Lower bpt ops to textbook linalg (the numerical oracle)";
  let description = [{
    Gives every bpt op its plain meaning in linalg, tensor, arith and math
    on tensors, the way a textbook writes it:

    - `bpt.attention`: the full `[B, Hq, Sq, Sk]` score tensor in f32, the
      scale, mask, causal and window conditions applied to it, a
      max-subtracted softmax (a row that sees no key gives 0, not NaN), and
      the product with the values; grouped-query heads index their shared
      key/value head with `h floordiv G`. The log-sum-exp is written when
      the op has that destination.
    - `bpt.ffn`: the full hidden activation `[rows, d_ff]` in f32, then the
      down projection accumulated into the destination.
    - `bpt.block`: its body is inlined in place.
    - `linalg.softmax` (which has no lowering to loops of its own): its
      upstream decomposition into a max, an exp of the difference, a sum and
      a division.

    Nothing is fused or tiled: this is the reference every other lowering
    of the project is compared with, and it materialises the S x S scores
    and the S x d_ff hidden activation on purpose.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def BPTRaiseAttention : Pass<"bpt-raise-attention"> {
  let summary = "Find attention in linalg on tensors and raise it to bpt.attention";
  let description = [{
    Finds scaled dot-product attention by what it computes and replaces it
    by `bpt.attention`, anchored on each softmax:

    - the softmax: `linalg.softmax`, or the decomposed form frontends emit
      (a max reduction, a subtraction, `math.exp`, a sum reduction and a
      division or a multiplication by the reciprocal), over the last (key)
      dimension of the scores;
    - the scores: a contraction of queries and keys (`linalg.batch_matmul`,
      `linalg.matmul` or a contraction `linalg.generic`, with batch and head
      dimensions merged by reshapes or not, keys transposed by
      `linalg.transpose`, a generic or the contraction's maps), followed by
      constant scales (on the scores, or split over queries and keys), an
      additive mask, a `select` of `-inf` (masked_fill, boolean masks) and
      float casts, in any order that keeps the meaning;
    - the output: the contraction of the probabilities with the values.

    Keys and values repeated over the query heads of a group (torch's
    repeat_kv, SDPA's enable_gqa) become grouped-query attention reading
    the unrepeated tensors. A mask that is a function of the row and column
    only and keeps the keys `j <= i + offset` (triu/masked_fill, SDPA's
    is_causal) becomes the `causal` flag, with `positions` when the offset
    is not the bottom-right one.

    A softmax whose surroundings do not prove the rewrite exact is left as
    it is: scores or probabilities read by anything else, a softmax over
    another dimension, a scale after the softmax or after an additive mask,
    a value contraction along another dimension, dynamic shapes. With
    `remarks`, each such softmax gets a remark naming the op that stopped
    the match and why.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every softmax that is not raised, saying why">
  ];
  let dependentDialects = [
    "::mlir::bpt::BPTDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def BPTRaiseFFN : Pass<"bpt-raise-ffn"> {
  let summary = "Find position-wise feed-forward networks and raise them to bpt.ffn";
  let description = [{
    Finds `act(x W_up + b_up) W_down + b_down` (and the gated forms
    `(act(x W_gate) * (x W_up)) W_down`) in linalg on tensors, starting from
    each contraction whose left operand is an activation, and replaces it by
    `bpt.ffn`:

    - projections are `linalg.matmul` or 2-D contraction generics, with the
      weight read as [in, out] or [out, in] (torch's Linear through a
      transpose or the contraction's map), biases added along the last
      dimension through a broadcast map or a broadcast generic (addmm);
    - the activation is recognised by the function it computes, whatever
      its spelling: its body is evaluated at sample points and compared
      with relu, gelu (erf), gelu (tanh approximation) and silu; a gate is
      silu (SwiGLU) or gelu (GeGLU) times the up projection, in one op or
      two;
    - an addition of the output to another tensor of its shape (the
      residual) becomes the destination bpt.ffn accumulates into;
    - reshapes that merge leading (batch and sequence) dimensions may sit
      anywhere between these ops.

    Intermediate values read by anything else stay as they are; with
    `remarks`, a contraction fed by an activation that is not raised gets a
    remark saying why.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every candidate FFN that is not raised, saying why">
  ];
  let dependentDialects = [
    "::mlir::bpt::BPTDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def BPTRaiseBlock : Pass<"bpt-raise-block"> {
  let summary = "Gather each attention -> FFN layer into a bpt.block";
  let description = [{
    For every `bpt.ffn` that depends on exactly one `bpt.attention`, moves
    the whole layer into a `bpt.block`, the unit `--bpt-blockwise` fuses per
    query block: the backward slice of the FFN's result (norms, projections,
    head reshapes and transposes, rotary embeddings, the attention, the
    out-projection and residual adds), stopping at the program's inputs, at
    the previous layer's FFN or block, and at values that do not depend on
    the program's inputs (computed weights such as transposes become block
    inputs; constants, empty tensors, their fills and bias broadcasts are
    copied in, so that broadcasts are computed per row block).

    The layer is left as it is when a value computed inside it is also read
    outside (it would need a second result) or when it holds more than one
    attention; with `remarks`, the FFN gets a remark saying why.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every FFN that does not get a block, saying why">
  ];
  let dependentDialects = ["::mlir::bpt::BPTDialect"];
}

def BPTRaise : Pass<"bpt-raise"> {
  let summary = "Raise attention, FFNs and transformer blocks into the bpt dialect";
  let description = [{
    The raising pipeline: runs `--bpt-raise-attention`, `--bpt-raise-ffn`
    and `--bpt-raise-block` over the IR a frontend produced (linalg on
    tensors), so that `--bpt-blockwise` and the
    other bpt rewrites find bpt ops. Every raised op computes what the ops
    it replaces computed; what cannot be proven so stays as it was.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every candidate that is not raised, saying why">
  ];
  let dependentDialects = [
    "::mlir::bpt::BPTDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def BPTBlockwise : Pass<"bpt-blockwise"> {
  let summary = "Rewrite bpt ops into the Blockwise Parallel Transformer loop nest";
  let description = [{
    Turns bpt ops into the loops of the Blockwise Parallel Transformer
    (Liu & Abbeel, 2023), on tensors:

    - `bpt.attention`: an `scf.forall` over (batch, query head, block of
      `q-block` queries), tiled through the op's TilingInterface; inside, an
      `scf.for` over blocks of `kv-block` keys carrying the running row max,
      the running row sum and the f32 accumulator (online softmax). Only
      `q-block x kv-block` scores exist at a time. Causal (and windowed)
      attention skips the key blocks no query of the tile sees through the
      loop bounds, and evaluates the causal test only in blocks that cross
      the diagonal. Grouped-query heads slice their shared key/value head.
    - `bpt.ffn`: an `scf.forall` over blocks of `q-block` rows, and inside an
      `scf.for` over chunks of `ffn-chunk` hidden units accumulating into
      the row block (in f32): only `q-block x ffn-chunk` of the hidden
      activation exists at a time.
    - `bpt.block`: the whole block per query block. The op producing the
      block's result is tiled over rows and its producers are fused into
      that loop by upstream tile-and-fuse (through reshapes): the attention
      with its query path, the out-projection, residuals, norms and the FFN
      run per query block; the producers of keys and values run once before
      the loop. A block that cannot be fused this way gets a remark saying
      why, and its attention and FFN are rewritten on their own.

    The result equals `--bpt-decompose` up to floating-point rounding.
  }];
  let options = [
    Option<"qBlock", "q-block", "int64_t", /*default=*/"64",
           "Query rows per block (rows per FFN block)">,
    Option<"kvBlock", "kv-block", "int64_t", /*default=*/"128",
           "Keys per block of the online-softmax loop">,
    Option<"ffnChunk", "ffn-chunk", "int64_t", /*default=*/"256",
           "Hidden units of the FFN per chunk">,
    Option<"narrowHidden", "narrow-hidden", "bool", /*default=*/"false",
           "Store each chunk of the FFN's hidden activation (computed in "
           "f32) in the input's type when that is f16 or bf16, as eager "
           "frameworks do (the GPU pipeline's tensor cores round it to that "
           "type anyway)">,
    Option<"attentionOnly", "attention-only", "bool", /*default=*/"false",
           "Rewrite only attention (memory-efficient attention): blocks are "
           "inlined unfused and FFNs keep their full hidden activation; the "
           "baseline the paper compares with">
  ];
  let dependentDialects = [
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def BPTRing : Pass<"bpt-ring", "::mlir::ModuleOp"> {
  let summary = "Ring attention: the key/value loop spread over MPI ranks";
  let description = [{
    The module is the program of one rank of a ring of `devices` MPI ranks
    (SPMD): the queries, keys and values of every `bpt.attention` hold this
    rank's shard of the sequence (with `order=contiguous`, rank r holds rows
    [r S, (r + 1) S) of the global sequence; with `order=zigzag`, chunks r
    and 2N - 1 - r of S / 2 rows, which balances causal work). Each
    attention then attends over the keys and values of all ranks, in
    `devices` steps. In step s the rank holds the block of rank r - s; it

    1. starts receiving the next block from rank r - 1 (`mpi.irecv` into
       fresh buffers) and sending the block it holds to rank r + 1
       (`mpi.isend`),
    2. computes the attention of its queries against the block it holds (a
       `bpt.attention` with the global positions and a log-sum-exp result,
       lowered by --bpt-blockwise like any other; with `causal`, a block
       that no query sees is skipped at run time) and merges it into the
       running output with the log-sum-exp,
    3. waits on the four requests (`mpi.wait`) and holds the buffers until
       then (`bpt.hold`).

    The last step communicates nothing. A `bpt.block` around an attention
    is dissolved into its body: the row-wise parts (projections, norms,
    FFN) are local to the rank and still fused and chunked by
    --bpt-blockwise op by op. The program checks at run time that it runs
    on exactly `devices` ranks. The module is marked for OpenMPI
    (`#dlti.map<"MPI:Implementation" = "OpenMPI">`) unless it names an
    implementation. Refused with an error: attentions with a mask operand or
    explicit positions, dynamic local sequence lengths, and for zigzag an
    odd local length or Sq != Sk.
  }];
  let options = [
    Option<"devices", "devices", "int64_t", /*default=*/"2",
           "Number of MPI ranks in the ring">,
    Option<"order", "order", "std::string", /*default=*/"\"contiguous\"",
           "How the sequence is laid out over the ranks: contiguous or zigzag">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::cf::ControlFlowDialect", "::mlir::DLTIDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::mpi::MPIDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

def BPTGPUAttention : Pass<"bpt-gpu-attention", "::mlir::ModuleOp"> {
  let summary = "Each bpt.attention as a tensor-core CUDA kernel (gpu.func)";
  let description = [{
    Builds, in a `gpu.module @bpt_kernels`, one kernel per distinct
    `bpt.attention` (shapes, dtypes, causal, window, scale) and replaces the
    op by a `gpu.launch_func` of it: one thread block of 4 warps per 64
    query rows of one (batch, head); Q in registers; K and V tiles of 64
    keys through shared memory; Q K^T and P V as m16n8k16 tensor-core MMAs
    (`nvgpu.mma.sync` for f16, `nvvm.mma.sync` for bf16); online softmax in
    f32 registers; tiles that causality or the window hide from the whole
    block skipped; GQA by reading key/value head h / G; mask operands (i1 or
    additive) read per score; the log-sum-exp result when the op has one.
    K and V tiles arrive by cp.async (nvgpu.device_async_copy) one tile
    ahead of their use; MMA operands come from shared memory by
    nvgpu.ldmatrix. Inputs widened from f16/bf16 by an extf generic and a
    truncf generic of the result are absorbed into the kernel.

    The operands are bufferized in place and the results are fresh buffers
    (`memref.alloc`, made device memory by --bpt-gpu-offload): the
    function's tensors live in device memory (the host program passes
    device pointers). Refused with an error: f32 operands (tensor cores take
    f16/bf16) unless `f32-inputs` is `bf16` or `f16`, dynamic shapes, head
    dimensions that are not multiples of 16 up to 256, and empty
    attentions. With `f32-inputs`, f32 queries, keys and values are rounded
    to that type (elementwise generics before the op, which run as plain
    kernels; a remark says so) and the output stays f32: the scores and
    the softmax are f32 as always, the inputs lose their low bits as under
    PyTorch's autocast. The rest of the function is left for
    --bpt-gpu-offload. Run by --bpt-gpu-pipeline.

    With `wgmma` (sm_90a kernels only), an attention of head dims 64 or
    128 also gets a Hopper kernel, launched when the rows of Q, K and V are
    16-byte aligned at run time (the other kernel runs otherwise): blocks
    of 128 query rows, two warpgroups sharing each K and V tile; Q, K and
    V arrive by TMA (`nvgpu.tma.async.load`, 128-byte swizzle, counted by
    mbarriers; K and V three tiles ahead), Q K^T and P V are warpgroup MMAs
    (`nvvm.wgmma.mma_async` m64, operands described by shared-memory
    descriptors, P V's A operand, P, in registers; the next tile's Q K^T
    runs during this tile's softmax), masking and the online softmax are
    the other kernel's.
  }];
  let options = [
    Option<"f32Inputs", "f32-inputs", "std::string", /*default=*/"\"\"",
           "Round f32 queries, keys and values to this type for the tensor "
           "cores: bf16 or f16 (default: refuse f32 inputs)">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "sm_90a: attention through TMA and warpgroup MMAs (any head dims "
           "the kernel takes, up to 256) "
           "when Q, K and V have 16-byte aligned rows at run time (not yet "
           "run on a GPU: off by default)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect", "::mlir::nvgpu::NVGPUDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def BPTExpandDeallocs : Pass<"bpt-expand-deallocs"> {
  let summary = "Lower bufferization.dealloc to pointer comparisons and memref.dealloc";
  let description = [{
    Each `bufferization.dealloc` becomes scalar code: memref i is freed
    (`scf.if` around `memref.dealloc`) when its condition holds, it is none
    of the retained memrefs and no earlier memref of the op with a true
    condition is the same buffer (aligned base pointers compared); the
    updated ownership of retained memref j is the or of the conditions of
    the memrefs that are it. Upstream's lowering
    (--convert-bufferization-to-memref) calls a helper function that stores
    the pointers in host buffers when an op frees several memrefs; a
    program whose buffers are device memory must not have host loads and
    stores, so --bpt-gpu-pipeline runs this instead.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def BPTGPUOffload : Pass<"bpt-gpu-offload", "::mlir::ModuleOp"> {
  let summary = "Run the rest of a bufferized GPU program on the GPU";
  let description = [{
    For programs whose buffers live in device memory (--bpt-gpu-pipeline,
    after --bpt-gpu-attention, bufferization and deallocation): every
    `memref.alloc` / `memref.dealloc` of a host function becomes
    `gpu.alloc` / `gpu.dealloc`, every `memref.copy` a `gpu.memcpy` (or a
    copy kernel when a side is strided), every constant buffer
    (`memref.get_global`) a device copy made at the function's entry and
    freed at its returns, and every linalg op a plain GPU
    kernel: its loop nest (linalgOpToParallelLoops) with all parallel
    dimensions collapsed into one, tiled by 256 threads per block and
    converted by SCFToGPU. This is the log-sum-exp merge of ring attention,
    fills, dtype casts, copies, norms and activations (contractions the
    tensor-core kernel below does not take run this way too, one output
    element per thread: correct, not fast). Anything else that would read
    or write device memory on the host (memref.load / store, calls, a full
    reduction with no parallel dimension) is an error naming the op.

    With `tensor-cores` (the default), each 2-D contraction (linalg.matmul,
    or a generic multiply-add over one M, N and K dimension; operands
    possibly stored transposed) with f16/bf16 operands, or one f16/bf16 and
    one f32 operand rounded to it, runs instead as a tensor-core kernel
    (64 x 64 tiles of C per block of 4 warps, K in steps of 64 staged in
    shared memory, ldmatrix and m16n8k16 MMAs, f32 accumulation, C = C +
    A B rounded once). A contraction that cannot (f32 x f32, mixed f16 and
    bf16, batched) gets a remark saying why and runs as a plain kernel.
    Dynamic sizes are read at run time. Operands of the MMA type with
    unit-stride rows arrive by cp.async, two stages deep, when their rows
    are 16-byte aligned at run time. An elementwise op that alone reads a
    zero-initialised contraction result (bias, residual, activation,
    rounding) is fused into the kernel's epilogue; the result is then never
    allocated.

    With `wgmma` as well (sm_90a kernels only), a contraction whose A is
    stored [M, K] and B [K, N], both of the MMA type with unit-stride rows,
    runs as a Hopper kernel when their rows are 16-byte aligned at run time
    (checked on the host; the kernel above runs otherwise): TMA loads
    (tensor maps made on the host by `nvgpu.tma.create.descriptor`, 128-byte
    swizzle, zero fill past the edges) of 128 x 64 boxes of A and 64 x 128
    tiles of B into three stages counted by mbarriers, warpgroup MMAs
    (`nvgpu.warpgroup.mma`, 128 x 128 tile of C per block of one
    warpgroup, f32 accumulators) with one step in flight, the result tile
    through shared memory to coalesced stores (and the fused epilogue).
  }];
  let options = [
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "Run 2-D f16/bf16 contractions as tensor-core kernels">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "With tensor-cores: TMA + warpgroup-MMA kernels (sm_90a only) for "
           "contractions of unit-stride [M, K] x [K, N] operands">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect", "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::LLVM::LLVMDialect"
  ];
}

def BPTGPUStream : Pass<"bpt-gpu-stream", "::mlir::ModuleOp"> {
  let summary = "Run a GPU program's device work on one stream per call";
  let description = [{
    After --bpt-gpu-offload every device operation of a host function is
    synchronous (a stream of its own, the host waiting for it; a launch
    without an async token is lowered so too). This puts all of a
    function's allocations, frees, copies and launches, in program order,
    on one stream made at its entry (`gpu.wait async`), each op depending
    on it, and makes the host wait once, before each `func.return`. CUDA
    runs a stream's work in order and frees stream-ordered memory only
    after the work before the free, so each kernel still sees what the ones
    before it wrote; the host of these programs never reads device memory.
    A function with any other host op that has side effects (a call, an
    MPI/NCCL exchange, a host load or store), host-shared memory or a body
    of several blocks is left unchanged, with a remark on that op saying
    why.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def BPTConvertMPIToLLVM : Pass<"bpt-convert-mpi-to-llvm", "::mlir::ModuleOp"> {
  let summary = "Lower the mpi ops of ring attention to OpenMPI calls";
  let description = [{
    Erases `bpt.hold` (run it after buffer deallocation) and converts the
    mpi dialect to LLVM calls: upstream's patterns for comm_world,
    comm_rank, send, recv, allreduce, init and finalize, and this project's
    for the non-blocking `mpi.isend` / `mpi.irecv` (MPI_Isend / MPI_Irecv of
    the buffer's bytes; contiguous buffers only), `mpi.wait` (MPI_Wait) and
    `mpi.comm_size`, for the OpenMPI ABI. Part of --bpt-cpu-pipeline.

    With `engine=nccl` (ring attention on GPUs, --bpt-ring-gpu-pipeline)
    the buffers are device memory and the point-to-point transfers go
    through NCCL instead: each run of consecutive `mpi.isend` / `mpi.irecv`
    becomes one NCCL group (`bptNcclGroupStart`, `bptNcclIsend` /
    `bptNcclIrecv` of the buffer's bytes, `bptNcclGroupEnd`, which enqueues
    the transfers on a communication stream and returns at once), and
    `mpi.wait` waits for the group's transfers (`bptNcclWait`). NCCL has no
    tags: transfers between two ranks match in the order they are issued,
    which is the ring's order. The communicator is made on first use from
    MPI_COMM_WORLD (runtime/nccl/bpt_nccl_runtime.c); rank and size still
    come from MPI.
  }];
  let options = [
    Option<"engine", "engine", "std::string", /*default=*/"\"mpi\"",
           "Transport of mpi.isend / mpi.irecv / mpi.wait: mpi (host "
           "buffers, OpenMPI) or nccl (device buffers, NCCL)">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def BPTReassociateReductions : Pass<"bpt-reassociate-reductions"> {
  let summary = "Allow the arithmetic of linalg reductions to be reassociated";
  let description = [{
    Sets the `reassoc` and `contract` fast-math flags on the floating-point
    arithmetic in the bodies of linalg ops that have reduction loops
    (contractions, row sums, row maxima). LLVM may then vectorise those
    reductions and fuse multiply-adds, which changes only the order in which
    terms are summed: the result changes by rounding, never by more. Other
    arithmetic keeps strict IEEE semantics.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def BPTApproximateMath : Pass<"bpt-approximate-math"> {
  let summary = "Replace exp, log, tanh and erf by polynomial approximations";
  let description = [{
    Rewrites `math.exp`, `math.log`, `math.tanh` and `math.erf` on f32 into
    the polynomial approximations of upstream MLIR (a few ulp of error,
    far below the tolerances of the tests). They are plain arithmetic, so
    LLVM vectorises the loops around them instead of calling libm once per
    element, which dominates attention on the CPU (one exp per score).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"
  ];
}

def BPTVectorizeContractions : Pass<"bpt-vectorize-contractions"> {
  let summary = "Register-tile and vectorise contractions on tensors";
  let description = [{
    For every contraction on tensors (upstream's contraction interface:
    `linalg.matmul`, batched forms, and `linalg.generic` multiply-adds,
    operands possibly extended from f16/bf16) whose output's last dimension
    `j` is also the last, contiguous, dimension of the operand it indexes
    (`C[i, j] += A[i, k] B[k, j]`):

    1. loops of static extent 1 are dropped (rank-reducing slices around
       the op), so the batch and head loops of a query-block tile vanish;
    2. the op is tiled (upstream TilingInterface, scf.for) to tiles of
       `m-tile` x `n-tile` of C with the reduction loops innermost, one
       step each;
    3. each tile is vectorised by upstream linalg vectorisation, with masks
       where the sizes are not multiples of the tiles, into one
       `vector.contract`;
    4. the C tile is hoisted out of the reduction loop and carried through
       it as a vector (upstream loop-invariant subset hoisting).

    `convert-vector-to-llvm` with outer-product contraction lowering (as
    --bpt-cpu-pipeline runs it) then turns each step into a broadcast of
    A[i, k] per row and one FMA per vector of C. Contractions whose operand
    is not contiguous along `j` (dot-product form) are left unchanged for
    the loop lowering. Only the order of the sums changes (one FMA per
    term): results differ from the loop lowering by rounding.
  }];
  let options = [
    Option<"mTile", "m-tile", "int64_t", /*default=*/"8",
           "Rows of C per register tile">,
    Option<"nTile", "n-tile", "int64_t", /*default=*/"32",
           "Columns of C per register tile (a multiple of the vector width: "
           "16 f32 lanes with AVX-512)">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"
  ];
}

def BPTInnermostContiguousLoop : Pass<"bpt-innermost-contiguous-loop"> {
  let summary = "Order the loops of linalg.generic for unit-stride inner loops";
  let description = [{
    Before linalg ops become loops, makes innermost the loop that indexes
    the last (contiguous) dimension of the most operands of each
    `linalg.generic`, keeping the order of the other loops. A matmul
    `C[m, n] += A[m, k] B[k, n]` thus runs `n` innermost (B and C read with
    unit stride) instead of the reduction `k` (B read with stride n), while
    a dot-product form `S[i, j] += Q[i, e] K[j, e]` keeps `e` innermost. The
    innermost loop is then the one LLVM vectorises.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def BPTInlineAllocaScopes : Pass<"bpt-inline-alloca-scopes"> {
  let summary = "Inline memref.alloca_scope regions that hold no alloca";
  let description = [{
    `convert-scf-to-openmp` wraps every parallel loop body in a
    `memref.alloca_scope`, which must keep a single block, so the loops
    inside it could not be lowered to control flow afterwards. A scope
    without `memref.alloca` has nothing to release: its body is moved into
    the parent and the scope removed.
  }];
}

def BPTDeallocAfterLastUse : Pass<"bpt-dealloc-after-last-use"> {
  let summary = "Move each buffer's deallocation right after its last use";
  let description = [{
    The ownership-based deallocation pipeline frees a buffer at the end of
    the block that allocated it, so every buffer of a function lives until
    its return and the peak memory is the sum of them all. For each
    unconditional `memref.dealloc` of a `memref.alloc` of the same block,
    this finds the last op of that block that uses the buffer or any of its
    aliases (views, casts, loop-carried values: upstream
    BufferViewFlowAnalysis) and moves the deallocation right after it.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def BPTEmitCInterface : Pass<"bpt-emit-c-interface", "::mlir::ModuleOp"> {
  let summary = "Mark public functions for the C interface of the LLVM lowering";
  let description = [{
    Adds `llvm.emit_c_interface` to every public `func.func` with a body, so
    that `convert-func-to-llvm` also emits `_mlir_ciface_<name>`, the entry
    point that takes memref descriptors by pointer. Compiled programs are
    called through it from C, C++ and Python (ctypes).
  }];
}

#endif // BPT_DIALECT_BPT_TRANSFORMS_PASSES_TD
