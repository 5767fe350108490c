//===- TensorCoreBuilder.h - Pieces of tensor-core kernels ------*- C++ -*-===//
//
// What the attention kernel (--bpt-gpu-attention) and the contraction
// kernel (--bpt-gpu-offload) build alike: index arithmetic, the swizzled
// shared-memory column of a 16-byte chunk, ldmatrix loads of MMA B / A
// fragments from 16-bit shared tiles, and the m16n8k16 MMA itself for f16
// (nvgpu.mma.sync) and bf16 (nvvm.mma.sync, which nvgpu of LLVM 22 cannot
// type). Fragments follow the PTX ISA's register layout: A vector<4x2xT>,
// B vector<2x2xT>, C/D vector<2x2xf32>.
//
//===----------------------------------------------------------------------===//

#ifndef BPT_LIB_DIALECT_BPT_TRANSFORMS_TENSORCOREBUILDER_H
#define BPT_LIB_DIALECT_BPT_TRANSFORMS_TENSORCOREBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir {
namespace bpt {

/// The module's gpu.module @bpt_kernels, which holds every kernel the
/// bpt passes build (attention, contractions), made on first use.
gpu::GPUModuleOp getOrCreateKernelModule(ModuleOp module);

/// A memref type of `shape` and `elem` whose strides and offset are all
/// dynamic, but for a unit innermost stride with `unitRows`: the kernels'
/// operand type for views of larger buffers.
MemRefType anyStridedType(ArrayRef<int64_t> shape, Type elem, bool unitRows,
                          Attribute memorySpace = {});

/// The workgroup (shared) memory space attribute.
Attribute workgroupSpace(MLIRContext *ctx);

/// The kernel's dynamic shared memory as bytes (memref<?xi8>, workgroup).
Value dynamicSharedMemory(OpBuilder &b, Location loc);

/// An empty kernel `name` at the end of `kernels`: arguments `argTypes`,
/// one workgroup buffer of `sharedBytes` bytes (i8; none for 0: a kernel of
/// dynamic shared memory only), `threads` threads per
/// block (known_block_size). The builder `b` is left inside its body.
gpu::GPUFuncOp createKernel(OpBuilder &b, gpu::GPUModuleOp kernels,
                            StringRef name, ArrayRef<Type> argTypes,
                            int64_t sharedBytes, int32_t threads);

/// Whether the 16-bit `memref` (unit innermost stride) can be read by
/// 16-byte chunks, as cp.async and TMA read it: its first element is
/// 16-byte aligned and each outer stride a multiple of 16 bytes (an i1,
/// computed at run time).
Value rowsAligned16(OpBuilder &b, Location loc, Value memref);

/// The type of a TMA tensor map of boxes `box` (innermost 64 elements of
/// 16-bit `elem`: 128 bytes) stored with the 128-byte swizzle, zero filled
/// past the tensor's edges, landing in `workgroup` memory.
nvgpu::TensorMapDescriptorType
swizzledBoxMapType(Type elem, ArrayRef<int64_t> box, Attribute workgroup);

class TensorCoreBuilder {
public:
  /// `in`: the 16-bit type of the MMA operands (f16 or bf16).
  TensorCoreBuilder(OpBuilder &b, Location loc, Type in)
      : b(b), loc(loc), in(in), f32(b.getF32Type()) {}

protected:
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f(double v) {
    return arith::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(v));
  }
  Value minIdx(Value a, Value c) {
    return arith::MinSIOp::create(b, loc, a, c);
  }
  Value add(Value a, Value c) { return arith::AddIOp::create(b, loc, a, c); }
  Value mul(Value a, Value c) { return arith::MulIOp::create(b, loc, a, c); }
  Value divui(Value a, int64_t c) {
    return arith::DivUIOp::create(b, loc, a, idx(c));
  }
  Value remui(Value a, int64_t c) {
    return arith::RemUIOp::create(b, loc, a, idx(c));
  }
  Value lessThan(Value a, Value c) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, a, c);
  }
  Value both(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  /// The TMA kernels' setup: `count` mbarriers in workgroup memory, each
  /// expecting one arrival, initialised by the thread where `leader` holds
  /// and made visible to the async proxy (TMA completes its transactions
  /// on them through it: fence.proxy.async), the tensor maps `maps`
  /// prefetched by that thread, then a barrier (the mbarriers ready for
  /// every thread). Returns the mbarrier group.
  Value tmaBarriers(int64_t count, Value leader, ValueRange maps);
  /// Waits on mbarrier `barrier` of `bars` until the phase of its
  /// `use`-th completion (counting from 0) is done: parity `use` mod 2.
  void waitPhase(Value bars, Value use, Value barrier);
  /// The shared-memory column of 16-byte chunk `col` / 8 of tile row `row`:
  /// chunk XOR (row mod 8), so that the 8 rows one ldmatrix reads at the
  /// same column fall in different banks (a row of 64 or more halves is a
  /// multiple of 128 bytes: unswizzled, all 8 would hit the same banks).
  /// Rows of a number of chunks that is not a power of two stay unswizzled.
  Value swizzle(Value row, Value col, int64_t width);
  /// The offset (bytes) of the first `align`-byte boundary of the shared
  /// buffer `smem` (its address is known at run time only: static shared
  /// memory, e.g. mbarriers, comes first).
  Value alignmentPad(Value smem, int64_t align);
  /// vector<NxM x T> from N vectors of M elements.
  Value stack(ArrayRef<Value> rows);
  /// The `tiles` rows (vector<2xT>) this lane receives from one ldmatrix
  /// of `tiles` 8x8 matrices of a shared tile of 16-bit containers typed
  /// f16; (row, col) is this lane's row address. (LLVM 22 lowers
  /// nvgpu.ldmatrix for f16 only: bf16 data is reinterpreted after the
  /// load.)
  SmallVector<Value> ldmatrixRows(Value tile, Value row, Value col,
                                  bool transpose, int64_t tiles);
  /// `tiles` / 2 fragments of two 8x8 matrices each (vector<2x2xT>),
  /// the rows of ldmatrixRows taken two by two (MMA B operands).
  SmallVector<Value> ldmatrix(Value tile, Value row, Value col, bool transpose,
                              int64_t tiles);
  /// The MMA A fragment (vector<4x2xT>) of the 16 x 16 block of the shared
  /// tile `tile` (rows `width` wide) at rows `row0`.., columns `col0`..:
  /// one ldmatrix.x4 of its matrices (rows 8 (m % 2), columns 8 (m / 2)),
  /// in the order of the fragment's registers. (laneRow, laneMat): this
  /// lane's lane % 8 and lane / 8.
  Value aFragment(Value tile, Value laneRow, Value laneMat, Value row0,
                  int64_t col0, int64_t width);
  /// A 16x8x16 MMA: a (vector<4x2xT>) times bm (vector<2x2xT>) plus c
  /// (vector<2x2xf32>).
  Value mma(Value a, Value bm, Value c);

  OpBuilder &b;
  Location loc;
  Type in;
  Type f32;
};

} // namespace bpt
} // namespace mlir

#endif // BPT_LIB_DIALECT_BPT_TRANSFORMS_TENSORCOREBUILDER_H
