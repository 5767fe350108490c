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
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::bpt;

namespace {

constexpr int64_t kTile = 64; // rows and columns of C per block; K step
constexpr int64_t kWarps = 4; // each owns 16 rows of the tile
constexpr int64_t kThreads = 32 * kWarps;

/// What one contraction kernel is specialised on.
struct ContractionSpec {
  int64_t m, n, k;
  Type a, b, c; // element types as stored
  Type in;      // the MMA's operand type (f16 or bf16)

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
    os << "_" << a << "x" << b << "_" << c;
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
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(op) || !isMulAdd(op))
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
  return Contraction{{ranges[m], ranges[n], ranges[k], ea, eb, ec, in},
                     a,
                     b,
                     c,
                     *ta,
                     *tb,
                     *tc};
}

/// Emits the body of the kernel of `spec` into `func`.
class ContractionBuilder : public TensorCoreBuilder {
public:
  ContractionBuilder(OpBuilder &b, Location loc, const ContractionSpec &spec)
      : TensorCoreBuilder(b, loc, spec.in), s(spec) {}

  void build(gpu::GPUFuncOp func);

private:
  /// Stages the kTile x kTile tile of `src` at (row0, col0) into `dst`
  /// (element (r, c) of the tile at row r, swizzled column c): each thread
  /// copies column tid % 64 of every other row; elements past `rows` or
  /// `cols` read the last ones, and with `zeroRows` / `zeroCols` (the K
  /// edge) are zero.
  void stage(Value src, Type elem, Value dst, Value row0, Value col0,
             Value rows, Value cols, bool zeroRows, bool zeroCols);
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
};

