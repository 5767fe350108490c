//===- GPUContraction.cpp - Contractions as tensor-core kernels -----------===//
//
// The projections and the FFN of a GPU program reach --bpt-gpu-offload as
// linalg contractions on buffers (linalg.matmul, or a generic whose body is
// a multiply-add, with the f16 -> f32 widening of the blockwise FFN). This
// runs each 2-D one, C[M, N] += A[M, K] B[K, N] (any operand may be stored
// transposed), as a tensor-core kernel instead of the plain
// one-element-per-thread kernel:
//
//   grid   (ceil(N / 64), ceil(M / 64)), 128 threads = 4 warps; the block
//          computes a 64 x 64 tile of C, warp w its rows [16 w, +16)
//   loop   over K in steps of 64: the block stages the A and B tiles in
//          shared memory (coalesced element loads, converted to the MMA's
//          16-bit type, zero past K; swizzled 16-byte chunks), a barrier,
//          then per k16 step one ldmatrix.x4 of A and four ldmatrix.x4.trans
//          of B feed eight m16n8k16 MMAs into f32 accumulators, a barrier
//          before the next tiles overwrite these
//   end    C = C + acc, rounded once to C's type, for elements inside C
//
// The operands are passed as views with dynamic strides and offset
// (memref.transpose first for a transposed operand), so chunks and
// subviews of larger buffers need no copy. One kernel per (M, N, K, types);
// a dynamic size (the last chunk of an FFN whose hidden size the chunk
// does not divide) is read from the operands at run time.
//
// The accumulation is in f32 whatever C's type (linalg.matmul on f16
// buffers accumulates in f16 when taken literally; cuBLAS and PyTorch do as
// this kernel does). An f32 operand meeting an f16/bf16 one (the blockwise
// FFN's hidden activation) is rounded to that type when staged, as
// FlashAttention rounds P before P V.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "TensorCoreBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;
using namespace mlir::bpt;

namespace {

constexpr int64_t kTile = 64; // rows and columns of C per block; K step
constexpr int64_t kWarps = 4; // each owns 16 rows of the tile
constexpr int64_t kThreads = 32 * kWarps;

// The sm_90a kernel: one warpgroup (kThreads) computes a 128 x 128 tile of
// C; K in steps of 64, kWgStages of them in flight. A stage holds A's
// 128 x 64 box and B's 64 x 128 tile as two 64 x 64 boxes (a TMA box with
// the 128-byte swizzle spans at most 128 bytes of a row), all swizzled so.
constexpr int64_t kWgTile = 128;
constexpr int64_t kWgStages = 3;
constexpr int64_t kWgBoxBytes = kTile * kTile * 2; // one 64 x 64 box
constexpr int64_t kWgStageBytes = 4 * kWgBoxBytes;
// The f32 result tile, rows padded by 4 words (conflict-free stores),
// reuses the stages once the loop is done.
constexpr int64_t kWgPitch = kWgTile + 4;
static_assert(kWgTile * kWgPitch * 4 <= kWgStages * kWgStageBytes,
              "the result tile fits in the stages");
// The 128-byte swizzle repeats every 1024 bytes: tiles start at multiples
// of 1024 bytes from an aligned base, found at run time (the mbarriers are
// static shared memory, which comes before the dynamic part).
constexpr int64_t kWgAlign = 1024;
constexpr int64_t kWgSharedBytes = kWgStages * kWgStageBytes + kWgAlign;

/// What one contraction kernel is specialised on.
struct ContractionSpec {
  int64_t m, n, k;
  Type a, b, c; // element types as stored
  Type in;      // the MMA's operand type (f16 or bf16)
  // A and B are of the MMA type with unit-stride rows: their tiles may
  // arrive by cp.async (when aligned at run time).
  bool async = false;
  // An elementwise op applied to C (zero-initialised, used by nothing
  // else) in the kernel's epilogue: the kernel stores its result instead of
  // C (argument 2); its operand `epilogueC` is C, its other inputs follow
  // the kernel's three arguments. Such kernels are not shared.
  linalg::GenericOp epilogue;
  unsigned epilogueC = 0;
  // The sm_90a kernel: TMA loads, warpgroup MMAs (see buildWarpgroup).
  bool wgmma = false;

  std::string name() const {
    std::string s;
    llvm::raw_string_ostream os(s);
    auto size = [&](int64_t v) {
      if (ShapedType::isDynamic(v))
        os << "d";
      else
        os << v;
    };
    os << "bpt_matmul_m";
    size(m);
    os << "_n";
    size(n);
    os << "_k";
    size(k);
    os << "_" << a << "x" << b << "_" << c << (async ? "_async" : "")
       << (wgmma ? "_wgmma" : "");
    return s;
  }
};

/// A contraction as C[M, N] += A[M, K] B[K, N]: its operands and whether
/// each is stored transposed.
struct Contraction {
  ContractionSpec spec;
  Value a, b, c;
  bool transposeA, transposeB, transposeC;
};

/// `v` or, through an arith.extf, the block argument it widens.
static Value throughExt(Value v) {
  if (auto ext = v.getDefiningOp<arith::ExtFOp>())
    return ext.getIn();
  return v;
}

/// Whether the body of `op` yields out + ext(a) * ext(b).
static bool isMulAdd(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  if (body->getNumArguments() != 3)
    return false;
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto addOp = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!addOp)
    return false;
  Value out = body->getArgument(2);
  Value product = addOp.getLhs() == out   ? addOp.getRhs()
                  : addOp.getRhs() == out ? addOp.getLhs()
                                          : Value();
  auto mulOp = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mulOp)
    return false;
  Value x = throughExt(mulOp.getLhs()), y = throughExt(mulOp.getRhs());
  Value a = body->getArgument(0), b = body->getArgument(1);
  return (x == a && y == b) || (x == b && y == a);
}

/// The two loop dimensions `map` (a projected permutation) reads, or
/// failure.
static FailureOr<std::pair<unsigned, unsigned>> dimsOf(AffineMap map) {
  if (map.getNumResults() != 2 || !map.isProjectedPermutation())
    return failure();
  return std::make_pair(map.getDimPosition(0), map.getDimPosition(1));
}

