//===- GPUAttention.cpp - bpt.attention as a tensor-core CUDA kernel ------===//
//
// Builds, for each bpt.attention, a gpu.func that computes it the
// FlashAttention-2 way, and replaces the op by a gpu.launch_func of it:
//
//   grid   (ceil(Sq / 64), Hq, B), 128 threads = 4 warps
//   warp w owns the 16 query rows [64 qb + 16 w, +16): their Q fragments
//          stay in registers for the whole kernel (for D <= 128; past
//          that, the block's Q tile stays in shared memory)
//   loop   over key/value tiles of 64 keys (only those some row of the block
//          sees: causal and window bounds are computed per block, so fully
//          masked tiles are skipped): the block copies K and V to shared
//          memory, each warp computes its 16 x 64 scores with m16n8k16
//          tensor-core MMAs, applies scale, bounds, causality and window,
//          updates its running max and sum (online softmax, f32 registers,
//          exp2 of one FMA a score: the scale times log2(e) folded in),
//          rescales its f32
//          accumulator and adds P V with MMAs whose A operand is P, taken
//          straight from the score registers (the accumulator layout of two
//          n8 tiles is the A layout of one k16 step)
//   end    the row sums are reduced over the 4 lanes that share a row,
//          out = acc / sum (0 for a row that sees no key), and the
//          log-sum-exp when the op has that result
//
// f16 uses nvgpu.mma.sync; bf16 uses nvvm.mma.sync, which nvgpu cannot
// express. K and V arrive by cp.async one tile ahead; the MMA B fragments
// come from shared memory by ldmatrix (transposed for V). See docs/gpu.md.
//
// With wgmma (sm_90a), attention also gets a Hopper kernel
// (KernelBuilder::buildWarpgroup), launched when Q, K and V have 16-byte
// aligned rows at run time: blocks of 128 rows, two warpgroups sharing each
// K and V tile, loads by TMA counted on mbarriers (boxes of 64 features,
// zero filled past D), Q K^T and P V as nvvm.wgmma.mma_async on
// shared-memory descriptors built here, the next tile's scores issued
// before this tile's softmax (up to 192 output features; see WgShape).
//
// The host side: the operands are bufferized in place (the function's
// memrefs must be device memory), the results are memref.alloc buffers that
// --bpt-gpu-offload turns into device allocations, and the launch is
// synchronous (--bpt-gpu-stream later puts a function's launches on one
// stream, in order). The rest of the function is left to
// --bpt-gpu-offload, which runs it on the GPU or refuses it.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/BuilderUtils.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Dialect/BPT/Transforms/RaiseUtils.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "TensorCoreBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <limits>

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTGPUATTENTION
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;
using namespace mlir::bpt;

namespace {

constexpr int64_t kBlockM = 64; // query rows per thread block
constexpr int64_t kBlockN = 64; // keys per tile
constexpr int64_t kWarps = 4;   // each owns 16 rows
constexpr int64_t kThreads = 32 * kWarps;
static_assert(kBlockM == kBlockN, "the Q tile shares the K tile's layout");
// Static shared memory is limited to 48 KiB; kernels whose K and V tiles
// take more (head dims above 128) use dynamic shared memory.
constexpr int64_t kMaxStaticShared = 48 * 1024;
// Scores are kept in log2 units (exp2 is the hardware's exponential).
constexpr double kLog2e = 1.4426950408889634;

/// Elements per shared-memory row of a K or V tile `width` wide. Rows of
/// a power-of-two number of 16-byte chunks are swizzled (TensorCoreBuilder
/// ::swizzle); others stay in place, so that the 8 rows one ldmatrix reads
/// fall in different banks only if a row is an odd number of chunks: an
/// even one (D = 48, 96) gets a chunk of padding.
static int64_t rowPitch(int64_t width) {
  int64_t chunks = width / 8;
  if (llvm::isPowerOf2_64(chunks) || chunks % 2 == 1)
    return width;
  return width + 8;
}

/// Whether the kernel keeps Q in shared memory rather than in registers:
/// past D = 128, Q's fragments (D / 4 registers a thread) and the
/// accumulators (Dv / 2) would not leave room for the rest.
static bool qInShared(int64_t d) { return d > 128; }

/// Bytes of the shared tiles of a kernel of head dims `d` and `dv`: K and
/// V, and Q when it is kept there (kBlockM = kBlockN rows each).
static int64_t tileBytes(int64_t d, int64_t dv) {
  return kBlockN * (rowPitch(d) * (qInShared(d) ? 2 : 1) + rowPitch(dv)) * 2;
}

// The sm_90a kernel (KernelBuilder::buildWarpgroup, --bpt-gpu-attention
// {wgmma}): two warpgroups, 64 query rows each, share the block's K and V
// tiles. Q arrives by TMA in boxes of 128 rows x 64 features, K and V in
// boxes of 64 x 64, stored with the 128-byte swizzle; stages of K and V
// tiles; P stays in registers (the register-A form of the P V MMAs).
constexpr int64_t kWgBlockM = 128; // query rows per thread block
constexpr int64_t kWgThreads = 256;
constexpr int64_t kWgBox = 64;
constexpr int64_t kWgBoxBytes = kWgBox * kWgBox * 2;
constexpr int64_t kWgQBoxBytes = kWgBlockM * kWgBox * 2;
constexpr int64_t kWgMaxStages = 3;
constexpr int64_t kWgAlign = 1024;             // the 128-byte swizzle's period
constexpr int64_t kWgMaxShared = 227 * 1024;   // a block's, on sm_90
constexpr int64_t kWgMaxOverlapFeatures = 192; // see WgShape::overlap

/// The shape of the sm_90a kernel for head dims `d` (Q, K) and `dv` (V).
struct WgShape {
  // Boxes of 64 features per row of Q and K, of V: a head dim that is not
  // a multiple of 64 gets a last box that TMA zero fills past it (those
  // features of Q and K are never multiplied; those of V give output
  // columns that are not stored).
  int64_t kBoxes, vBoxes;
  // Stages of K and V tiles: three, or two where three would not fit in a
  // block's shared memory (d = dv = 256).
  int64_t stages;
  // Whether each step issues the next tile's scores before its softmax:
  // their 32 accumulator registers a thread beside the current scores'
  // and O's (vBoxes * 32). With more than 192 output features O's
  // registers leave no room for them, and each step waits for its own
  // scores instead.
  bool overlap;

  int64_t qBytes() const { return kBoxes * kWgQBoxBytes; }
  int64_t stageBytes() const { return (kBoxes + vBoxes) * kWgBoxBytes; }
  /// Dynamic shared memory: Q and the stages, from a 1024-byte boundary.
  int64_t sharedBytes() const {
    return kWgAlign + qBytes() + stages * stageBytes();
  }
  /// O's columns, a whole number of boxes.
  int64_t outColumns() const { return vBoxes * kWgBox; }
};

static WgShape wgShape(int64_t d, int64_t dv) {
  WgShape w{(d + kWgBox - 1) / kWgBox, (dv + kWgBox - 1) / kWgBox, kWgMaxStages,
            dv <= kWgMaxOverlapFeatures};
  while (w.sharedBytes() > kWgMaxShared)
    --w.stages;
  return w;
}

/// What the kernel of one bpt.attention is specialised on.
struct KernelSpec {
  int64_t b, hq, hkv, sq, sk, d, dv;
  Type in, out;
  bool causal, lse;
  std::optional<int64_t> window;
  float scale;
  // The mask operand: element type (null: none) and shape [B|1, H|1,
  // Sq|1, Sk|1].
  Type maskElem;
  SmallVector<int64_t, 4> maskShape;
  // Q, K and V are strided views (some is a head split read in place);
  // otherwise identity-layout buffers, whose static strides take fewer
  // registers.
  bool views = false;
  // The sm_90a kernel: Q, K and V by TMA (tensor maps), warpgroup MMAs.
  bool wgmma = false;

