//===- OnlineSoftmax.cpp - Attention as an online softmax over KV blocks --===//
//
// The key/value loop of blockwise attention. Only [.., Sq, kvBlock] scores
// exist at any time; the softmax is merged across blocks with the running
// max and sum, so the result equals the textbook softmax up to rounding.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/Transforms/AttentionBuilders.h"
#include "bpt/Dialect/BPT/Transforms/BuilderUtils.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::bpt;

/// The slice [start, start + size) of dimension `dim` of `source`, every
/// other dimension whole.
static Value sliceDim(OpBuilder &b, Location loc, Value source, unsigned dim,
                      Value start, Value size) {
  auto ty = cast<RankedTensorType>(source.getType());
  SmallVector<OpFoldResult> offsets(ty.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, source);
  SmallVector<OpFoldResult> strides(ty.getRank(), b.getIndexAttr(1));
  offsets[dim] = start;
  sizes[dim] = size;
  return tensor::ExtractSliceOp::create(b, loc, source, offsets, sizes,
                                        strides);
}

/// `source` [.., a, b] as [.., b, a].
static Value transposeLastTwo(OpBuilder &b, Location loc, Value source) {
  auto ty = cast<RankedTensorType>(source.getType());
  int64_t rank = ty.getRank();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, source);
  std::swap(sizes[rank - 2], sizes[rank - 1]);
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  std::swap(perm[rank - 2], perm[rank - 1]);
  Value init = tensor::EmptyOp::create(b, loc, sizes, ty.getElementType());
  return linalg::TransposeOp::create(b, loc, source, init, perm)
      ->getResult(0);
}

