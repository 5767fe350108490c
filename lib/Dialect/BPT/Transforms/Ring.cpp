//===- Ring.cpp - Ring attention over MPI ranks ---------------------------===//
//
// The module is the program of one rank of a 1-D ring of N ranks (SPMD):
// every bpt.attention holds this rank's shard of the sequence in its
// queries, keys and values. --bpt-ring makes each attend over the keys and
// values of all N shards: N steps, and in each step the rank starts the
// non-blocking send of the key/value block it holds to the next rank and
// the receive of the next block from the previous one, computes the
// attention of its queries against the block it holds (a bpt.attention
// with global positions and a log-sum-exp result), merges it into running
// results with the log-sum-exp, and only then waits on the requests.
// Everything else in the program (projections, norms, FFN) is row-wise and
// already local, so the FFN runs on the rank's query rows, as in the paper.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/BuilderUtils.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTRING
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;
using namespace mlir::bpt;

namespace {
/// A contiguous run of sequence rows of a shard: `size` rows from `offset`
/// in the local tensor, at global positions from `start`.
struct Piece {
  int64_t offset;
  int64_t size;
  Value start;
};
} // namespace

static Value f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// An f32 tensor of `sizes` filled with `value`.
static Value filledF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                       double value) {
  return createFilledTensor(b, loc, sizes, b.getF32Type(), value);
}

/// Rows [offset, offset + size) of dimension 2 of `t`.
static Value rows(OpBuilder &b, Location loc, Value t, int64_t offset,
                  int64_t size) {
  auto ty = cast<RankedTensorType>(t.getType());
  if (offset == 0 && ty.getDimSize(2) == size)
    return t;
  SmallVector<OpFoldResult> offsets(ty.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, t);
  SmallVector<OpFoldResult> strides(ty.getRank(), b.getIndexAttr(1));
  offsets[2] = b.getIndexAttr(offset);
  sizes[2] = b.getIndexAttr(size);
  return tensor::ExtractSliceOp::create(b, loc, t, offsets, sizes, strides);
}

/// Merges a partial attention result (o2, lse2) over other keys into the
/// running (o1, lse1): with M = max(lse1, lse2),
///   lse = M + log(exp(lse1 - M) + exp(lse2 - M)),
///   o   = o1 exp(lse1 - lse) + o2 exp(lse2 - lse),
/// and (0, -inf) for a row that has seen no key yet.
static std::pair<Value, Value> mergePartial(OpBuilder &b, Location loc,
                                            Value o1, Value lse1, Value o2,
                                            Value lse2) {
  using utils::IteratorType;
  MLIRContext *ctx = b.getContext();
  double negInf = -std::numeric_limits<double>::infinity();
  AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
  Value lse = buildGeneric(
      b, loc, ValueRange{lse1, lse2},
      tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, lse1),
                              b.getF32Type()),
      {id3, id3, id3}, SmallVector<IteratorType>(3, IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value m = arith::MaximumFOp::create(nb, nl, a[0], a[1]);
        Value empty = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                            m, f32Const(nb, nl, negInf));
        Value shift = arith::SelectOp::create(nb, nl, empty,
                                              f32Const(nb, nl, 0.0), m);
        Value e1 = math::ExpOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, a[0], shift));
        Value e2 = math::ExpOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, a[1], shift));
        Value sum = arith::AddFOp::create(nb, nl, e1, e2);
        Value merged = arith::AddFOp::create(
            nb, nl, shift, math::LogOp::create(nb, nl, sum));
        return arith::SelectOp::create(nb, nl, empty,
                                       f32Const(nb, nl, negInf), merged);
      });
  AffineMap id4 = AffineMap::getMultiDimIdentityMap(4, ctx);
  AffineMap row = id4.getMajorSubMap(3);
  Value o = buildGeneric(
      b, loc, ValueRange{o2, lse1, lse2, lse}, o1, {id4, row, row, row, id4},
      SmallVector<IteratorType>(4, IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        // a = (o2, lse1, lse2, lse, o1)
        Value empty = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                            a[3], f32Const(nb, nl, negInf));
        Value shift = arith::SelectOp::create(nb, nl, empty,
                                              f32Const(nb, nl, 0.0), a[3]);
        Value w1 = math::ExpOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, a[1], shift));
        Value w2 = math::ExpOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, a[2], shift));
        Value sum = arith::AddFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, a[4], w1),
            arith::MulFOp::create(nb, nl, a[0], w2));
        return arith::SelectOp::create(nb, nl, empty, f32Const(nb, nl, 0.0),
                                       sum);
      });
  return {o, lse};
}