  std::string name() const {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << "bpt_attention_b" << b << "_h" << hq << "x" << hkv << "_q" << sq
       << "_k" << sk << "_d" << d << "x" << dv << "_" << in << "_" << out
       << (causal ? "_causal" : "") << (lse ? "_lse" : "");
    if (window)
      os << "_w" << *window;
    os << "_s"
       << llvm::format_hex_no_prefix(llvm::bit_cast<uint32_t>(scale), 8);
    if (maskElem) {
      os << "_m";
      for (int64_t d : maskShape)
        os << d << "x";
      os << maskElem;
    }
    if (views)
      os << "_views";
    if (wgmma)
      os << "_wgmma";
    return s;
  }
};

/// Why `op` cannot run as the kernel, or the kernel's specification.
/// What the kernel reads and writes for `op`: frontends widen f16/bf16
/// inputs to f32 and narrow the f32 result back (torch-mlir's SDPA); those
/// casts are exact on the way in and the kernel's own conversion on the way
/// out, so the kernel takes the narrow tensors and writes the narrow result.
struct Operands {
  Value q, k, v;
  Value outCast; // the truncation of result 0 the kernel performs, if any
  Type outElem;
};

static Value narrowSource(Value v) {
  auto g = v.getDefiningOp<linalg::GenericOp>();
  if (!g)
    return v;
  Value src = matchFloatCast(g);
  if (!src || !isa<arith::ExtFOp>(getYieldedValue(g).getDefiningOp()))
    return v;
  Type e = cast<RankedTensorType>(src.getType()).getElementType();
  return e.isF16() || e.isBF16() ? src : v;
}

/// Whether the buffer of `t` will have unit-stride, 16-byte aligned rows:
/// `t` is a chain of static, unit-stride tensor.extract_slice and
/// tensor.expand_shape ops over a fresh tensor (an op result whose
/// destination is a tensor.empty, or a fill of one), which one-shot
/// bufferization gives an aligned identity-layout buffer; the chain's
/// strides and offset are followed statically.
static bool alignedRows(Value t) {
  SmallVector<Operation *> chain;
  Value root = t;
  while (Operation *def = root.getDefiningOp()) {
    if (!isa<tensor::ExtractSliceOp, tensor::ExpandShapeOp>(def))
      break;
    chain.push_back(def);
    root = def->getOperand(0);
  }
  // A fresh tensor: one-shot bufferization gives it a new, aligned,
  // identity-layout buffer. (A function argument's layout and alignment
  // are the caller's: not assumed.)
  auto dps = root.getDefiningOp<DestinationStyleOpInterface>();
  if (!dps)
    return false;
  Value init =
      dps.getDpsInitOperand(cast<OpResult>(root).getResultNumber())->get();
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    init = fill.getOutputs()[0];
  if (!init.getDefiningOp<tensor::EmptyOp>())
    return false;
  auto type = dyn_cast<RankedTensorType>(root.getType());
  if (!type || !type.hasStaticShape() || type.getRank() == 0)
    return false;
  // Element strides and offset of the view, from the identity layout.
  SmallVector<int64_t> shape(type.getShape()), strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  int64_t offset = 0;
  for (Operation *op : llvm::reverse(chain)) {
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
      if (!slice.hasUnitStride() ||
          ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
          ShapedType::isDynamicShape(slice.getStaticSizes()) ||
          slice.getSourceType().getRank() != slice.getResultType().getRank())
        return false;
      for (auto [o, st] : llvm::zip(slice.getStaticOffsets(), strides))
        offset += o * st;
      shape.assign(slice.getStaticSizes().begin(),
                   slice.getStaticSizes().end());
      continue;
    }
    auto expand = cast<tensor::ExpandShapeOp>(op);
    ArrayRef<int64_t> out = expand.getResultType().getShape();
    if (ShapedType::isDynamicShape(out))
      return false;
    SmallVector<int64_t> newStrides(out.size());
    for (auto [src, group] :
         llvm::enumerate(expand.getReassociationIndices())) {
      int64_t st = strides[src];
      for (int64_t d : llvm::reverse(group)) {
        newStrides[d] = st;
        st *= out[d];
      }
    }
    shape.assign(out.begin(), out.end());
    strides = newStrides;
  }
  if (strides.back() != 1 || offset % 8 != 0)
    return false;
  return llvm::all_of(ArrayRef<int64_t>(strides).drop_back(),
                      [](int64_t st) { return st % 8 == 0; });
}

/// The head split of a projection, `[S, H, D]` transposed to `[H, S, D]`
/// and given a unit batch dimension (the way frontends feed attention from
/// a fused QKV projection), as the `[S, H, D]` tensor it reads: the kernel
/// can read the projection's buffer through a transposed view instead of a
/// copy. Only when that buffer's rows are 16-byte aligned (cp.async).
static Value headSplitSource(Value t) {
  auto expand = t.getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand || expand.getResultType().getRank() != 4 ||
      expand.getResultType().getDimSize(0) != 1)
    return Value();
  SmallVector<ReassociationIndices> groups = expand.getReassociationIndices();
  if (groups.size() != 3 || groups[0] != ReassociationIndices{0, 1})
    return Value();
  auto transpose = expand.getSrc().getDefiningOp<linalg::TransposeOp>();
  if (!transpose || !transpose.hasPureTensorSemantics() ||
      transpose.getPermutation() != ArrayRef<int64_t>{1, 0, 2})
    return Value();
  Value src = transpose.getInput();
  return alignedRows(src) ? src : Value();
}

static Operands chooseOperands(AttentionOp op) {
  Operands o{
      op.getQuery(), op.getKey(), op.getValue(), Value(),
      cast<RankedTensorType>(op.getOutputInit().getType()).getElementType()};
  Value q = narrowSource(o.q), k = narrowSource(o.k), v = narrowSource(o.v);
  auto elem = [](Value t) {
    return cast<RankedTensorType>(t.getType()).getElementType();
  };
  if (elem(q) == elem(k) && elem(k) == elem(v) && elem(q) != elem(o.q)) {
    o.q = q;
    o.k = k;
    o.v = v;
  }
  Value res = op.getResult(0);
  if (res.hasOneUse())
    if (auto g = dyn_cast<linalg::GenericOp>(*res.getUsers().begin()))
      if (matchFloatCast(g) == res &&
          isa<arith::TruncFOp>(getYieldedValue(g).getDefiningOp())) {
        Type e = elem(g->getResult(0));
        if (e.isF16() || e.isBF16()) {
          o.outCast = g->getResult(0);
          o.outElem = e;
        }
      }
  return o;
}

static FailureOr<KernelSpec> specify(AttentionOp op, const Operands &operands,
                                     std::string &why) {
  auto typeOf = [](Value t) { return cast<RankedTensorType>(t.getType()); };
  RankedTensorType q = typeOf(operands.q), k = typeOf(operands.k),
                   v = typeOf(operands.v);
  if (!q.hasStaticShape() || !k.hasStaticShape() || !v.hasStaticShape()) {
    why = "dynamic shapes are not supported by the GPU kernel";
    return failure();
  }
  if (q.getNumElements() == 0 || k.getNumElements() == 0 ||
      v.getNumElements() == 0) {
    why = "empty attentions are not supported by the GPU kernel";
    return failure();
  }
  Type e = q.getElementType();
  if (!(e.isF16() || e.isBF16()) || k.getElementType() != e ||
      v.getElementType() != e) {
    why = "the GPU kernel runs on tensor cores and takes f16 or bf16 "
          "queries, keys and values (convert f32 first, or let the pass "
          "round them: f32-inputs=bf16 or f16)";
    return failure();
  }
  if (Value mask = op.getMask())
    if (!cast<RankedTensorType>(mask.getType()).hasStaticShape()) {
      why = "dynamic shapes are not supported by the GPU kernel";
      return failure();
    }
  KernelSpec s{q.getDimSize(0),
               q.getDimSize(1),
               k.getDimSize(1),
               q.getDimSize(2),
               k.getDimSize(2),
               q.getDimSize(3),
               v.getDimSize(3),
               e,
               operands.outElem,
               static_cast<bool>(op.getCausal()),
               op.hasLogSumExp(),
               op.getWindow() ? std::optional<int64_t>(*op.getWindow())
                              : std::nullopt,
               op.getScaleOrDefault()};
  if (Value mask = op.getMask()) {
    auto mt = cast<RankedTensorType>(mask.getType());
    s.maskElem = mt.getElementType();
    s.maskShape.assign(mt.getShape().begin(), mt.getShape().end());
  }
  if (s.d % 16 != 0 || s.dv % 16 != 0 || s.d > 256 || s.dv > 256) {
    why = "head dimensions must be multiples of 16 up to 256 (got " +
          std::to_string(s.d) + " and " + std::to_string(s.dv) + ")";
    return failure();
  }
  return s;
}

/// Emits the body of the kernel of `spec` into `func`: the mma.sync kernel
/// (build) or the sm_90a one (buildWarpgroup). Both give warp w the 16
/// query rows [64 qb + 16 w, +16), lane l rows l / 4 and l / 4 + 8 of
/// them, in the accumulator layout of m16n8 MMAs (which a warpgroup MMA's
/// m64 accumulator has too): masking, the online softmax and the epilogue
/// are shared.
class KernelBuilder : public TensorCoreBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const KernelSpec &spec)
      : TensorCoreBuilder(b, loc, spec.in), s(spec) {}

  void build(gpu::GPUFuncOp func);
  void buildWarpgroup(gpu::GPUFuncOp func);

