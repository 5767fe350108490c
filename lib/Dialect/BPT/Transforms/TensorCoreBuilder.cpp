//===- TensorCoreBuilder.cpp - Pieces of tensor-core kernels -------------===//

#include "TensorCoreBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::bpt;

gpu::GPUModuleOp mlir::bpt::getOrCreateKernelModule(ModuleOp module) {
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>("bpt_kernels"))
    return existing;
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  auto kernels = gpu::GPUModuleOp::create(b, module.getLoc(), "bpt_kernels");
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  return kernels;
}

MemRefType mlir::bpt::anyStridedType(ArrayRef<int64_t> shape, Type elem,
                                     bool unitRows, Attribute memorySpace) {
  int64_t dyn = ShapedType::kDynamic;
  SmallVector<int64_t> strides(shape.size(), dyn);
  if (unitRows && !strides.empty())
    strides.back() = 1;
  return MemRefType::get(
      shape, elem, StridedLayoutAttr::get(elem.getContext(), dyn, strides),
      memorySpace);
}

Attribute mlir::bpt::workgroupSpace(MLIRContext *ctx) {
  return gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
}

Value mlir::bpt::dynamicSharedMemory(OpBuilder &b, Location loc) {
  return gpu::DynamicSharedMemoryOp::create(
      b, loc,
      MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(),
                      workgroupSpace(b.getContext())));
}

Value mlir::bpt::rowsAligned16(OpBuilder &b, Location loc, Value memref) {
  auto idx = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  auto zero = [&](Value v, int64_t mod) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                 arith::RemUIOp::create(b, loc, v, idx(mod)),
                                 idx(0))
        .getResult();
  };
  Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value first = arith::AddIOp::create(
      b, loc, ptr, arith::MulIOp::create(b, loc, meta.getOffset(), idx(2)));
  Value ok = zero(first, 16);
  for (Value stride : meta.getStrides().drop_back())
    ok = arith::AndIOp::create(b, loc, ok, zero(stride, 8));
  return ok;
}

nvgpu::TensorMapDescriptorType
mlir::bpt::swizzledBoxMapType(Type elem, ArrayRef<int64_t> box,
                              Attribute workgroup) {
  auto tile = MemRefType::get(box, elem, AffineMap(), workgroup);
  return nvgpu::TensorMapDescriptorType::get(
      elem.getContext(), tile, nvgpu::TensorMapSwizzleKind::SWIZZLE_128B,
      nvgpu::TensorMapL2PromoKind::L2PROMO_256B,
      nvgpu::TensorMapOOBKind::OOB_ZERO,
      nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE);
}

gpu::GPUFuncOp mlir::bpt::createKernel(OpBuilder &b, gpu::GPUModuleOp kernels,
                                       StringRef name, ArrayRef<Type> argTypes,
                                       int64_t sharedBytes, int32_t threads) {
  b.setInsertionPointToEnd(kernels.getBody());
  Attribute wg = workgroupSpace(b.getContext());
  SmallVector<Type> shared;
  if (sharedBytes > 0)
    shared.push_back(
        MemRefType::get({sharedBytes}, b.getI8Type(), AffineMap(), wg));
  auto func = gpu::GPUFuncOp::create(b, kernels.getLoc(), name,
                                     b.getFunctionType(argTypes, {}), shared);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({threads, 1, 1}));
  return func;
}

Value TensorCoreBuilder::swizzle(Value row, Value col, int64_t width) {
  int64_t chunks = width / 8;
  if (chunks < 2 || !llvm::isPowerOf2_64(chunks))
    return col;
  int64_t m = std::min<int64_t>(chunks, 8);
  Value chunk = arith::DivUIOp::create(b, loc, col, idx(8));
  Value r = arith::RemUIOp::create(b, loc, row, idx(m));
  return mul(arith::XOrIOp::create(b, loc, chunk, r), idx(8));
}

Value TensorCoreBuilder::alignmentPad(Value smem, int64_t align) {
  Value address = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, smem);
  return remui(arith::SubIOp::create(b, loc, idx(align), remui(address, align)),
               align);
}

Value TensorCoreBuilder::tmaBarriers(int64_t count, Value leader,
                                     ValueRange maps) {
  MLIRContext *ctx = b.getContext();
  Value bars = nvgpu::MBarrierCreateOp::create(
      b, loc, nvgpu::MBarrierGroupType::get(ctx, workgroupSpace(ctx), count));
  for (int64_t i = 0; i < count; ++i)
    nvgpu::MBarrierInitOp::create(b, loc, bars, idx(1), idx(i), leader);
  NVVM::FenceProxyOp::create(
      b, loc, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
  for (Value map : maps)
    nvgpu::TmaPrefetchOp::create(b, loc, map, leader);
  gpu::BarrierOp::create(b, loc);
  return bars;
}

void TensorCoreBuilder::waitPhase(Value bars, Value use, Value barrier) {
  Value parity = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                       remui(use, 2), idx(0));
  nvgpu::MBarrierTryWaitParityOp::create(b, loc, bars, parity, idx(10000000),
                                         barrier);
}

