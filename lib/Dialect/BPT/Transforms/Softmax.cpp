//===- Softmax.cpp - Recognise softmaxes however they are spelled ---------===//

#include "Softmax.h"

#include "bpt/Dialect/BPT/Transforms/RaiseUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::bpt;


/// Looks through reshapes that only add or drop dimensions of extent 1
/// (torch's keepdim).
Value mlir::bpt::stripUnitReshapes(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def))
      break;
    auto big = cast<RankedTensorType>(
        isa<tensor::ExpandShapeOp>(def) ? def->getResult(0).getType()
                                        : def->getOperand(0).getType());
    SmallVector<ReassociationIndices> groups =
        isa<tensor::ExpandShapeOp>(def)
            ? cast<tensor::ExpandShapeOp>(def).getReassociationIndices()
            : cast<tensor::CollapseShapeOp>(def).getReassociationIndices();
    for (const ReassociationIndices &g : groups) {
      unsigned nonUnit = 0;
      for (int64_t d : g)
        nonUnit += big.getDimSize(d) != 1;
      if (nonUnit > 1)
        return v;
    }
    v = def->getOperand(0);
  }
  return v;
}

/// True when `map` (of an operand of an op whose loops are the dimensions of
/// a tensor) reads every loop but `dim` in order, and `dim` not at all or at
/// index 0: a value broadcast along `dim`.
bool mlir::bpt::isBroadcastAlong(AffineMap map, int64_t dim) {
  unsigned next = 0;
  for (AffineExpr e : map.getResults()) {
    if (auto d = dyn_cast<AffineDimExpr>(e)) {
      if (next == dim)
        ++next;
      if (d.getPosition() != next)
        return false;
      ++next;
      continue;
    }
    auto c = dyn_cast<AffineConstantExpr>(e);
    if (!c || c.getValue() != 0 || next != dim)
      return false;
    ++next;
  }
  return next == map.getNumDims() || next + 1 == map.getNumDims();
}

/// If `v` is a reduction of `input` along one loop by `isCombiner` of the
/// element and the accumulator, returns that loop. Any linalg op: a generic
/// (torch-mlir) or linalg.reduce (TOSA).
static std::optional<int64_t>
matchRowReduction(Value v, Value &input,
                  function_ref<bool(Operation *, Value, Value)> isCombiner) {
  auto op = v.getDefiningOp<linalg::LinalgOp>();
  if (!op || op.getNumDpsInputs() != 1 || op.getNumReductionLoops() != 1)
    return std::nullopt;
  auto result = cast<OpResult>(v);
  OpOperand *in = op.getDpsInputOperand(0);
  if (!op.getMatchingIndexingMap(in).isIdentity())
    return std::nullopt;
  SmallVector<unsigned> reductions;
  op.getReductionDims(reductions);
  int64_t dim = reductions.front();
  if (!isBroadcastAlong(op.getIndexingMapMatchingResult(result), dim))
    return std::nullopt;
  Block *body = op.getBlock();
  Value yielded = body->getTerminator()->getOperand(result.getResultNumber());
  Operation *combiner = yielded.getDefiningOp();
  Value elem = body->getArgument(0);
  Value acc =
      body->getArgument(op.getNumDpsInputs() + result.getResultNumber());
  if (!combiner || !isCombiner(combiner, elem, acc))
    return std::nullopt;
  input = in->get();
  return dim;
}

static bool isMaxCombiner(Operation *op, Value elem, Value acc) {
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op))
    return isCommutativeOf(op, elem, acc);
  // select(x > acc, x, acc)
  if (auto select = dyn_cast<arith::SelectOp>(op)) {
    auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
    return cmp && select.getTrueValue() == elem &&
           select.getFalseValue() == acc && cmp.getLhs() == elem &&
           cmp.getRhs() == acc;
  }
  return false;
}

static bool isAddCombiner(Operation *op, Value elem, Value acc) {
  return isa<arith::AddFOp>(op) && isCommutativeOf(op, elem, acc);
}

