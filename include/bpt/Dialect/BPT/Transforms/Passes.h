//===- Passes.h - Passes of the bpt dialect ---------------------*- C++ -*-===//

#ifndef BPT_DIALECT_BPT_TRANSFORMS_PASSES_H
#define BPT_DIALECT_BPT_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class DialectRegistry;
class RewritePatternSet;
namespace affine {
class AffineDialect;
} // namespace affine
namespace scf {
class SCFDialect;
} // namespace scf
namespace arith {
class ArithDialect;
} // namespace arith
namespace linalg {
class LinalgDialect;
} // namespace linalg
namespace math {
class MathDialect;
} // namespace math
namespace bufferization {
class BufferizationDialect;
} // namespace bufferization
namespace memref {
class MemRefDialect;
} // namespace memref
namespace tensor {
class TensorDialect;
} // namespace tensor
namespace vector {
class VectorDialect;
} // namespace vector
namespace mpi {
class MPIDialect;
} // namespace mpi
namespace cf {
class ControlFlowDialect;
} // namespace cf
class DLTIDialect;
namespace LLVM {
class LLVMDialect;
} // namespace LLVM
namespace gpu {
class GPUDialect;
} // namespace gpu
namespace nvgpu {
class NVGPUDialect;
} // namespace nvgpu
namespace NVVM {
class NVVMDialect;
} // namespace NVVM

namespace bpt {
class BPTDialect;

#define GEN_PASS_DECL
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"

/// Memory effects of mpi.send/isend (read the buffer), mpi.recv/irecv
/// (write it), mpi.wait and gpu.launch_func (reads and writes its buffer
/// operands), which upstream does not declare and buffer deallocation
/// needs. Registered by bpt::registerAllDialects.
void registerMemoryEffectModels(DialectRegistry &registry);

/// Patterns that lower bpt.attention, bpt.ffn and bpt.block to textbook
/// linalg on tensors (see --bpt-decompose).
void populateBPTDecomposePatterns(RewritePatternSet &patterns);

/// The reference lowering of bpt.ffn alone (used on FFN tiles). With
/// `narrowHidden`, the hidden activation (computed in f32) is stored in the
/// input's type when that is f16 or bf16, as eager frameworks store it.
void populateBPTDecomposeFFNPatterns(RewritePatternSet &patterns,
                                     bool narrowHidden = false);

/// The pattern behind --bpt-raise-attention: raises the attention around a
/// softmax (see the pass) to bpt.attention.
void populateBPTRaiseAttentionPatterns(RewritePatternSet &patterns);

/// The pattern behind --bpt-raise-ffn: raises the FFN ending at a
/// contraction (see the pass) to bpt.ffn.
void populateBPTRaiseFFNPatterns(RewritePatternSet &patterns);

/// The pattern behind --bpt-raise-block: gathers the layer ending at a
/// bpt.ffn into a bpt.block (see the pass).
void populateBPTRaiseBlockPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "bpt/Dialect/BPT/Transforms/Passes.h.inc"

} // namespace bpt
} // namespace mlir

#endif // BPT_DIALECT_BPT_TRANSFORMS_PASSES_H
