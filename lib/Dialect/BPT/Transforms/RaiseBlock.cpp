//===- RaiseBlock.cpp - Form the transformer block unit -------------------===//
//
// After attention and FFN raising, a transformer layer is a bpt.attention,
// a bpt.ffn and the row-wise ops around them (norms, projections, head
// reshapes, rotary embeddings, residual adds) scattered in a function. The
// blockwise rewrite needs them as one unit: this gathers everything the FFN
// result depends on, back to the layer's inputs, into a bpt.block.
//
// What goes in: the backward slice of the FFN's result, stopping at values
// that do not depend on the program's inputs (weight transposes, computed
// once, become block inputs; constants, empties, fills and bias broadcasts
// are copied in), at other FFNs and blocks (the previous
// layer's output is this layer's input) and at the function's arguments.
// The slice must hold exactly one attention, and nothing outside the block
// may read a value computed inside except through the FFN's result.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTRAISEBLOCK
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;
using namespace mlir::bpt;

/// Ops that are cheaper to repeat inside the block than to pass in:
/// constants, empty tensors, fills of them and broadcasts of constants.
static bool isCheapConstant(Operation *op) {
  if (isa<tensor::EmptyOp>(op))
    return true;
  // Constants, weights included: the copy shares the attribute.
  if (op->hasTrait<OpTrait::ConstantLike>())
    return true;
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>() &&
           matchPattern(fill.getInputs()[0], m_Constant());
  // A bias broadcast over the rows (torch's addmm): copied in, it is
  // computed per row block instead of existing for the whole sequence.
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return generic.getNumDpsInputs() == 1 &&
           linalg::isaBroadcastOpInterface(generic).has_value() &&
           generic.getDpsInits()[0].getDefiningOp<tensor::EmptyOp>();
  return false;
}

/// Calls `fn` on every value `op` reads that is defined outside it: its
/// operands and the values its regions capture from above.
static void forEachExternalOperand(Operation *op,
                                   function_ref<void(Value)> fn) {
  op->walk([&](Operation *nested) {
    for (Value operand : nested->getOperands())
      if (!op->isAncestor(operand.getParentRegion()->getParentOp()))
        fn(operand);
  });
}

namespace {

/// Whether values depend on the inputs of the program (function arguments
/// or anything computed from them), memoized.
class RuntimeDependence {
public:
  bool dependsOnInputs(Value v) {
    Operation *def = v.getDefiningOp();
    if (!def)
      return true;
    auto it = memo.find(def);
    if (it != memo.end())
      return it->second;
    bool result = false;
    forEachExternalOperand(def, [&](Value operand) {
      result = result || dependsOnInputs(operand);
    });
    memo[def] = result;
    return result;
  }

private:
  llvm::DenseMap<Operation *, bool> memo;
};

} // namespace

