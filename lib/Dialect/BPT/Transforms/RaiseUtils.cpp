//===- RaiseUtils.cpp - Matchers shared by the raising passes -------------===//

#include "bpt/Dialect/BPT/Transforms/RaiseUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <cmath>

using namespace mlir;
using namespace mlir::bpt;

std::optional<double> mlir::bpt::getConstantFloat(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (isa<arith::ExtFOp, arith::TruncFOp>(def)) {
      v = def->getOperand(0);
      continue;
    }
    Attribute attr;
    if (!matchPattern(v, m_Constant(&attr)))
      return std::nullopt;
    if (auto f = dyn_cast<FloatAttr>(attr))
      return f.getValueAsDouble();
    if (auto dense = dyn_cast<DenseFPElementsAttr>(attr))
      if (dense.isSplat())
        return dense.getSplatValue<APFloat>().convertToDouble();
    return std::nullopt;
  }
  return std::nullopt;
}

OpOperand *mlir::bpt::getInputOperandOfArg(linalg::GenericOp op, Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || arg.getOwner() != op.getBody())
    return nullptr;
  if (arg.getArgNumber() >= op.getNumDpsInputs())
    return nullptr;
  return op.getDpsInputOperand(arg.getArgNumber());
}

std::optional<double> mlir::bpt::getConstantFloatInBody(linalg::GenericOp op,
                                                        Value v) {
  // Look through conversions inside the body first.
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<arith::ExtFOp, arith::TruncFOp>(def) ||
        def->getBlock() != op.getBody())
      break;
    v = def->getOperand(0);
  }
  if (OpOperand *operand = getInputOperandOfArg(op, v))
    return getConstantFloat(operand->get());
  if (isa<BlockArgument>(v))
    return std::nullopt;
  return getConstantFloat(v);
}

bool mlir::bpt::isElementwiseGeneric(linalg::GenericOp op) {
  return op.getNumResults() == 1 &&
         op.getNumLoops() == op.getNumParallelLoops() &&
         op.getIndexingMapMatchingResult(op->getResult(0)).isIdentity();
}

Value mlir::bpt::getYieldedValue(linalg::GenericOp op) {
  return op.getBody()->getTerminator()->getOperand(0);
}

OpOperand *mlir::bpt::getIdentityInputOperandOfArg(linalg::GenericOp op,
                                                    Value v) {
  OpOperand *operand = getInputOperandOfArg(op, v);
  if (!operand || !op.getMatchingIndexingMap(operand).isIdentity())
    return nullptr;
  return operand;
}

bool mlir::bpt::isCommutativeOf(Operation *op, Value a, Value b) {
  return op->getNumOperands() == 2 &&
         ((op->getOperand(0) == a && op->getOperand(1) == b) ||
          (op->getOperand(0) == b && op->getOperand(1) == a));
}

/// The tensor read through the identity map by the block argument `arg`.
static Value identityInput(linalg::GenericOp op, Value arg) {
  OpOperand *operand = getIdentityInputOperandOfArg(op, arg);
  return operand ? operand->get() : Value();
}

std::optional<double> mlir::bpt::matchScalarScale(linalg::GenericOp op,
                                                  Value &input) {
  if (!isElementwiseGeneric(op))
    return std::nullopt;
  Operation *def = getYieldedValue(op).getDefiningOp();
  if (!def || def->getBlock() != op.getBody())
    return std::nullopt;
  Value lhs, rhs;
  if (isa<arith::MulFOp, arith::DivFOp>(def)) {
    lhs = def->getOperand(0);
    rhs = def->getOperand(1);
  } else {
    return std::nullopt;
  }
  auto tryOrder = [&](Value x, Value c, bool divide) -> std::optional<double> {
    Value in = identityInput(op, x);
    std::optional<double> k = getConstantFloatInBody(op, c);
    if (!in || !k || (divide && *k == 0.0))
      return std::nullopt;
    input = in;
    return divide ? 1.0 / *k : *k;
  };
  if (isa<arith::DivFOp>(def))
    return tryOrder(lhs, rhs, /*divide=*/true);
  if (std::optional<double> k = tryOrder(lhs, rhs, false))
    return k;
  return tryOrder(rhs, lhs, false);
}