private:
  /// The block's indices, the arguments from `out` (argument `first`) on,
  /// constants.
  void setup(Block &entry, unsigned first);
  /// [lo, hi): the key tiles some row of the block sees (causal and window
  /// bounds per block; fully masked tiles are skipped).
  void tileRange();
  /// The scores of the key tile from key kv0 (kBlockN / 8 fragments of n8
  /// tiles, vector<2x2xf32>) with bounds, causality, window and mask
  /// applied: element [tile][row half][column] of the result (-inf where
  /// masked), in units that `factor` (f32) turns into log2 units: where no
  /// score of the tile needs a test, the raw scores and scale * log2(e)
  /// (the softmax folds the multiply into its exponent's FMA); otherwise
  /// the scaled scores and 1.
  SmallVector<Value> maskScores(ArrayRef<Value> scores, Value kv0,
                                Value &factor);
  /// The scores scaled to log2 units, every bound checked score by score.
  SmallVector<Value> maskedScores(ArrayRef<Value> scores, Value kv0);
  /// The online softmax step of this thread's two rows, from scores `sv`
  /// in units `factor` turns into log2 units: `sv` becomes the
  /// probabilities exp2(x factor - max), `m` and `l` the new running max
  /// (log2 units) and sum; returns the factor (vector<2x2xf32>) the
  /// accumulators scale by.
  Value softmax(SmallVector<Value> &sv, Value factor, Value m[2], Value l[2]);
  /// The A fragment of k16 step `st` of P V (keys 16 st ..): the
  /// probabilities `sv` of n8 tiles 2 st and 2 st + 1 (the accumulator
  /// layout of two n8 tiles is the A layout of one k16 step), rounded to
  /// the input type, as the four register pairs of the m16n8k16 A layout
  /// (rows g and g + 8, keys 2 tig.. and 8 + 2 tig..).
  SmallVector<Value> pFragment(ArrayRef<Value> sv, int64_t st) {
    auto pair = [&](int64_t j, int64_t r) -> Value {
      Value p = vector::FromElementsOp::create(
          b, loc, VectorType::get({2}, f32),
          ValueRange{sv[j * 4 + r * 2], sv[j * 4 + r * 2 + 1]});
      return arith::TruncFOp::create(b, loc, VectorType::get({2}, s.in), p);
    };
    return {pair(2 * st, 0), pair(2 * st, 1), pair(2 * st + 1, 0),
            pair(2 * st + 1, 1)};
  }
  /// What the key-tile loop carries first: the running max and sum of the
  /// thread's two rows (-inf, 0) and O's accumulators (0).
  SmallVector<Value> initialState() {
    SmallVector<Value> init = {ninf, ninf, zero, zero};
    init.append(nAcc, accZero);
    return init;
  }
  /// That state in the loop body: m, l, and the accumulators returned.
  SmallVector<Value> loopState(ValueRange carried, Value m[2], Value l[2]) {
    m[0] = carried[0];
    m[1] = carried[1];
    l[0] = carried[2];
    l[1] = carried[3];
    return SmallVector<Value>(carried.begin() + 4, carried.begin() + 4 + nAcc);
  }
  /// The row sums over the 4 lanes of a row, out = acc / sum and the
  /// log-sum-exp, from the loop's results (m, l, accumulators).
  void epilogue(ValueRange res);

  /// ex2.approx / lg2.approx, as FlashAttention uses them (the upstream
  /// lowering would route math.exp2 to libdevice).
  Value intrinsic(StringRef name, Value x) {
    return LLVM::CallIntrinsicOp::create(b, loc, f32, b.getStringAttr(name),
                                         ValueRange{x})
        .getResult(0);
  }
  Value exp2(Value x) { return intrinsic("llvm.nvvm.ex2.approx.ftz.f32", x); }
  Value log2(Value x) { return intrinsic("llvm.nvvm.lg2.approx.f", x); }
  Value maxf(Value a, Value c) {
    return arith::MaximumFOp::create(b, loc, a, c);
  }
  Value shuffleXor(Value v, int32_t offset) {
    return gpu::ShuffleOp::create(b, loc, v, offset, 32, gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }

  const KernelSpec &s;
  // Query rows per thread block (4 warps, or 8 for the sm_90a kernel).
  int64_t blockM = s.wgmma ? kWgBlockM : kBlockM;
  Value out, lse, mask, qPos, kPos;
  Value tid, h, bi, warp, lane, g, tig, tig2, hk;
  Value blockRow0, row0, row1, lastRow;
  Value lo, hi;
  Value scaleLog2, ninf, zero, accZero;
  VectorType accTy;
  int64_t nAcc = 0;
};

void KernelBuilder::setup(Block &entry, unsigned first) {
  out = entry.getArgument(first);
  unsigned next = first + 1;
  lse = s.lse ? entry.getArgument(next++) : Value();
  mask = s.maskElem ? entry.getArgument(next++) : Value();
  qPos = entry.getArgument(next++);
  kPos = entry.getArgument(next++);
  Type idxTy = b.getIndexType();
  tid = gpu::ThreadIdOp::create(b, loc, idxTy, gpu::Dimension::x);
  Value qb = gpu::BlockIdOp::create(b, loc, idxTy, gpu::Dimension::x);
  h = gpu::BlockIdOp::create(b, loc, idxTy, gpu::Dimension::y);
  bi = gpu::BlockIdOp::create(b, loc, idxTy, gpu::Dimension::z);
  warp = divui(tid, 32);
  lane = remui(tid, 32);
  g = divui(lane, 4);
  tig = remui(lane, 4);
  hk = divui(h, s.hq / s.hkv);
  blockRow0 = mul(qb, idx(blockM));
  row0 = add(add(blockRow0, mul(warp, idx(16))), g);
  row1 = add(row0, idx(8));
  lastRow = idx(s.sq - 1);
  tig2 = mul(tig, idx(2));
  scaleLog2 = f(static_cast<double>(s.scale) * kLog2e);
  ninf = f(-INFINITY);
  zero = f(0.0);
  accTy = VectorType::get({2, 2}, f32);
  accZero = arith::ConstantOp::create(b, loc, accTy, b.getZeroAttr(accTy));
  nAcc = s.dv / 8;
}

void KernelBuilder::tileRange() {
  int64_t numTiles = (s.sk + kBlockN - 1) / kBlockN;
  lo = idx(0);
  hi = idx(numTiles);
  if (!s.causal)
    return;
  // Key index j is visible from row i when kPos + j <= qPos + i.
  Value lastBlockRow = minIdx(add(blockRow0, idx(blockM - 1)), lastRow);
  Value maxKey = arith::SubIOp::create(b, loc, add(qPos, lastBlockRow), kPos);
  Value tiles =
      add(arith::FloorDivSIOp::create(b, loc, maxKey, idx(kBlockN)), idx(1));
  hi = arith::MaxSIOp::create(b, loc, minIdx(tiles, hi), idx(0));
  if (s.window) {
    // ... and kPos + j > qPos + i - W.
    Value minKey = add(arith::SubIOp::create(b, loc, add(qPos, blockRow0),
                                             add(kPos, idx(*s.window))),
                       idx(1));
    lo = arith::MaxSIOp::create(
        b, loc, arith::FloorDivSIOp::create(b, loc, minKey, idx(kBlockN)),
        idx(0));
    lo = minIdx(lo, hi);
  }
}

SmallVector<Value> KernelBuilder::maskScores(ArrayRef<Value> scores, Value kv0,
                                             Value &factor) {
  constexpr int64_t nTiles = kBlockN / 8;
  // A tile every row of the block sees whole: its raw scores, the scale
  // left to the softmax's FMA (max(x c) = max(x) c needs c > 0).
  bool raw = s.scale > 0;
  Value unmaskedFactor = raw ? scaleLog2 : f(1.0);
  auto unmasked = [&] {
    SmallVector<Value> sv;
    for (int64_t j = 0; j < nTiles; ++j)
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t cc = 0; cc < 2; ++cc) {
          Value x = vector::ExtractOp::create(b, loc, scores[j],
                                              ArrayRef<int64_t>{r, cc});
          sv.push_back(raw ? x : arith::MulFOp::create(b, loc, x, scaleLog2));
        }
    return sv;
  };
  bool ragged = s.sk % kBlockN != 0;
  if (!mask && !s.causal && !ragged) {
    factor = unmaskedFactor;
    return unmasked();
  }
  if (mask) {
    factor = f(1.0);
    return maskedScores(scores, kv0);
  }
  // Most tiles need no mask: inside Sk, no key later than the block's
  // first row (causal), none out of the window of its last row. Those
  // skip the per-score bounds (integer work on the CUDA cores the softmax
  // needs); the tiles at the diagonal, the window's edge and Sk take them.
  auto sle = [&](Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, x, y)
        .getResult();
  };
  Value whole = sle(add(kv0, idx(kBlockN)), idx(s.sk));
  if (s.causal) {
    Value lastKey = add(kPos, add(kv0, idx(kBlockN - 1)));
    whole = arith::AndIOp::create(b, loc, whole,
                                  sle(lastKey, add(qPos, blockRow0)));
    if (s.window) {
      Value lastBlockRow = minIdx(add(blockRow0, idx(blockM - 1)), lastRow);
      Value oldest = arith::SubIOp::create(b, loc, add(qPos, lastBlockRow),
                                           idx(*s.window));
      whole = arith::AndIOp::create(
          b, loc, whole,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt,
                                add(kPos, kv0), oldest));
    }
  }
  // The scores, then their factor.
  auto ifOp = scf::IfOp::create(
      b, loc, SmallVector<Type>(nTiles * 4 + 1, b.getF32Type()), whole,
      /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  SmallVector<Value> yield = unmasked();
  yield.push_back(unmaskedFactor);
  scf::YieldOp::create(b, loc, yield);
  b.setInsertionPointToStart(ifOp.elseBlock());
  yield = maskedScores(scores, kv0);
  yield.push_back(f(1.0));
  scf::YieldOp::create(b, loc, yield);
  factor = ifOp.getResults().back();
  return SmallVector<Value>(ifOp.getResults().drop_back());
}

