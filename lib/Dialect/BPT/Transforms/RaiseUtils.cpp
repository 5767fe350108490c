//===- RaiseUtils.cpp - Matchers shared by the raising passes -------------===//

#include "bpt/Dialect/BPT/Transforms/RaiseUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

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

/// The input operand of `op` read through the identity map (the tensor an
/// elementwise op transforms), or null when `arg` is not one.
static Value identityInput(linalg::GenericOp op, Value arg) {
  OpOperand *operand = getInputOperandOfArg(op, arg);
  if (!operand || !op.getMatchingIndexingMap(operand).isIdentity())
    return Value();
  return operand->get();
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

Value mlir::bpt::stripLeadingReshapes(Value v, unsigned trailing) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isLeadingReshape(def, trailing))
      break;
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