Value mlir::bpt::matchFloatCast(linalg::GenericOp op) {
  if (!isElementwiseGeneric(op) || op.getNumDpsInputs() != 1)
    return Value();
  Operation *def = getYieldedValue(op).getDefiningOp();
  if (!def || !isa<arith::ExtFOp, arith::TruncFOp>(def))
    return Value();
  return identityInput(op, def->getOperand(0));
}

bool mlir::bpt::isLeadingReshape(Operation *op, unsigned trailing) {
  SmallVector<ReassociationIndices> groups;
  RankedTensorType small;
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    groups = expand.getReassociationIndices();
    small = expand.getSrcType();
  } else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    groups = collapse.getReassociationIndices();
    small = collapse.getResultType();
  } else {
    return false;
  }
  if (small.getRank() < static_cast<int64_t>(trailing) ||
      groups.size() < trailing)
    return false;
  for (unsigned t = 0; t < trailing; ++t)
    if (groups[groups.size() - 1 - t].size() != 1)
      return false;
  return true;
}

Value mlir::bpt::stripLeadingReshapes(Value v, unsigned trailing,
                                      SmallVectorImpl<Operation *> *seen) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isLeadingReshape(def, trailing))
      break;
    if (seen)
      seen->push_back(def);
    v = def->getOperand(0);
  }
  return v;
}

Value mlir::bpt::matchTrailingTranspose(Value v) {
  SmallVector<int64_t> perm;
  Value source;
  if (auto transpose = v.getDefiningOp<linalg::TransposeOp>()) {
    perm = llvm::to_vector(transpose.getPermutation());
    source = transpose.getInput();
  } else if (auto generic = v.getDefiningOp<linalg::GenericOp>()) {
    if (generic.getNumDpsInputs() != 1 || generic.getNumResults() != 1)
      return Value();
    std::optional<SmallVector<int64_t>> p =
        linalg::isaTransposeOpInterface(generic);
    if (!p)
      return Value();
    perm = *p;
    source = generic.getDpsInputOperand(0)->get();
  } else {
    return Value();
  }
  int64_t rank = perm.size();
  if (rank < 2)
    return Value();
  for (int64_t i = 0; i < rank - 2; ++i)
    if (perm[i] != i)
      return Value();
  if (perm[rank - 2] != rank - 1 || perm[rank - 1] != rank - 2)
    return Value();
  return source;
}

bool mlir::bpt::isZeroInit(Value init) {
  if (auto fill = init.getDefiningOp<linalg::FillOp>()) {
    std::optional<double> v = getConstantFloat(fill.getInputs()[0]);
    return v && *v == 0.0;
  }
  std::optional<double> v = getConstantFloat(init);
  return v && *v == 0.0;
}

Value mlir::bpt::reshapeLeadingDims(OpBuilder &b, Location loc, Value v,
                                    ArrayRef<int64_t> leading,
                                    unsigned trailing) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t rank = type.getRank();
  if (!type.hasStaticShape() || rank < static_cast<int64_t>(trailing))
    return Value();
  ArrayRef<int64_t> shape = type.getShape();
  ArrayRef<int64_t> tail = shape.take_back(trailing);
  if (shape.drop_back(trailing) == leading)
    return v;
  int64_t have = 1, want = 1;
  for (int64_t s : shape.drop_back(trailing))
    have *= s;
  for (int64_t s : leading)
    want *= s;
  if (have != want)
    return Value();

  // Bring the leading dimensions to exactly one...
  Value flat = v;
  int64_t lead = rank - trailing;
  SmallVector<int64_t> flatShape = {have};
  llvm::append_range(flatShape, tail);
  auto flatType = RankedTensorType::get(flatShape, type.getElementType());
  SmallVector<ReassociationIndices> flatGroups;
  if (lead == 0) {
    flatGroups.push_back({0, 1});
    for (unsigned t = 1; t < trailing; ++t)
      flatGroups.push_back({static_cast<int64_t>(t + 1)});
    flat = tensor::ExpandShapeOp::create(b, loc, flatType, v, flatGroups);
  } else if (lead > 1) {
    flatGroups.push_back(llvm::to_vector(llvm::seq<int64_t>(0, lead)));
    for (int64_t i = lead; i < rank; ++i)
      flatGroups.push_back({i});
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, v, flatGroups);
  }
  // ...then expand it into `leading`.
  if (leading.size() == 1)
    return flat;
  SmallVector<int64_t> outShape(leading);
  llvm::append_range(outShape, tail);
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices first;
  for (int64_t i = 0, e = leading.size(); i < e; ++i)
    first.push_back(i);
  groups.push_back(first);
  for (unsigned t = 0; t < trailing; ++t)
    groups.push_back({static_cast<int64_t>(leading.size() + t)});
  if (leading.empty()) {
    // Collapse the single leading dimension of extent 1 away.
    groups.clear();
    groups.push_back({0, 1});
    for (unsigned t = 1; t < trailing; ++t)
      groups.push_back({static_cast<int64_t>(t + 1)});
    return tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get(outShape, type.getElementType()), flat,
        groups);
  }
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(outShape, type.getElementType()), flat,
      groups);
}