/// Whether an operand read through `map` is stored as (first, second)
/// (false), as (second, first) (true), or neither (failure).
static FailureOr<bool> transposed(AffineMap map, unsigned first,
                                  unsigned second) {
  FailureOr<std::pair<unsigned, unsigned>> dims = dimsOf(map);
  if (failed(dims))
    return failure();
  if (*dims == std::make_pair(first, second))
    return false;
  if (*dims == std::make_pair(second, first))
    return true;
  return failure();
}

/// `op` as a tensor-core contraction. Failure with an empty `why`: `op` is
/// no contraction; with a reason: a contraction the kernel does not take.
static FailureOr<Contraction> matchContraction(linalg::LinalgOp op,
                                               std::string &why) {
  why.clear();
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op) ||
      !isMulAdd(op))
    return failure();
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims))
    return failure();
  if (!dims->batch.empty() || dims->m.size() != 1 || dims->n.size() != 1 ||
      dims->k.size() != 1) {
    why = "only 2-D contractions (one M, N and K dimension, no batch) run "
          "on tensor cores";
    return failure();
  }
  unsigned m = dims->m[0], n = dims->n[0], k = dims->k[0];
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  FailureOr<bool> ta = transposed(maps[0], m, k),
                  tb = transposed(maps[1], k, n),
                  tc = transposed(maps[2], m, n);
  if (failed(ta) || failed(tb) || failed(tc)) {
    why = "an operand is not a 2-D matrix of the contraction's dimensions";
    return failure();
  }
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges[m] == 0 || ranges[n] == 0 || ranges[k] == 0) {
    why = "empty contraction";
    return failure();
  }
  auto elem = [](Value v) {
    return cast<MemRefType>(v.getType()).getElementType();
  };
  Value a = op.getDpsInputOperand(0)->get(),
        b = op.getDpsInputOperand(1)->get(), c = op.getDpsInitOperand(0)->get();
  Type ea = elem(a), eb = elem(b), ec = elem(c);
  auto half = [](Type t) { return t.isF16() || t.isBF16(); };
  auto supported = [&](Type t) { return half(t) || t.isF32(); };
  if (!supported(ea) || !supported(eb) || !supported(ec)) {
    why = "tensor cores take f16, bf16 or f32 buffers here";
    return failure();
  }
  Type in;
  if (half(ea) && (eb == ea || eb.isF32()))
    in = ea;
  else if (half(eb) && ea.isF32())
    in = eb;
  if (!in) {
    why = ea.isF32() && eb.isF32()
              ? "both operands are f32 (tensor cores multiply f16 or bf16)"
              : "the operands mix f16 and bf16";
    return failure();
  }
  Contraction match;
  match.spec.m = ranges[m];
  match.spec.n = ranges[n];
  match.spec.k = ranges[k];
  match.spec.a = ea;
  match.spec.b = eb;
  match.spec.c = ec;
  match.spec.in = in;
  match.a = a;
  match.b = b;
  match.c = c;
  match.transposeA = *ta;
  match.transposeB = *tb;
  match.transposeC = *tc;
  return match;
}

/// What fusing an elementwise consumer into the contraction's epilogue
/// removes.
struct Epilogue {
  linalg::GenericOp consumer;
  unsigned cOperand;     // C's operand number in the consumer
  memref::AllocOp alloc; // C
  linalg::FillOp fill;   // C = 0
  SmallVector<memref::DeallocOp> deallocs;
};

/// The buffer `v` is a view of (through subviews, casts, reshapes and
/// transposes).
static Value baseBuffer(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// Whether `v` is an arith constant zero.
static bool isZero(Value v) {
  auto cst = v.getDefiningOp<arith::ConstantOp>();
  auto f = cst ? dyn_cast<FloatAttr>(cst.getValue()) : FloatAttr();
  return f && f.getValue().isZero();
}

/// The elementwise op `op`'s result C feeds, when it can run in the
/// contraction's epilogue: C is a buffer of its own, set to zero before the
/// contraction and read by nothing but that op (identity map, 2-D, every
/// other operand read through a projected permutation, a body of pure
/// ops), its output an allocated buffer other than A's and B's (the kernel
/// writes it while other blocks still read those), and what runs between
/// the contraction and that op writes no buffer (deallocations, which move
/// after the fused launch, aside).
static FailureOr<Epilogue> matchEpilogue(linalg::LinalgOp op,
                                         const Contraction &match) {
  auto alloc = match.c.getDefiningOp<memref::AllocOp>();
  if (!alloc || match.transposeC || alloc->getBlock() != op->getBlock())
    return failure();
  Epilogue e;
  e.alloc = alloc;
  for (Operation *user : alloc->getUsers()) {
    if (user == op.getOperation())
      continue;
    if (auto fill = dyn_cast<linalg::FillOp>(user)) {
      if (e.fill || fill->getBlock() != op->getBlock() ||
          !fill->isBeforeInBlock(op) || !isZero(fill.value()))
        return failure();
      e.fill = fill;
    } else if (auto dealloc = dyn_cast<memref::DeallocOp>(user)) {
      e.deallocs.push_back(dealloc);
    } else if (auto generic = dyn_cast<linalg::GenericOp>(user)) {
      if (e.consumer)
        return failure();
      e.consumer = generic;
    } else {
      return failure();
    }
  }
  linalg::GenericOp g = e.consumer;
  if (!e.fill || !g || g->getBlock() != op->getBlock() ||
      !op->isBeforeInBlock(g) || g.getNumLoops() != 2 ||
      g.getNumParallelLoops() != 2 || g.getNumDpsInits() != 1 ||
      !g.hasPureBufferSemantics())
    return failure();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, g.getContext());
  if (g.getMatchingIndexingMap(g.getDpsInitOperand(0)) != id ||
      g.getDpsInitOperand(0)->get() == match.c)
    return failure();
  // The kernel writes the op's output while other blocks still read A and
  // B: the output must be a buffer of its own, allocated, none of theirs.
  Value out = baseBuffer(g.getDpsInitOperand(0)->get());
  if (!out.getDefiningOp<memref::AllocOp>() || out == baseBuffer(match.a) ||
      out == baseBuffer(match.b))
    return failure();
  unsigned reads = 0;
  for (OpOperand *in : g.getDpsInputOperands()) {
    AffineMap map = g.getMatchingIndexingMap(in);
    if (in->get() == match.c) {
      ++reads;
      e.cOperand = in->getOperandNumber();
      if (map != id)
        return failure();
    } else if (!map.isProjectedPermutation()) {
      return failure();
    }
  }
  if (reads != 1)
    return failure();
  for (Operation &bodyOp : g.getBlock()->without_terminator()) {
    if (bodyOp.getNumRegions() != 0 ||
        (!isPure(&bodyOp) && !isa<linalg::IndexOp>(bodyOp)))
      return failure();
    // Values from above the body must be constants (cloned into the
    // kernel).
    for (Value v : bodyOp.getOperands())
      if (!g->isAncestor(v.getParentBlock()->getParentOp()) &&
          !matchPattern(v, m_Constant()))
        return failure();
  }
  for (Operation *between = op->getNextNode(); between != g.getOperation();
       between = between->getNextNode())
    if (!isa<memref::DeallocOp, memref::AllocOp>(between) && !isPure(between))
      return failure();
  return e;
}

