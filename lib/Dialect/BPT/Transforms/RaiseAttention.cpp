//===- RaiseAttention.cpp - Find attention in linalg and raise it ---------===//
//
// Attention is found by what it computes, anchored on its softmax:
//
//   scores = scale * (Q K^T) [+ mask | masked_fill]   (a contraction, then
//                                                       elementwise ops)
//   P      = softmax(scores) over the key axis         (linalg.softmax, or
//                                                       max, sub, exp, sum, div)
//   out    = P V                                       (a contraction)
//
// Each piece may be spelled in many ways (named or generic contractions,
// batch dimensions merged by reshapes, K transposed by linalg.transpose or a
// generic, the scale on the scores or split over Q and K, casts, a causal
// mask built from iotas): the matchers below read the meaning. The match
// then has to prove the rewrite exact: the scores and probabilities must
// feed nothing else, the softmax must run over keys, the value contraction
// must contract keys, and the scale must not be applied to a mask. Anything
// else leaves the IR untouched and, on request, a remark names the op that
// stopped the match and why.
//
//===----------------------------------------------------------------------===//

#include "CausalMask.h"
#include "Softmax.h"

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/BuilderUtils.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Dialect/BPT/Transforms/RaiseUtils.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <cmath>

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTRAISEATTENTION
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;
using namespace mlir::bpt;

namespace {

/// A refusal: the op that stopped the match and the reason.
struct Refusal {
  Operation *op;
  std::string reason;
};

/// A mask applied to the scores by an elementwise op of the score chain.
struct AppliedMask {
  Value tensor;          // as read by `op`
  AffineMap map;         // from the loops of `op`
  linalg::GenericOp op;  // the op applying it
  MaskKind kind;
  // A select of a huge finite negative value (Hugging Face's
  // finfo.min) instead of -inf: equal to removing the score unless a whole
  // row is removed, so only accepted for causal masks, which never do.
  bool finiteFill = false;
  // A mask computed in `op`'s own body from linalg.index (no mask tensor):
  // the condition of the select, or the float added to the score. Only a
  // causal one can be raised.
  Value inBody = nullptr;
};

/// Whether `v`, a value of `op`'s body, is computed from linalg.index.
static bool dependsOnIndex(linalg::GenericOp op, Value v) {
  SmallVector<Value> work{v};
  llvm::SmallPtrSet<Operation *, 16> seen;
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != op.getBody() || !seen.insert(def).second)
      continue;
    if (isa<linalg::IndexOp>(def))
      return true;
    llvm::append_range(work, def->getOperands());
  }
  return false;
}

static SmallVector<int64_t> loopExtentsOf(const AppliedMask &mask) {
  linalg::GenericOp op = mask.op;
  return op.getStaticLoopRanges();
}

/// An operand of a contraction traced back to the tensor it reads.
struct TracedOperand {
  Value value;
  bool transposed = false; // the last two dimensions are swapped
  double scale = 1.0;      // a constant factor applied on the way
  int64_t groups = 1;      // heads repeated by a broadcast (GQA)
};

} // namespace

//===----------------------------------------------------------------------===//
// The score chain and the contractions
//===----------------------------------------------------------------------===//

