//===- RaiseFFN.cpp - Find position-wise FFNs in linalg and raise them ----===//
//
// A feed-forward network is found from its down projection backwards:
//
//   h   = x W_up (+ b_up)                 a contraction (+ broadcast add)
//   a   = act(h)  or  act(x W_gate) * h   an elementwise op (or two)
//   y   = a W_down (+ b_down) (+ r)       a contraction (+ adds)
//
// The activation is recognised by what it computes: its body is evaluated
// at sample points and compared with relu, gelu (erf), gelu (tanh) and silu,
// so `x * sigmoid(x)`, `x / (1 + exp(-x))` and any other spelling of the
// same function are found alike. A residual `r + y` becomes the destination
// of bpt.ffn, which accumulates.
//
//===----------------------------------------------------------------------===//

#include "Softmax.h"

#include "bpt/Dialect/BPT/IR/BPTOps.h"
#include "bpt/Dialect/BPT/Transforms/BuilderUtils.h"
#include "bpt/Dialect/BPT/Transforms/Passes.h"
#include "bpt/Dialect/BPT/Transforms/RaiseUtils.h"
#include "bpt/Dialect/BPT/Transforms/Transforms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <cmath>
#include <limits>

namespace mlir {
namespace bpt {
#define GEN_PASS_DEF_BPTRAISEFFN
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"
} // namespace bpt
} // namespace mlir

using namespace mlir;
using namespace mlir::bpt;

//===----------------------------------------------------------------------===//
// Activations by their values
//===----------------------------------------------------------------------===//

static double referenceActivation(Activation act, double x) {
  switch (act) {
  case Activation::relu:
    return x > 0 ? x : 0;
  case Activation::gelu:
  case Activation::geglu:
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case Activation::gelu_tanh:
    return 0.5 * x *
           (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  case Activation::silu:
  case Activation::swiglu:
    return x / (1 + std::exp(-x));
  }
  return 0;
}

static constexpr double kSamples[] = {-7.0, -3.7, -2.0, -1.3,  -0.7, -0.25,
                                      -1e-3, 0.0, 1e-3, 0.3,   0.9,  1.6,
                                      2.5,  4.2, 7.5};

namespace {

/// The elementwise function computing a value from at most two leaves: the
/// ops of an activation however a frontend spreads it (torch-mlir writes
/// silu as a sigmoid op and a product, gelu_new as half a dozen ops).
struct ElementwiseFunction {
  SmallVector<Value, 2> leaves;
  SmallVector<Operation *> ops;
};

} // namespace

static Value matchBiasAdd(linalg::GenericOp op, Value &input,
                          SmallVector<Operation *> &ops);

/// True for an elementwise generic that reads its inputs through the
/// identity (or constants broadcast, as TOSA passes them) and is not a bias
/// addition (where a projection ends).
static bool isElementwiseStep(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic || !isElementwiseGeneric(generic))
    return false;
  for (OpOperand *in : generic.getDpsInputOperands())
    if (!generic.getMatchingIndexingMap(in).isIdentity() &&
        !getConstantFloat(in->get()))
      return false;
  Value input;
  SmallVector<Operation *> unused;
  return !matchBiasAdd(generic, input, unused);
}

static bool collectFunction(Value v, ElementwiseFunction &fn, unsigned depth) {
  if (depth > 24)
    return false;
  Operation *def = v.getDefiningOp();
  if (def && isLeadingReshape(def, 1)) {
    if (!llvm::is_contained(fn.ops, def))
      fn.ops.push_back(def);
    return collectFunction(def->getOperand(0), fn, depth + 1);
  }
  if (!isElementwiseStep(def)) {
    if (!llvm::is_contained(fn.leaves, v))
      fn.leaves.push_back(v);
    return fn.leaves.size() <= 2;
  }
  if (!llvm::is_contained(fn.ops, def))
    fn.ops.push_back(def);
  for (Value in : cast<linalg::GenericOp>(def).getDpsInputs())
    if (!getConstantFloat(in) && !collectFunction(in, fn, depth + 1))
      return false;
  return true;
}