/// The tensor map of `rows` x 64 boxes of `elem` the sm_90a kernel loads
/// (128-byte swizzle, zero past the edges).
static nvgpu::TensorMapDescriptorType tensorMapType(Type elem, int64_t rows,
                                                    Attribute workgroup) {
  return swizzledBoxMapType(elem, {rows, kTile}, workgroup);
}

/// Emits the body of the kernel of `spec` into `func`.
class ContractionBuilder : public TensorCoreBuilder {
public:
  ContractionBuilder(OpBuilder &b, Location loc, const ContractionSpec &spec)
      : TensorCoreBuilder(b, loc, spec.in), s(spec) {}

  void build(gpu::GPUFuncOp func);
  /// The sm_90a kernel of `spec`: arguments A's and B's TMA descriptors,
  /// C (or the epilogue's output and inputs), then M, N and K.
  void buildWarpgroup(gpu::GPUFuncOp func);

private:
  /// Stores the f32 sum `x` of C's element (row, col): C + x, or the fused
  /// epilogue's value, in C's type; nothing outside C with `partial`.
  void storeResult(gpu::GPUFuncOp func, Value x, Value row, Value col,
                   bool partial);
  /// Issues the TMA loads of K step `step` into stage `stage` (thread 0,
  /// when `pred`): A's box at (m0, k0), B's two at (k0, n0) and
  /// (k0, n0 + 64), all counted on the stage's mbarrier.
  void loadStage(Value smem, Value base, Value bars, Value aMap, Value bMap,
                 Value step, Value stage, Value pred);
  /// A static `rows` x `cols` view of `elem` at `byteShift` of `smem`.
  Value view(Value smem, Type elem, Value byteShift, int64_t rows,
             int64_t cols);
  /// Stages the kTile x kTile tile of `src` at (row0, col0) into `dst`
  /// (element (r, c) of the tile at row r, swizzled column c): each thread
  /// copies column tid % 64 of every other row; elements past `rows` or
  /// `cols` read the last ones, and with `zeroRows` / `zeroCols` (the K
  /// edge) are zero.
  void stage(Value src, Type elem, Value dst, Value row0, Value col0,
             Value rows, Value cols, bool zeroRows, bool zeroCols);
  /// Issues the cp.async copies of the kTile x kTile tile of `src` at
  /// (row0, col0) into `dst` (16-byte chunks, swizzled): chunks past `cols`
  /// are zero-filled (partly for the one that straddles it), rows past
  /// `rows` read the last one or, with `zeroRows` (B's K edge), are zero.
  /// Returns the copies' tokens.
  SmallVector<Value> stageAsync(Value src, Value dst, Value row0, Value col0,
                                Value rows, Value cols, bool raggedRows,
                                bool raggedCols, bool zeroRows);
  /// The MMAs of one K step from the shared tiles `aS` and `bS` into `acc`.
  void multiply(Value aS, Value bS, SmallVectorImpl<Value> &acc);
  /// The loop over K steps, single-stage, the tiles staged by plain loads;
  /// returns the accumulators.
  SmallVector<Value> plainLoop(Value smem);
  /// The loop over K steps with two stages, the tiles copied by cp.async
  /// one step ahead; returns the accumulators.
  SmallVector<Value> asyncLoop(Value smem);
  /// A 64 x 64 tile view of `smem` at `byteShift`.
  Value view(Value smem, Type elem, Value byteShift);
  /// The fused epilogue's value at (row, col) from the f32 sum `acc`: its
  /// body, cloned, reads C as `acc` in C's type and its other inputs from
  /// the kernel's arguments 3 and on.
  Value applyEpilogue(gpu::GPUFuncOp func, Value acc, Value row, Value col);
  /// Dimension `dim` of `memref`: a constant when static.
  Value size(Value memref, unsigned dim, int64_t v) {
    if (!ShapedType::isDynamic(v))
      return idx(v);
    return memref::DimOp::create(b, loc, memref, dim);
  }
  Value last(Value v) { return arith::SubIOp::create(b, loc, v, idx(1)); }
  /// Whether a size may leave a partial tile.
  static bool ragged(int64_t v) {
    return ShapedType::isDynamic(v) || v % kTile != 0;
  }

  const ContractionSpec &s;
  // Set up by build() for the loops.
  Value aG, bG, m, n, k, m0, n0, tid, warp, laneRow, laneMat, kSteps;
};