FailureOr<BlockOp> mlir::bpt::formBlock(RewriterBase &rewriter, FFNOp ffn,
                                        std::string *whyNot) {
  auto fail = [&](const Twine &why) {
    if (whyNot)
      *whyNot = why.str();
    return failure();
  };
  if (ffn->getParentOfType<BlockOp>())
    return fail("the FFN is already inside a bpt.block");
  Block *parent = ffn->getBlock();
  RuntimeDependence runtime;

  // The backward slice of the FFN, within its block, down to the layer's
  // inputs.
  llvm::SetVector<Operation *> inside;
  SmallVector<Operation *> worklist = {ffn};
  inside.insert(ffn);
  AttentionOp attention;
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (auto attn = dyn_cast<AttentionOp>(op)) {
      if (attention && attention != attn)
        return fail("the FFN depends on more than one bpt.attention without "
                    "an FFN between them");
      attention = attn;
    }
    auto visit = [&](Value operand) {
      Operation *def = operand.getDefiningOp();
      if (!def || def->getBlock() != parent || inside.contains(def))
        return;
      if (isa<FFNOp, BlockOp>(def) || !runtime.dependsOnInputs(operand))
        return;
      inside.insert(def);
      worklist.push_back(def);
    };
    forEachExternalOperand(op, visit);
  }
  if (!attention)
    return fail("no bpt.attention feeds the FFN");

  // Only the FFN's result may leave the block.
  for (Operation *op : inside) {
    if (op == ffn.getOperation())
      continue;
    for (Operation *user : op->getUsers()) {
      Operation *top = parent->findAncestorOpInBlock(*user);
      if (!top || !inside.contains(top))
        return fail("'" + op->getName().getStringRef().str() +
                    "' inside the layer is also read by '" +
                    user->getName().getStringRef().str() +
                    "' outside it: the block would need a second result");
    }
  }

  // Inputs: the values defined outside that the ops inside read, except
  // cheap constants, which are copied in.
  llvm::SetVector<Value> inputs;
  llvm::SetVector<Operation *> copied;
  SmallVector<Operation *> ordered(inside.begin(), inside.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) {
    return a->isBeforeInBlock(b);
  });
  std::function<void(Value)> classify = [&](Value v) {
    if (inputs.contains(v))
      return;
    Operation *def = v.getDefiningOp();
    if (def && inside.contains(def))
      return;
    if (def && def->getBlock() == parent && isCheapConstant(def)) {
      for (Value operand : def->getOperands())
        classify(operand);
      copied.insert(def);
      return;
    }
    inputs.insert(v);
  };
  for (Operation *op : ordered)
    forEachExternalOperand(op, classify);

  rewriter.setInsertionPoint(ffn);
  auto block = BlockOp::create(rewriter, ffn.getLoc(),
                               TypeRange{ffn.getResult().getType()},
                               inputs.getArrayRef());
  IRMapping mapping;
  Block *body = block.getBodyBlock();
  for (auto [input, arg] : llvm::zip(inputs, body->getArguments()))
    mapping.map(input, arg);
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(body);
  SmallVector<Operation *> copiedOrdered(copied.begin(), copied.end());
  llvm::sort(copiedOrdered, [](Operation *a, Operation *b) {
    return a->isBeforeInBlock(b);
  });
  for (Operation *op : copiedOrdered)
    rewriter.clone(*op, mapping);
  for (Operation *op : ordered)
    rewriter.clone(*op, mapping);
  YieldOp::create(rewriter, ffn.getLoc(),
                  ValueRange{mapping.lookup(ffn.getResult())});
  rewriter.replaceAllUsesWith(ffn.getResult(), block->getResult(0));
  for (Operation *op : llvm::reverse(ordered))
    rewriter.eraseOp(op);
  for (Operation *op : llvm::reverse(copiedOrdered))
    if (op->use_empty())
      rewriter.eraseOp(op);
  return block;
}

namespace {

struct RaiseBlockPattern : OpRewritePattern<FFNOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(FFNOp op,
                                PatternRewriter &rewriter) const override {
    std::string why;
    if (failed(formBlock(rewriter, op, &why)))
      return rewriter.notifyMatchFailure(op, why);
    return success();
  }
};

struct BPTRaiseBlockPass
    : public bpt::impl::BPTRaiseBlockBase<BPTRaiseBlockPass> {
  using BPTRaiseBlockBase::BPTRaiseBlockBase;

  void runOnOperation() override {
    SmallVector<FFNOp> ffns;
    getOperation()->walk([&](FFNOp ffn) { ffns.push_back(ffn); });
    IRRewriter rewriter(&getContext());
    for (FFNOp ffn : ffns) {
      if (ffn->getParentOfType<BlockOp>())
        continue;
      std::string why;
      if (failed(formBlock(rewriter, ffn, &why)) && remarks)
        ffn->emitRemark() << "bpt-raise-block: no block formed: " << why;
    }
  }
};

} // namespace

void mlir::bpt::populateBPTRaiseBlockPatterns(RewritePatternSet &patterns) {
  patterns.add<RaiseBlockPattern>(patterns.getContext());
}
