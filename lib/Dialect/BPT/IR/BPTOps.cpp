//===- BPTOps.cpp - Verifiers and assembly of the bpt ops -----------------===//
//
// Every rule a user can break has a verifier message that names the operand
// and the shapes involved; each message is exercised in
// test/Dialect/BPT/invalid.mlir.
//
//===----------------------------------------------------------------------===//

#include "bpt/Dialect/BPT/IR/BPTOps.h"

#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::bpt;

/// Two extents agree when they are equal or one of them is only known at run
/// time.
static bool extentsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Prints an extent the way a shape is written, `?` for a dynamic one.
static std::string extentStr(int64_t d) {
  return ShapedType::isDynamic(d) ? "?" : std::to_string(d);
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

int64_t AttentionOp::getGroupSize() {
  return getQueryType().getDimSize(1) / getKeyType().getDimSize(1);
}

float AttentionOp::getScaleOrDefault() {
  if (std::optional<APFloat> s = getScale())
    return s->convertToFloat();
  return 1.0f / std::sqrt(static_cast<float>(getQueryType().getDimSize(3)));
}

LogicalResult AttentionOp::verify() {
  RankedTensorType qTy = getQueryType(), kTy = getKeyType(),
                   vTy = getValueType();
  for (auto [name, ty, layout] :
       {std::make_tuple("query", qTy, "[B, Hq, Sq, D]"),
        std::make_tuple("key", kTy, "[B, Hkv, Sk, D]"),
        std::make_tuple("value", vTy, "[B, Hkv, Sk, Dv]")}) {
    if (ty.getRank() != 4)
      return emitOpError() << name << " must have rank 4 " << layout
                           << ", got " << ty;
  }
  if (qTy.getElementType() != kTy.getElementType() ||
      qTy.getElementType() != vTy.getElementType())
    return emitOpError() << "query, key and value must have one element type, "
                            "got "
                         << qTy.getElementType() << ", "
                         << kTy.getElementType() << " and "
                         << vTy.getElementType();

  // Head counts and head dims decide the grouping and the default scale, so
  // they must be known when the op is built.
  for (auto [name, ty] : {std::make_pair("query", qTy),
                          std::make_pair("key", kTy),
                          std::make_pair("value", vTy)}) {
    if (ty.isDynamicDim(1) || ty.isDynamicDim(3))
      return emitOpError() << name
                           << " head count and head dim must be static, got "
                           << ty;
  }
  int64_t b = qTy.getDimSize(0), hq = qTy.getDimSize(1),
          sq = qTy.getDimSize(2), d = qTy.getDimSize(3);
  int64_t hkv = kTy.getDimSize(1), sk = kTy.getDimSize(2),
          dv = vTy.getDimSize(3);
  if (!extentsAgree(b, kTy.getDimSize(0)) ||
      !extentsAgree(b, vTy.getDimSize(0)))
    return emitOpError() << "batch sizes of query, key and value differ: "
                         << extentStr(b) << ", "
                         << extentStr(kTy.getDimSize(0)) << " and "
                         << extentStr(vTy.getDimSize(0));
  if (vTy.getDimSize(1) != hkv)
    return emitOpError() << "value head count " << vTy.getDimSize(1)
                         << " differs from key head count " << hkv;
  if (!extentsAgree(sk, vTy.getDimSize(2)))
    return emitOpError() << "value sequence length "
                         << extentStr(vTy.getDimSize(2))
                         << " differs from key sequence length "
                         << extentStr(sk);
  if (kTy.getDimSize(3) != d)
    return emitOpError() << "key head dim " << kTy.getDimSize(3)
                         << " differs from query head dim " << d;
  if (hq <= 0 || hkv <= 0)
    return emitOpError() << "head counts must be positive, got " << hq
                         << " query and " << hkv << " key heads";
  if (d <= 0)
    return emitOpError() << "head dim must be positive (it sets the default "
                            "scale 1/sqrt(D)), got "
                         << d;
  if (hq % hkv != 0)
    return emitOpError() << "key head count " << hkv
                         << " does not divide query head count " << hq;

  // Destinations and results.
  if (getOutputs().empty() || getOutputs().size() > 2)
    return emitOpError() << "expects 1 destination (out) or 2 (out and "
                            "log-sum-exp), got "
                         << getOutputs().size();
  if (getResults().size() != getOutputs().size())
    return emitOpError() << "has " << getOutputs().size()
                         << " destinations but " << getResults().size()
                         << " results";
  for (auto [init, res] : llvm::zip(getOutputs(), getResults()))
    if (init.getType() != res.getType())
      return emitOpError() << "result type " << res.getType()
                           << " differs from its destination type "
                           << init.getType();
  auto outTy = cast<RankedTensorType>(getOutputInit().getType());
  if (!isa<Float32Type, Float16Type, BFloat16Type>(outTy.getElementType()))
    return emitOpError() << "out must have an f32, f16 or bf16 element type, "
                            "got "
                         << outTy;
  SmallVector<int64_t> expectedOut = {b, hq, sq, dv};
  if (outTy.getRank() != 4 ||
      !llvm::all_of(llvm::zip(outTy.getShape(), expectedOut), [](auto p) {
        return extentsAgree(std::get<0>(p), std::get<1>(p));
      }))
    return emitOpError() << "out must have shape [B, Hq, Sq, Dv] = ["
                         << extentStr(b) << ", " << hq << ", "
                         << extentStr(sq) << ", " << dv << "], got " << outTy;
  if (Value lse = getLogSumExpInit()) {
    auto lseTy = cast<RankedTensorType>(lse.getType());
    if (lseTy.getRank() != 3 || !lseTy.getElementType().isF32() ||
        !extentsAgree(lseTy.getDimSize(0), b) || lseTy.getDimSize(1) != hq ||
        !extentsAgree(lseTy.getDimSize(2), sq))
      return emitOpError() << "log-sum-exp must be f32 of shape [B, Hq, Sq] "
                              "= ["
                           << extentStr(b) << ", " << hq << ", "
                           << extentStr(sq) << "], got " << lseTy;
  }

  // The mask broadcasts over every dimension where it has extent 1.
  if (Value mask = getMask()) {
    auto mTy = cast<RankedTensorType>(mask.getType());
    SmallVector<int64_t> full = {b, hq, sq, sk};
    auto fits = [](int64_t m, int64_t f) {
      return m == 1 || extentsAgree(m, f);
    };
    if (mTy.getRank() != 4 ||
        !llvm::all_of(llvm::zip(mTy.getShape(), full), [&](auto p) {
          return fits(std::get<0>(p), std::get<1>(p));
        }))
      return emitOpError() << "mask must have rank 4 and broadcast to [B, Hq, "
                              "Sq, Sk] = ["
                           << extentStr(b) << ", " << hq << ", "
                           << extentStr(sq) << ", " << extentStr(sk)
                           << "], got " << mTy;
  }

  if (std::optional<int64_t> w = getWindow()) {
    if (!getCausal())
      return emitOpError() << "window(" << *w << ") needs 'causal'";
    if (*w <= 0)
      return emitOpError() << "window must be positive, got " << *w;
  }
  if (std::optional<APFloat> s = getScale())
    if (!s->isFiniteNonZero())
      return emitOpError() << "scale must be finite and non-zero, got "
                           << s->convertToDouble();
  if (static_cast<bool>(getQueryPos()) != static_cast<bool>(getKeyPos()))
    return emitOpError() << "positions need both the query and the key "
                            "position";
  return success();
}

//===----------------------------------------------------------------------===//
// FFNOp
//===----------------------------------------------------------------------===//

/// The activation is written as a bare keyword: `bpt.ffn swiglu ins(...)`.
static ParseResult parseActivationKeyword(OpAsmParser &parser,
                                          ActivationAttr &activation) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<Activation> act = symbolizeActivation(keyword);
  if (!act)
    return parser.emitError(loc)
           << "unknown activation '" << keyword
           << "'; expected relu, gelu, gelu_tanh, silu, swiglu or geglu";
  activation = ActivationAttr::get(parser.getContext(), *act);
  return success();
}