void ContractionBuilder::stage(Value src, Type elem, Value dst, Value row0,
                               Value col0, Value rows, Value cols,
                               bool zeroRows, bool zeroCols) {
  constexpr int64_t rowsPerPass = kThreads / kTile;
  Value c = remui(tid, kTile);
  Value chunkCol = mul(divui(c, 8), idx(8)), inChunk = remui(c, 8);
  Value gc = add(col0, c);
  Value srcCol = minIdx(gc, last(cols));
  Value zero = arith::ConstantOp::create(b, loc, s.in, b.getZeroAttr(s.in));
  for (int64_t pass = 0; pass < kTile / rowsPerPass; ++pass) {
    Value r = add(divui(tid, kTile), idx(pass * rowsPerPass));
    Value gr = add(row0, r);
    Value v = memref::LoadOp::create(
        b, loc, src, ValueRange{minIdx(gr, last(rows)), srcCol});
    if (elem != s.in)
      v = arith::TruncFOp::create(b, loc, s.in, v);
    Value inside;
    if (zeroRows)
      inside = lessThan(gr, rows);
    if (zeroCols) {
      Value ok = lessThan(gc, cols);
      inside = inside ? arith::AndIOp::create(b, loc, inside, ok) : ok;
    }
    if (inside)
      v = arith::SelectOp::create(b, loc, inside, v, zero);
    memref::StoreOp::create(
        b, loc, v, dst,
        ValueRange{r, add(swizzle(r, chunkCol, kTile), inChunk)});
  }
}

Value ContractionBuilder::view(Value smem, Type elem, Value byteShift) {
  return view(smem, elem, byteShift, kTile, kTile);
}

Value ContractionBuilder::view(Value smem, Type elem, Value byteShift,
                               int64_t rows, int64_t cols) {
  auto ty = MemRefType::get({rows, cols}, elem, AffineMap(),
                            workgroupSpace(b.getContext()));
  return memref::ViewOp::create(b, loc, ty, smem, byteShift, ValueRange{});
}

Value ContractionBuilder::applyEpilogue(gpu::GPUFuncOp func, Value acc,
                                        Value row, Value col) {
  linalg::GenericOp g = s.epilogue;
  Block *body = g.getBlock();
  IRMapping map;
  unsigned next = 3;
  for (OpOperand &operand : g->getOpOperands()) {
    BlockArgument arg = body->getArgument(operand.getOperandNumber());
    if (operand.getOperandNumber() == s.epilogueC) {
      // C's value in C's type, as the op would have read it.
      Value c = acc;
      if (arg.getType() != f32)
        c = arith::TruncFOp::create(b, loc, arg.getType(), c);
      map.map(arg, c);
      continue;
    }
    bool isInit = g.isDpsInit(&operand);
    Value src = isInit ? func.getArgument(2) : func.getArgument(next++);
    if (arg.use_empty())
      continue;
    AffineMap indexing = g.getMatchingIndexingMap(&operand);
    SmallVector<Value> indices;
    for (unsigned i = 0; i < indexing.getNumResults(); ++i)
      indices.push_back(indexing.getDimPosition(i) == 0 ? row : col);
    map.map(arg, memref::LoadOp::create(b, loc, src, indices).getResult());
  }
  for (Operation &op : body->without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      map.map(index.getResult(), index.getDim() == 0 ? row : col);
      continue;
    }
    for (Value v : op.getOperands())
      if (!map.contains(v) && v.getParentBlock() != body)
        b.clone(*v.getDefiningOp(), map); // a constant from above
    b.clone(op, map);
  }
  return map.lookup(cast<linalg::YieldOp>(body->getTerminator()).getOperand(0));
}

SmallVector<Value>
ContractionBuilder::stageAsync(Value src, Value dst, Value row0, Value col0,
                               Value rows, Value cols, bool raggedRows,
                               bool raggedCols, bool zeroRows) {
  Type tokenTy = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  constexpr int64_t chunksPerRow = kTile / 8;
  SmallVector<Value> tokens;
  // The last 16-byte aligned column: the source of chunks past the edge
  // (which copy no byte of it).
  Value lastChunk = raggedCols ? mul(divui(last(cols), 8), idx(8)) : Value();
  for (int64_t it = 0; it < kTile * chunksPerRow / kThreads; ++it) {
    Value chunk = add(tid, idx(it * kThreads));
    Value r = divui(chunk, chunksPerRow);
    Value c = mul(remui(chunk, chunksPerRow), idx(8));
    Value gr = add(row0, r), gc = add(col0, c);
    Value srcRow = raggedRows ? minIdx(gr, last(rows)) : gr;
    Value srcCol = raggedCols ? minIdx(gc, lastChunk) : gc;
    // Elements copied from the source; the rest of the 16 bytes are zero.
    Value count;
    if (raggedCols) {
      Value left = arith::SubIOp::create(b, loc, cols, gc);
      count = arith::MaxSIOp::create(b, loc, minIdx(left, idx(8)), idx(0));
    }
    if (zeroRows && raggedRows)
      count = arith::SelectOp::create(b, loc, lessThan(gr, rows),
                                      count ? count : idx(8), idx(0));
    tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, loc, tokenTy, dst, ValueRange{r, swizzle(r, c, kTile)}, src,
        ValueRange{srcRow, srcCol}, b.getIndexAttr(8), count, b.getUnitAttr()));
  }
  return tokens;
}

void ContractionBuilder::multiply(Value aS, Value bS,
                                  SmallVectorImpl<Value> &acc) {
  constexpr int64_t nTiles = kTile / 8;
  for (int64_t ks = 0; ks < kTile / 16; ++ks) {
    // A: the warp's 16 x 16 block.
    Value aFrag =
        aFragment(aS, laneRow, laneMat, mul(warp, idx(16)), 16 * ks, kTile);
    // B (stored k-major) with .trans: matrices (k 16 ks + 8 (m % 2),
    // columns 8 (n + m / 2)), two n8 tiles per x4.
    Value bRow =
        add(add(laneRow, mul(remui(laneMat, 2), idx(8))), idx(16 * ks));
    for (int64_t nt = 0; nt < nTiles; nt += 2) {
      Value bCol = add(mul(divui(laneMat, 2), idx(8)), idx(8 * nt));
      SmallVector<Value> frags = ldmatrix(bS, bRow, swizzle(bRow, bCol, kTile),
                                          /*transpose=*/true, 4);
      acc[nt] = mma(aFrag, frags[0], acc[nt]);
      acc[nt + 1] = mma(aFrag, frags[1], acc[nt + 1]);
    }
  }
}