/// Classifies an elementwise op of the score chain that applies a mask to
/// `score` (an input read through the identity map): `score + m`, or a
/// select between the score and -inf.
static std::optional<AppliedMask> matchMaskOp(linalg::GenericOp op,
                                              Value &score) {
  Operation *def = getYieldedValue(op).getDefiningOp();
  if (!def || def->getBlock() != op.getBody())
    return std::nullopt;
  if (auto add = dyn_cast<arith::AddFOp>(def)) {
    for (auto [s, mk] : {std::pair(add.getLhs(), add.getRhs()),
                         std::pair(add.getRhs(), add.getLhs())}) {
      OpOperand *so = getIdentityInputOperandOfArg(op, s);
      Value maskArg = mk;
      if (auto ext = maskArg.getDefiningOp<arith::ExtFOp>())
        maskArg = ext.getIn();
      OpOperand *mo = getInputOperandOfArg(op, maskArg);
      if (so && !mo && dependsOnIndex(op, maskArg)) {
        score = so->get();
        AppliedMask mask{Value(), AffineMap(), op, MaskKind::Additive};
        mask.inBody = maskArg;
        return mask;
      }
      if (!so || !mo || so == mo)
        continue;
      score = so->get();
      return AppliedMask{mo->get(), op.getMatchingIndexingMap(mo), op,
                         MaskKind::Additive};
    }
    return std::nullopt;
  }
  if (auto select = dyn_cast<arith::SelectOp>(def)) {
    OpOperand *cond = getInputOperandOfArg(op, select.getCondition());
    bool inBody = !cond && dependsOnIndex(op, select.getCondition());
    if (!cond && !inBody)
      return std::nullopt;
    bool finite = false;
    auto isMinusInf = [&](Value v) {
      std::optional<double> c = getConstantFloatInBody(op, v);
      finite = c && !std::isinf(*c);
      return c && *c <= -1e30;
    };
    OpOperand *t = getIdentityInputOperandOfArg(op, select.getTrueValue());
    OpOperand *f = getIdentityInputOperandOfArg(op, select.getFalseValue());
    auto applied = [&](MaskKind kind) {
      if (inBody) {
        AppliedMask mask{Value(), AffineMap(), op, kind, finite};
        mask.inBody = select.getCondition();
        return mask;
      }
      return AppliedMask{cond->get(), op.getMatchingIndexingMap(cond), op,
                         kind, finite};
    };
    if (t && isMinusInf(select.getFalseValue())) {
      score = t->get();
      return applied(MaskKind::KeepIfTrue);
    }
    if (f && isMinusInf(select.getTrueValue())) {
      score = f->get();
      return applied(MaskKind::RemoveIfTrue);
    }
  }
  return std::nullopt;
}

/// Traces an operand of a contraction, laid out [batch, rows, inner], back
/// through batch reshapes, transposes of the last two dimensions, constant
/// scales (when `allowScale`) and widening casts.
static TracedOperand traceOperand(Value v, bool transposed, bool allowScale,
                                  bool allowCast) {
  TracedOperand t{v, transposed};
  while (true) {
    Value next = stripLeadingReshapes(t.value, 2);
    if (next != t.value) {
      t.value = next;
      continue;
    }
    if (Value src = matchTrailingTranspose(t.value)) {
      t.value = src;
      t.transposed = !t.transposed;
      continue;
    }
    auto generic = t.value.getDefiningOp<linalg::GenericOp>();
    if (!generic)
      break;
    Value input;
    if (allowScale) {
      if (std::optional<double> k = matchScalarScale(generic, input)) {
        t.scale *= *k;
        t.value = input;
        continue;
      }
    }
    if (Value src = allowCast ? matchFloatCast(generic) : Value()) {
      auto from = cast<RankedTensorType>(src.getType()).getElementType();
      auto to = cast<RankedTensorType>(t.value.getType()).getElementType();
      if (from.getIntOrFloatBitWidth() <= to.getIntOrFloatBitWidth()) {
        t.value = src;
        continue;
      }
    }
    break;
  }
  return t;
}

/// Grouped-query attention: keys and values repeated over the query heads
/// of a group by a broadcast along a new dimension right after the key/value
/// head dimension (torch's repeat_kv: expand + reshape). Returns the
/// unrepeated tensor and the group size, or the value itself.
static TracedOperand lookThroughRepeatedHeadsWithUnitDims(TracedOperand t);

static TracedOperand lookThroughRepeatedHeads(TracedOperand t) {
  if (t.transposed)
    return t;
  if (t.value.getDefiningOp<tensor::CollapseShapeOp>())
    return lookThroughRepeatedHeadsWithUnitDims(t);
  auto generic = t.value.getDefiningOp<linalg::GenericOp>();
  if (!generic)
    return t;
  std::optional<SmallVector<int64_t>> dims =
      linalg::isaBroadcastOpInterface(generic);
  auto type = cast<RankedTensorType>(t.value.getType());
  int64_t rank = type.getRank();
  // One new dimension, the last batch dimension, after at least one other.
  if (!dims || dims->size() != 1 || (*dims)[0] != rank - 3 || rank < 4)
    return t;
  t.groups *= type.getDimSize(rank - 3);
  t.value = generic.getDpsInputOperand(0)->get();
  return t;
}