namespace {
/// Rewrites one bpt.attention into the ring.
class RingRewriter {
public:
  RingRewriter(RewriterBase &rewriter, AttentionOp op, int64_t devices,
               bool zigzag)
      : rewriter(rewriter), op(op), devices(devices), zigzag(zigzag),
        loc(op.getLoc()) {}

  LogicalResult run();

private:
  LogicalResult check();
  SmallVector<Piece> pieces(Value shardIndex, int64_t localRows,
                            int64_t positionShift);
  /// Attention of the query piece against one key piece, merged into the
  /// running results (skipped at run time when causality hides it all).
  std::pair<Value, Value> step(Value q, Value keys, Value values,
                               const Piece &qp, const Piece &kp, Value o,
                               Value lse);
  /// Starts receiving into a fresh buffer shaped like `like` from `source`.
  std::pair<Value, Value> startRecv(Value like, Value comm, Value tag,
                                    Value source);

  RewriterBase &rewriter;
  AttentionOp op;
  int64_t devices;
  bool zigzag;
  Location loc;
};
} // namespace

LogicalResult RingRewriter::check() {
  if (op.getMask())
    return op.emitError("bpt-ring: an attention with a mask operand cannot "
                        "be distributed: the mask holds only this rank's "
                        "keys (express causality with the causal flag)");
  if (op.getQueryPos())
    return op.emitError("bpt-ring: an attention with explicit positions "
                        "cannot be distributed: the ring sets the global "
                        "positions itself");
  auto qTy = op.getQueryType();
  auto kTy = cast<RankedTensorType>(op.getKey().getType());
  if (qTy.isDynamicDim(2) || kTy.isDynamicDim(2))
    return op.emitError("bpt-ring: the local sequence lengths must be "
                        "static");
  if (zigzag) {
    if (qTy.getDimSize(2) != kTy.getDimSize(2))
      return op.emitError("bpt-ring: zigzag order needs as many queries as "
                          "keys per rank (self-attention)");
    if (qTy.getDimSize(2) == 0)
      return op.emitError("bpt-ring: zigzag order splits each rank's rows "
                          "into two chunks, and this rank has none (an "
                          "empty local sequence)");
    if (qTy.getDimSize(2) % 2)
      return op.emitError("bpt-ring: zigzag order splits each rank's ")
             << qTy.getDimSize(2)
             << " rows into two chunks of equal size: the local sequence "
                "length must be even";
  }
  return success();
}

/// The pieces of shard `shardIndex` (contiguous: rows [i S, (i + 1) S);
/// zigzag: chunks i and 2N - 1 - i of S / 2 rows).
SmallVector<Piece> RingRewriter::pieces(Value shardIndex, int64_t localRows,
                                        int64_t positionShift) {
  IndexMath ix{rewriter, loc};
  if (!zigzag)
    return {Piece{0, localRows,
                  ix.add(ix.mul(shardIndex, ix.c(localRows)),
                         ix.c(positionShift))}};
  int64_t chunk = localRows / 2;
  Value mirror = ix.sub(ix.c(2 * devices - 1), shardIndex);
  return {Piece{0, chunk, ix.mul(shardIndex, ix.c(chunk))},
          Piece{chunk, chunk, ix.mul(mirror, ix.c(chunk))}};
}