static SmallVector<Value> zeroAccumulators(OpBuilder &b, Location loc) {
  auto accTy = VectorType::get({2, 2}, b.getF32Type());
  Value zero = arith::ConstantOp::create(b, loc, accTy, b.getZeroAttr(accTy));
  return SmallVector<Value>(kTile / 8, zero);
}

SmallVector<Value> ContractionBuilder::plainLoop(Value smem) {
  Value aS = view(smem, b.getF16Type(), idx(0));
  Value bS = view(smem, b.getF16Type(), idx(kTile * kTile * 2));
  Value aIn = s.in.isF16() ? aS : view(smem, s.in, idx(0));
  Value bIn = s.in.isF16() ? bS : view(smem, s.in, idx(kTile * kTile * 2));
  bool raggedK = ragged(s.k);
  auto loop = scf::ForOp::create(b, loc, idx(0), kSteps, idx(1),
                                 zeroAccumulators(b, loc));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value k0 = mul(loop.getInductionVar(), idx(kTile));
  SmallVector<Value> acc(loop.getRegionIterArgs());
  stage(aG, s.a, aIn, m0, k0, m, k, /*zeroRows=*/false,
        /*zeroCols=*/raggedK);
  stage(bG, s.b, bIn, k0, n0, k, n, /*zeroRows=*/raggedK,
        /*zeroCols=*/false);
  gpu::BarrierOp::create(b, loc);
  multiply(aS, bS, acc);
  // Every warp is done with the tiles before the next step overwrites
  // them.
  gpu::BarrierOp::create(b, loc);
  scf::YieldOp::create(b, loc, acc);
  return SmallVector<Value>(loop.getResults());
}

SmallVector<Value> ContractionBuilder::asyncLoop(Value smem) {
  // Stage st holds A at st * 16 KiB and B 8 KiB after it; cp.async writes
  // them through views of the MMA type, ldmatrix reads f16 views.
  constexpr int64_t stageBytes = 2 * kTile * kTile * 2;
  auto tiles = [&](Value st, Type elem) {
    Value base = mul(st, idx(stageBytes));
    return std::make_pair(view(smem, elem, base),
                          view(smem, elem, add(base, idx(stageBytes / 2))));
  };
  Type tokenTy = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  auto copyStep = [&](Value step, Value st) {
    auto [aIn, bIn] = tiles(st, s.in);
    Value k0 = mul(step, idx(kTile));
    SmallVector<Value> tokens =
        stageAsync(aG, aIn, m0, k0, m, k, ragged(s.m), ragged(s.k),
                   /*zeroRows=*/false);
    tokens.append(stageAsync(bG, bIn, k0, n0, k, n, ragged(s.k), ragged(s.n),
                             /*zeroRows=*/true));
    return nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenTy, tokens)
        .getResult();
  };
  // Prologue: step 0 into stage 0.
  Value first = copyStep(idx(0), idx(0));
  auto loop = scf::ForOp::create(b, loc, idx(0), kSteps, idx(1),
                                 zeroAccumulators(b, loc));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    SmallVector<Value> acc(loop.getRegionIterArgs());
    // Step t + 1 flies into the other stage while step t is multiplied
    // (the last step copies itself again there, so that every step commits
    // one group and waiting for all but one means the same thing).
    Value next = minIdx(add(t, idx(1)), last(kSteps));
    Value group = copyStep(next, remui(add(t, idx(1)), 2));
    nvgpu::DeviceAsyncWaitOp::create(b, loc, group, b.getI32IntegerAttr(1));
    gpu::BarrierOp::create(b, loc);
    auto [aS, bS] = tiles(remui(t, 2), b.getF16Type());
    multiply(aS, bS, acc);
    // Every warp is done with stage t % 2 before step t + 2 lands there.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, acc);
  }
  // The extra copy of the last step lands before the block exits.
  nvgpu::DeviceAsyncWaitOp::create(b, loc, first, b.getI32IntegerAttr(0));
  return SmallVector<Value>(loop.getResults());
}

void ContractionBuilder::build(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  aG = entry.getArgument(0);
  bG = entry.getArgument(1);
  Value smem = func.getWorkgroupAttributions()[0];

  Type idxTy = b.getIndexType();
  tid = gpu::ThreadIdOp::create(b, loc, idxTy, gpu::Dimension::x);
  n0 =
      mul(gpu::BlockIdOp::create(b, loc, idxTy, gpu::Dimension::x), idx(kTile));
  m0 =
      mul(gpu::BlockIdOp::create(b, loc, idxTy, gpu::Dimension::y), idx(kTile));
  warp = divui(tid, 32);
  Value lane = remui(tid, 32);
  Value g = divui(lane, 4), tig = remui(lane, 4);
  m = size(aG, 0, s.m);
  k = size(aG, 1, s.k);
  n = size(bG, 1, s.n);
  // Lane l of ldmatrix.x4 addresses row l % 8 of 8x8 matrix l / 8.
  laneRow = remui(lane, 8);
  laneMat = divui(lane, 8);
  kSteps = ShapedType::isDynamic(s.k)
               ? arith::CeilDivUIOp::create(b, loc, k, idx(kTile)).getResult()
               : idx((s.k + kTile - 1) / kTile);

  constexpr int64_t nTiles = kTile / 8;
  SmallVector<Value> results;
  if (s.async) {
    // cp.async moves 16-byte chunks: rows of A and B must start 16-byte
    // aligned (known only at run time for views of larger buffers);
    // otherwise the plain loop runs.
    Value ok = arith::AndIOp::create(b, loc, rowsAligned16(b, loc, aG),
                                     rowsAligned16(b, loc, bG));
    SmallVector<Type> types(nTiles, VectorType::get({2, 2}, f32));
    auto ifOp = scf::IfOp::create(b, loc, types, ok, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, loc, asyncLoop(smem));
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, loc, plainLoop(smem));
    }
    results.assign(ifOp.getResults().begin(), ifOp.getResults().end());
  } else {
    results = plainLoop(smem);
  }

  // C = C + acc (or the fused epilogue's result): lane (g, tig) holds rows
  // g and g + 8 of the warp, columns 2 tig + {0, 1} of each n8 tile.
  bool partial = ragged(s.m) || ragged(s.n);
  Value row0 = add(add(m0, mul(warp, idx(16))), g);
  for (int64_t nt = 0; nt < nTiles; ++nt) {
    for (int64_t r = 0; r < 2; ++r) {
      Value row = add(row0, idx(8 * r));
      for (int64_t cc = 0; cc < 2; ++cc) {
        Value col = add(add(n0, mul(tig, idx(2))), idx(8 * nt + cc));
        Value x = vector::ExtractOp::create(b, loc, results[nt],
                                            ArrayRef<int64_t>{r, cc});
        storeResult(func, x, row, col, partial);
      }
    }
  }
  gpu::ReturnOp::create(b, loc);
}