static std::optional<double> evaluateFunction(Value v, ArrayRef<Value> leaves,
                                              ArrayRef<double> at) {
  for (auto [leaf, x] : llvm::zip(leaves, at))
    if (v == leaf)
      return x;
  if (std::optional<double> c = getConstantFloat(v))
    return c;
  Operation *def = v.getDefiningOp();
  if (def && isLeadingReshape(def, 1))
    return evaluateFunction(def->getOperand(0), leaves, at);
  auto generic = dyn_cast_or_null<linalg::GenericOp>(def);
  if (!generic)
    return std::nullopt;
  SmallVector<double> inputs;
  for (Value in : generic.getDpsInputs()) {
    std::optional<double> x = evaluateFunction(in, leaves, at);
    if (!x)
      return std::nullopt;
    inputs.push_back(*x);
  }
  return evaluateBody(generic, inputs);
}

/// Matches the activation computing `hidden`: a plain activation of one
/// leaf (returned in `up`), or a gated one of two (`gate`, `up`).
static std::optional<Activation>
matchActivation(Value hidden, Value &gate, Value &up,
                SmallVector<Operation *> &ops) {
  ElementwiseFunction fn;
  if (!collectFunction(hidden, fn, 0) || fn.ops.empty())
    return std::nullopt;
  // Constants of a bf16 or f16 program are rounded to its type (sqrt(2/pi)
  // is 0.796875 in bf16): the body then differs from the activation by up
  // to a few 1e-4, so the tolerance is wider and the closest candidate is
  // taken (gelu and its tanh form differ by more than the rounding does).
  bool narrow = llvm::any_of(fn.ops, [](Operation *op) {
    return llvm::any_of(op->getResultTypes(), [](Type t) {
      Type e = getElementTypeOrSelf(t);
      return e.isBF16() || e.isF16();
    });
  });
  double tolerance = narrow ? 1e-3 : 1e-5;
  // The largest relative deviation of the body from `f` over the samples.
  auto deviation = [&](function_ref<double(double, double)> f, bool swap) {
    SmallVector<Value, 2> leaves(fn.leaves);
    if (swap)
      std::swap(leaves[0], leaves[1]);
    double worst = 0;
    for (double a : kSamples)
      for (double b : {-1.7, 0.4, 2.3}) {
        SmallVector<double> at = {a, b};
        at.resize(leaves.size());
        std::optional<double> y = evaluateFunction(hidden, leaves, at);
        double want = f(a, b);
        if (!y)
          return std::numeric_limits<double>::infinity();
        worst = std::max(worst, std::fabs(*y - want) / (1 + std::fabs(want)));
        if (leaves.size() == 1)
          break;
      }
    return worst;
  };
  std::optional<Activation> best;
  bool bestSwap = false;
  double bestError = tolerance;
  auto consider = [&](Activation act, bool swap, double error) {
    if (error <= bestError) {
      best = act;
      bestSwap = swap;
      bestError = error;
    }
  };
  if (fn.leaves.size() == 1) {
    for (Activation act : {Activation::relu, Activation::gelu,
                           Activation::gelu_tanh, Activation::silu})
      consider(act, false, deviation([&](double x, double) {
                 return referenceActivation(act, x);
               }, false));
    if (best) {
      up = fn.leaves[0];
      ops = fn.ops;
    }
    return best;
  }
  for (Activation act : {Activation::swiglu, Activation::geglu})
    for (bool swap : {false, true})
      consider(act, swap, deviation([&](double g, double u) {
                 return referenceActivation(act, g) * u;
               }, swap));
  if (best) {
    gate = fn.leaves[bestSwap ? 1 : 0];
    up = fn.leaves[bestSwap ? 0 : 1];
    ops = fn.ops;
  }
  return best;
}

//===----------------------------------------------------------------------===//
// Projections
//===----------------------------------------------------------------------===//

