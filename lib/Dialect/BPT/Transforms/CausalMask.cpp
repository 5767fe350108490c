//===- CausalMask.cpp - Recognise causal masks built from indices ---------===//

#include "CausalMask.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace mlir::bpt;

namespace {

/// An integer affine in the score's row i and column j: i*ci + j*cj + c.
struct Lin {
  int64_t ci = 0, cj = 0, c = 0;
  Lin operator+(const Lin &o) const { return {ci + o.ci, cj + o.cj, c + o.c}; }
  Lin operator-(const Lin &o) const { return {ci - o.ci, cj - o.cj, c - o.c}; }
  Lin scaled(int64_t k) const { return {ci * k, cj * k, c * k}; }
  bool isConstant() const { return ci == 0 && cj == 0; }
};

/// What an element of the mask computation is, as a function of (i, j).
struct Sym {
  enum Kind { Int, Bool, Pred, Float, FloatSelect } kind = Int;
  Lin lin;                                          // Int, and Pred's lhs
  arith::CmpIPredicate pred = arith::CmpIPredicate::eq; // Pred: lin pred 0
  bool boolValue = false;                           // Bool
  double trueValue = 0, falseValue = 0;             // Float(true), Select

  static Sym integer(Lin l) { return Sym{Int, l}; }
  static Sym boolean(bool b) {
    Sym s;
    s.kind = Bool;
    s.boolValue = b;
    return s;
  }
  static Sym predicate(Lin l, arith::CmpIPredicate p) {
    Sym s;
    s.kind = Pred;
    s.lin = l;
    s.pred = p;
    return s;
  }
  static Sym floating(double f) {
    Sym s;
    s.kind = Float;
    s.trueValue = f;
    return s;
  }
  Sym negated() const {
    if (kind == Bool)
      return boolean(!boolValue);
    return predicate(lin, arith::invertPredicate(pred));
  }
};

using Index = std::optional<Lin>;

class Evaluator {
public:
  std::optional<Sym> evalTensor(Value v, ArrayRef<Index> idx);
  std::optional<Sym> evalBody(linalg::GenericOp op, Value v,
                              ArrayRef<Index> loops) {
    return evalScalar(op, v, loops, 0);
  }

private:
  std::optional<Sym> evalScalar(linalg::GenericOp op, Value v,
                                ArrayRef<Index> loops, unsigned depth);
  std::optional<Sym> evalConstant(Value v);
  unsigned budget = 256;
};

} // namespace

/// The tensor indices a projected map reads at the loop indices `loops`.
static std::optional<SmallVector<Index>> applyMap(AffineMap map,
                                                  ArrayRef<Index> loops) {
  SmallVector<Index> idx;
  for (AffineExpr e : map.getResults()) {
    if (auto d = dyn_cast<AffineDimExpr>(e))
      idx.push_back(loops[d.getPosition()]);
    else if (auto c = dyn_cast<AffineConstantExpr>(e))
      idx.push_back(Lin{0, 0, c.getValue()});
    else
      return std::nullopt;
  }
  return idx;
}

/// The index of a tensor dimension of extent 1 is 0 whatever the loop.
static SmallVector<Index> withUnitDims(ArrayRef<Index> idx, Type type) {
  SmallVector<Index> out(idx);
  if (auto t = dyn_cast<RankedTensorType>(type))
    for (auto [i, s] : llvm::enumerate(t.getShape()))
      if (s == 1 && i < out.size())
        out[i] = Lin{};
  return out;
}

std::optional<Sym> Evaluator::evalConstant(Value v) {
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (!dense.isSplat())
      return std::nullopt;
    attr = dense.getSplatValue<Attribute>();
  }
  if (auto f = dyn_cast<FloatAttr>(attr))
    return Sym::floating(f.getValueAsDouble());
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    if (i.getType().isInteger(1))
      return Sym::boolean(i.getValue().getBoolValue());
    return Sym::integer(Lin{0, 0, i.getValue().getSExtValue()});
  }
  return std::nullopt;
}