static void printActivationKeyword(OpAsmPrinter &p, Operation *,
                                   ActivationAttr activation) {
  p << stringifyActivation(activation.getValue());
}

LogicalResult FFNOp::verify() {
  RankedTensorType xTy = getInput().getType(), upTy = getUp().getType(),
                   downTy = getDown().getType(), initTy = getInit().getType();
  if (xTy.getRank() < 2)
    return emitOpError() << "input must have rank >= 2 [..., N, d_model], got "
                         << xTy;
  if (upTy.getRank() != 2)
    return emitOpError() << "up must have rank 2 [d_model, d_ff], got "
                         << upTy;
  if (downTy.getRank() != 2)
    return emitOpError() << "down must have rank 2 [d_ff, d_out], got "
                         << downTy;
  int64_t dModel = xTy.getShape().back();
  int64_t dFF = upTy.getDimSize(1), dOut = downTy.getDimSize(1);
  if (!extentsAgree(upTy.getDimSize(0), dModel))
    return emitOpError() << "up has " << extentStr(upTy.getDimSize(0))
                         << " rows but the input has d_model "
                         << extentStr(dModel);
  if (!extentsAgree(downTy.getDimSize(0), dFF))
    return emitOpError() << "down has " << extentStr(downTy.getDimSize(0))
                         << " rows but up has d_ff " << extentStr(dFF);
  if (isGated() && !getGate())
    return emitOpError() << "activation '"
                         << stringifyActivation(getActivation())
                         << "' is gated and needs a gate weight";
  if (!isGated() && getGate())
    return emitOpError() << "activation '"
                         << stringifyActivation(getActivation())
                         << "' is not gated and takes no gate weight";
  if (Value gate = getGate()) {
    auto gTy = cast<RankedTensorType>(gate.getType());
    if (gTy.getRank() != 2 || !extentsAgree(gTy.getDimSize(0), dModel) ||
        !extentsAgree(gTy.getDimSize(1), dFF))
      return emitOpError() << "gate must have the shape of up ["
                           << extentStr(upTy.getDimSize(0)) << ", "
                           << extentStr(dFF) << "], got " << gTy;
  }
  if (Value bias = getUpBias()) {
    auto bTy = cast<RankedTensorType>(bias.getType());
    if (bTy.getRank() != 1 || !extentsAgree(bTy.getDimSize(0), dFF))
      return emitOpError() << "up_bias must have shape [d_ff] = ["
                           << extentStr(dFF) << "], got " << bTy;
  }
  if (Value bias = getDownBias()) {
    auto bTy = cast<RankedTensorType>(bias.getType());
    if (bTy.getRank() != 1 || !extentsAgree(bTy.getDimSize(0), dOut))
      return emitOpError() << "down_bias must have shape [d_out] = ["
                           << extentStr(dOut) << "], got " << bTy;
  }
  bool initFits = initTy.getRank() == xTy.getRank() &&
                  extentsAgree(initTy.getShape().back(), dOut);
  for (int64_t i = 0, e = xTy.getRank() - 1; initFits && i < e; ++i)
    initFits = extentsAgree(initTy.getDimSize(i), xTy.getDimSize(i));
  if (!initFits)
    return emitOpError() << "init must have the rows of the input and d_out "
                         << extentStr(dOut) << " columns, got " << initTy
                         << " for input " << xTy;
  if (getResult().getType() != initTy)
    return emitOpError() << "result type " << getResult().getType()
                         << " differs from the init type " << initTy;
  return success();
}