/// The layout of one input of a contraction: its map must read the batch
/// loops in order and then `rowLoop` and the reduction loop, in either order.
/// Returns whether the last two are swapped.
static std::optional<bool> operandLayout(AffineMap map,
                                         ArrayRef<unsigned> batch,
                                         unsigned rowLoop, unsigned kLoop) {
  if (map.getNumResults() != batch.size() + 2)
    return std::nullopt;
  for (auto [i, b] : llvm::enumerate(batch))
    if (map.getDimPosition(i) != b)
      return std::nullopt;
  unsigned a = map.getDimPosition(batch.size());
  unsigned c = map.getDimPosition(batch.size() + 1);
  if (a == rowLoop && c == kLoop)
    return false;
  if (a == kLoop && c == rowLoop)
    return true;
  return std::nullopt;
}

FailureOr<Contraction> mlir::bpt::matchContraction(Operation *op,
                                               std::string &why) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalg::isaContractionOpInterface(linalgOp)) {
    why = "it is not a contraction";
    return failure();
  }
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(linalgOp);
  if (failed(dims) || dims->m.size() != 1 || dims->n.size() != 1 ||
      dims->k.size() != 1) {
    why = "it does not contract one dimension into one row and one column";
    return failure();
  }
  SmallVector<AffineMap> maps = linalgOp.getIndexingMapsArray();
  Contraction c{linalgOp, false, false, {}};
  std::optional<bool> lhs =
      operandLayout(maps[0], dims->batch, dims->m[0], dims->k[0]);
  std::optional<bool> rhs =
      operandLayout(maps[1], dims->batch, dims->n[0], dims->k[0]);
  std::optional<bool> out =
      operandLayout(maps[2], dims->batch, dims->m[0], dims->n[0]);
  if (!lhs || !rhs || !out || *out) {
    why = "its operands are not laid out as [batch..., rows, columns]";
    return failure();
  }
  c.lhsTransposed = *lhs;
  c.rhsKN = *rhs;
  if (!isZeroInit(linalgOp.getDpsInitOperand(0)->get())) {
    why = "it accumulates into a destination that is not zero";
    return failure();
  }
  auto resultTy = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!resultTy || !resultTy.hasStaticShape()) {
    why = "its shape is dynamic (dynamic attention shapes are not raised)";
    return failure();
  }
  c.batchShape = llvm::to_vector(resultTy.getShape().drop_back(2));
  return c;
}