/// The same repetition as TOSA spells it (tile lowered to a broadcast with
/// unit dimensions everywhere): `[B, H, S, D] = collapse(broadcast(
/// expand(kv)))`, where the group of the head dimension holds two non-unit
/// dimensions, the key/value heads (read from kv) and then the copies
/// (broadcast), and every other group at most one dimension read from kv.
static TracedOperand lookThroughRepeatedHeadsWithUnitDims(TracedOperand t) {
  auto collapse = t.value.getDefiningOp<tensor::CollapseShapeOp>();
  // [B, H, S, D], or [B*H, S, D] with the batch of heads merged.
  int64_t rank = collapse ? collapse.getResultType().getRank() : 0;
  if (rank != 3 && rank != 4)
    return t;
  auto generic = collapse.getSrc().getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      !isElementwiseGeneric(generic))
    return t;
  std::optional<SmallVector<int64_t>> broadcastDims =
      linalg::isaBroadcastOpInterface(generic);
  if (!broadcastDims)
    return t;
  ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
  auto isBroadcast = [&](int64_t d) {
    return llvm::is_contained(*broadcastDims, d);
  };
  unsigned headGroup = rank == 4 ? 1 : 0;
  int64_t groups = 1;
  for (auto [g, group] : llvm::enumerate(collapse.getReassociationIndices())) {
    SmallVector<int64_t> nonUnit;
    for (int64_t d : group)
      if (shape[d] != 1)
        nonUnit.push_back(d);
    if (g == headGroup) {
      // Heads: [kv heads (read), copies (broadcast)], in this order, so that
      // query head h reads key/value head h / G.
      if (nonUnit.size() != 2 || isBroadcast(nonUnit[0]) ||
          !isBroadcast(nonUnit[1]))
        return t;
      groups = shape[nonUnit[1]];
      continue;
    }
    if (nonUnit.size() > 1 || (nonUnit.size() == 1 && isBroadcast(nonUnit[0])))
      return t;
  }
  // The broadcast's input, without its unit dimensions, is [B, Hkv, S, D].
  Value kv = stripUnitReshapes(generic.getDpsInputOperand(0)->get());
  auto kvType = cast<RankedTensorType>(kv.getType());
  ArrayRef<int64_t> rep = cast<RankedTensorType>(t.value.getType()).getShape();
  if (kvType.getRank() != 4 || kvType.getDimSize(2) != rep[rank - 2] ||
      kvType.getDimSize(3) != rep[rank - 1] ||
      kvType.getDimSize(0) * kvType.getDimSize(1) * groups !=
          (rank == 4 ? rep[0] * rep[1] : rep[0]))
    return t;
  t.value = kv;
  t.groups *= groups;
  return t;
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

/// The 4-D [B|1, H|1, Sq|1, Sk|1] shape of a mask read at `mask.map` by an
/// op with loops [batch..., i, j] of extents `loopExtents`, once its batch
/// loops become `batch`; or nothing when the mask reads dimensions out of
/// order or varies along a batch layout that differs from `batch`.
static std::optional<SmallVector<int64_t>>
planMaskShape(const AppliedMask &mask, ArrayRef<int64_t> loopExtents,
              ArrayRef<int64_t> batch) {
  auto type = cast<RankedTensorType>(mask.tensor.getType());
  unsigned numLoops = mask.map.getNumDims();
  if (!type.hasStaticShape() || numLoops < 2 ||
      loopExtents.size() != numLoops)
    return std::nullopt;
  // Per loop: the extent of the mask along it (1 when it is not read).
  SmallVector<int64_t> perLoop(numLoops, 1);
  int64_t lastPos = -1;
  for (auto [r, e] : llvm::enumerate(mask.map.getResults())) {
    if (auto d = dyn_cast<AffineDimExpr>(e)) {
      if (static_cast<int64_t>(d.getPosition()) <= lastPos)
        return std::nullopt;
      lastPos = d.getPosition();
      perLoop[d.getPosition()] = type.getDimSize(r);
    } else if (type.getDimSize(r) != 1) {
      return std::nullopt;
    }
  }
  SmallVector<int64_t> want(perLoop.begin(), perLoop.end() - 2);
  if (loopExtents.drop_back(2) != batch) {
    if (llvm::any_of(want, [](int64_t s) { return s != 1; }))
      return std::nullopt;
    want.assign(batch.size(), 1);
  }
  want.push_back(perLoop[numLoops - 2]);
  want.push_back(perLoop[numLoops - 1]);
  return want;
}