namespace {

/// A linear layer `x W (+ b)` found in the IR.
struct Projection {
  Contraction matmul;
  Value bias;                  // 1-D, or null
  SmallVector<Operation *> ops; // the contraction, bias broadcast and add
};

/// What the match established.
struct FFNMatch {
  Activation act;
  Projection up, down;
  std::optional<Projection> gate;
  Value residual;                   // added to the output, or null
  Operation *last;                  // the op whose result the FFN replaces
  SmallVector<Operation *> ops;     // activation, reshapes, adds
};

} // namespace

/// If `op` adds a bias along the last dimension to its other input (read
/// through the identity), returns the 1-D bias and sets `input`. The bias is
/// read through a broadcast map or is the output of a broadcast generic.
static Value matchBiasAdd(linalg::GenericOp op, Value &input,
                          SmallVector<Operation *> &ops) {
  if (!isElementwiseGeneric(op) || op.getNumDpsInputs() != 2)
    return Value();
  auto add = getYieldedValue(op).getDefiningOp<arith::AddFOp>();
  if (!add)
    return Value();
  int64_t rank = op.getNumLoops();
  for (auto [x, b] : {std::pair(add.getLhs(), add.getRhs()),
                      std::pair(add.getRhs(), add.getLhs())}) {
    OpOperand *xo = getInputOperandOfArg(op, x);
    OpOperand *bo = getInputOperandOfArg(op, b);
    if (!xo || !bo || xo == bo || !op.getMatchingIndexingMap(xo).isIdentity())
      continue;
    AffineMap bmap = op.getMatchingIndexingMap(bo);
    Value bias = bo->get();
    if (bmap.isIdentity()) {
      // A broadcast generic materialised the bias (torch-mlir's addmm).
      auto bcast = bias.getDefiningOp<linalg::GenericOp>();
      if (!bcast || bcast.getNumDpsInputs() != 1)
        continue;
      std::optional<SmallVector<int64_t>> dims =
          linalg::isaBroadcastOpInterface(bcast);
      if (!dims || static_cast<int64_t>(dims->size()) != rank - 1 ||
          llvm::is_contained(*dims, rank - 1))
        continue;
      ops.push_back(bcast);
      bias = bcast.getDpsInputOperand(0)->get();
    } else {
      // Read along the last loop only: (d_last), or (0, .., 0, d_last) on a
      // tensor of extent 1 in front (TOSA's [1, N] biases).
      unsigned n = bmap.getNumResults();
      auto last = dyn_cast<AffineDimExpr>(bmap.getResult(n - 1));
      if (!last || last.getPosition() != static_cast<unsigned>(rank - 1))
        continue;
      bool unitFront = llvm::all_of(
          llvm::seq<unsigned>(0, n - 1), [&](unsigned r) {
            auto c = dyn_cast<AffineConstantExpr>(bmap.getResult(r));
            return c && c.getValue() == 0 &&
                   cast<RankedTensorType>(bias.getType()).getDimSize(r) == 1;
          });
      if (!unitFront)
        continue;
      bias = stripUnitReshapes(bias);
    }
    // [N], or [1, .., 1, N] (made 1-D when the FFN is built).
    ArrayRef<int64_t> biasShape =
        cast<RankedTensorType>(bias.getType()).getShape();
    if (biasShape.empty() ||
        llvm::any_of(biasShape.drop_back(), [](int64_t s) { return s != 1; }))
      continue;
    input = xo->get();
    ops.push_back(op);
    return bias;
  }
  return Value();
}

/// A matmul, or a batched one over a batch of 1 (TOSA's matmul is always
/// batched).
static bool isUnitBatch(const Contraction &c) {
  return llvm::all_of(c.batchShape, [](int64_t s) { return s == 1; });
}