SmallVector<Value> KernelBuilder::maskedScores(ArrayRef<Value> scores,
                                               Value kv0) {
  constexpr int64_t nTiles = kBlockN / 8;
  // The thread's key j of the tile is kb + c, c = 8 (n-tile) + column a
  // constant: each bound becomes a bound on c, computed once per row and
  // compared with the constant, in 32 bits (clamped: a bound outside the
  // i32 range keeps or drops every key the same way).
  Type i32 = b.getI32Type();
  auto clamp32 = [&](Value v) -> Value {
    v = arith::MaxSIOp::create(b, loc, v,
                               idx(std::numeric_limits<int32_t>::min()));
    v = arith::MinSIOp::create(b, loc, v,
                               idx(std::numeric_limits<int32_t>::max()));
    return arith::IndexCastOp::create(b, loc, i32, v);
  };
  auto c32 = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, i32, v);
  };
  Value kb = add(kv0, tig2);
  Value keyPos = add(kPos, kb);
  // Inside Sk: c <= Sk - 1 - kb.
  Value skUpper = clamp32(arith::SubIOp::create(b, loc, idx(s.sk - 1), kb));
  SmallVector<Value> sv(nTiles * 4);
  for (int64_t r = 0; r < 2; ++r) {
    Value row = r ? row1 : row0;
    Value qp = add(qPos, row);
    // Causal: kPos + j <= qPos + row; window: kPos + j > qPos + row - W.
    Value upper = skUpper, lower;
    if (s.causal) {
      upper = arith::MinSIOp::create(
          b, loc, upper, clamp32(arith::SubIOp::create(b, loc, qp, keyPos)));
      if (s.window)
        lower = clamp32(arith::SubIOp::create(
            b, loc, arith::SubIOp::create(b, loc, qp, idx(*s.window)), keyPos));
    }
    for (int64_t j = 0; j < nTiles; ++j) {
      for (int64_t cc = 0; cc < 2; ++cc) {
        Value x = vector::ExtractOp::create(b, loc, scores[j],
                                            ArrayRef<int64_t>{r, cc});
        x = arith::MulFOp::create(b, loc, x, scaleLog2);
        Value c = c32(8 * j + cc);
        Value keep =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, c, upper);
        if (lower)
          keep = arith::AndIOp::create(
              b, loc, keep,
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, c,
                                    lower));
        if (mask) {
          // Broadcast dimensions read index 0; keys past Sk read key
          // Sk - 1 (masked above).
          Value kj = add(kb, idx(8 * j + cc));
          auto at = [&](unsigned dim, Value i) {
            return s.maskShape[dim] == 1 ? idx(0) : i;
          };
          Value m = memref::LoadOp::create(
              b, loc, mask,
              ValueRange{at(0, bi), at(1, h), at(2, minIdx(row, lastRow)),
                         at(3, minIdx(kj, idx(s.sk - 1)))});
          if (s.maskElem.isInteger(1)) {
            keep = arith::AndIOp::create(b, loc, keep, m);
          } else {
            if (s.maskElem != f32)
              m = arith::ExtFOp::create(b, loc, f32, m);
            x = arith::AddFOp::create(
                b, loc, x, arith::MulFOp::create(b, loc, m, f(kLog2e)));
          }
        }
        sv[j * 4 + r * 2 + cc] = arith::SelectOp::create(b, loc, keep, x, ninf);
      }
    }
  }
  return sv;
}

Value KernelBuilder::softmax(SmallVector<Value> &sv, Value factor, Value m[2],
                             Value l[2]) {
  constexpr int64_t nTiles = kBlockN / 8;
  Value alpha[2];
  for (int64_t r = 0; r < 2; ++r) {
    // The row's max over the tile (in the scores' units, over the 4 lanes
    // of the row), then in log2 units with the running one.
    Value mx = ninf;
    for (int64_t j = 0; j < nTiles; ++j)
      for (int64_t cc = 0; cc < 2; ++cc)
        mx = maxf(mx, sv[j * 4 + r * 2 + cc]);
    mx = maxf(mx, shuffleXor(mx, 1));
    mx = maxf(mx, shuffleXor(mx, 2));
    mx = maxf(m[r], arith::MulFOp::create(b, loc, mx, factor));
    // A row that has seen no key yet subtracts 0 instead of -inf.
    Value isInf =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mx, ninf);
    Value base = arith::SelectOp::create(b, loc, isInf, zero, mx);
    Value negBase = arith::NegFOp::create(b, loc, base);
    alpha[r] = exp2(arith::SubFOp::create(b, loc, m[r], base));
    Value sum = arith::MulFOp::create(b, loc, l[r], alpha[r]);
    for (int64_t j = 0; j < nTiles; ++j)
      for (int64_t cc = 0; cc < 2; ++cc) {
        // exp2(x factor - max): one FMA and one ex2 a score.
        Value &x = sv[j * 4 + r * 2 + cc];
        x = exp2(LLVM::FMAOp::create(b, loc, x, factor, negBase));
        sum = arith::AddFOp::create(b, loc, sum, x);
      }
    m[r] = mx;
    l[r] = sum;
  }
  return vector::FromElementsOp::create(
      b, loc, accTy, ValueRange{alpha[0], alpha[0], alpha[1], alpha[1]});
}

void KernelBuilder::epilogue(ValueRange res) {
  Value inv[2], lTot[2];
  for (int64_t r = 0; r < 2; ++r) {
    Value lr = res[2 + r];
    lr = arith::AddFOp::create(b, loc, lr, shuffleXor(lr, 1));
    lr = arith::AddFOp::create(b, loc, lr, shuffleXor(lr, 2));
    lTot[r] = lr;
    Value positive =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, lr, zero);
    inv[r] = arith::SelectOp::create(
        b, loc, positive, arith::DivFOp::create(b, loc, f(1.0), lr), zero);
  }
  auto outPairTy = VectorType::get({2}, s.out);
  for (int64_t r = 0; r < 2; ++r) {
    Value row = r ? row1 : row0;
    auto ifOp = scf::IfOp::create(b, loc, lessThan(row, idx(s.sq)),
                                  /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    // Dv's columns: the sm_90a kernel's accumulators past them (whole
    // boxes) are zero and not stored.
    for (int64_t n = 0; n < s.dv / 8; ++n) {
      Value a = res[4 + n];
      Value pr = vector::ExtractOp::create(b, loc, a, ArrayRef<int64_t>{r});
      Value invV = vector::BroadcastOp::create(
          b, loc, VectorType::get({2}, f32), inv[r]);
      pr = arith::MulFOp::create(b, loc, pr, invV);
      if (s.out != f32)
        pr = arith::TruncFOp::create(b, loc, outPairTy, pr);
      vector::StoreOp::create(b, loc, pr, out,
                              ValueRange{bi, h, row, add(tig2, idx(8 * n))});
    }
    if (lse) {
      // lse = ln(sum) + max / log2(e); -inf for a row that sees no key.
      Value first =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tig, idx(0));
      auto lseIf = scf::IfOp::create(b, loc, first, false);
      b.setInsertionPointToStart(lseIf.thenBlock());
      Value ln2 = f(M_LN2);
      Value logSum = arith::MulFOp::create(b, loc, log2(lTot[r]), ln2);
      Value mx = arith::MulFOp::create(b, loc, res[r], ln2);
      Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                             lTot[r], zero);
      Value val = arith::SelectOp::create(
          b, loc, positive, arith::AddFOp::create(b, loc, logSum, mx), ninf);
      memref::StoreOp::create(b, loc, val, lse, ValueRange{bi, h, row});
    }
  }
}