std::pair<Value, Value> RingRewriter::step(Value q, Value keys, Value values,
                                           const Piece &qp, const Piece &kp,
                                           Value o, Value lse) {
  auto build = [&](OpBuilder &b, Location l) -> std::pair<Value, Value> {
    Value qs = rows(b, l, q, qp.offset, qp.size);
    Value ks = rows(b, l, keys, kp.offset, kp.size);
    Value vs = rows(b, l, values, kp.offset, kp.size);
    Value oInit = tensor::EmptyOp::create(
        b, l, tensor::getMixedSizes(b, l, o), b.getF32Type());
    Value lseInit = tensor::EmptyOp::create(
        b, l, tensor::getMixedSizes(b, l, lse), b.getF32Type());
    auto part = AttentionOp::create(
        b, l, TypeRange{oInit.getType(), lseInit.getType()}, qs, ks, vs,
        /*mask=*/Value(), qp.start, kp.start, ValueRange{oInit, lseInit},
        op.getScaleAttr(), op.getCausalAttr(), op.getWindowAttr());
    return mergePartial(b, l, o, lse, part->getResult(0), part->getResult(1));
  };
  if (!op.getCausal())
    return build(rewriter, loc);

  // Visible when the first key is not after the last query and (with a
  // window) the last key is inside the first query's window.
  IndexMath ix{rewriter, loc};
  Value lastQuery = ix.add(qp.start, ix.c(qp.size - 1));
  Value visible = ix.cmp(arith::CmpIPredicate::sle, kp.start, lastQuery);
  if (std::optional<int64_t> w = op.getWindow()) {
    Value lastKey = ix.add(kp.start, ix.c(kp.size - 1));
    Value inWindow = ix.cmp(arith::CmpIPredicate::sgt, lastKey,
                            ix.sub(qp.start, ix.c(*w)));
    visible = arith::AndIOp::create(rewriter, loc, visible, inWindow);
  }
  auto ifOp = scf::IfOp::create(
      rewriter, loc, visible,
      [&](OpBuilder &b, Location l) {
        auto [no, nl] = build(b, l);
        scf::YieldOp::create(b, l, ValueRange{no, nl});
      },
      [&](OpBuilder &b, Location l) {
        scf::YieldOp::create(b, l, ValueRange{o, lse});
      });
  return {ifOp.getResult(0), ifOp.getResult(1)};
}

std::pair<Value, Value> RingRewriter::startRecv(Value like, Value comm,
                                                Value tag, Value source) {
  auto ty = cast<RankedTensorType>(like.getType());
  auto bufTy = MemRefType::get(ty.getShape(), ty.getElementType());
  SmallVector<Value> dynSizes;
  for (int64_t d = 0; d < ty.getRank(); ++d)
    if (ty.isDynamicDim(d))
      dynSizes.push_back(tensor::DimOp::create(rewriter, loc, like, d));
  Value buf = memref::AllocOp::create(rewriter, loc, bufTy, dynSizes);
  Value req = mpi::IRecvOp::create(rewriter, loc, /*retval=*/Type(),
                                   mpi::RequestType::get(rewriter.getContext()),
                                   buf, tag, source, comm)
                  .getReq();
  return {buf, req};
}

/// A contiguous copy of `t` in a buffer of its own (what the first step
/// sends: the caller's tensor may live in a strided view).
static Value copyToBuffer(OpBuilder &b, Location loc, Value t) {
  auto ty = cast<RankedTensorType>(t.getType());
  auto anyLayout = MemRefType::get(
      ty.getShape(), ty.getElementType(),
      StridedLayoutAttr::get(
          b.getContext(), ShapedType::kDynamic,
          SmallVector<int64_t>(ty.getRank(), ShapedType::kDynamic)));
  Value src =
      bufferization::ToBufferOp::create(b, loc, anyLayout, t, /*read_only=*/true);
  SmallVector<Value> dynSizes;
  for (int64_t d = 0; d < ty.getRank(); ++d)
    if (ty.isDynamicDim(d))
      dynSizes.push_back(tensor::DimOp::create(b, loc, t, d));
  Value buf = memref::AllocOp::create(
      b, loc, MemRefType::get(ty.getShape(), ty.getElementType()), dynSizes);
  memref::CopyOp::create(b, loc, src, buf);
  return buf;
}

