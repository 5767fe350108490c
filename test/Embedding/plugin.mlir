// Upstream mlir-opt of the Debian packages runs the bpt passes through the
// plugin (one library, loaded as dialect plugin and as pass plugin), on
// torch-mlir's export of causal scaled-dot-product attention:
// RUN: mlir-opt --load-dialect-plugin=%bpt_plugin --load-pass-plugin=%bpt_plugin %S/../Corpus/torch-mlir/sdpa_causal_f32.mlir \
// RUN:   --pass-pipeline="builtin.module(bpt-raise)" | FileCheck %s --check-prefix=RAISE
// RUN: mlir-opt --load-dialect-plugin=%bpt_plugin --load-pass-plugin=%bpt_plugin %S/../Corpus/torch-mlir/sdpa_causal_f32.mlir \
// RUN:   --pass-pipeline="builtin.module(bpt-raise,bpt-blockwise{q-block=16 kv-block=16},canonicalize)" \
// RUN:   | FileCheck %s --check-prefix=FUSED
// RUN: mlir-opt --load-dialect-plugin=%bpt_plugin --load-pass-plugin=%bpt_plugin %S/../Corpus/torch-mlir/sdpa_causal_f32.mlir \
// RUN:   --pass-pipeline="builtin.module(bpt-raise,bpt-cpu-pipeline)" | FileCheck %s --check-prefix=LLVM
// Printing bpt ops needs the dialect side; parsing them back with stock
// mlir-opt too:
// RUN: mlir-opt --load-dialect-plugin=%bpt_plugin --load-pass-plugin=%bpt_plugin %S/../Corpus/torch-mlir/sdpa_causal_f32.mlir \
// RUN:   --pass-pipeline="builtin.module(bpt-raise)" | \
// RUN:   mlir-opt --load-dialect-plugin=%bpt_plugin | FileCheck %s --check-prefix=RAISE
// Without the plugin, stock mlir-opt knows no bpt pass:
// RUN: not mlir-opt %S/../Corpus/torch-mlir/sdpa_causal_f32.mlir --pass-pipeline="builtin.module(bpt-raise)" 2>&1 | FileCheck %s --check-prefix=NOPLUGIN

// RAISE: bpt.attention causal
// RAISE-NOT: linalg.softmax
// FUSED: scf.forall
// FUSED: scf.for
// FUSED-NOT: bpt.attention
// LLVM: llvm.func @_mlir_ciface_sdpa_causal_f32
// NOPLUGIN: 'bpt-raise' does not refer to a registered pass or pass pipeline