void KernelBuilder::build(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  Value q = entry.getArgument(0), k = entry.getArgument(1),
        v = entry.getArgument(2);
  setup(entry, 3);
  // One shared buffer holds the K and V tiles. cp.async writes them through
  // views of the input type; ldmatrix reads them through f16 views (LLVM 22
  // lowers nvgpu.ldmatrix for f16 only; bf16 fragments are bitcast after).
  Attribute wg = workgroupSpace(b.getContext());
  Value smem = func.getWorkgroupAttributions().empty()
                   ? dynamicSharedMemory(b, loc)
                   : Value(func.getWorkgroupAttributions()[0]);
  auto view = [&](Type elem, int64_t width, int64_t byteShift) -> Value {
    auto ty =
        MemRefType::get({kBlockN, rowPitch(width)}, elem, AffineMap(), wg);
    return memref::ViewOp::create(b, loc, ty, smem, idx(byteShift),
                                  ValueRange{});
  };
  int64_t vShift = kBlockN * rowPitch(s.d) * 2;
  Value kS = view(b.getF16Type(), s.d, 0);
  Value vS = view(b.getF16Type(), s.dv, vShift);
  Value kIn = s.in.isF16() ? kS : view(s.in, s.d, 0);
  Value vIn = s.in.isF16() ? vS : view(s.in, s.dv, vShift);

  auto pairTy = VectorType::get({2}, s.in);
  // Lane l of ldmatrix.x4 addresses row l % 8 of 8x8 matrix l / 8.
  Value laneRow = remui(lane, 8);
  Value laneMat = divui(lane, 8);
  // Q fragments of this warp's 16 rows, one per k16 step of D: in
  // registers for the whole kernel, or (large D) in a shared tile after K
  // and V, read by ldmatrix when needed. Rows past Sq read row Sq - 1
  // (valid memory); their results are never stored.
  SmallVector<Value> qFrag;
  Value r0 = minIdx(row0, lastRow), r1 = minIdx(row1, lastRow);
  Value qS;
  Type tokenTy = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  // 64 rows of `src` (batch bi, head `head`) from row `first` into the
  // shared tile `dst`: 16-byte cp.async copies (cache global only), rows
  // past `lastValid` read that row (masked later or never stored); one
  // group.
  auto copyRows = [&](Value src, Value dst, int64_t width, Value head,
                      Value first, Value lastValid) {
    int64_t chunksPerRow = width / 8;
    SmallVector<Value> tokens;
    for (int64_t it = 0; it < kBlockN * chunksPerRow / kThreads; ++it) {
      Value chunk = add(tid, idx(it * kThreads));
      Value r = divui(chunk, chunksPerRow);
      Value c = mul(remui(chunk, chunksPerRow), idx(8));
      Value row = minIdx(add(first, r), lastValid);
      tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
          b, loc, tokenTy, dst, ValueRange{r, swizzle(r, c, width)}, src,
          ValueRange{bi, head, row, c}, b.getIndexAttr(8), Value(),
          b.getUnitAttr()));
    }
    return nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenTy, tokens)
        .getResult();
  };
  if (qInShared(s.d)) {
    int64_t qShift = vShift + kBlockN * rowPitch(s.dv) * 2;
    qS = view(b.getF16Type(), s.d, qShift);
    // One group, waited for with K's first tile.
    copyRows(q, view(s.in, s.d, qShift), s.d, h, blockRow0, lastRow);
  } else {
    for (int64_t ks = 0; ks < s.d / 16; ++ks) {
      Value c0 = add(tig2, idx(16 * ks)), c1 = add(tig2, idx(16 * ks + 8));
      auto ld = [&](Value r, Value c) -> Value {
        return vector::LoadOp::create(b, loc, pairTy, q,
                                      ValueRange{bi, h, r, c});
      };
      qFrag.push_back(stack({ld(r0, c0), ld(r1, c0), ld(r0, c1), ld(r1, c1)}));
    }
  }
  // The A fragment of k16 step `ks`: matrices (rows 8 (m % 2), features
  // 16 ks + 8 (m / 2)) of the warp's 16 rows, in the register order.
  auto qFragment = [&](int64_t ks) -> Value {
    if (!qS)
      return qFrag[ks];
    return aFragment(qS, laneRow, laneMat, mul(warp, idx(16)), 16 * ks, s.d);
  };
  tileRange();

  // Tile t of K or V into shared memory; keys past Sk read key Sk - 1.
  auto copyTile = [&](Value src, Value dst, int64_t width, Value tile) {
    return copyRows(src, dst, width, hk, mul(tile, idx(kBlockN)),
                    idx(s.sk - 1));
  };
  // Prologue: K of the first tile.
  Value kPrologue = copyTile(k, kIn, s.d, lo);

  auto loop = scf::ForOp::create(b, loc, lo, hi, idx(1), initialState());
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    Value m[2], l[2];
    SmallVector<Value> acc = loopState(loop.getRegionIterArgs(), m, l);
    Value kv0 = mul(t, idx(kBlockN));

    // V(t) starts arriving while the scores of K(t) are computed.
    Value vGroup = copyTile(v, vIn, s.dv, t);
    // K(t) (issued one step ahead) has landed: at most V(t) is in flight.
    nvgpu::DeviceAsyncWaitOp::create(b, loc, vGroup, b.getI32IntegerAttr(1));
    gpu::BarrierOp::create(b, loc);

    // Scores: 8 n-tiles of 8 keys, each a 16x8 f32 fragment, accumulated
    // over the k16 steps of D (outer, so that a Q fragment read from
    // shared memory is read once per tile).
    constexpr int64_t nTiles = kBlockN / 8;
    SmallVector<Value> scores(nTiles, accZero);
    for (int64_t ks = 0; ks < s.d / 16; ks += 2) {
      bool pair = ks + 1 < s.d / 16;
      Value q0 = qFragment(ks), q1 = pair ? qFragment(ks + 1) : Value();
      // K^T fragments straight from the K tile (rows = keys): matrices
      // (keys 8j.., features 16 ks + 8 m), two k16 steps per ldmatrix.x4.
      Value mat = pair ? laneMat : remui(laneMat, 2);
      Value col = add(mul(mat, idx(8)), idx(16 * ks));
      for (int64_t j = 0; j < nTiles; ++j) {
        Value key = add(laneRow, idx(8 * j));
        SmallVector<Value> frags = ldmatrix(kS, key, swizzle(key, col, s.d),
                                            /*transpose=*/false, pair ? 4 : 2);
        scores[j] = mma(q0, frags[0], scores[j]);
        if (pair)
          scores[j] = mma(q1, frags[1], scores[j]);
      }
    }
    Value factor;
    SmallVector<Value> sv = maskScores(scores, kv0, factor);

    // Every warp is done with K(t): K(t + 1) may overwrite it (the last
    // step reloads its own tile, so that every step commits two groups).
    gpu::BarrierOp::create(b, loc);
    Value nextT =
        minIdx(add(t, idx(1)),
               arith::MaxSIOp::create(
                   b, loc, arith::SubIOp::create(b, loc, hi, idx(1)), idx(0)));
    Value kGroup = copyTile(k, kIn, s.d, nextT);

    Value alphaV = softmax(sv, factor, m, l);
    for (Value &a : acc)
      a = arith::MulFOp::create(b, loc, a, alphaV);

    // V(t) has landed (at most K(t + 1) is in flight).
    nvgpu::DeviceAsyncWaitOp::create(b, loc, kGroup, b.getI32IntegerAttr(1));
    gpu::BarrierOp::create(b, loc);

    // P V: the probabilities of n-tiles 2t and 2t + 1 are the A fragment of
    // k16 step t.
    for (int64_t st = 0; st < kBlockN / 16; ++st) {
      Value aFrag = stack(pFragment(sv, st));
      // V fragments with ldmatrix.trans: matrices (keys 16 st + 8 (m % 2),
      // features 8 (n + m / 2)), two n8 tiles of features per x4.
      Value key =
          add(add(laneRow, mul(remui(laneMat, 2), idx(8))), idx(16 * st));
      Value half = divui(laneMat, 2);
      for (int64_t n = 0; n < nAcc; n += 2) {
        bool pair = n + 1 < nAcc;
        Value col = add(mul(pair ? half : idx(0), idx(8)), idx(8 * n));
        SmallVector<Value> frags = ldmatrix(vS, key, swizzle(key, col, s.dv),
                                            /*transpose=*/true, pair ? 4 : 2);
        acc[n] = mma(aFrag, frags[0], acc[n]);
        if (pair)
          acc[n + 1] = mma(aFrag, frags[1], acc[n + 1]);
      }
    }
    // Every warp is done with V(t) before V(t + 1) overwrites it.
    gpu::BarrierOp::create(b, loc);
    SmallVector<Value> next = {m[0], m[1], l[0], l[1]};
    next.append(acc.begin(), acc.end());
    scf::YieldOp::create(b, loc, next);
  }
  // The extra K copy of the last step (or of an empty loop) lands before
  // the block exits.
  nvgpu::DeviceAsyncWaitOp::create(b, loc, kPrologue, b.getI32IntegerAttr(0));
  epilogue(loop.getResults());
  gpu::ReturnOp::create(b, loc);
}