/// A constant integer tensor holding an arithmetic progression along its
/// only non-unit dimension (torch's arange folded into a constant by TOSA):
/// first + step * index.
static std::optional<Sym> evalIotaConstant(Value v, ArrayRef<Index> idx) {
  DenseIntElementsAttr dense;
  if (!matchPattern(v, m_Constant(&dense)) || dense.isSplat())
    return std::nullopt;
  ArrayRef<int64_t> shape = dense.getType().getShape();
  std::optional<unsigned> dim;
  for (auto [d, size] : llvm::enumerate(shape)) {
    if (size == 1)
      continue;
    if (dim)
      return std::nullopt;
    dim = d;
  }
  if (!dim || !idx[*dim])
    return std::nullopt;
  SmallVector<int64_t> values;
  for (const APInt &x : dense.getValues<APInt>())
    values.push_back(x.getSExtValue());
  int64_t step = values[1] - values[0];
  for (auto [k, x] : llvm::enumerate(values))
    if (x != values[0] + step * static_cast<int64_t>(k))
      return std::nullopt;
  return Sym::integer(idx[*dim]->scaled(step) + Lin{0, 0, values[0]});
}

std::optional<Sym> Evaluator::evalTensor(Value v, ArrayRef<Index> rawIdx) {
  if (budget-- == 0)
    return std::nullopt;
  SmallVector<Index> idx = withUnitDims(rawIdx, v.getType());
  if (std::optional<Sym> c = evalConstant(v))
    return c;
  if (std::optional<Sym> c = evalIotaConstant(v, idx))
    return c;
  Operation *def = v.getDefiningOp();
  if (!def)
    return std::nullopt;

  if (auto generic = dyn_cast<linalg::GenericOp>(def)) {
    if (generic.getNumResults() != 1 ||
        generic.getNumLoops() != generic.getNumParallelLoops() ||
        !generic.getIndexingMapMatchingResult(generic->getResult(0))
             .isIdentity())
      return std::nullopt;
    return evalScalar(generic, generic.getBody()->getTerminator()->getOperand(0),
                      idx, 0);
  }

  auto sizesOf = [](Value t) { return cast<RankedTensorType>(t.getType()); };
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(def)) {
    RankedTensorType result = sizesOf(expand.getResult());
    if (!result.hasStaticShape())
      return std::nullopt;
    SmallVector<Index> srcIdx;
    for (ReassociationIndices group : expand.getReassociationIndices()) {
      Lin sum;
      int64_t stride = 1;
      for (int64_t d : llvm::reverse(group)) {
        if (result.getDimSize(d) != 1) {
          if (!idx[d])
            return std::nullopt;
          sum = sum + idx[d]->scaled(stride);
        }
        stride *= result.getDimSize(d);
      }
      srcIdx.push_back(sum);
    }
    return evalTensor(expand.getSrc(), srcIdx);
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def)) {
    RankedTensorType src = sizesOf(collapse.getSrc());
    SmallVector<Index> srcIdx(src.getRank(), Lin{});
    for (auto [r, group] :
         llvm::enumerate(collapse.getReassociationIndices())) {
      unsigned nonUnit = 0;
      for (int64_t d : group)
        if (src.getDimSize(d) != 1) {
          srcIdx[d] = idx[r];
          ++nonUnit;
        }
      if (nonUnit > 1)
        return std::nullopt;
    }
    return evalTensor(collapse.getSrc(), srcIdx);
  }
  return std::nullopt;
}