/// The mask operand of bpt.attention: the mask tensor reshaped (same
/// elements in the same order) to the shape planMaskShape gives.
static Value buildMaskOperand(OpBuilder &b, Location loc,
                              const AppliedMask &mask,
                              ArrayRef<int64_t> loopExtents,
                              ArrayRef<int64_t> batch) {
  SmallVector<int64_t> want = *planMaskShape(mask, loopExtents, batch);
  auto type = cast<RankedTensorType>(mask.tensor.getType());
  Value v = mask.tensor;
  if (type.getShape() == ArrayRef<int64_t>(want))
    return v;
  if (type.getRank() != 1) {
    auto flatType =
        RankedTensorType::get({type.getNumElements()}, type.getElementType());
    SmallVector<ReassociationIndices> all(1);
    all[0] = llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
    v = tensor::CollapseShapeOp::create(b, loc, flatType, v, all);
  }
  SmallVector<ReassociationIndices> outAll(1);
  outAll[0] = llvm::to_vector(llvm::seq<int64_t>(0, want.size()));
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(want, type.getElementType()), v, outAll);
}

/// Everything the match established, to build bpt.attention from.
struct AttentionMatch {
  SoftmaxMatch softmax;
  Contraction scores, output;
  SmallVector<Operation *> chainOps; // between the contractions and softmax
  SmallVector<AppliedMask> masks;
  double scale = 1.0;
};