void KernelBuilder::buildWarpgroup(gpu::GPUFuncOp func) {
  MLIRContext *ctx = b.getContext();
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  // The tensor maps of Q, K and V arrive as pointers (to device memory,
  // where the runtime put them), then Q, K and V as memrefs.
  Attribute wg = workgroupSpace(ctx);
  auto mapArg = [&](unsigned i, int64_t rows) {
    return UnrealizedConversionCastOp::create(
               b, loc, swizzledBoxMapType(s.in, {1, 1, rows, kWgBox}, wg),
               entry.getArgument(i))
        .getResult(0);
  };
  Value qMap = mapArg(0, kWgBlockM), kMap = mapArg(1, kWgBox),
        vMap = mapArg(2, kWgBox);
  // Arguments 3 to 5 are Q, K and V, unused.
  setup(entry, 6);
  WgShape w = wgShape(s.d, s.dv);
  int64_t qBytes = w.qBytes(), stageBytes = w.stageBytes();
  // Up to 64 output columns, two blocks an SM if their registers fit (at
  // most 128 a thread), as their shared memory does (65 KiB each).
  if (w.vBoxes == 1 && 2 * w.sharedBytes() <= kWgMaxShared)
    func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                  b.getI32IntegerAttr(2));

  // Dynamic shared memory from its first 1024-byte boundary (the 128-byte
  // swizzle repeats every 1024 bytes): Q's boxes, the stages (K's boxes,
  // then V's).
  Value smem = dynamicSharedMemory(b, loc);
  Value address = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, smem);
  Value pad = alignmentPad(smem, kWgAlign);
  auto stageBase = [&](Value stage) {
    return add(pad, add(idx(qBytes), mul(stage, idx(stageBytes))));
  };
  // Warpgroup wg computes rows 64 wg .. of the block: its Q rows are
  // 64 rows (8 KiB) into Q's boxes.
  Value wgShift = mul(divui(tid, 128), idx(kWgBoxBytes));
  auto box = [&](Value byteShift, int64_t rows) -> Value {
    auto ty = MemRefType::get({1, 1, rows, kWgBox}, s.in, AffineMap(), wg);
    return memref::ViewOp::create(b, loc, ty, smem, byteShift, ValueRange{});
  };

  // Thread 0 issues the loads; mbarrier 0 counts Q's bytes, 1 + st those
  // of stage st.
  Value leader =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, idx(0));
  Value bars = tmaBarriers(1 + w.stages, leader, {qMap, kMap, vMap});
  tileRange();

  // Q's rows of the block (rows past Sq are zero filled; their results
  // are never stored). Coordinates innermost first: (feature, row, head,
  // batch).
  nvgpu::MBarrierArriveExpectTxOp::create(b, loc, bars, idx(qBytes), idx(0),
                                          leader);
  for (int64_t c = 0; c < w.kBoxes; ++c)
    nvgpu::TmaAsyncLoadOp::create(
        b, loc, box(add(pad, idx(c * kWgQBoxBytes)), kWgBlockM), bars, qMap,
        ValueRange{idx(c * kWgBox), blockRow0, h, bi}, idx(0), Value(), leader);
  // Key tile `tile` of K and V into stage `stage` (keys past Sk are zero
  // filled and masked). The transaction count is the boxes' full size:
  // TMA counts the bytes it zero-fills too.
  auto loadStage = [&](Value tile, Value stage, Value pred) {
    Value base = stageBase(stage);
    Value bar = add(stage, idx(1));
    nvgpu::MBarrierArriveExpectTxOp::create(b, loc, bars, idx(stageBytes), bar,
                                            pred);
    Value key0 = mul(tile, idx(kBlockN));
    for (int64_t c = 0; c < w.kBoxes + w.vBoxes; ++c) {
      bool isK = c < w.kBoxes;
      int64_t col = (isK ? c : c - w.kBoxes) * kWgBox;
      nvgpu::TmaAsyncLoadOp::create(
          b, loc, box(add(base, idx(c * kWgBoxBytes)), kWgBox), bars,
          isK ? kMap : vMap, ValueRange{idx(col), key0, hk, bi}, bar, Value(),
          pred);
    }
  };
  for (int64_t st = 0; st < w.stages; ++st) {
    Value tile = add(lo, idx(st));
    loadStage(tile, idx(st), both(leader, lessThan(tile, hi)));
  }
  waitPhase(bars, idx(0), idx(0));

  // Warpgroup MMA operands are described by shared-memory descriptors:
  // start address (bits 0-13), leading and stride byte offsets (16-29,
  // 32-45), all in 16-byte units, and the 128-byte swizzle (bits 62-63).
  // Q, K and P are K-major (rows of 64 features or keys, 128 bytes; 8-row
  // groups 1024 bytes apart; a k16 step is 32 bytes further into the
  // rows); V is N-major (rows of 64 features; the next 64 features a box
  // further, the leading byte offset).
  Type i64 = b.getI64Type();
  auto descriptor = [&](Value byteShift, int64_t leading) -> Value {
    Value start = arith::IndexCastUIOp::create(
        b, loc, i64, divui(add(address, byteShift), 16));
    int64_t fields = ((leading >> 4) << 16) | (int64_t(1024 >> 4) << 32) |
                     (int64_t(1) << 62);
    return arith::AddIOp::create(
        b, loc, start, arith::ConstantIntOp::create(b, loc, i64, fields));
  };
  auto structOf = [&](int64_t n) {
    return LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(n / 2, f32));
  };
  NVVM::WGMMATypes elem =
      s.in.isF16() ? NVVM::WGMMATypes::f16 : NVVM::WGMMATypes::bf16;
  // D (+)= A B, m64 n k16, f32 accumulators; B K-major (K^T) or N-major
  // (V).
  auto mmaAsync = [&](Value acc, Value descA, Value descB, int64_t n,
                      bool kMajorB, bool accumulate) -> Value {
    return NVVM::WgmmaMmaAsyncOp::create(
        b, loc, acc.getType(), acc, descA, descB,
        NVVM::MMAShapeAttr::get(ctx, 64, n, 16), elem, elem,
        NVVM::WGMMATypes::f32,
        accumulate ? NVVM::WGMMAScaleOut::one : NVVM::WGMMAScaleOut::zero,
        NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
        kMajorB ? NVVM::MMALayout::col : NVVM::MMALayout::row,
        NVVM::MMAIntOverflowAttr());
  };
  // D += A B, m64 n k16, f32 accumulators, A from registers (four 32-bit
  // registers of 16-bit pairs a thread, the m16n8k16 A layout per warp), B
  // N-major (V): wgmma's register-A form, which NVVM's op does not have,
  // as inline PTX (accumulators tied to the results, as NVVM lowers its
  // own op).
  auto mmaRegisterA = [&](Value acc, ArrayRef<Value> aRegs, Value descB,
                          int64_t n) -> Value {
    int64_t regs = n / 2;
    std::string text;
    llvm::raw_string_ostream os(text);
    StringRef type = s.in.isF16() ? "f16" : "bf16";
    os << "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
       << "wgmma.mma_async.sync.aligned.m64n" << n << "k16.f32." << type << "."
       << type << " {";
    for (int64_t i = 0; i < regs; ++i)
      os << (i ? ", " : "") << "$" << i;
    os << "}, {$" << 2 * regs << ", $" << 2 * regs + 1 << ", $" << 2 * regs + 2
       << ", $" << 2 * regs + 3 << "}, $" << 2 * regs + 4
       << ", p, 1, 1, 1;\n}\n";
    std::string constraints;
    SmallVector<Value> operands;
    for (int64_t i = 0; i < regs; ++i) {
      constraints += "=f,";
      operands.push_back(
          LLVM::ExtractValueOp::create(b, loc, acc, ArrayRef<int64_t>{i}));
    }
    for (int64_t i = 0; i < regs; ++i)
      constraints += std::to_string(i) + ",";
    constraints += "r,r,r,r,l";
    operands.append(aRegs.begin(), aRegs.end());
    operands.push_back(descB);
    return LLVM::InlineAsmOp::create(
               b, loc, acc.getType(), operands, text, constraints,
               /*has_side_effects=*/true, /*is_align_stack=*/false,
               LLVM::tailcallkind::TailCallKind::None,
               LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
               ArrayAttr())
        .getResult(0);
  };
  // The accumulator of an m64 n MMA, thread by thread: n / 8 fragments of
  // m16n8 layout (register 4 j + 2 r + c: n8 tile j, row half r, column c).
  auto fragments = [&](Value st, int64_t n) {
    SmallVector<Value> frags;
    for (int64_t j = 0; j < n / 8; ++j) {
      SmallVector<Value> e;
      for (int64_t i = 0; i < 4; ++i)
        e.push_back(LLVM::ExtractValueOp::create(b, loc, st,
                                                 ArrayRef<int64_t>{4 * j + i}));
      frags.push_back(vector::FromElementsOp::create(b, loc, accTy, e));
    }
    return frags;
  };
  auto pack = [&](ArrayRef<Value> frags) {
    Value st = LLVM::ZeroOp::create(b, loc, structOf(8 * frags.size()));
    for (auto [j, frag] : llvm::enumerate(frags))
      for (int64_t i = 0; i < 4; ++i)
        st = LLVM::InsertValueOp::create(
            b, loc, st,
            vector::ExtractOp::create(b, loc, frag,
                                      ArrayRef<int64_t>{i / 2, i % 2}),
            ArrayRef<int64_t>{4 * static_cast<int64_t>(j) + i});
    return st;
  };

  // Step i (key tile lo + i) uses stage i mod w.stages, for the
  // (i / w.stages)-th time: wait for that phase's parity.
  auto waitStage = [&](Value i) {
    Value stage = remui(i, w.stages);
    waitPhase(bars, divui(i, w.stages), add(stage, idx(1)));
    return stage;
  };
  // S = Q K^T of step i's tile, once it has landed: issued and committed
  // as one group, not waited for. A k16 step is 32 bytes into the rows of
  // a box, four steps a box. Zeros where step i does not exist.
  Type sType = structOf(kBlockN);
  auto issueScores = [&](Value i) -> Value {
    auto ifOp =
        scf::IfOp::create(b, loc, TypeRange{sType}, lessThan(add(lo, i), hi),
                          /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value kBase = stageBase(waitStage(i));
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    Value sAcc = LLVM::ZeroOp::create(b, loc, sType);
    for (int64_t ks = 0; ks < s.d / 16; ++ks) {
      int64_t k16 = (ks % 4) * 32;
      Value qShift = add(wgShift, idx((ks / 4) * kWgQBoxBytes + k16));
      sAcc = mmaAsync(
          sAcc, descriptor(add(pad, qShift), 16),
          descriptor(add(kBase, idx((ks / 4) * kWgBoxBytes + k16)), 16),
          kBlockN, /*kMajorB=*/true, /*accumulate=*/ks > 0);
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    scf::YieldOp::create(b, loc, sAcc);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, LLVM::ZeroOp::create(b, loc, sType).getRes());
    return ifOp.getResult(0);
  };

  // Carried: running max and sum of the thread's two rows, O's
  // accumulators (whole boxes of columns), and with the overlap the scores
  // of the step.
  nAcc = w.outColumns() / 8;
  SmallVector<Value> init = initialState();
  if (w.overlap) {
    init.push_back(issueScores(idx(0)));
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, uint64_t(0));
  }
  auto loop = scf::ForOp::create(b, loc, lo, hi, idx(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    Value m[2], l[2];
    SmallVector<Value> acc = loopState(loop.getRegionIterArgs(), m, l);
    Value i = arith::SubIOp::create(b, loc, t, lo);
    Value stage = remui(i, w.stages);
    Value vBase = add(stageBase(stage), idx(w.kBoxes * kWgBoxBytes));
    // With the overlap, the next step's scores on the tensor cores while
    // this step's softmax runs (FlashAttention-3's overlap within a
    // warpgroup); otherwise this step's scores, waited for.
    Value sCur, sNext;
    if (w.overlap) {
      sCur = loop.getRegionIterArgs().back();
      sNext = issueScores(add(i, idx(1)));
    } else {
      sCur = issueScores(i);
      NVVM::WgmmaWaitGroupSyncOp::create(b, loc, uint64_t(0));
    }

    Value factor;
    SmallVector<Value> sv =
        maskScores(fragments(sCur, kBlockN), mul(t, idx(kBlockN)), factor);
    Value alphaV = softmax(sv, factor, m, l);
    for (Value &a : acc)
      a = arith::MulFOp::create(b, loc, a, alphaV);

    // O += P V with P in registers, rounded to the input type: the
    // scores' accumulator layout of n8 tiles 2 st and 2 st + 1 is the
    // register A layout of k16 step st (as in the mma.sync kernel). The
    // accumulators were rescaled and P computed by other instructions: a
    // wgmma.fence first. A k16 step is 16 rows (keys) of V, 2048 bytes.
    // P's registers for every k16 step first: written after the
    // wgmma.fence, ptxas would have to fence again before each MMA.
    SmallVector<SmallVector<Value>> pRegs;
    for (int64_t st = 0; st < kBlockN / 16; ++st) {
      SmallVector<Value> &aRegs = pRegs.emplace_back();
      for (Value p : pFragment(sv, st)) {
        Value word = vector::BitCastOp::create(
            b, loc, VectorType::get({1}, b.getI32Type()), p);
        aRegs.push_back(
            vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0}));
      }
    }
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    Value o = pack(acc);
    for (int64_t st = 0; st < kBlockN / 16; ++st)
      o = mmaRegisterA(o, pRegs[st],
                       descriptor(add(vBase, idx(2048 * st)), kWgBoxBytes),
                       w.outColumns());
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    // Both groups (the next scores, P V) retired.
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, uint64_t(0));
    acc = fragments(o, w.outColumns());
    // Every warp's MMAs are done with this step's stage and with P: step
    // i + w.stages takes the stage.
    gpu::BarrierOp::create(b, loc);
    Value refill = add(t, idx(w.stages));
    loadStage(refill, stage, both(leader, lessThan(refill, hi)));
    SmallVector<Value> next = {m[0], m[1], l[0], l[1]};
    next.append(acc.begin(), acc.end());
    if (w.overlap)
      next.push_back(sNext);
    scf::YieldOp::create(b, loc, next);
  }
  epilogue(loop.getResults());
  gpu::ReturnOp::create(b, loc);
}