LogicalResult RingRewriter::run() {
  if (failed(check()))
    return failure();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  MLIRContext *ctx = rewriter.getContext();
  IndexMath ix{rewriter, loc};
  Type i32 = rewriter.getI32Type();
  auto i32c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(rewriter, loc, i32, v);
  };

  // The ring: rank r sends to r + 1 and receives from r - 1. The program
  // was compiled for `devices` ranks: anything else stops the job.
  Value comm = mpi::CommWorldOp::create(rewriter, loc,
                                        mpi::CommType::get(ctx));
  Value rank32 =
      mpi::CommRankOp::create(rewriter, loc, Type(), i32, comm).getRank();
  Value size32 =
      mpi::CommSizeOp::create(rewriter, loc, Type(), i32, comm).getSize();
  cf::AssertOp::create(
      rewriter, loc,
      arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, size32,
                            i32c(devices)),
      ("bpt-ring: this program runs on exactly " + Twine(devices) +
       " MPI ranks")
          .str());
  Value rank = arith::IndexCastOp::create(rewriter, loc,
                                          rewriter.getIndexType(), rank32);
  Value next32 = arith::RemUIOp::create(
      rewriter, loc, arith::AddIOp::create(rewriter, loc, rank32, i32c(1)),
      i32c(devices));
  Value prev32 = arith::RemUIOp::create(
      rewriter, loc,
      arith::AddIOp::create(rewriter, loc, rank32, i32c(devices - 1)),
      i32c(devices));

  auto qTy = op.getQueryType();
  auto kTy = cast<RankedTensorType>(op.getKey().getType());
  int64_t sq = qTy.getDimSize(2), sk = kTy.getDimSize(2);
  // Without explicit positions the global queries are aligned to the
  // bottom right of the global keys, as bpt.attention aligns them.
  int64_t shift = devices * (sk - sq);
  SmallVector<Piece> queryPieces = pieces(rank, sq, shift);

  // Running results per query piece: f32 output and log-sum-exp.
  Value q = op.getQuery();
  SmallVector<Value> outs, lses;
  for (const Piece &p : queryPieces) {
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc,
                                                            op.getOutputInit());
    sizes[2] = rewriter.getIndexAttr(p.size);
    outs.push_back(filledF32(rewriter, loc, sizes, 0.0));
    sizes.pop_back();
    lses.push_back(filledF32(rewriter, loc, sizes,
                             -std::numeric_limits<double>::infinity()));
  }

  Value keys = op.getKey(), values = op.getValue();
  Value sendK, sendV;
  for (int64_t s = 0; s < devices; ++s) {
    bool communicate = s + 1 < devices;
    Value recvK, recvV;
    SmallVector<Value> requests;
    if (communicate) {
      if (s == 0) {
        sendK = copyToBuffer(rewriter, loc, keys);
        sendV = copyToBuffer(rewriter, loc, values);
      }
      // Receives first, so the matching sends of the neighbour find them.
      Value recvReqK, recvReqV;
      std::tie(recvK, recvReqK) = startRecv(keys, comm, i32c(2 * s), prev32);
      std::tie(recvV, recvReqV) =
          startRecv(values, comm, i32c(2 * s + 1), prev32);
      auto reqTy = mpi::RequestType::get(ctx);
      Value sendReqK = mpi::ISendOp::create(rewriter, loc, Type(), reqTy,
                                            sendK, i32c(2 * s), next32, comm)
                           .getReq();
      Value sendReqV =
          mpi::ISendOp::create(rewriter, loc, Type(), reqTy, sendV,
                               i32c(2 * s + 1), next32, comm)
              .getReq();
      requests = {recvReqK, recvReqV, sendReqK, sendReqV};
    }

    // Compute on the block held now: the shard of rank - s.
    Value source = ix.rem(ix.add(rank, ix.c(devices - s % devices)),
                          ix.c(devices));
    SmallVector<Piece> keyPieces = pieces(source, sk, 0);
    for (auto [i, qp] : llvm::enumerate(queryPieces))
      for (const Piece &kp : keyPieces)
        std::tie(outs[i], lses[i]) =
            step(q, keys, values, qp, kp, outs[i], lses[i]);

    if (!communicate)
      break;
    for (Value req : requests)
      mpi::Wait::create(rewriter, loc, Type(), req);
    HoldOp::create(rewriter, loc, ValueRange{sendK, sendV, recvK, recvV});
    keys = bufferization::ToTensorOp::create(
        rewriter, loc, keys.getType(), recvK, /*restrict=*/true,
        /*writable=*/false);
    values = bufferization::ToTensorOp::create(
        rewriter, loc, values.getType(), recvV, /*restrict=*/true,
        /*writable=*/false);
    sendK = recvK;
    sendV = recvV;
  }

  // Assemble the pieces into the destinations, in their element types.
  auto assemble = [&](ArrayRef<Value> parts, Value init) -> Value {
    if (parts.size() == 1)
      return convertTensor(rewriter, loc, parts[0], init);
    Value result = init;
    for (auto [p, part] : llvm::zip(queryPieces, parts)) {
      Value dest = rows(rewriter, loc, init, p.offset, p.size);
      Value converted = convertTensor(rewriter, loc, part, dest);
      auto ty = cast<RankedTensorType>(result.getType());
      SmallVector<OpFoldResult> offsets(ty.getRank(),
                                        rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes =
          tensor::getMixedSizes(rewriter, loc, converted);
      SmallVector<OpFoldResult> strides(ty.getRank(),
                                        rewriter.getIndexAttr(1));
      offsets[2] = rewriter.getIndexAttr(p.offset);
      result = tensor::InsertSliceOp::create(rewriter, loc, converted, result,
                                             offsets, sizes, strides);
    }
    return result;
  };
  SmallVector<Value> results = {assemble(outs, op.getOutputInit())};
  if (Value lseInit = op.getLogSumExpInit())
    results.push_back(assemble(lses, lseInit));
  rewriter.replaceOp(op, results);
  return success();
}