/// Establishes that `softmaxRoot` ends the softmax of an attention and
/// collects everything the rewrite needs, or says why not.
static FailureOr<AttentionMatch> matchAttention(Operation *softmaxRoot,
                                                Refusal &refusal) {
  auto refuse = [&](Operation *op, const Twine &why) {
    refusal = {op, why.str()};
    return failure();
  };
  AttentionMatch m;
  FailureOr<SoftmaxMatch> softmax = matchSoftmax(softmaxRoot);
  if (failed(softmax))
    return refuse(softmaxRoot, "not a softmax");
  m.softmax = *softmax;
  auto scoresTy = cast<RankedTensorType>(softmax->input.getType());
  if (scoresTy.getRank() < 2)
    return refuse(softmaxRoot, "the softmax input has rank below 2");
  if (softmax->dim != scoresTy.getRank() - 1)
    return refuse(softmaxRoot, "the softmax reduces dimension " +
                                   Twine(softmax->dim) +
                                   ", not the key dimension (the last one) of "
                                   "the scores");

  // Back from the softmax to the contraction of queries and keys.
  Value cur = softmax->input;
  // Walking back from the softmax, m.scale is the product of the scales
  // met so far: those are applied after anything met later.
  bool sawScale = false;
  while (true) {
    Operation *def = cur.getDefiningOp();
    if (!def)
      return refuse(softmaxRoot, "the scores are not computed in this function");
    if (isLeadingReshape(def, 2)) {
      m.chainOps.push_back(def);
      cur = def->getOperand(0);
      continue;
    }
    if (auto generic = dyn_cast<linalg::GenericOp>(def);
        generic && isElementwiseGeneric(generic)) {
      Value input;
      if (std::optional<double> k = matchScalarScale(generic, input)) {
        m.scale *= *k;
        sawScale = true;
        m.chainOps.push_back(def);
        cur = input;
        continue;
      }
      if (Value src = matchFloatCast(generic)) {
        m.chainOps.push_back(def);
        cur = src;
        continue;
      }
      Value score;
      if (std::optional<AppliedMask> mask = matchMaskOp(generic, score)) {
        if (mask->kind == MaskKind::Additive && sawScale)
          return refuse(def, "a scale is applied after this additive mask, "
                             "which it would scale too");
        if (m.scale <= 0)
          return refuse(def, "a non-positive scale is applied after this "
                             "mask");
        m.masks.push_back(*mask);
        m.chainOps.push_back(def);
        cur = score;
        continue;
      }
      return refuse(def, "this op between the scores and the softmax is "
                         "neither a constant scale, a mask nor a cast");
    }
    std::string why;
    FailureOr<Contraction> qk = matchContraction(def, why);
    if (failed(qk))
      return refuse(def, "the scores are produced by this op, and " + why);
    m.scores = *qk;
    break;
  }

  // Forward from the probabilities to the contraction with the values.
  cur = softmax->result;
  while (true) {
    if (!cur.hasOneUse()) {
      Operation *user = cur.use_empty() ? softmaxRoot : *cur.getUsers().begin();
      return refuse(user, "the probabilities are used more than once (or not "
                          "at all): they must stay materialised");
    }
    Operation *user = *cur.getUsers().begin();
    if (isLeadingReshape(user, 2)) {
      m.chainOps.push_back(user);
      cur = user->getResult(0);
      continue;
    }
    if (auto generic = dyn_cast<linalg::GenericOp>(user)) {
      if (Value src = matchFloatCast(generic); src == cur) {
        m.chainOps.push_back(user);
        cur = user->getResult(0);
        continue;
      }
      if (matchMaskedRowGuard(generic, cur, softmax->input, m.chainOps)) {
        cur = user->getResult(0);
        continue;
      }
    }
    std::string why;
    FailureOr<Contraction> pv = matchContraction(user, why);
    if (failed(pv))
      return refuse(user, "the probabilities are read by this op, and " + why);
    if (pv->op.getDpsInputOperand(0)->get() != cur || pv->lhsTransposed)
      return refuse(user, "the probabilities are not the left operand, "
                          "contracted along keys, of this contraction");
    m.output = *pv;
    break;
  }

  // Nothing outside the match may read the scores or probabilities.
  llvm::SmallPtrSet<Operation *, 16> inside;
  inside.insert(m.scores.op);
  inside.insert(m.output.op);
  inside.insert(m.chainOps.begin(), m.chainOps.end());
  inside.insert(m.softmax.ops.begin(), m.softmax.ops.end());
  for (Operation *op : inside) {
    if (op == m.output.op.getOperation())
      continue;
    for (Operation *user : op->getUsers())
      if (!inside.contains(user))
        return refuse(user, "this op reads the scores or probabilities "
                            "computed by '" +
                                op->getName().getStringRef() +
                                "': they must stay materialised");
  }
  return m;
}

/// The shape of `t.value` once its last two dimensions are in attention
/// layout ([rows, features]).
static SmallVector<int64_t> layoutShape(const TracedOperand &t) {
  SmallVector<int64_t> shape =
      llvm::to_vector(cast<RankedTensorType>(t.value.getType()).getShape());
  if (t.transposed && shape.size() >= 2)
    std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
  return shape;
}

static int64_t product(ArrayRef<int64_t> values) {
  int64_t p = 1;
  for (int64_t v : values)
    p *= v;
  return p;
}

/// Everything needed to build the bpt.attention, decided before any IR is
/// created.
struct AttentionPlan {
  TracedOperand q, k, v;
  SmallVector<int64_t> batch, kvBatch;
  double scale;
  std::optional<int64_t> causalOffset;
  const AppliedMask *tensorMask = nullptr;
  int64_t sq, sk, d, dv;
};