void ContractionBuilder::storeResult(gpu::GPUFuncOp func, Value x, Value row,
                                     Value col, bool partial) {
  Value cG = func.getArgument(2);
  // Threads outside C read its last element (never stored).
  Value rowIn = minIdx(row, last(m)), colIn = minIdx(col, last(n));
  if (s.epilogue) {
    x = applyEpilogue(func, x, rowIn, colIn);
  } else {
    Value old = memref::LoadOp::create(b, loc, cG, ValueRange{rowIn, colIn});
    if (s.c != f32)
      old = arith::ExtFOp::create(b, loc, f32, old);
    x = arith::AddFOp::create(b, loc, old, x);
    if (s.c != f32)
      x = arith::TruncFOp::create(b, loc, s.c, x);
  }
  OpBuilder::InsertionGuard guard(b);
  if (partial) {
    Value inside =
        arith::AndIOp::create(b, loc, lessThan(row, m), lessThan(col, n));
    auto ifOp = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
    b.setInsertionPointToStart(ifOp.thenBlock());
  }
  memref::StoreOp::create(b, loc, x, cG, ValueRange{row, col});
}

void ContractionBuilder::loadStage(Value smem, Value base, Value bars,
                                   Value aMap, Value bMap, Value step,
                                   Value stage, Value pred) {
  Value aBox = view(smem, s.in, base, kWgTile, kTile);
  Value bLo = view(smem, s.in, add(base, idx(2 * kWgBoxBytes)), kTile, kTile);
  Value bHi = view(smem, s.in, add(base, idx(3 * kWgBoxBytes)), kTile, kTile);
  Value k0 = mul(step, idx(kTile));
  // The transaction count is the boxes' full size: TMA counts the bytes it
  // zero-fills past the tensor's edges too.
  nvgpu::MBarrierArriveExpectTxOp::create(b, loc, bars, idx(kWgStageBytes),
                                          stage, pred);
  // Coordinates innermost first: (column, row).
  nvgpu::TmaAsyncLoadOp::create(b, loc, aBox, bars, aMap, ValueRange{k0, m0},
                                stage, Value(), pred);
  nvgpu::TmaAsyncLoadOp::create(b, loc, bLo, bars, bMap, ValueRange{n0, k0},
                                stage, Value(), pred);
  nvgpu::TmaAsyncLoadOp::create(b, loc, bHi, bars, bMap,
                                ValueRange{add(n0, idx(kTile)), k0}, stage,
                                Value(), pred);
}

void ContractionBuilder::buildWarpgroup(gpu::GPUFuncOp func) {
  MLIRContext *ctx = b.getContext();
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  unsigned nargs = entry.getNumArguments();
  // The tensor maps arrive as pointers (to device memory, where the
  // runtime put them; convert-gpu-to-nvvm would not convert nvgpu types in
  // a kernel's signature).
  Attribute wg = workgroupSpace(ctx);
  auto tensorMapArg = [&](unsigned i, int64_t rows) {
    return UnrealizedConversionCastOp::create(
               b, loc, tensorMapType(s.in, rows, wg), entry.getArgument(i))
        .getResult(0);
  };
  Value aMap = tensorMapArg(0, kWgTile), bMap = tensorMapArg(1, kTile);
  m = entry.getArgument(nargs - 3);
  n = entry.getArgument(nargs - 2);
  k = entry.getArgument(nargs - 1);
  Type idxTy = b.getIndexType();
  tid = gpu::ThreadIdOp::create(b, loc, idxTy, gpu::Dimension::x);
  n0 = mul(gpu::BlockIdOp::create(b, loc, idxTy, gpu::Dimension::x),
           idx(kWgTile));
  m0 = mul(gpu::BlockIdOp::create(b, loc, idxTy, gpu::Dimension::y),
           idx(kWgTile));
  kSteps = arith::CeilDivUIOp::create(b, loc, k, idx(kTile));
  Value smem = dynamicSharedMemory(b, loc);
  Value pad = alignmentPad(smem, kWgAlign);
  auto stageBase = [&](Value stage) {
    return add(pad, mul(stage, idx(kWgStageBytes)));
  };

  // Thread 0 issues the loads; one mbarrier per stage.
  Value leader =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, idx(0));
  Value bars = tmaBarriers(kWgStages, leader, {aMap, bMap});
  // Prologue: steps 0 .. kWgStages - 1 into their stages.
  for (int64_t st = 0; st < kWgStages; ++st)
    loadStage(smem, stageBase(idx(st)), bars, aMap, bMap, idx(st), idx(st),
              both(leader, lessThan(idx(st), kSteps)));

  auto accTy = nvgpu::WarpgroupAccumulatorType::get(
      ctx, VectorType::get({kWgTile, kWgTile}, f32));
  Value acc0 = nvgpu::WarpgroupMmaInitAccumulatorOp::create(b, loc, accTy);
  auto loop =
      scf::ForOp::create(b, loc, idx(0), kSteps, idx(1), ValueRange{acc0});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    Value stage = remui(t, kWgStages);
    // Step t is the (t / kWgStages)-th use of its stage's mbarrier.
    waitPhase(bars, divui(t, kWgStages), stage);
    Value base = stageBase(stage);
    Value aTile = view(smem, s.in, base, kWgTile, kTile);
    Value bTile =
        view(smem, s.in, add(base, idx(2 * kWgBoxBytes)), kTile, kWgTile);
    auto descriptor = [&](Value tile, Value map) {
      auto ty = nvgpu::WarpgroupMatrixDescriptorType::get(
          ctx, cast<MemRefType>(tile.getType()));
      return nvgpu::WarpgroupGenerateDescriptorOp::create(b, loc, ty, tile, map)
          .getResult();
    };
    // B is stored [K, N], N contiguous (N-major): the transposed wgmma
    // operand (A, [M, K] with K contiguous, is the K-major one). With one
    // group left in flight, the MMAs of step t - 1 are done when this
    // returns.
    Value acc = nvgpu::WarpgroupMmaOp::create(
        b, loc, accTy, descriptor(aTile, aMap), descriptor(bTile, bMap),
        /*waitGroup=*/uint64_t(1), UnitAttr(), b.getUnitAttr(),
        loop.getRegionIterArgs()[0]);
    // Each warp retires its own groups: once every warp has, no MMA reads
    // the stage of step t - 1 any more, and step t - 1 + kWgStages takes
    // it.
    gpu::BarrierOp::create(b, loc);
    Value refill = add(t, idx(kWgStages - 1));
    Value pred =
        both(both(leader, lessThan(idx(0), t)), lessThan(refill, kSteps));
    Value refillStage = remui(refill, kWgStages);
    loadStage(smem, stageBase(refillStage), bars, aMap, bMap, refill,
              refillStage, pred);
    scf::YieldOp::create(b, loc, acc);
  }
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, uint64_t(0));
  // Every MMA has read its stage: the result tile takes their place.
  gpu::BarrierOp::create(b, loc);
  Value padded = view(smem, f32, pad, kWgTile, kWgPitch);
  Value cTile = memref::SubViewOp::create(
      b, loc, padded,
      ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(kWgTile), b.getIndexAttr(kWgTile)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  nvgpu::WarpgroupMmaStoreOp::create(b, loc, loop.getResult(0), cTile);
  gpu::BarrierOp::create(b, loc);
  // Row by row, thread tid takes column tid: coalesced loads and stores of
  // C and the epilogue's operands.
  auto rows = scf::ForOp::create(b, loc, idx(0), idx(kWgTile), idx(1));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(rows.getBody());
    Value r = rows.getInductionVar();
    Value x = memref::LoadOp::create(b, loc, cTile, ValueRange{r, tid});
    storeResult(func, x, add(m0, r), add(n0, tid), /*partial=*/true);
  }
  gpu::ReturnOp::create(b, loc);
}