struct BPTGPUAttentionPass
    : public bpt::impl::BPTGPUAttentionBase<BPTGPUAttentionPass> {
  using BPTGPUAttentionBase::BPTGPUAttentionBase;
  void runOnOperation() override;
};

/// With f32-inputs: f32 Q, K and V (static shapes) rounded to `to` before
/// `op` (elementwise generics); a remark says so.
static void roundF32Inputs(AttentionOp op, Operands &operands, Type to) {
  auto type = [](Value t) { return cast<RankedTensorType>(t.getType()); };
  SmallVector<Value *> qkv = {&operands.q, &operands.k, &operands.v};
  // Empty attentions are refused (specify), with no rounding first.
  if (!llvm::all_of(qkv, [&](Value *t) {
        return type(*t).getElementType().isF32() && type(*t).hasStaticShape() &&
               type(*t).getNumElements() > 0;
      }))
    return;
  OpBuilder b(op);
  Location loc = op.getLoc();
  for (Value *t : qkv) {
    Value empty =
        tensor::EmptyOp::create(b, loc, type(*t).getShape(), to).getResult();
    *t = convertTensor(b, loc, *t, empty);
  }
  op.emitRemark() << "bpt-gpu-attention: f32 queries, keys and values "
                     "rounded to "
                  << to << " for the tensor cores (f32-inputs)";
}

/// The gpu.func of `spec` in `kernels`, built on first use.
static gpu::GPUFuncOp getOrBuildKernel(gpu::GPUModuleOp kernels,
                                       const KernelSpec &spec,
                                       ArrayRef<Type> argTypes) {
  std::string name = spec.name();
  if (auto existing = kernels.lookupSymbol<gpu::GPUFuncOp>(name))
    return existing;
  OpBuilder b(kernels.getContext());
  Location loc = kernels.getLoc();
  if (spec.wgmma) {
    auto func = createKernel(b, kernels, name, argTypes, 0, kWgThreads);
    KernelBuilder(b, loc, spec).buildWarpgroup(func);
    return func;
  }
  // The K and V tiles, viewed with their types in the kernel: a workgroup
  // buffer, or dynamic shared memory past 48 KiB.
  int64_t bytes = tileBytes(spec.d, spec.dv);
  auto func = createKernel(b, kernels, name, argTypes,
                           bytes > kMaxStaticShared ? 0 : bytes, kThreads);
  KernelBuilder(b, loc, spec).build(func);
  return func;
}

void BPTGPUAttentionPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  // A bpt.block's attention becomes a kernel; the rest of its body is left
  // to the pipeline.
  IRRewriter rewriter(ctx);
  inlineBlocks(rewriter, module);
  SmallVector<AttentionOp> ops;
  module.walk([&](AttentionOp op) { ops.push_back(op); });

  Type roundTo;
  if (f32Inputs == "bf16")
    roundTo = BFloat16Type::get(ctx);
  else if (f32Inputs == "f16")
    roundTo = Float16Type::get(ctx);
  else if (!f32Inputs.empty()) {
    module.emitError() << "bpt-gpu-attention: f32-inputs must be bf16 or f16, "
                          "not '"
                       << f32Inputs << "'";
    return signalPassFailure();
  }
  gpu::GPUModuleOp kernels;
  for (AttentionOp op : ops) {
    std::string why;
    Operands operands = chooseOperands(op);
    if (roundTo)
      roundF32Inputs(op, operands, roundTo);
    FailureOr<KernelSpec> spec = specify(op, operands, why);
    if (failed(spec)) {
      op.emitError() << "cannot run on the GPU: " << why;
      return signalPassFailure();
    }
    if (!kernels)
      kernels = getOrCreateKernelModule(module);
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto memrefOf = [](Value t) {
      auto ty = cast<RankedTensorType>(t.getType());
      return MemRefType::get(ty.getShape(), ty.getElementType());
    };
    SmallVector<Value> args;
    // A head split of a projection is read in place; then Q, K and V are
    // all passed as views with unit-stride rows (any other strides and
    // offset).
    SmallVector<Value> qkv = {operands.q, operands.k, operands.v};
    SmallVector<Value> sources = llvm::map_to_vector(qkv, headSplitSource);
    spec->views = llvm::any_of(sources, [](Value v) { return bool(v); });
    for (auto [t, src] : llvm::zip(qkv, sources)) {
      auto ty = cast<RankedTensorType>(t.getType());
      auto viewTy = [&](ArrayRef<int64_t> shape) {
        return anyStridedType(shape, ty.getElementType(), /*unitRows=*/true);
      };
      Value buf;
      if (src) {
        auto srcTy = cast<RankedTensorType>(src.getType());
        Value whole = bufferization::ToBufferOp::create(
            b, loc, viewTy(srcTy.getShape()), src, /*read_only=*/true);
        AffineMap swap = AffineMap::getPermutationMap(
            ArrayRef<unsigned>{1, 0, 2}, b.getContext());
        Value heads = memref::TransposeOp::create(b, loc, whole,
                                                  AffineMapAttr::get(swap));
        buf = memref::ExpandShapeOp::create(
            b, loc, ty.getShape(), heads,
            ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
      } else {
        buf = bufferization::ToBufferOp::create(b, loc, memrefOf(t), t,
                                                /*read_only=*/true);
      }
      MemRefType argTy = viewTy(ty.getShape());
      if (spec->views && buf.getType() != argTy)
        buf = memref::CastOp::create(b, loc, argTy, buf);
      args.push_back(buf);
    }
    // The results are fresh buffers: --bpt-gpu-offload makes them device
    // memory once deallocation has been placed.
    SmallVector<Value> results;
    for (auto [i, init] : llvm::enumerate(op.getOutputs())) {
      Value like = i == 0 && operands.outCast ? operands.outCast : init;
      Value alloc = memref::AllocOp::create(b, loc, memrefOf(like));
      args.push_back(alloc);
      results.push_back(alloc);
    }
    if (Value mask = op.getMask()) {
      auto mt = cast<RankedTensorType>(mask.getType());
      args.push_back(bufferization::ToBufferOp::create(
          b, loc, MemRefType::get(mt.getShape(), mt.getElementType()), mask,
          /*read_only=*/true));
    }
    // Default positions: query i at i + Sk - Sq, key j at j.
    args.push_back(op.getQueryPos() ? op.getQueryPos()
                                    : arith::ConstantIndexOp::create(
                                          b, loc, spec->sk - spec->sq)
                                          .getResult());
    args.push_back(op.getKeyPos()
                       ? op.getKeyPos()
                       : arith::ConstantIndexOp::create(b, loc, 0).getResult());
    gpu::GPUFuncOp kernel = getOrBuildKernel(
        kernels, *spec, llvm::to_vector(ValueRange(args).getTypes()));
    auto c = [&](int64_t v) {
      return arith::ConstantIndexOp::create(b, loc, v).getResult();
    };
    gpu::KernelDim3 grid{c((spec->sq + kBlockM - 1) / kBlockM), c(spec->hq),
                         c(spec->b)};
    gpu::KernelDim3 block{c(kThreads), c(1), c(1)};
    // Synchronous: the host waits for the kernel, so a buffer may be freed
    // right after the launch (its last use); on one stream (--bpt-gpu-stream)
    // the free is ordered after it instead.
    int64_t bytes = tileBytes(spec->d, spec->dv);
    Value dynamicShared =
        bytes > kMaxStaticShared
            ? arith::ConstantIntOp::create(b, loc, b.getI32Type(), bytes)
                  .getResult()
            : Value();
    // On sm_90a (wgmma): the TMA + warpgroup-MMA kernel when, at run time, the
    // rows of Q, K and V are 16-byte aligned (TMA's rule); the kernel above
    // otherwise.
    OpBuilder::InsertPoint afterLaunch = b.saveInsertionPoint();
    if (wgmma) {
      Value ok = rowsAligned16(b, loc, args[0]);
      for (int i = 1; i < 3; ++i)
        ok = arith::AndIOp::create(b, loc, ok, rowsAligned16(b, loc, args[i]));
      auto ifOp = scf::IfOp::create(b, loc, ok, /*withElse=*/true);
      b.setInsertionPointToStart(ifOp.thenBlock());
      SmallVector<Value> wargs;
      for (int i = 0; i < 3; ++i) {
        // Boxes of 128 query rows, 64 key rows.
        int64_t rows = i == 0 ? kWgBlockM : kWgBox;
        Value unranked = memref::CastOp::create(
            b, loc, UnrankedMemRefType::get(spec->in, Attribute()), args[i]);
        Value map = nvgpu::TmaCreateDescriptorOp::create(
            b, loc,
            swizzledBoxMapType(spec->in, {1, 1, rows, kWgBox},
                               workgroupSpace(ctx)),
            unranked, ValueRange{c(1), c(1), c(rows), c(kWgBox)});
        wargs.push_back(UnrealizedConversionCastOp::create(
                            b, loc, LLVM::LLVMPointerType::get(ctx), map)
                            .getResult(0));
      }
      // Q, K and V themselves too, unused by the kernel: their buffers
      // live until the launch (deallocation sees the launch read them).
      wargs.append(args.begin(), args.end());
      KernelSpec wspec = *spec;
      wspec.wgmma = true;
      gpu::GPUFuncOp wkernel = getOrBuildKernel(
          kernels, wspec, llvm::to_vector(ValueRange(wargs).getTypes()));
      Value shared = arith::ConstantIntOp::create(
          b, loc, b.getI32Type(), wgShape(spec->d, spec->dv).sharedBytes());
      gpu::KernelDim3 wgrid{c((spec->sq + kWgBlockM - 1) / kWgBlockM),
                            c(spec->hq), c(spec->b)};
      gpu::KernelDim3 wblock{c(kWgThreads), c(1), c(1)};
      gpu::LaunchFuncOp::create(b, loc, wkernel, wgrid, wblock, shared, wargs);
      b.setInsertionPointToStart(ifOp.elseBlock());
    }
    gpu::LaunchFuncOp::create(b, loc, kernel, grid, block, dynamicShared, args);
    b.restoreInsertionPoint(afterLaunch);
    SmallVector<Value> tensors;
    for (Value buf : results) {
      auto m = cast<MemRefType>(buf.getType());
      tensors.push_back(bufferization::ToTensorOp::create(
          b, loc, RankedTensorType::get(m.getShape(), m.getElementType()), buf,
          /*restrict=*/true, /*writable=*/true));
    }
    if (operands.outCast) {
      Operation *cast = operands.outCast.getDefiningOp();
      operands.outCast.replaceAllUsesWith(tensors[0]);
      cast->erase();
      tensors[0] = Value();
    }
    for (auto [res, t] : llvm::zip(op.getResults(), tensors))
      if (t)
        res.replaceAllUsesWith(t);
    op->erase();
  }
  // The widening casts the kernels absorbed are dead now.
  for (auto func : module.getOps<func::FuncOp>())
    (void)runRegionDCE(rewriter, func->getRegions());
}

} // namespace