static FailureOr<AttentionPlan> planAttention(AttentionMatch &m,
                                              std::string &why) {
  AttentionPlan p;
  Value qOperand = m.scores.op.getDpsInputOperand(0)->get();
  Value kOperand = m.scores.op.getDpsInputOperand(1)->get();
  Value vOperand = m.output.op.getDpsInputOperand(1)->get();
  // Keys are wanted as [rows = keys, features]: the right operand of Q K^T
  // is transposed when it is laid out [k = features, n = keys].
  auto trace = [&](bool allowCast) {
    p.q = traceOperand(qOperand, m.scores.lhsTransposed, /*allowScale=*/true,
                       allowCast);
    p.k = lookThroughRepeatedHeads(
        traceOperand(kOperand, m.scores.rhsKN, true, allowCast));
    p.v = lookThroughRepeatedHeads(
        traceOperand(vOperand, !m.output.rhsKN, false, allowCast));
    if (p.k.groups != p.v.groups) {
      p.k = traceOperand(kOperand, m.scores.rhsKN, true, allowCast);
      p.v = traceOperand(vOperand, !m.output.rhsKN, false, allowCast);
    }
  };
  auto elementType = [](const TracedOperand &t) {
    return cast<RankedTensorType>(t.value.getType()).getElementType();
  };
  auto sameTypes = [&] {
    return elementType(p.q) == elementType(p.k) &&
           elementType(p.k) == elementType(p.v);
  };
  // Widening casts are looked through only when all three agree after.
  trace(/*allowCast=*/true);
  if (!sameTypes())
    trace(/*allowCast=*/false);
  if (!sameTypes()) {
    why = "queries, keys and values have different element types";
    return failure();
  }
  p.scale = m.scale * p.q.scale * p.k.scale;

  // The (batch, head) layout of the attention: the two batch dimensions of
  // the scores where the chain has them (torch-mlir applies masks to
  // [B, H, S, S]) or of the queries, else one merged batch of heads.
  int64_t merged = product(m.scores.batchShape);
  for (Value val : {m.softmax.input, p.q.value}) {
    auto ty = cast<RankedTensorType>(val.getType());
    if (ty.getRank() == 4 && p.batch.empty() &&
        ty.getDimSize(0) * ty.getDimSize(1) == merged)
      p.batch = llvm::to_vector(ty.getShape().take_front(2));
  }
  if (p.batch.empty())
    p.batch = {1, merged};
  if (p.batch[1] % p.k.groups != 0) {
    why = "the repeated key/value heads do not divide the query heads";
    return failure();
  }
  p.kvBatch = {p.batch[0], p.batch[1] / p.k.groups};

  SmallVector<int64_t> qs = layoutShape(p.q), ks = layoutShape(p.k),
                       vs = layoutShape(p.v);
  if (qs.size() < 2 || ks.size() < 2 || vs.size() < 2 ||
      product(ArrayRef(qs).drop_back(2)) != merged ||
      product(ArrayRef(ks).drop_back(2)) != product(p.kvBatch) ||
      product(ArrayRef(vs).drop_back(2)) != product(p.kvBatch)) {
    why = "the query, key and value batches do not match the heads of the "
          "scores";
    return failure();
  }
  p.sq = qs[qs.size() - 2];
  p.d = qs.back();
  p.sk = ks[ks.size() - 2];
  p.dv = vs.back();
  if (ks.back() != p.d || vs[vs.size() - 2] != p.sk) {
    why = "the query, key and value shapes do not agree";
    return failure();
  }
  for (Value val : {p.q.value, p.k.value, p.v.value}) {
    Type e = cast<RankedTensorType>(val.getType()).getElementType();
    if (!e.isF32() && !e.isF16() && !e.isBF16()) {
      why = "queries, keys and values must be f32, f16 or bf16";
      return failure();
    }
  }
  auto outTy = cast<RankedTensorType>(m.output.op->getResult(0).getType());
  if (product(m.output.batchShape) != merged ||
      outTy.getDimSize(outTy.getRank() - 2) != p.sq ||
      outTy.getDimSize(outTy.getRank() - 1) != p.dv) {
    why = "the value contraction does not produce [heads, queries, features]";
    return failure();
  }

  // Masks: a causal one becomes the causal flag, one other the mask operand.
  for (const AppliedMask &mask : m.masks) {
    std::optional<int64_t> offset =
        mask.inBody
            ? matchCausalMaskInBody(mask.op, mask.inBody, mask.kind)
            : matchCausalMask(mask.tensor, mask.map, loopExtentsOf(mask),
                              mask.kind);
    if (mask.inBody && (!offset || p.causalOffset)) {
      why = p.causalOffset
                ? "more than one causal mask is applied to the scores"
                : "the mask computed from indices in the op applying it does "
                  "not keep exactly the keys j <= i + c (a causal mask); "
                  "another one would need a mask tensor";
      return failure();
    }
    // A causal mask with offset >= 0 leaves key 0 to every row.
    if (offset && !p.causalOffset && (!mask.finiteFill || *offset >= 0)) {
      p.causalOffset = offset;
      continue;
    }
    if (mask.finiteFill) {
      why = "the mask replaces scores by a finite value, which differs from "
            "removing them on rows where every key is masked";
      return failure();
    }
    if (p.tensorMask) {
      why = "more than one non-causal mask is applied to the scores";
      return failure();
    }
    p.tensorMask = &mask;
  }
  if (p.tensorMask &&
      !planMaskShape(*p.tensorMask, loopExtentsOf(*p.tensorMask),
                     p.batch)) {
    why = "the mask is not broadcast over the attention's batch and heads in "
          "their order";
    return failure();
  }
  return p;
}