/// Matches the decomposed softmax ending at `root`:
///   m = rowmax(x); e = exp(x - m); s = rowsum(e); p = e / s (or e * (1/s)).
FailureOr<SoftmaxMatch>
mlir::bpt::matchDecomposedSoftmax(linalg::GenericOp root) {
  if (!isElementwiseGeneric(root))
    return failure();
  SoftmaxMatch match;
  Operation *div = getYieldedValue(root).getDefiningOp();
  if (!div || div->getBlock() != root.getBody() ||
      !isa<arith::DivFOp, arith::MulFOp>(div))
    return failure();
  // The numerator e (identity) and the row sum (broadcast), maybe through a
  // reciprocal.
  OpOperand *num = getInputOperandOfArg(root, div->getOperand(0));
  OpOperand *den = getInputOperandOfArg(root, div->getOperand(1));
  if (isa<arith::MulFOp>(div) && num && den &&
      !root.getMatchingIndexingMap(num).isIdentity())
    std::swap(num, den);
  if (!num || !den || !root.getMatchingIndexingMap(num).isIdentity())
    return failure();
  Value sumValue = den->get();
  SmallVector<Operation *> ops = {root};
  if (isa<arith::MulFOp>(div)) {
    auto recip = stripUnitReshapes(sumValue).getDefiningOp<linalg::GenericOp>();
    if (!recip || !isElementwiseGeneric(recip) ||
        recip.getNumDpsInputs() != 1)
      return failure();
    auto divOp = getYieldedValue(recip).getDefiningOp<arith::DivFOp>();
    std::optional<double> one =
        divOp ? getConstantFloatInBody(recip, divOp.getLhs()) : std::nullopt;
    if (!one || *one != 1.0 || !getInputOperandOfArg(recip, divOp.getRhs()))
      return failure();
    ops.push_back(recip);
    sumValue = recip.getDpsInputOperand(0)->get();
  }
  Value e;
  std::optional<int64_t> sumDim = matchRowReduction(
      stripUnitReshapes(sumValue), e, isAddCombiner);
  if (!sumDim || e != num->get())
    return failure();
  ops.push_back(stripUnitReshapes(sumValue).getDefiningOp());
  if (!isBroadcastAlong(root.getMatchingIndexingMap(den), *sumDim))
    return failure();

  // e = exp(x - m), in one generic or as exp of a subtraction generic.
  auto expOp = e.getDefiningOp<linalg::GenericOp>();
  if (!expOp || !isElementwiseGeneric(expOp))
    return failure();
  auto exp = getYieldedValue(expOp).getDefiningOp<math::ExpOp>();
  if (!exp)
    return failure();
  ops.push_back(expOp);
  linalg::GenericOp subOp = expOp;
  Value diff = exp.getOperand();
  if (OpOperand *in = getInputOperandOfArg(expOp, diff)) {
    subOp = in->get().getDefiningOp<linalg::GenericOp>();
    if (!subOp || !isElementwiseGeneric(subOp) ||
        !expOp.getMatchingIndexingMap(in).isIdentity())
      return failure();
    diff = getYieldedValue(subOp);
    ops.push_back(subOp);
  }
  auto sub = diff.getDefiningOp<arith::SubFOp>();
  if (!sub)
    return failure();
  OpOperand *x = getInputOperandOfArg(subOp, sub.getLhs());
  OpOperand *m = getInputOperandOfArg(subOp, sub.getRhs());
  if (!x || !m || !subOp.getMatchingIndexingMap(x).isIdentity() ||
      !isBroadcastAlong(subOp.getMatchingIndexingMap(m), *sumDim))
    return failure();
  Value maxInput;
  std::optional<int64_t> maxDim =
      matchRowReduction(stripUnitReshapes(m->get()), maxInput, isMaxCombiner);
  if (!maxDim || *maxDim != *sumDim || maxInput != x->get())
    return failure();
  ops.push_back(stripUnitReshapes(m->get()).getDefiningOp());

  match.input = x->get();
  match.result = root->getResult(0);
  match.dim = *sumDim;
  match.ops = std::move(ops);
  // The reshapes between the pieces belong to the softmax too.
  for (Value v : {sumValue, m->get(), den->get()})
    for (Operation *def = v.getDefiningOp();
         def && isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def);
         def = def->getOperand(0).getDefiningOp())
      match.ops.push_back(def);
  return match;
}

