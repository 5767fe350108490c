//===- InitAll.h - Register every bpt dialect and pass ----------*- C++ -*-===//
//
// One include for a tool that embeds bpt-mlir: the dialects the bpt passes
// produce and consume (with the external interface models that bufferization
// and tiling need), and every bpt pass and pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_INITALL_H
#define BPT_INITALL_H

namespace mlir {
class DialectRegistry;
namespace bpt {

/// Registers the bpt dialect and the upstream dialects and interface models
/// that the bpt pipelines use.
void registerAllDialects(DialectRegistry &registry);

/// Registers every bpt pass and named pipeline, and the upstream passes that
/// the bpt pipelines are made of (so each stage can be run alone).
void registerAllPasses();

} // namespace bpt
} // namespace mlir

#endif // BPT_INITALL_H