/// Creates the transposes and reshapes that bring a traced operand to the
/// [lead..., rows, features] layout of bpt.attention.
static Value buildOperand(OpBuilder &b, Location loc, const TracedOperand &t,
                          ArrayRef<int64_t> lead) {
  Value val = t.value;
  if (t.transposed) {
    auto ty = cast<RankedTensorType>(val.getType());
    int64_t rank = ty.getRank();
    SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    std::swap(perm[rank - 1], perm[rank - 2]);
    Value init = tensor::EmptyOp::create(b, loc, layoutShape(t),
                                         ty.getElementType());
    val = linalg::TransposeOp::create(b, loc, val, init, perm)->getResult(0);
  }
  return reshapeLeadingDims(b, loc, val, lead, 2);
}

/// Plans and builds the bpt.attention of an established match, replacing
/// the value contraction; on failure nothing is changed and `why` says why.
static FailureOr<AttentionOp> rewriteAttention(RewriterBase &rewriter,
                                               AttentionMatch &m,
                                               std::string &why) {
  FailureOr<AttentionPlan> plan = planAttention(m, why);
  if (failed(plan))
    return failure();
  AttentionPlan &p = *plan;

  Location loc = m.output.op->getLoc();
  rewriter.setInsertionPoint(m.output.op);
  Value query = buildOperand(rewriter, loc, p.q, p.batch);
  Value key = buildOperand(rewriter, loc, p.k, p.kvBatch);
  Value value = buildOperand(rewriter, loc, p.v, p.kvBatch);
  Value maskOperand;
  if (p.tensorMask) {
    maskOperand = buildMaskOperand(rewriter, loc, *p.tensorMask,
                                   loopExtentsOf(*p.tensorMask),
                                   p.batch);
    if (p.tensorMask->kind == MaskKind::RemoveIfTrue) {
      // bpt.attention keeps the scores where an i1 mask is true.
      auto maskTy = cast<RankedTensorType>(maskOperand.getType());
      Value init = tensor::EmptyOp::create(rewriter, loc, maskTy.getShape(),
                                           rewriter.getI1Type());
      AffineMap id = rewriter.getMultiDimIdentityMap(maskTy.getRank());
      maskOperand = buildGeneric(
          rewriter, loc, maskOperand, init, {id, id},
          SmallVector<utils::IteratorType>(maskTy.getRank(),
                                           utils::IteratorType::parallel),
          [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
            Value t = arith::ConstantOp::create(nb, nl, nb.getBoolAttr(true));
            return arith::XOrIOp::create(nb, nl, args[0], t);
          });
    }
  }

  Type outElem = cast<RankedTensorType>(m.output.op->getResult(0).getType())
                     .getElementType();
  Value init = tensor::EmptyOp::create(
      rewriter, loc, ArrayRef<int64_t>{p.batch[0], p.batch[1], p.sq, p.dv},
      outElem);
  Value qPos, kPos;
  if (p.causalOffset && *p.causalOffset != p.sk - p.sq) {
    // Key j is visible from row i when j <= i + offset: row i gets position
    // i + offset, key j position j.
    kPos = arith::ConstantIndexOp::create(rewriter, loc, 0);
    qPos = *p.causalOffset == 0
               ? kPos
               : arith::ConstantIndexOp::create(rewriter, loc, *p.causalOffset);
  }
  auto attention = AttentionOp::create(
      rewriter, loc, TypeRange{init.getType()}, query, key, value, maskOperand,
      qPos, kPos, ValueRange{init},
      rewriter.getF32FloatAttr(static_cast<float>(p.scale)),
      p.causalOffset ? rewriter.getUnitAttr() : UnitAttr(), IntegerAttr());
  SmallVector<Operation *> dead(m.chainOps);
  Operation *outputOp = m.output.op;
  for (Value operand : outputOp->getOperands())
    if (Operation *def = operand.getDefiningOp())
      dead.push_back(def);
  // Where the frontend reshapes the output back to [B, H, Sq, Dv], use the
  // attention's result directly.
  Value attnResult = attention->getResult(0);
  Value outResult = outputOp->getResult(0);
  if (outResult.hasOneUse()) {
    Operation *user = *outResult.getUsers().begin();
    if (isLeadingReshape(user, 2) &&
        user->getResult(0).getType() == attnResult.getType()) {
      rewriter.replaceOp(user, attnResult);
      dead.push_back(outputOp);
      outputOp = nullptr;
    }
  }
  if (outputOp) {
    Value result =
        reshapeLeadingDims(rewriter, loc, attnResult, m.output.batchShape, 2);
    rewriter.replaceOp(outputOp, result);
  }
  llvm::append_range(dead, m.softmax.ops);
  dead.push_back(m.scores.op);
  eraseDeadOps(rewriter, dead);
  return attention;
}