std::optional<Sym> Evaluator::evalScalar(linalg::GenericOp op, Value v,
                                         ArrayRef<Index> loops,
                                         unsigned depth) {
  if (depth > 32 || budget-- == 0)
    return std::nullopt;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != op.getBody() ||
        arg.getArgNumber() >= op.getNumDpsInputs())
      return std::nullopt;
    OpOperand *operand = op.getDpsInputOperand(arg.getArgNumber());
    AffineMap map = op.getMatchingIndexingMap(operand);
    std::optional<SmallVector<Index>> idx = applyMap(map, loops);
    if (!idx)
      return std::nullopt;
    return evalTensor(operand->get(), *idx);
  }
  if (std::optional<Sym> c = evalConstant(v))
    return c;
  Operation *def = v.getDefiningOp();
  if (!def || def->getBlock() != op.getBody())
    return std::nullopt;
  auto operand = [&](unsigned i) {
    return evalScalar(op, def->getOperand(i), loops, depth + 1);
  };

  if (auto index = dyn_cast<linalg::IndexOp>(def)) {
    Index l = loops[index.getDim()];
    if (!l)
      return std::nullopt;
    return Sym::integer(*l);
  }
  if (isa<arith::IndexCastOp, arith::ExtSIOp, arith::TruncIOp>(def))
    return operand(0);
  if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(def)) {
    std::optional<Sym> a = operand(0), b = operand(1);
    if (!a || !b || a->kind != Sym::Int || b->kind != Sym::Int)
      return std::nullopt;
    if (isa<arith::AddIOp>(def))
      return Sym::integer(a->lin + b->lin);
    if (isa<arith::SubIOp>(def))
      return Sym::integer(a->lin - b->lin);
    if (b->lin.isConstant())
      return Sym::integer(a->lin.scaled(b->lin.c));
    if (a->lin.isConstant())
      return Sym::integer(b->lin.scaled(a->lin.c));
    return std::nullopt;
  }
  if (auto cmp = dyn_cast<arith::CmpIOp>(def)) {
    std::optional<Sym> a = operand(0), b = operand(1);
    if (!a || !b || a->kind != Sym::Int || b->kind != Sym::Int)
      return std::nullopt;
    arith::CmpIPredicate pred = cmp.getPredicate();
    // Unsigned comparisons of indices (non-negative) are signed ones.
    auto nonNegative = [](const Lin &l) {
      return l.ci >= 0 && l.cj >= 0 && l.c >= 0;
    };
    using P = arith::CmpIPredicate;
    if (pred == P::ult || pred == P::ule || pred == P::ugt || pred == P::uge) {
      if (!nonNegative(a->lin) || !nonNegative(b->lin))
        return std::nullopt;
      switch (pred) {
      case P::ult: pred = P::slt; break;
      case P::ule: pred = P::sle; break;
      case P::ugt: pred = P::sgt; break;
      case P::uge: pred = P::sge; break;
      default: return std::nullopt;
      }
    }
    return Sym::predicate(a->lin - b->lin, pred);
  }
  if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(def)) {
    std::optional<Sym> a = operand(0), b = operand(1);
    if (!a || !b)
      return std::nullopt;
    if (a->kind == Sym::Bool)
      std::swap(a, b);
    if (b->kind != Sym::Bool || (a->kind != Sym::Pred && a->kind != Sym::Bool))
      return std::nullopt;
    bool k = b->boolValue;
    if (isa<arith::AndIOp>(def))
      return k ? *a : Sym::boolean(false);
    if (isa<arith::OrIOp>(def))
      return k ? Sym::boolean(true) : *a;
    return k ? a->negated() : *a;
  }
  if (isa<arith::SelectOp>(def)) {
    std::optional<Sym> c = operand(0), t = operand(1), f = operand(2);
    if (!c || !t || !f)
      return std::nullopt;
    if (c->kind == Sym::Bool)
      return c->boolValue ? t : f;
    if (c->kind != Sym::Pred)
      return std::nullopt;
    if (t->kind == Sym::Float && f->kind == Sym::Float) {
      Sym s = *c;
      s.kind = Sym::FloatSelect;
      s.trueValue = t->trueValue;
      s.falseValue = f->trueValue;
      return s;
    }
    if (t->kind == Sym::Bool && f->kind == Sym::Bool) {
      if (t->boolValue == f->boolValue)
        return *t;
      return t->boolValue ? *c : c->negated();
    }
    return std::nullopt;
  }
  return std::nullopt;
}