std::optional<double> mlir::bpt::evaluateBody(linalg::GenericOp op,
                                              ArrayRef<double> inputs) {
  Block *body = op.getBody();
  if (static_cast<int64_t>(inputs.size()) != op.getNumDpsInputs())
    return std::nullopt;
  llvm::DenseMap<Value, double> env;
  for (unsigned i = 0, e = inputs.size(); i < e; ++i)
    env[body->getArgument(i)] = inputs[i];
  auto get = [&](Value v) -> std::optional<double> {
    auto it = env.find(v);
    if (it != env.end())
      return it->second;
    if (isa<BlockArgument>(v))
      return std::nullopt; // the destination, or another region's argument
    if (std::optional<double> c = getConstantFloat(v))
      return c;
    return std::nullopt;
  };
  for (Operation &nested : body->without_terminator()) {
    // x^n with an integer exponent (torch's pow(x, 3.0) becomes fpowi).
    if (auto powi = dyn_cast<math::FPowIOp>(nested)) {
      std::optional<double> base = get(powi.getLhs());
      APInt n;
      if (!base || !matchPattern(powi.getRhs(), m_ConstantInt(&n)))
        return std::nullopt;
      env[powi.getResult()] = std::pow(*base, n.getSExtValue());
      continue;
    }
    SmallVector<double> a;
    for (Value operand : nested.getOperands()) {
      std::optional<double> v = get(operand);
      if (!v)
        return std::nullopt;
      a.push_back(*v);
    }
    std::optional<double> r;
    if (auto cst = dyn_cast<arith::ConstantOp>(nested))
      r = getConstantFloat(cst.getResult());
    else if (isa<arith::ExtFOp, arith::TruncFOp>(nested))
      r = a[0];
    else if (isa<arith::AddFOp>(nested))
      r = a[0] + a[1];
    else if (isa<arith::SubFOp>(nested))
      r = a[0] - a[1];
    else if (isa<arith::MulFOp>(nested))
      r = a[0] * a[1];
    else if (isa<arith::DivFOp>(nested))
      r = a[0] / a[1];
    else if (isa<arith::NegFOp>(nested))
      r = -a[0];
    else if (isa<arith::MaximumFOp, arith::MaxNumFOp>(nested))
      r = std::max(a[0], a[1]);
    else if (isa<arith::MinimumFOp, arith::MinNumFOp>(nested))
      r = std::min(a[0], a[1]);
    else if (isa<math::ExpOp>(nested))
      r = std::exp(a[0]);
    else if (isa<math::ErfOp>(nested))
      r = std::erf(a[0]);
    else if (isa<math::TanhOp>(nested))
      r = std::tanh(a[0]);
    else if (isa<math::SqrtOp>(nested))
      r = std::sqrt(a[0]);
    else if (isa<math::RsqrtOp>(nested))
      r = 1.0 / std::sqrt(a[0]);
    else if (isa<math::AbsFOp>(nested))
      r = std::fabs(a[0]);
    else if (isa<math::PowFOp>(nested))
      r = std::pow(a[0], a[1]);
    else if (auto cmp = dyn_cast<arith::CmpFOp>(nested)) {
      using P = arith::CmpFPredicate;
      bool c;
      switch (cmp.getPredicate()) {
      case P::OGT: case P::UGT: c = a[0] > a[1]; break;
      case P::OGE: case P::UGE: c = a[0] >= a[1]; break;
      case P::OLT: case P::ULT: c = a[0] < a[1]; break;
      case P::OLE: case P::ULE: c = a[0] <= a[1]; break;
      default: return std::nullopt;
      }
      r = c ? 1.0 : 0.0;
    } else if (isa<arith::SelectOp>(nested))
      r = a[0] != 0.0 ? a[1] : a[2];
    if (!r || nested.getNumResults() != 1)
      return std::nullopt;
    env[nested.getResult(0)] = *r;
  }
  return get(body->getTerminator()->getOperand(0));
}

/// Erases `ops` and the producers they leave unused.
void mlir::bpt::eraseDeadOps(RewriterBase &rewriter,
                             ArrayRef<Operation *> ops) {
  SmallVector<Operation *> worklist(ops.begin(), ops.end());
  // Pointers of erased ops stay in the worklist (duplicates): they are
  // recognised here before being dereferenced.
  llvm::SmallPtrSet<Operation *, 16> erased;
  bool progress = true;
  while (progress) {
    progress = false;
    for (size_t i = 0; i < worklist.size(); ++i) {
      Operation *op = worklist[i];
      if (!op || erased.contains(op) || !op->use_empty() ||
          !isMemoryEffectFree(op))
        continue;
      SmallVector<Operation *> producers;
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp())
          producers.push_back(def);
      erased.insert(op);
      rewriter.eraseOp(op);
      worklist[i] = nullptr;
      llvm::append_range(worklist, producers);
      progress = true;
    }
  }
}