/// The module attribute that names the MPI implementation.
static constexpr llvm::StringLiteral kDLTIMap = "dlti.map";

namespace {
struct BPTRingPass : public bpt::impl::BPTRingBase<BPTRingPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (devices < 1) {
      module.emitError("bpt-ring: devices must be at least 1");
      return signalPassFailure();
    }
    if (order != "contiguous" && order != "zigzag") {
      module.emitError("bpt-ring: order must be contiguous or zigzag, got '")
          << order << "'";
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    // The ring splits a block's attention into steps, which a block (one
    // attention) cannot hold: the block gives way to its body, whose
    // row-wise parts --bpt-blockwise still fuses op by op.
    inlineBlocks(rewriter, module);

    SmallVector<AttentionOp> ops;
    module.walk([&](AttentionOp op) { ops.push_back(op); });
    if (ops.empty())
      return;
    bool failedAny = false;
    for (AttentionOp op : ops)
      failedAny |= failed(
          RingRewriter(rewriter, op, devices, order == "zigzag").run());
    if (failedAny)
      return signalPassFailure();

    // The MPI library the program links: Debian's OpenMPI, unless the
    // module says otherwise.
    if (!module->hasAttr(kDLTIMap)) {
      MLIRContext *ctx = &getContext();
      DataLayoutEntryInterface entry = DataLayoutEntryAttr::get(
          StringAttr::get(ctx, "MPI:Implementation"),
          StringAttr::get(ctx, "OpenMPI"));
      module->setAttr(kDLTIMap, MapAttr::get(ctx, {entry}));
    }
  }
};
} // namespace