/// Matches `x W (+ b)` ending at `v`, a [rows, features] value.
static std::optional<Projection> matchProjection(Value v) {
  Projection p;
  v = stripLeadingReshapes(v, 1, &p.ops);
  if (auto add = v.getDefiningOp<linalg::GenericOp>()) {
    Value input;
    if (Value bias = matchBiasAdd(add, input, p.ops)) {
      p.bias = bias;
      v = stripLeadingReshapes(input, 1, &p.ops);
    }
  }
  Operation *def = v.getDefiningOp();
  std::string why;
  FailureOr<Contraction> c =
      def ? matchContraction(def, why) : FailureOr<Contraction>(failure());
  if (failed(c) || !isUnitBatch(*c) || c->lhsTransposed)
    return std::nullopt;
  p.matmul = *c;
  p.ops.push_back(def);
  return p;
}

static Value lhsOf(const Projection &p) {
  return p.matmul.op->getOperand(0);
}

/// The only user of `v`, or of the reshapes of its rows that are its only
/// users, when it is a linalg.generic; `read` is the value it reads and
/// `between` the reshapes passed.
static linalg::GenericOp
genericUserBehindReshapes(Value v, Value &read,
                          SmallVector<Operation *> &between) {
  auto single = [](Value x) -> Operation * {
    return x.hasOneUse() ? *x.getUsers().begin() : nullptr;
  };
  read = v;
  while (Operation *user = single(read)) {
    if (!isLeadingReshape(user, 1))
      break;
    between.push_back(user);
    read = user->getResult(0);
  }
  return dyn_cast_or_null<linalg::GenericOp>(single(read));
}