void ContractionBuilder::stage(Value src, Type elem, Value dst, Value row0,
                               Value col0, Value rows, Value cols,
                               bool zeroRows, bool zeroCols) {
  Value tid =
      gpu::ThreadIdOp::create(b, loc, b.getIndexType(), gpu::Dimension::x);
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

void ContractionBuilder::build(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  Value aG = entry.getArgument(0), bG = entry.getArgument(1),
        cG = entry.getArgument(2);
  // One shared buffer holds the A and B tiles: written through views of
  // the MMA type, read by ldmatrix through f16 views.
  Value smem = func.getWorkgroupAttributions()[0];
  auto wg =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto view = [&](Type elem, int64_t byteShift) -> Value {
    auto ty = MemRefType::get({kTile, kTile}, elem, AffineMap(), wg);
    return memref::ViewOp::create(b, loc, ty, smem, idx(byteShift),
                                  ValueRange{});
  };
  int64_t bShift = kTile * kTile * 2;
  Value aS = view(b.getF16Type(), 0), bS = view(b.getF16Type(), bShift);
  Value aIn = s.in.isF16() ? aS : view(s.in, 0);
  Value bIn = s.in.isF16() ? bS : view(s.in, bShift);

  Type idxTy = b.getIndexType();
  Value tid = gpu::ThreadIdOp::create(b, loc, idxTy, gpu::Dimension::x);
  Value n0 =
      mul(gpu::BlockIdOp::create(b, loc, idxTy, gpu::Dimension::x), idx(kTile));
  Value m0 =
      mul(gpu::BlockIdOp::create(b, loc, idxTy, gpu::Dimension::y), idx(kTile));
  Value warp = divui(tid, 32), lane = remui(tid, 32);
  Value g = divui(lane, 4), tig = remui(lane, 4);
  Value m = size(aG, 0, s.m), k = size(aG, 1, s.k), n = size(bG, 1, s.n);
  // Lane l of ldmatrix.x4 addresses row l % 8 of 8x8 matrix l / 8.
  Value laneRow = remui(lane, 8), laneMat = divui(lane, 8);

  auto accTy = VectorType::get({2, 2}, f32);
  Value accZero =
      arith::ConstantOp::create(b, loc, accTy, b.getZeroAttr(accTy));
  constexpr int64_t nTiles = kTile / 8;
  SmallVector<Value> init(nTiles, accZero);
  bool raggedK = ragged(s.k);
  Value kSteps = ShapedType::isDynamic(s.k)
                     ? arith::CeilDivUIOp::create(b, loc, k, idx(kTile))
                     : idx((s.k + kTile - 1) / kTile);
  auto loop = scf::ForOp::create(b, loc, idx(0), kSteps, idx(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = mul(loop.getInductionVar(), idx(kTile));
    SmallVector<Value> acc(loop.getRegionIterArgs());
    stage(aG, s.a, aIn, m0, k0, m, k, /*zeroRows=*/false,
          /*zeroCols=*/raggedK);
    stage(bG, s.b, bIn, k0, n0, k, n, /*zeroRows=*/raggedK,
          /*zeroCols=*/false);
    gpu::BarrierOp::create(b, loc);
    for (int64_t ks = 0; ks < kTile / 16; ++ks) {
      // A: matrices (rows 8 (m % 2), k 8 (m / 2)) of the warp's 16 x 16
      // block, in the order of the fragment's registers.
      Value aRow =
          add(add(laneRow, mul(remui(laneMat, 2), idx(8))), mul(warp, idx(16)));
      Value aCol = add(mul(divui(laneMat, 2), idx(8)), idx(16 * ks));
      Value aFrag = stack(ldmatrixRows(aS, aRow, swizzle(aRow, aCol, kTile),
                                       /*transpose=*/false, 4));
      // B (stored k-major) with .trans: matrices (k 16 ks + 8 (m % 2),
      // columns 8 (n + m / 2)), two n8 tiles per x4.
      Value bRow =
          add(add(laneRow, mul(remui(laneMat, 2), idx(8))), idx(16 * ks));
      for (int64_t nt = 0; nt < nTiles; nt += 2) {
        Value bCol = add(mul(divui(laneMat, 2), idx(8)), idx(8 * nt));
        SmallVector<Value> frags =
            ldmatrix(bS, bRow, swizzle(bRow, bCol, kTile),
                     /*transpose=*/true, 4);
        acc[nt] = mma(aFrag, frags[0], acc[nt]);
        acc[nt + 1] = mma(aFrag, frags[1], acc[nt + 1]);
      }
    }
    // Every warp is done with the tiles before the next step overwrites
    // them.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, acc);
  }

  // C = C + acc: lane (g, tig) holds rows g and g + 8 of the warp, columns
  // 2 tig + {0, 1} of each n8 tile.
  bool partial = ragged(s.m) || ragged(s.n);
  Value row0 = add(add(m0, mul(warp, idx(16))), g);
  for (int64_t nt = 0; nt < nTiles; ++nt) {
    for (int64_t r = 0; r < 2; ++r) {
      Value row = add(row0, idx(8 * r));
      for (int64_t cc = 0; cc < 2; ++cc) {
        Value col = add(add(n0, mul(tig, idx(2))), idx(8 * nt + cc));
        Value x = vector::ExtractOp::create(b, loc, loop.getResult(nt),
                                            ArrayRef<int64_t>{r, cc});
        // Threads outside C read its last element (never stored).
        Value old = memref::LoadOp::create(
            b, loc, cG, ValueRange{minIdx(row, last(m)), minIdx(col, last(n))});
        if (s.c != f32)
          old = arith::ExtFOp::create(b, loc, f32, old);
        x = arith::AddFOp::create(b, loc, old, x);
        if (s.c != f32)
          x = arith::TruncFOp::create(b, loc, s.c, x);
        OpBuilder::InsertionGuard guard(b);
        if (partial) {
          Value inside =
              arith::AndIOp::create(b, loc, lessThan(row, m), lessThan(col, n));
          auto ifOp = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
          b.setInsertionPointToStart(ifOp.thenBlock());
        }
        memref::StoreOp::create(b, loc, x, cG, ValueRange{row, col});
      }
    }
  }
  gpu::ReturnOp::create(b, loc);
}

/// The gpu.func of `spec` in `kernels`, built on first use.
static gpu::GPUFuncOp getOrBuildKernel(gpu::GPUModuleOp kernels,
                                       const ContractionSpec &spec,
                                       ArrayRef<Type> argTypes) {
  std::string name = spec.name();
  if (auto existing = kernels.lookupSymbol<gpu::GPUFuncOp>(name))
    return existing;
  OpBuilder b(kernels.getContext());
  b.setInsertionPointToEnd(kernels.getBody());
  Location loc = kernels.getLoc();
  auto wg =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Type tiles =
      MemRefType::get({2 * kTile * kTile * 2}, b.getI8Type(), AffineMap(), wg);
  auto func = gpu::GPUFuncOp::create(
      b, loc, name, b.getFunctionType(argTypes, {}), TypeRange{tiles});
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({kThreads, 1, 1}));
  ContractionBuilder(b, loc, spec).build(func);
  return func;
}

} // namespace