/// The offset of a predicate `lin pred 0` equivalent to `j <= i + offset`.
static std::optional<int64_t> causalOffset(const Sym &keep) {
  if (keep.kind != Sym::Pred)
    return std::nullopt;
  const Lin &l = keep.lin;
  using P = arith::CmpIPredicate;
  if (l.ci == -1 && l.cj == 1) { // j - i + c (pred) 0
    if (keep.pred == P::sle)
      return -l.c;
    if (keep.pred == P::slt)
      return -l.c - 1;
  }
  if (l.ci == 1 && l.cj == -1) { // i - j + c (pred) 0
    if (keep.pred == P::sge)
      return l.c;
    if (keep.pred == P::sgt)
      return l.c - 1;
  }
  return std::nullopt;
}

/// The loop indices of an op whose last two loops are the score's row and
/// column: other loops may only be read where they have extent 1.
static SmallVector<Index> rowColumnLoops(ArrayRef<int64_t> loopExtents) {
  unsigned numLoops = loopExtents.size();
  SmallVector<Index> loops(numLoops);
  for (unsigned d = 0; d + 2 < numLoops; ++d)
    if (loopExtents[d] == 1)
      loops[d] = Lin{};
  loops[numLoops - 2] = Lin{1, 0, 0};
  loops[numLoops - 1] = Lin{0, 1, 0};
  return loops;
}

/// The causal offset of a mask whose value at (i, j) is `value`.
static std::optional<int64_t> offsetOf(const Sym &value, MaskKind kind) {
  switch (kind) {
  case MaskKind::KeepIfTrue:
    return causalOffset(value);
  case MaskKind::RemoveIfTrue:
    if (value.kind != Sym::Pred)
      return std::nullopt;
    return causalOffset(value.negated());
  case MaskKind::Additive: {
    if (value.kind != Sym::FloatSelect)
      return std::nullopt;
    bool keepOnTrue = value.trueValue == 0.0 &&
                      std::isinf(value.falseValue) && value.falseValue < 0;
    bool keepOnFalse = value.falseValue == 0.0 &&
                       std::isinf(value.trueValue) && value.trueValue < 0;
    Sym pred = Sym::predicate(value.lin, value.pred);
    if (keepOnTrue)
      return causalOffset(pred);
    if (keepOnFalse)
      return causalOffset(pred.negated());
    return std::nullopt;
  }
  }
  return std::nullopt;
}

std::optional<int64_t> mlir::bpt::matchCausalMask(Value mask, AffineMap map,
                                                  ArrayRef<int64_t> loopExtents,
                                                  MaskKind kind) {
  if (map.getNumDims() < 2 || loopExtents.size() != map.getNumDims())
    return std::nullopt;
  std::optional<SmallVector<Index>> idx =
      applyMap(map, rowColumnLoops(loopExtents));
  if (!idx)
    return std::nullopt;
  Evaluator evaluator;
  std::optional<Sym> value = evaluator.evalTensor(mask, *idx);
  if (!value)
    return std::nullopt;
  return offsetOf(*value, kind);
}

std::optional<int64_t> mlir::bpt::matchCausalMaskInBody(linalg::GenericOp op,
                                                        Value value,
                                                        MaskKind kind) {
  SmallVector<int64_t> extents = op.getStaticLoopRanges();
  if (extents.size() < 2)
    return std::nullopt;
  Evaluator evaluator;
  std::optional<Sym> sym =
      evaluator.evalBody(op, value, rowColumnLoops(extents));
  if (!sym)
    return std::nullopt;
  return offsetOf(*sym, kind);
}