/// Matches the FFN whose down projection is `downOp`.
static FailureOr<FFNMatch> matchFFN(Operation *downOp, std::string &why) {
  FFNMatch m;
  std::string unused;
  FailureOr<Contraction> down = matchContraction(downOp, unused);
  if (failed(down) || !isUnitBatch(*down) || down->lhsTransposed)
    return failure();
  m.down.matmul = *down;
  m.down.ops.push_back(downOp);

  // The activation.
  Value hidden = stripLeadingReshapes(lhsOf(m.down), 1, &m.ops);
  Value gateValue, upValue;
  SmallVector<Operation *> actOps;
  std::optional<Activation> act =
      matchActivation(hidden, gateValue, upValue, actOps);
  if (!act)
    return failure();
  m.act = *act;
  llvm::append_range(m.ops, actOps);
  std::optional<Projection> up = matchProjection(upValue);
  if (gateValue) {
    std::optional<Projection> gate = matchProjection(gateValue);
    if (!gate) {
      why = "the gate of the gated activation is not a projection";
      return failure();
    }
    m.gate = gate;
  }
  if (!up) {
    why = "the input of the activation is not a projection x W (+ b)";
    return failure();
  }
  m.up = *up;
  if (m.gate && (stripLeadingReshapes(lhsOf(*m.gate), 1) !=
                     stripLeadingReshapes(lhsOf(m.up), 1) ||
                 m.gate->bias)) {
    why = "the gate and up projections do not read the same rows, or the "
          "gate has a bias";
    return failure();
  }

  // After the down projection: a bias, reshapes, a residual.
  Value cur = downOp->getResult(0);
  m.last = downOp;
  auto single = [](Value v) -> Operation * {
    return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
  };
  // The bias, possibly behind reshapes of the rows (TOSA adds it in 2-D
  // between a collapse and an expand of its batched matmul).
  {
    Value read;
    SmallVector<Operation *> between, ops;
    Value input;
    linalg::GenericOp add = genericUserBehindReshapes(cur, read, between);
    if (Value bias = add ? matchBiasAdd(add, input, ops) : Value();
        bias && input == read) {
      m.down.bias = bias;
      llvm::append_range(m.down.ops, between);
      llvm::append_range(m.down.ops, ops);
      cur = add->getResult(0);
      m.last = add;
    }
  }
  // A conversion of the result (to the bf16 of the residual stream),
  // possibly behind reshapes: bpt.ffn converts its f32 accumulation to the
  // destination's type itself.
  {
    Value read;
    SmallVector<Operation *> between;
    linalg::GenericOp cast = genericUserBehindReshapes(cur, read, between);
    if (cast && matchFloatCast(cast) == read) {
      llvm::append_range(m.down.ops, between);
      m.down.ops.push_back(cast);
      cur = cast->getResult(0);
      m.last = cast;
    }
  }
  Value beforeReshape = cur;
  Operation *lastBeforeReshape = m.last;
  SmallVector<Operation *> reshapes;
  while (Operation *user = single(cur)) {
    if (!isLeadingReshape(user, 1))
      break;
    reshapes.push_back(user);
    cur = user->getResult(0);
  }
  if (auto add = dyn_cast_or_null<linalg::GenericOp>(single(cur));
      add && isElementwiseGeneric(add) && add.getNumDpsInputs() == 2) {
    auto addf = getYieldedValue(add).getDefiningOp<arith::AddFOp>();
    OpOperand *x = add.getDpsInputOperand(0), *r = add.getDpsInputOperand(1);
    if (x->get() != cur)
      std::swap(x, r);
    if (addf && x->get() == cur && r->get() != cur &&
        add.getMatchingIndexingMap(x).isIdentity() &&
        add.getMatchingIndexingMap(r).isIdentity() &&
        isCommutativeOf(addf, add.getBody()->getArgument(0),
                        add.getBody()->getArgument(1))) {
      m.residual = r->get();
      llvm::append_range(m.ops, reshapes);
      m.ops.push_back(add);
      m.last = add;
      beforeReshape = Value();
    }
  }
  if (beforeReshape)
    m.last = lastBeforeReshape;

  for (Value v : {lhsOf(m.up), m.up.matmul.op->getOperand(1),
                  m.down.matmul.op->getOperand(1)}) {
    Type e = cast<RankedTensorType>(v.getType()).getElementType();
    if (!e.isF32() && !e.isF16() && !e.isBF16()) {
      why = "the FFN is not on f32, f16 or bf16";
      return failure();
    }
  }

  // Nothing outside may read the intermediate values.
  llvm::SmallPtrSet<Operation *, 16> inside;
  for (auto *list : {&m.ops, &m.up.ops, &m.down.ops})
    inside.insert(list->begin(), list->end());
  if (m.gate)
    inside.insert(m.gate->ops.begin(), m.gate->ops.end());
  for (Operation *op : inside) {
    if (op == m.last)
      continue;
    for (Operation *user : op->getUsers())
      if (!inside.contains(user)) {
        why = "the value computed by '" + op->getName().getStringRef().str() +
              "' is also read by '" + user->getName().getStringRef().str() +
              "': it must stay materialised";
        return failure();
      }
  }
  return m;
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

/// The weight of `p` as [in, out]: the right operand of its contraction,
/// transposed when the contraction reads it as [out, in] (torch's Linear
/// weight through the contraction's map).
static Value buildWeight(OpBuilder &b, Location loc, const Projection &p) {
  Value w = p.matmul.op->getOperand(1);
  // A batch of 1 in front (TOSA) goes away.
  if (cast<RankedTensorType>(w.getType()).getRank() > 2) {
    Value source = stripUnitReshapes(w);
    w = cast<RankedTensorType>(source.getType()).getRank() == 2
            ? source
            : reshapeLeadingDims(b, loc, w, {}, 2);
  }
  if (p.matmul.rhsKN)
    return w;
  auto ty = cast<RankedTensorType>(w.getType());
  Value init = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{ty.getDimSize(1), ty.getDimSize(0)},
      ty.getElementType());
  return linalg::TransposeOp::create(b, loc, w, init, ArrayRef<int64_t>{1, 0})
      ->getResult(0);
}