FailureOr<SoftmaxMatch> mlir::bpt::matchSoftmax(Operation *op) {
  if (auto softmax = dyn_cast<linalg::SoftmaxOp>(op)) {
    SoftmaxMatch match;
    match.input = softmax.getInput();
    match.result = softmax.getResult()[0];
    match.dim = softmax.getDimension();
    match.ops = {op};
    return match;
  }
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return matchDecomposedSoftmax(generic);
  return failure();
}

static bool isAndCombiner(Operation *op, Value elem, Value acc) {
  return isa<arith::AndIOp>(op) && isCommutativeOf(op, elem, acc);
}

/// Matches the guard SDPA puts after its softmax so that a row whose scores
/// are all -inf gives zeros instead of NaN:
///   all = and-reduce(scores == -inf); out = select(all, 0, probs)
/// bpt.attention gives zeros for such rows by definition, so the guard is
/// part of the attention. Appends its ops to `ops`.
bool mlir::bpt::matchMaskedRowGuard(linalg::GenericOp guard, Value probs,
                                Value scores, SmallVector<Operation *> &ops) {
  if (!isElementwiseGeneric(guard))
    return false;
  auto select = getYieldedValue(guard).getDefiningOp<arith::SelectOp>();
  if (!select)
    return false;
  OpOperand *cond = getInputOperandOfArg(guard, select.getCondition());
  OpOperand *p = getInputOperandOfArg(guard, select.getFalseValue());
  std::optional<double> zero =
      getConstantFloatInBody(guard, select.getTrueValue());
  int64_t rank = cast<RankedTensorType>(probs.getType()).getRank();
  if (!cond || !p || p->get() != probs || !zero || *zero != 0.0 ||
      !guard.getMatchingIndexingMap(p).isIdentity() ||
      !isBroadcastAlong(guard.getMatchingIndexingMap(cond), rank - 1))
    return false;
  Value allValue = stripUnitReshapes(cond->get());
  Value isMinusInf;
  std::optional<int64_t> dim =
      matchRowReduction(allValue, isMinusInf, isAndCombiner);
  if (!dim || *dim != rank - 1)
    return false;
  // test = (scores == -inf), the scores maybe widened first (to f64 by
  // TOSA), the -inf a constant in the body or a constant operand.
  auto test = isMinusInf.getDefiningOp<linalg::GenericOp>();
  if (!test || !isElementwiseGeneric(test))
    return false;
  auto cmp = getYieldedValue(test).getDefiningOp<arith::CmpFOp>();
  if (!cmp || cmp.getPredicate() != arith::CmpFPredicate::OEQ)
    return false;
  Value x = cmp.getLhs();
  if (auto ext = x.getDefiningOp<arith::ExtFOp>())
    x = ext.getIn();
  OpOperand *xo = getInputOperandOfArg(test, x);
  std::optional<double> inf = getConstantFloatInBody(test, cmp.getRhs());
  if (!xo || !test.getMatchingIndexingMap(xo).isIdentity() || !inf ||
      !std::isinf(*inf) || *inf > 0)
    return false;
  Value tested = xo->get();
  if (tested != scores) {
    auto widen = tested.getDefiningOp<linalg::GenericOp>();
    if (!widen || matchFloatCast(widen) != scores)
      return false;
    ops.push_back(widen);
  }
  ops.push_back(guard);
  ops.push_back(allValue.getDefiningOp());
  ops.push_back(test);
  for (Operation *def = cond->get().getDefiningOp();
       def && def != allValue.getDefiningOp();
       def = def->getOperand(0).getDefiningOp())
    ops.push_back(def);
  return true;
}