/// The module's gpu.module @bpt_kernels, made on first use.
static gpu::GPUModuleOp getOrCreateKernelModule(ModuleOp module) {
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>("bpt_kernels"))
    return existing;
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  auto kernels = gpu::GPUModuleOp::create(b, module.getLoc(), "bpt_kernels");
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  return kernels;
}

FailureOr<gpu::LaunchFuncOp> mlir::bpt::launchContractionOnTensorCores(
    RewriterBase &rewriter, linalg::LinalgOp op, std::string &why) {
  FailureOr<Contraction> match = matchContraction(op, why);
  if (failed(match))
    return failure();
  const ContractionSpec &spec = match->spec;
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  // Views with dynamic strides and offset, transposed where the operand is
  // stored that way: [M, K], [K, N], [M, N].
  auto operand = [&](Value v, bool transpose, int64_t rows, int64_t cols,
                     Type elem) -> Value {
    if (transpose) {
      AffineMap swap = AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0},
                                                    rewriter.getContext());
      v = memref::TransposeOp::create(rewriter, loc, v,
                                      AffineMapAttr::get(swap));
    }
    int64_t dyn = ShapedType::kDynamic;
    auto layout =
        StridedLayoutAttr::get(rewriter.getContext(), dyn, {dyn, dyn});
    auto ty = MemRefType::get({rows, cols}, elem, layout,
                              cast<MemRefType>(v.getType()).getMemorySpace());
    return memref::CastOp::create(rewriter, loc, ty, v);
  };
  SmallVector<Value> args = {
      operand(match->a, match->transposeA, spec.m, spec.k, spec.a),
      operand(match->b, match->transposeB, spec.k, spec.n, spec.b),
      operand(match->c, match->transposeC, spec.m, spec.n, spec.c)};
  gpu::GPUModuleOp kernels =
      getOrCreateKernelModule(op->getParentOfType<ModuleOp>());
  gpu::GPUFuncOp kernel = getOrBuildKernel(
      kernels, spec, llvm::to_vector(ValueRange(args).getTypes()));
  auto c = [&](int64_t v) {
    return arith::ConstantIndexOp::create(rewriter, loc, v).getResult();
  };
  auto tiles = [&](Value memref, unsigned dim, int64_t v) -> Value {
    if (!ShapedType::isDynamic(v))
      return c((v + kTile - 1) / kTile);
    Value size = memref::DimOp::create(rewriter, loc, memref, dim);
    return arith::CeilDivUIOp::create(rewriter, loc, size, c(kTile));
  };
  gpu::KernelDim3 grid{tiles(args[1], 1, spec.n), tiles(args[0], 0, spec.m),
                       c(1)};
  gpu::KernelDim3 block{c(kThreads), c(1), c(1)};
  // An empty grid is no launch (CUDA refuses it): a dynamic M or N of 0
  // skips the kernel.
  OpBuilder::InsertionGuard guard(rewriter);
  if (ShapedType::isDynamic(spec.m) || ShapedType::isDynamic(spec.n)) {
    auto positive = [&](Value v) {
      return arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ugt, v,
                                   c(0))
          .getResult();
    };
    Value any = arith::AndIOp::create(rewriter, loc, positive(grid.x),
                                      positive(grid.y));
    auto ifOp = scf::IfOp::create(rewriter, loc, any, /*withElse=*/false);
    rewriter.setInsertionPointToStart(ifOp.thenBlock());
  }
  // Synchronous, like the other kernels of the program.
  auto launch = gpu::LaunchFuncOp::create(rewriter, loc, kernel, grid, block,
                                          Value(), args);
  rewriter.eraseOp(op);
  return launch;
}