/// Builds the bpt.ffn of an established match in place of `m.last`.
static FFNOp rewriteFFN(RewriterBase &rewriter, FFNMatch &m) {
  Value x = lhsOf(m.up);
  auto lastTy = cast<RankedTensorType>(m.last->getResult(0).getType());
  Location loc = m.last->getLoc();
  rewriter.setInsertionPoint(m.last);
  Value up = buildWeight(rewriter, loc, m.up);
  Value gate = m.gate ? buildWeight(rewriter, loc, *m.gate) : Value();
  Value down = buildWeight(rewriter, loc, m.down);
  // The FFN works on rows laid out as the op it replaces: with a residual
  // added in [B, S, d], it reads [B, S, d] and accumulates into the
  // residual itself, the form in which the blockwise rewrite fuses the
  // residual's producer into the query-block loop.
  ArrayRef<int64_t> lead = lastTy.getShape().drop_back();
  Value rows = stripLeadingReshapes(x, 1);
  if (cast<RankedTensorType>(rows.getType()).getShape().drop_back() != lead)
    rows = reshapeLeadingDims(rewriter, loc, x, lead, 1);
  Value init = m.residual;
  if (!init)
    init = createFilledTensor(
        rewriter, loc,
        getAsIndexOpFoldResult(rewriter.getContext(), lastTy.getShape()),
        lastTy.getElementType(), 0.0);
  auto vector = [&](Value bias) -> Value {
    return bias ? reshapeLeadingDims(rewriter, loc, bias, {}, 1) : Value();
  };
  auto ffn = FFNOp::create(
      rewriter, loc, init.getType(),
      ActivationAttr::get(rewriter.getContext(), m.act), rows, up, gate,
      vector(m.up.bias), down, vector(m.down.bias), init);
  Value result = ffn.getResult();
  SmallVector<Operation *> dead(m.ops);
  for (auto *list : {&m.up.ops, &m.down.ops})
    llvm::append_range(dead, *list);
  if (m.gate)
    llvm::append_range(dead, m.gate->ops);
  for (Value operand : m.last->getOperands())
    if (Operation *def = operand.getDefiningOp())
      dead.push_back(def);
  // m.last itself goes with replaceOp.
  llvm::erase(dead, m.last);
  rewriter.replaceOp(m.last, result);
  eraseDeadOps(rewriter, dead);
  return ffn;
}

FailureOr<FFNOp> mlir::bpt::raiseFFN(RewriterBase &rewriter,
                                     Operation *downProjection,
                                     std::string *whyNot) {
  std::string why;
  FailureOr<FFNMatch> match = matchFFN(downProjection, why);
  if (failed(match)) {
    if (whyNot)
      *whyNot = why;
    return failure();
  }
  return rewriteFFN(rewriter, *match);
}

namespace {

struct RaiseFFNPattern : OpInterfaceRewritePattern<linalg::LinalgOp> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    std::string why;
    if (failed(raiseFFN(rewriter, op, &why)))
      return rewriter.notifyMatchFailure(op, why);
    return success();
  }
};

struct BPTRaiseFFNPass : public bpt::impl::BPTRaiseFFNBase<BPTRaiseFFNPass> {
  using BPTRaiseFFNBase::BPTRaiseFFNBase;

  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (linalg::isaContractionOpInterface(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    llvm::SmallPtrSet<Operation *, 16> erased;
    for (Operation *op : candidates) {
      if (erased.contains(op))
        continue;
      // Raising erases the up projection, a candidate too: skip it after.
      std::string why;
      FailureOr<FFNMatch> match = matchFFN(op, why);
      if (succeeded(match)) {
        for (auto *list : {&match->up.ops, &match->down.ops})
          erased.insert(list->begin(), list->end());
        if (match->gate)
          erased.insert(match->gate->ops.begin(), match->gate->ops.end());
        rewriteFFN(rewriter, *match);
        continue;
      }
      // Only a contraction fed by an activation-like op is worth a remark.
      if (remarks && !why.empty())
        op->emitRemark() << "bpt-raise-ffn: FFN not raised: " << why;
    }
  }
};

} // namespace

void mlir::bpt::populateBPTRaiseFFNPatterns(RewritePatternSet &patterns) {
  patterns.add<RaiseFFNPattern>(patterns.getContext());
}