FailureOr<scf::ForOp>
mlir::bpt::lowerAttentionToOnlineSoftmax(RewriterBase &rewriter,
                                         AttentionOp op, int64_t kvBlock) {
  if (kvBlock <= 0)
    return rewriter.notifyMatchFailure(op, "kv-block must be positive");
  Location loc = op.getLoc();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  AttentionBuilder ab(rewriter, op);
  IndexMath im{rewriter, loc};

  double negInf = -std::numeric_limits<double>::infinity();
  Value m0 = ab.rowTensor(negInf);
  Value l0 = ab.rowTensor(0.0);
  Value acc0 = ab.zeroAccumulator();

  Value zero = im.c(0), block = im.c(kvBlock);
  Value sq = getValueOrCreateConstantIndexOp(rewriter, loc, ab.querySize);
  Value sk = getValueOrCreateConstantIndexOp(rewriter, loc, ab.keySize);

  // Key blocks [lo, hi). Causality bounds them by the last query's position;
  // a window by the first query's.
  Value lo = zero;
  Value hi = im.ceilDiv(sk, block);
  Value queryPos0, keyPos0;
  if (op.getCausal()) {
    std::tie(queryPos0, keyPos0) = buildAttentionPositions(rewriter, op);
    // Keys at positions <= queryPos0 + Sq - 1 are visible to some query.
    Value visible = im.clamp(im.sub(im.add(queryPos0, sq), keyPos0), zero, sk);
    hi = im.ceilDiv(visible, block);
    if (std::optional<int64_t> w = op.getWindow()) {
      // The first query sees nothing before position queryPos0 - W + 1.
      Value first = im.clamp(
          im.sub(im.sub(queryPos0, keyPos0), im.c(*w - 1)), zero, sk);
      lo = im.min(im.floorDiv(first, block), hi);
    }
  }

  auto loop = scf::ForOp::create(
      rewriter, loc, lo, hi, im.c(1), ValueRange{m0, l0, acc0},
      [&](OpBuilder &b, Location nl, Value kb, ValueRange iters) {
        IndexMath bm{b, nl};
        AttentionBuilder lb(b, op);
        Value start = bm.mul(kb, bm.c(kvBlock));
        Value size = bm.min(bm.c(kvBlock), bm.sub(sk, start));
        // Keys are dimension 2 of keys and values, dimension 3 of the mask.
        Value keys = sliceDim(b, nl, op.getKey(), 2, start, size);
        Value values = sliceDim(b, nl, op.getValue(), 2, start, size);
        Value maskTile;
        if (Value mask = op.getMask()) {
          // A mask broadcast over keys serves every block as it is.
          bool broadcast =
              cast<RankedTensorType>(mask.getType()).getDimSize(3) == 1;
          maskTile = broadcast ? mask : sliceDim(b, nl, mask, 3, start, size);
        }
        // The key block is transposed once per block ([.., D, kv-block], a
        // copy of kv-block x D for q-block x kv-block x D multiply-adds), so
        // that both products of the block read their second operand along
        // its contiguous dimension: S = Q K^T walks K^T rows, P V walks V
        // rows. Register-tiled vector code (--bpt-vectorize-contractions)
        // broadcasts one element of the first operand against a vector of
        // such a row.
        Value keysT = transposeLastTwo(b, nl, keys);
        Value s = lb.scores(keysT, /*transposed=*/true);

        Value scores;
        if (!op.getCausal()) {
          scores = lb.maskedScores(s, maskTile, Value(), Value());
        } else {
          // Only a block with a key after the first query's position (or,
          // with a window, before the last query's window) needs the test.
          Value blockKeyPos0 = bm.add(keyPos0, start);
          Value lastKey = bm.sub(bm.add(blockKeyPos0, size), bm.c(1));
          Value crosses = bm.gt(lastKey, queryPos0);
          if (std::optional<int64_t> w = op.getWindow()) {
            Value lastQuery = bm.sub(bm.add(queryPos0, sq), bm.c(1));
            Value outside = bm.le(blockKeyPos0, bm.sub(lastQuery, bm.c(*w)));
            crosses = arith::OrIOp::create(b, nl, crosses, outside);
          }
          auto ifOp = scf::IfOp::create(
              b, nl, crosses,
              [&](OpBuilder &tb, Location tl) {
                AttentionBuilder tab(tb, op);
                scf::YieldOp::create(
                    tb, tl,
                    tab.maskedScores(s, maskTile, queryPos0, blockKeyPos0));
              },
              [&](OpBuilder &eb, Location el) {
                AttentionBuilder eab(eb, op);
                scf::YieldOp::create(
                    eb, el, eab.maskedScores(s, maskTile, Value(), Value()));
              });
          scores = ifOp.getResult(0);
        }

        // Every update writes into the buffer of its loop-carried value after
        // the last read of the old value, so the loop bufferizes in place.
        Value m = iters[0], l = iters[1], acc = iters[2];
        double negInf = -std::numeric_limits<double>::infinity();
        Value blockMax = lb.rowMax(scores, lb.rowTensor(negInf));
        AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, b.getContext());
        SmallVector<utils::IteratorType> par3(3, utils::IteratorType::parallel);
        // alpha = exp(m - shift(max(m, blockMax))): 0 while the row has seen
        // no key.
        Value alpha = buildGeneric(
            b, nl, ValueRange{m, blockMax},
            tensor::EmptyOp::create(b, nl, tensor::getMixedSizes(b, nl, m),
                                    b.getF32Type()),
            {id3, id3, id3}, par3,
            [](OpBuilder &eb, Location el, ValueRange a) -> Value {
              Value mNew = arith::MaximumFOp::create(eb, el, a[0], a[1]);
              Value d = arith::SubFOp::create(eb, el, a[0],
                                              buildSafeShift(eb, el, mNew));
              return math::ExpOp::create(eb, el, d);
            });
        Value mNew = buildGeneric(
            b, nl, ValueRange{blockMax}, m, {id3, id3}, par3,
            [](OpBuilder &eb, Location el, ValueRange a) -> Value {
              return arith::MaximumFOp::create(eb, el, a[0], a[1]);
            });
        Value p = lb.shiftedExp(scores, mNew);
        Value lNew = lb.rowSum(p, lb.scaleRows(l, alpha));
        Value accNew = lb.valueProduct(p, values, lb.scaleRows(acc, alpha));
        scf::YieldOp::create(b, nl, ValueRange{mNew, lNew, accNew});
      });

  Value m = loop.getResult(0), l = loop.getResult(1), acc = loop.getResult(2);
  SmallVector<Value> results;
  results.push_back(ab.normalizedOutput(acc, l, op.getOutputInit()));
  if (Value lseInit = op.getLogSumExpInit())
    results.push_back(ab.logSumExp(m, l, lseInit));
  rewriter.replaceOp(op, results);
  return loop;
}
