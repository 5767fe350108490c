//===- bpt-fuzz.cpp - libFuzzer target over the parser and the bpt passes -===//
//
// Each input is MLIR source text. It is parsed and verified with every
// dialect bpt-opt knows; a module that parses is then run through each bpt
// pass and pipeline in turn, on a fresh copy. Errors (a diagnostic and a
// failed pass) are the expected answer to bad input and are not findings;
// the fuzzer looks for crashes, sanitizer reports, hangs, and passes that
// claim success but leave IR that does not verify.
//
// Built by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address); see
// docs/testing.md.
//
//===----------------------------------------------------------------------===//

#include "bpt/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace mlir;

namespace {

/// The pipelines every parsed input goes through. Small blocks so that the
/// loops the passes build are short, several orders and device counts.
const char *const kPipelines[] = {
    "builtin.module(bpt-raise)",
    "builtin.module(bpt-decompose)",
    "builtin.module(bpt-blockwise{q-block=8 kv-block=16 ffn-chunk=16})",
    "builtin.module(bpt-raise,bpt-blockwise{q-block=16 kv-block=8 "
    "ffn-chunk=32})",
    "builtin.module(bpt-raise,bpt-blockwise{attention-only=true})",
    "builtin.module(bpt-raise,bpt-ring{devices=2})",
    "builtin.module(bpt-raise,bpt-ring{devices=3 order=zigzag})",
    "builtin.module(bpt-vectorize-contractions)",
    "builtin.module(bpt-blockwise{q-block=3 kv-block=5 ffn-chunk=7},"
    "bpt-vectorize-contractions{m-tile=3 n-tile=5})",
    "builtin.module(bpt-raise-ffn,bpt-raise-block{remarks=true})",
    "builtin.module(bpt-raise{remarks=true},bpt-ring{devices=4},"
    "bpt-blockwise{q-block=4 kv-block=4 ffn-chunk=4})",
    "builtin.module(bpt-reassociate-reductions,bpt-innermost-contiguous-loop,"
    "bpt-approximate-math)",
    "builtin.module(bpt-inline-alloca-scopes,bpt-convert-mpi-to-llvm)",
    "builtin.module(bpt-raise,bpt-gpu-attention)",
    "builtin.module(bpt-expand-deallocs,bpt-gpu-offload)",
    "builtin.module(bpt-raise,bpt-blockwise{q-block=8 kv-block=8 "
    "ffn-chunk=8},bpt-decompose)",
};

/// The full CPU pipelines are slow next to the passes above; they run on one
/// input in kFullEvery, picked by a hash of the input so that a given input
/// always takes the same path.
const char *const kFullPipelines[] = {
    "builtin.module(bpt-raise,bpt-blockwise{q-block=8 kv-block=8 "
    "ffn-chunk=8},bpt-cpu-pipeline{vectorize=true})",
    "builtin.module(bpt-raise,bpt-ring-cpu-pipeline{devices=2 q-block=8 "
    "kv-block=8 ffn-chunk=8})",
    // The GPU pipeline up to --bpt-gpu-offload (NVVM code generation would
    // add time, not coverage of our passes).
    "builtin.module(bpt-raise,bpt-gpu-attention,bpt-blockwise{q-block=8 "
    "kv-block=8 ffn-chunk=8},bpt-decompose,one-shot-bufferize{"
    "bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "scf-forall-to-for,ownership-based-buffer-deallocation,canonicalize,"
    "buffer-deallocation-simplification,bpt-expand-deallocs,"
    "convert-bufferization-to-memref,bpt-dealloc-after-last-use,"
    "bpt-gpu-offload)",
};
constexpr uint64_t kFullEvery = 8;

DialectRegistry &registry() {
  static DialectRegistry *r = [] {
    auto *reg = new DialectRegistry();
    bpt::registerAllDialects(*reg);
    bpt::registerAllPasses();
    return reg;
  }();
  return *r;
}

uint64_t hashBytes(const uint8_t *data, size_t size) {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (size_t i = 0; i < size; ++i)
    h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

[[noreturn]] void finding(StringRef pipeline, StringRef what, Operation *op) {
  llvm::errs() << "bpt-fuzz finding: " << pipeline << ": " << what << "\n";
  if (op)
    op->print(llvm::errs(), OpPrintingFlags().printGenericOpForm());
  llvm::errs() << "\n";
  std::abort();
}

void runPipeline(MLIRContext &ctx, ModuleOp input, StringRef pipeline) {
  OwningOpRef<ModuleOp> module = cast<ModuleOp>(input->clone());
  PassManager pm(&ctx);
  // Verification after each pass would turn a pass that breaks the IR into
  // an ordinary failure; check once at the end instead, and call a success
  // that leaves invalid IR a finding.
  pm.enableVerifier(false);
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    finding(pipeline, "the pipeline does not parse", nullptr);
  if (failed(pm.run(*module)))
    return;
  if (failed(verify(*module)))
    finding(pipeline, "succeeded but left IR that does not verify", *module);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  (void)registry();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Inputs far beyond the seeds only slow the search.
  if (size > 64 * 1024)
    return 0;
  MLIRContext ctx(registry(), MLIRContext::Threading::DISABLED);
  ctx.allowUnregisteredDialects(false);
  // Diagnostics are the expected answer to most inputs; keep them quiet.
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  // The lexer expects the NUL that a MemoryBuffer read from a file ends
  // with; libFuzzer's buffer has none, so parse a terminated copy.
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  if (!module)
    return 0;
  for (const char *pipeline : kPipelines)
    runPipeline(ctx, *module, pipeline);
  uint64_t h = hashBytes(data, size);
  if (h % kFullEvery == 0)
    runPipeline(ctx, *module,
                kFullPipelines[(h / kFullEvery) % std::size(kFullPipelines)]);
  return 0;
}