/// The gpu.func of `spec` in `kernels`, built on first use.
static gpu::GPUFuncOp getOrBuildKernel(gpu::GPUModuleOp kernels,
                                       const ContractionSpec &spec,
                                       ArrayRef<Type> argTypes) {
  std::string name = spec.name();
  if (spec.epilogue) {
    // Unique: the epilogue is the op's own.
    unsigned i = 0;
    while (kernels.lookupSymbol(name + "_epilogue" + std::to_string(i)))
      ++i;
    name += "_epilogue" + std::to_string(i);
  } else if (auto existing = kernels.lookupSymbol<gpu::GPUFuncOp>(name)) {
    return existing;
  }
  OpBuilder b(kernels.getContext());
  Location loc = kernels.getLoc();
  if (spec.wgmma) {
    // Dynamic shared memory only (static is limited to 48 KiB).
    auto func =
        createKernel(b, kernels, name, argTypes, /*sharedBytes=*/0, kThreads);
    ContractionBuilder(b, loc, spec).buildWarpgroup(func);
    return func;
  }
  // The A and B tiles; two stages of them for the cp.async loop.
  int64_t stages = spec.async ? 2 : 1;
  auto func = createKernel(b, kernels, name, argTypes,
                           stages * 2 * kTile * kTile * 2, kThreads);
  ContractionBuilder(b, loc, spec).build(func);
  return func;
}

} // namespace