Value TensorCoreBuilder::stack(ArrayRef<Value> rows) {
  auto rowTy = cast<VectorType>(rows[0].getType());
  auto ty =
      VectorType::get({static_cast<int64_t>(rows.size()), rowTy.getDimSize(0)},
                      rowTy.getElementType());
  Value acc = arith::ConstantOp::create(b, loc, ty, b.getZeroAttr(ty));
  for (auto [i, r] : llvm::enumerate(rows))
    acc = vector::InsertOp::create(b, loc, r, acc,
                                   ArrayRef<int64_t>{static_cast<int64_t>(i)});
  return acc;
}

SmallVector<Value> TensorCoreBuilder::ldmatrixRows(Value tile, Value row,
                                                   Value col, bool transpose,
                                                   int64_t tiles) {
  // The tiles hold 16-bit containers typed f16 (nvgpu.ldmatrix of LLVM 22
  // lowers f16 only); bf16 data is reinterpreted after the load.
  auto containerTy = VectorType::get({tiles, 2}, b.getF16Type());
  Value m = nvgpu::LdMatrixOp::create(
      b, loc, containerTy, tile, ValueRange{row, col}, b.getBoolAttr(transpose),
      b.getI32IntegerAttr(tiles));
  auto pairTy = VectorType::get({2}, in);
  SmallVector<Value> rows;
  for (int64_t i = 0; i < tiles; ++i) {
    Value r = vector::ExtractOp::create(b, loc, m, ArrayRef<int64_t>{i});
    if (in != b.getF16Type())
      r = vector::BitCastOp::create(b, loc, pairTy, r);
    rows.push_back(r);
  }
  return rows;
}

SmallVector<Value> TensorCoreBuilder::ldmatrix(Value tile, Value row, Value col,
                                               bool transpose, int64_t tiles) {
  SmallVector<Value> rows = ldmatrixRows(tile, row, col, transpose, tiles);
  SmallVector<Value> frags;
  for (int64_t i = 0; i + 1 < tiles; i += 2)
    frags.push_back(stack({rows[i], rows[i + 1]}));
  return frags;
}

Value TensorCoreBuilder::aFragment(Value tile, Value laneRow, Value laneMat,
                                   Value row0, int64_t col0, int64_t width) {
  Value row =
      add(add(laneRow,
              mul(arith::RemUIOp::create(b, loc, laneMat, idx(2)), idx(8))),
          row0);
  Value col = add(mul(arith::DivUIOp::create(b, loc, laneMat, idx(2)), idx(8)),
                  idx(col0));
  return stack(ldmatrixRows(tile, row, swizzle(row, col, width),
                            /*transpose=*/false, 4));
}

Value TensorCoreBuilder::mma(Value a, Value bm, Value c) {
  if (in.isF16())
    return nvgpu::MmaSyncOp::create(b, loc, a, bm, c,
                                    ArrayRef<int64_t>{16, 8, 16});
  // bf16: nvvm.mma.sync on the registers as i32 pairs.
  auto i32 = b.getI32Type();
  auto one = VectorType::get({1}, i32);
  auto regs = [&](Value m, int64_t n) {
    SmallVector<Value> out;
    for (int64_t i = 0; i < n; ++i) {
      Value row = vector::ExtractOp::create(b, loc, m, ArrayRef<int64_t>{i});
      Value cast = vector::BitCastOp::create(b, loc, one, row);
      out.push_back(
          vector::ExtractOp::create(b, loc, cast, ArrayRef<int64_t>{0}));
    }
    return out;
  };
  SmallVector<Value> av = regs(a, 4), bv = regs(bm, 2), cv;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j)
      cv.push_back(
          vector::ExtractOp::create(b, loc, c, ArrayRef<int64_t>{i, j}));
  auto resTy =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  Value d = NVVM::MmaOp::create(
      b, loc, resTy, av, bv, cv, ArrayRef<int64_t>{16, 8, 16}, std::nullopt,
      std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  Value out = arith::ConstantOp::create(b, loc, c.getType(),
                                        b.getZeroAttr(c.getType()));
  for (int64_t i = 0; i < 4; ++i) {
    Value e = LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{i});
    out = vector::InsertOp::create(b, loc, e, out,
                                   ArrayRef<int64_t>{i / 2, i % 2});
  }
  return out;
}
