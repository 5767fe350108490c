// The C API (bpt-c/BPT.h) from a C program: the dialect handle loads bpt,
// mlirRegisterBPTPasses makes the passes and pipelines known to
// mlirParsePassPipeline, and mlirBPTRegisterAllDialects what they need.
// RUN: bpt-capi-test %s "builtin.module(bpt-blockwise{q-block=4 kv-block=4})" 2>&1 | FileCheck %s
// RUN: bpt-capi-test %s "builtin.module(bpt-blockwise,bpt-cpu-pipeline)" | FileCheck %s --check-prefix=LLVM
// RUN: not bpt-capi-test %s "builtin.module(bpt-nothing)" 2>&1 | FileCheck %s --check-prefix=BADPIPE
// RUN: echo "func.func @f(" | not bpt-capi-test - "builtin.module(bpt-decompose)" 2>&1 | FileCheck %s --check-prefix=BADIR

// CHECK: loaded dialect: bpt
// CHECK: func.func @att
// CHECK: scf.forall
// CHECK: scf.for
// CHECK-NOT: bpt.attention
// LLVM: llvm.func @_mlir_ciface_att
// BADPIPE: 'bpt-nothing' does not refer to a registered pass or pass pipeline
// BADPIPE: bpt-capi-test: bad pipeline
// BADIR: bpt-capi-test: the input does not parse

func.func @att(%q: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %e = tensor.empty() : tensor<1x2x8x4xf32>
  %o = bpt.attention causal ins(%q, %q, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) outs(%e : tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}