FailureOr<AttentionOp> mlir::bpt::raiseAttention(RewriterBase &rewriter,
                                                 Operation *softmaxRoot,
                                                 std::string *whyNot) {
  Refusal refusal{softmaxRoot, ""};
  FailureOr<AttentionMatch> match = matchAttention(softmaxRoot, refusal);
  FailureOr<AttentionOp> attention =
      succeeded(match) ? rewriteAttention(rewriter, *match, refusal.reason)
                       : FailureOr<AttentionOp>(failure());
  if (failed(attention) && whyNot)
    *whyNot = refusal.reason;
  return attention;
}

namespace {

/// The ops a softmax may end with: candidates for raising.
static bool isSoftmaxCandidate(Operation *op) {
  if (isa<linalg::SoftmaxOp>(op))
    return true;
  auto generic = dyn_cast<linalg::GenericOp>(op);
  return generic && succeeded(matchDecomposedSoftmax(generic));
}

struct RaiseAttentionPattern : RewritePattern {
  RaiseAttentionPattern(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isSoftmaxCandidate(op))
      return failure();
    std::string why;
    if (failed(raiseAttention(rewriter, op, &why)))
      return rewriter.notifyMatchFailure(op, why);
    return success();
  }
};

struct BPTRaiseAttentionPass
    : public bpt::impl::BPTRaiseAttentionBase<BPTRaiseAttentionPass> {
  using BPTRaiseAttentionBase::BPTRaiseAttentionBase;

  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation()->walk([&](Operation *op) {
      if (isSoftmaxCandidate(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : candidates) {
      // The refusal names the op that stopped the match, or the softmax
      // when the rewrite of a match is refused.
      Refusal refusal{op, ""};
      FailureOr<AttentionMatch> match = matchAttention(op, refusal);
      if (succeeded(match) &&
          succeeded(rewriteAttention(rewriter, *match, refusal.reason)))
        continue;
      if (remarks)
        refusal.op->emitRemark()
            << "bpt-raise-attention: softmax not raised: " << refusal.reason;
    }
  }
};

} // namespace

void mlir::bpt::populateBPTRaiseAttentionPatterns(RewritePatternSet &patterns) {
  patterns.add<RaiseAttentionPattern>(patterns.getContext());
}