LogicalResult mlir::bpt::launchContractionOnTensorCores(RewriterBase &rewriter,
                                                        linalg::LinalgOp op,
                                                        std::string &why,
                                                        bool warpgroupMma) {
  FailureOr<Contraction> match = matchContraction(op, why);
  if (failed(match))
    return failure();
  ContractionSpec spec = match->spec;
  Location loc = op.getLoc();
  // With a fused epilogue the launch takes the consumer's place (its
  // output may be allocated after the contraction); deallocations between
  // the two move after it.
  FailureOr<Epilogue> epilogue = matchEpilogue(op, *match);
  if (succeeded(epilogue)) {
    spec.epilogue = epilogue->consumer;
    spec.epilogueC = epilogue->cOperand;
    Value out = epilogue->consumer.getDpsInitOperand(0)->get();
    spec.c = cast<MemRefType>(out.getType()).getElementType();
    SmallVector<Operation *> moved;
    for (Operation *between = op->getNextNode();
         between != epilogue->consumer.getOperation();
         between = between->getNextNode())
      if (isa<memref::DeallocOp>(between))
        moved.push_back(between);
    for (Operation *dealloc : moved)
      rewriter.moveOpAfter(dealloc, epilogue->consumer);
    rewriter.setInsertionPoint(epilogue->consumer);
  } else {
    rewriter.setInsertionPoint(op);
  }
  // Views with dynamic strides and offset, transposed where the operand is
  // stored that way: [M, K], [K, N], [M, N]. Unit-stride rows stay known
  // as such for A and B of the MMA type (the cp.async path).
  auto transposed = [&](Value v, bool transpose) -> Value {
    if (!transpose)
      return v;
    AffineMap swap = AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0},
                                                  rewriter.getContext());
    return memref::TransposeOp::create(rewriter, loc, v,
                                       AffineMapAttr::get(swap))
        .getResult();
  };
  auto unitRows = [&](Value v, Type elem) {
    auto type = cast<MemRefType>(v.getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    return elem == spec.in &&
           succeeded(type.getStridesAndOffset(strides, offset)) &&
           strides.back() == 1;
  };
  // `v` as a view with dynamic strides and offset (unit-stride rows kept
  // with `unitRows`).
  auto view = [&](Value v, bool unitRows) -> Value {
    auto type = cast<MemRefType>(v.getType());
    return memref::CastOp::create(
        rewriter, loc,
        anyStridedType(type.getShape(), type.getElementType(), unitRows,
                       type.getMemorySpace()),
        v);
  };
  Value a = transposed(match->a, match->transposeA);
  Value b = transposed(match->b, match->transposeB);
  Value c = transposed(match->c, match->transposeC);
  spec.async = unitRows(a, spec.a) && unitRows(b, spec.b);
  SmallVector<Value> args = {view(a, spec.async), view(b, spec.async)};
  if (spec.epilogue) {
    // The consumer's output, then its inputs other than C.
    args.push_back(view(spec.epilogue.getDpsInitOperand(0)->get(), false));
    for (OpOperand *in : spec.epilogue.getDpsInputOperands())
      if (in->getOperandNumber() != spec.epilogueC)
        args.push_back(view(in->get(), false));
  } else {
    args.push_back(view(c, false));
  }
  gpu::GPUModuleOp kernels =
      getOrCreateKernelModule(op->getParentOfType<ModuleOp>());
  gpu::GPUFuncOp kernel = getOrBuildKernel(
      kernels, spec, llvm::to_vector(ValueRange(args).getTypes()));
  auto cst = [&](int64_t v) {
    return arith::ConstantIndexOp::create(rewriter, loc, v).getResult();
  };
  auto dim = [&](Value memref, unsigned d, int64_t v) -> Value {
    if (!ShapedType::isDynamic(v))
      return cst(v);
    return memref::DimOp::create(rewriter, loc, memref, d);
  };
  auto tiles = [&](Value memref, unsigned d, int64_t v, int64_t tile) {
    if (!ShapedType::isDynamic(v))
      return cst((v + tile - 1) / tile);
    return arith::CeilDivUIOp::create(rewriter, loc, dim(memref, d, v),
                                      cst(tile))
        .getResult();
  };
  gpu::KernelDim3 grid{tiles(args[1], 1, spec.n, kTile),
                       tiles(args[0], 0, spec.m, kTile), cst(1)};
  gpu::KernelDim3 block{cst(kThreads), cst(1), cst(1)};
  // An empty grid is no launch (CUDA refuses it): a dynamic M or N of 0
  // skips the kernel.
  OpBuilder::InsertionGuard guard(rewriter);
  auto positive = [&](Value v) {
    return arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ugt, v,
                                 cst(0))
        .getResult();
  };
  if (ShapedType::isDynamic(spec.m) || ShapedType::isDynamic(spec.n)) {
    Value any = arith::AndIOp::create(rewriter, loc, positive(grid.x),
                                      positive(grid.y));
    auto ifOp = scf::IfOp::create(rewriter, loc, any, /*withElse=*/false);
    rewriter.setInsertionPointToStart(ifOp.thenBlock());
  }
  // On sm_90a, A stored [M, K] and B [K, N] with unit-stride rows of the
  // MMA type go through TMA and warpgroup MMAs when, at run time, their
  // rows are 16-byte aligned (TMA's rule) and K is not 0 (a tensor map
  // has no empty dimension); the kernel above runs otherwise.
  if (warpgroupMma && spec.async && !match->transposeA && !match->transposeB) {
    ContractionSpec wspec = spec;
    wspec.async = false;
    wspec.wgmma = true;
    Value kSize = dim(args[0], 1, spec.k);
    Value ok = arith::AndIOp::create(rewriter, loc,
                                     rowsAligned16(rewriter, loc, args[0]),
                                     rowsAligned16(rewriter, loc, args[1]));
    ok = arith::AndIOp::create(rewriter, loc, ok, positive(kSize));
    auto ifOp = scf::IfOp::create(rewriter, loc, ok, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard inner(rewriter);
      rewriter.setInsertionPointToStart(ifOp.thenBlock());
      auto *ctx = rewriter.getContext();
      Attribute wg = workgroupSpace(ctx);
      auto tensorMap = [&](Value v, int64_t rows) {
        Value unranked = memref::CastOp::create(
            rewriter, loc, UnrankedMemRefType::get(spec.in, Attribute()), v);
        Value map = nvgpu::TmaCreateDescriptorOp::create(
            rewriter, loc, tensorMapType(spec.in, rows, wg), unranked,
            ValueRange{cst(rows), cst(kTile)});
        return UnrealizedConversionCastOp::create(
                   rewriter, loc, LLVM::LLVMPointerType::get(ctx), map)
            .getResult(0);
      };
      SmallVector<Value> wargs = {tensorMap(args[0], kWgTile),
                                  tensorMap(args[1], kTile)};
      wargs.append(args.begin() + 2, args.end());
      wargs.append({dim(args[0], 0, spec.m), dim(args[1], 1, spec.n), kSize});
      gpu::GPUFuncOp wkernel = getOrBuildKernel(
          kernels, wspec, llvm::to_vector(ValueRange(wargs).getTypes()));
      gpu::KernelDim3 wgrid{tiles(args[1], 1, spec.n, kWgTile),
                            tiles(args[0], 0, spec.m, kWgTile), cst(1)};
      Value smem = arith::ConstantIntOp::create(
          rewriter, loc, rewriter.getI32Type(), kWgSharedBytes);
      gpu::LaunchFuncOp::create(rewriter, loc, wkernel, wgrid, block, smem,
                                wargs);
    }
    rewriter.setInsertionPointToStart(ifOp.elseBlock());
  }
  // Synchronous, like the other kernels of the program (until
  // --bpt-gpu-stream puts them on one stream).
  gpu::LaunchFuncOp::create(rewriter, loc, kernel, grid, block, Value(), args);
  rewriter.eraseOp(op);
  if (succeeded(epilogue)) {
    // C is gone: the consumer, the fill, C's deallocations and C itself.
    rewriter.eraseOp(epilogue->consumer);
    rewriter.eraseOp(epilogue->fill);
    for (memref::DeallocOp dealloc : epilogue->deallocs)
      rewriter.eraseOp(dealloc);
    rewriter.eraseOp(epilogue->alloc);
  }
  return success();
}