//===----------------------------------------------------------------------===//
// BlockOp
//===----------------------------------------------------------------------===//

void BlockOp::build(OpBuilder &b, OperationState &state,
                    TypeRange resultTypes, ValueRange inputs) {
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value v : inputs)
    block->addArgument(v.getType(), v.getLoc());
}

AttentionOp BlockOp::getAttention() {
  for (Operation &op : *getBodyBlock())
    if (auto attn = dyn_cast<AttentionOp>(op))
      return attn;
  return nullptr;
}

LogicalResult BlockOp::verify() {
  Block *body = getBodyBlock();
  if (body->getNumArguments() != getInputs().size())
    return emitOpError() << "has " << getInputs().size() << " inputs but "
                         << body->getNumArguments() << " block arguments";
  for (auto [i, in, arg] :
       llvm::enumerate(getInputs().getTypes(), body->getArgumentTypes()))
    if (in != arg)
      return emitOpError() << "input " << i << " has type " << in
                           << " but its block argument has type " << arg;
  unsigned numAttention = llvm::count_if(
      body->getOperations(), [](Operation &op) { return isa<AttentionOp>(op); });
  if (numAttention != 1)
    return emitOpError() << "must hold exactly one bpt.attention at its top "
                            "level, found "
                         << numAttention;
  auto yield = cast<YieldOp>(body->getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError() << "yields " << yield.getValues().size()
                         << " values whose types differ from its "
                         << getNumResults() << " result types";
  return success();
}

void BlockOp::getAsmBlockArgumentNames(Region &region,
                                       OpAsmSetValueNameFn setNameFn) {
  for (BlockArgument arg : region.getArguments())
    setNameFn(arg, "in");
}

// Custom form: the block arguments are written beside the operands they are
// bound to, as in `scf.forall ... shared_outs(%arg = %init)`:
//   bpt.block (%a = %x : type, ...) -> (types) attributes {...} { body }
ParseResult BlockOp::parse(OpAsmParser &parser, OperationState &result) {
  SmallVector<OpAsmParser::Argument> regionArgs;
  SmallVector<OpAsmParser::UnresolvedOperand> operands;
  SmallVector<Type> operandTypes;
  auto parseBinding = [&]() -> ParseResult {
    OpAsmParser::Argument arg;
    OpAsmParser::UnresolvedOperand operand;
    if (parser.parseArgument(arg) || parser.parseEqual() ||
        parser.parseOperand(operand) || parser.parseColonType(arg.type))
      return failure();
    regionArgs.push_back(arg);
    operands.push_back(operand);
    operandTypes.push_back(arg.type);
    return success();
  };
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Paren,
                                     parseBinding) ||
      parser.resolveOperands(operands, operandTypes,
                             parser.getCurrentLocation(), result.operands) ||
      parser.parseArrowTypeList(result.types) ||
      parser.parseOptionalAttrDictWithKeyword(result.attributes))
    return failure();
  Region *body = result.addRegion();
  if (parser.parseRegion(*body, regionArgs))
    return failure();
  BlockOp::ensureTerminator(*body, parser.getBuilder(), result.location);
  return success();
}

void BlockOp::print(OpAsmPrinter &p) {
  p << " (";
  llvm::interleaveComma(
      llvm::zip(getBodyBlock()->getArguments(), getInputs()), p,
      [&](auto pair) {
        auto [arg, input] = pair;
        p << arg << " = " << input << " : " << input.getType();
      });
  p << ") -> (" << getResultTypes() << ")";
  p.printOptionalAttrDictWithKeyword((*this)->getAttrs());
  p << " ";
  p.printRegion(getBody(), /*printEntryBlockArgs=*/false,
                /*printBlockTerminators=*/true);
}

#define GET_OP_CLASSES
#include "bpt/Dialect/BPT/IR/BPTOps.cpp.inc"
