// RUN: bpt-opt %s --bpt-blockwise="q-block=64 kv-block=128 ffn-chunk=256" --canonicalize --split-input-file | FileCheck %s --enable-var-scope
// After bufferization (and the CSE and canonicalisation that
// --bpt-cpu-pipeline runs after it) no S x S or S x d_ff buffer exists
// anywhere, and attention copies nothing:
// RUN: bpt-opt %s --bpt-blockwise="q-block=64 kv-block=128 ffn-chunk=256" --canonicalize \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   --cse --canonicalize --split-input-file | FileCheck %s --check-prefix=BUF
// With narrow-hidden (the GPU pipeline's setting), a 16-bit FFN's hidden
// chunk is computed in f32 and stored in its input type; f32 FFNs are as
// before:
// RUN: bpt-opt %s --bpt-blockwise="q-block=64 kv-block=128 ffn-chunk=256 narrow-hidden=true" --canonicalize --split-input-file | FileCheck %s --check-prefix=NARROW

// Causal GQA attention, S = 1024: a parallel loop over (batch, head,
// query block) and, inside, the key/value loop carrying the running max,
// running sum and the f32 accumulator. The key loop stops at the last block
// the query block sees; only blocks crossing the diagonal apply the causal
// test.

// CHECK-DAG: #[[$KVHEAD:.+]] = affine_map<(d0) -> (d0 floordiv 4)>
// CHECK-LABEL: func @attention_causal_gqa
// CHECK-SAME: (%[[Q:[^:]+]]: {{[^,]+}}, %[[K:[^:]+]]: {{[^,]+}}, %[[V:[^:]+]]: {{[^,]+}}, %[[O:[^:]+]]: {{[^)]+}})
// CHECK-NOT:  tensor<1x8x1024x1024
// CHECK:      scf.forall (%[[H:.+]], %[[I:.+]]) = (0, 0) to (8, 1024) step (1, 64) shared_outs(%[[OUT:.+]] = %[[O]])
// CHECK:        %[[HKV:.+]] = affine.apply #[[$KVHEAD]](%[[H]])
// CHECK:        %[[QT:.+]] = tensor.extract_slice %[[Q]][0, %[[H]], %[[I]], 0] [1, 1, 64, 64]
// CHECK:        %[[KT:.+]] = tensor.extract_slice %[[K]][0, %[[HKV]], 0, 0] [1, 1, 1024, 64]
// CHECK:        %[[M0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x1x64xf32>)
// CHECK:        %[[L0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x1x64xf32>)
// CHECK:        %[[A0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x1x64x64xf32>)
// CHECK:        %[[LAST:.+]] = arith.addi %[[I]], %c64
// CHECK:        %[[VIS:.+]] = arith.minsi %{{.+}}, %c1024
// CHECK:        %[[HI:.+]] = arith.ceildivsi %[[VIS]], %c128
// CHECK:        %[[R:.+]]:3 = scf.for %[[J:.+]] = %c0 to %[[HI]] step %c1 iter_args(%[[M:.+]] = %[[M0]], %[[L:.+]] = %[[L0]], %[[ACC:.+]] = %[[A0]])
// CHECK:          %[[KS:.+]] = arith.muli %[[J]], %c128
// CHECK:          %[[KB:.+]] = tensor.extract_slice %[[KT]][0, 0, %[[KS]], 0] [1, 1, %{{.+}}, 64]
// CHECK:          %[[VB:.+]] = tensor.extract_slice %{{.+}}[0, 0, %[[KS]], 0] [1, 1, %{{.+}}, 64]
// CHECK:          %[[KBT:.+]] = linalg.transpose ins(%[[KB]] : tensor<1x1x?x64xf16>) outs(%{{.+}} : tensor<1x1x64x?xf16>) permutation = [0, 1, 3, 2]
// CHECK:          %[[S:.+]] = linalg.generic {{.*}} ins(%[[QT]], %[[KBT]] : tensor<1x1x64x64xf16>, tensor<1x1x64x?xf16>) outs(%{{.+}} : tensor<1x1x64x?xf32>)
// CHECK:          %[[CROSS:.+]] = arith.cmpi sgt
// CHECK:          %[[SM:.+]] = scf.if %[[CROSS]] -> (tensor<1x1x64x?xf32>)
// CHECK:            linalg.index 3
// CHECK:            arith.cmpi sle
// CHECK:          } else {
// CHECK-NOT:        linalg.index
// CHECK:          }
// CHECK:          %[[BMAX:.+]] = linalg.generic {{.*}} ins(%[[SM]] : tensor<1x1x64x?xf32>) outs(%{{.+}} : tensor<1x1x64xf32>)
// CHECK:          %[[ALPHA:.+]] = linalg.generic {{.*}} ins(%[[M]], %[[BMAX]] :
// CHECK:            arith.maximumf
// CHECK:            math.exp
// CHECK:          %[[MNEW:.+]] = linalg.generic {{.*}} ins(%[[BMAX]] : tensor<1x1x64xf32>) outs(%[[M]] : tensor<1x1x64xf32>)
// CHECK:          %[[P:.+]] = linalg.generic {{.*}} ins(%[[SM]], %[[MNEW]] :
// CHECK:          %[[LS:.+]] = linalg.generic {{.*}} ins(%[[ALPHA]] : tensor<1x1x64xf32>) outs(%[[L]] : tensor<1x1x64xf32>)
// CHECK:          %[[LNEW:.+]] = linalg.generic {{.*}} ins(%[[P]] : tensor<1x1x64x?xf32>) outs(%[[LS]] : tensor<1x1x64xf32>)
// CHECK-NOT:      linalg.transpose
// CHECK:          %[[AS:.+]] = linalg.generic {{.*}} ins(%[[ALPHA]] : tensor<1x1x64xf32>) outs(%[[ACC]] : tensor<1x1x64x64xf32>)
// CHECK:          %[[ANEW:.+]] = linalg.generic {{.*}} ins(%[[P]], %[[VB]] : tensor<1x1x64x?xf32>, tensor<1x1x?x64xf16>) outs(%[[AS]] : tensor<1x1x64x64xf32>)
// CHECK:          scf.yield %[[MNEW]], %[[LNEW]], %[[ANEW]]
// CHECK:        linalg.generic {{.*}} ins(%[[R]]#2, %[[R]]#1 : tensor<1x1x64x64xf32>, tensor<1x1x64xf32>) outs(%{{.+}} : tensor<1x1x64x64xf16>)
// CHECK:          arith.divf
// CHECK:          arith.truncf
// CHECK:        scf.forall.in_parallel
// BUF-LABEL: func @attention_causal_gqa
// BUF-NOT:   memref<{{[0-9x]*}}1024x1024x
// BUF-NOT:   memref.copy
// BUF:       scf.forall
// BUF-NOT:   memref<{{[0-9x]*}}1024x1024x
// BUF-NOT:   memref.copy
// BUF:       return
func.func @attention_causal_gqa(%q: tensor<1x8x1024x64xf16>, %k: tensor<1x2x1024x64xf16>,
                                %v: tensor<1x2x1024x64xf16>, %o: tensor<1x8x1024x64xf16>)
    -> tensor<1x8x1024x64xf16> {
  %0 = bpt.attention causal ins(%q, %k, %v : tensor<1x8x1024x64xf16>, tensor<1x2x1024x64xf16>, tensor<1x2x1024x64xf16>)
         outs(%o : tensor<1x8x1024x64xf16>) -> tensor<1x8x1024x64xf16>
  return %0 : tensor<1x8x1024x64xf16>
}

// -----

// Non-causal attention: every key block is visited (0 to ceil(Sk / 128)),
// no causal test anywhere.

// CHECK-LABEL: func @attention_full
// CHECK:      scf.forall
// CHECK:        scf.for %{{.+}} = %c0 to %c8 step %c1 iter_args(
// CHECK-NOT:      scf.if
// CHECK-NOT:      linalg.index
// CHECK:          scf.yield
func.func @attention_full(%q: tensor<2x4x1000x32xf32>, %k: tensor<2x4x1000x32xf32>,
                          %v: tensor<2x4x1000x32xf32>, %o: tensor<2x4x1000x32xf32>)
    -> tensor<2x4x1000x32xf32> {
  %0 = bpt.attention ins(%q, %k, %v : tensor<2x4x1000x32xf32>, tensor<2x4x1000x32xf32>, tensor<2x4x1000x32xf32>)
         outs(%o : tensor<2x4x1000x32xf32>) -> tensor<2x4x1000x32xf32>
  return %0 : tensor<2x4x1000x32xf32>
}

// -----

// A sliding window also raises the lower bound of the key loop.

// CHECK-LABEL: func @attention_window
// CHECK:      scf.forall
// CHECK:        %[[FIRST:.+]] = arith.floordivsi %{{.+}}, %c128
// CHECK:        %[[LO:.+]] = arith.minsi %[[FIRST]], %{{.+}}
// CHECK:        scf.for %{{.+}} = %[[LO]] to
func.func @attention_window(%q: tensor<1x1x2048x32xf32>, %k: tensor<1x1x2048x32xf32>,
                            %v: tensor<1x1x2048x32xf32>, %o: tensor<1x1x2048x32xf32>)
    -> tensor<1x1x2048x32xf32> {
  %0 = bpt.attention causal window(256) ins(%q, %k, %v : tensor<1x1x2048x32xf32>, tensor<1x1x2048x32xf32>, tensor<1x1x2048x32xf32>)
         outs(%o : tensor<1x1x2048x32xf32>) -> tensor<1x1x2048x32xf32>
  return %0 : tensor<1x1x2048x32xf32>
}

// -----

// FFN: row blocks of 64 in parallel, hidden chunks of 256 accumulated in an
// scf.for; the hidden activation lives as 64 x 256 at a time, never as
// 4096 x 3072.

// CHECK-LABEL: func @ffn_chunks
// CHECK-NOT:  tensor<4096x3072xf32>
// CHECK:      scf.forall (%[[R:.+]]) = (0) to (4096) step (64)
// CHECK:        scf.for %[[F:.+]] = %c0 to %c3072 step %c256 iter_args(
// CHECK:          linalg.generic {{.*}} outs(%{{.+}} : tensor<64x256xf32>)
// CHECK:            math.tanh
// CHECK:          scf.yield
// BUF-LABEL: func @ffn_chunks
// BUF-NOT:   memref<4096x3072xf32>
// BUF:       memref.alloc() {{.*}} : memref<64x256xf32>
// BUF-NOT:   memref<4096x3072xf32>
// BUF:       return
// NARROW-LABEL: func @ffn_chunks
//   NARROW-NOT:   xf16>
//       NARROW:   linalg.generic {{.*}} outs(%{{.+}} : tensor<64x256xf32>)
//       NARROW:     math.tanh
//   NARROW-NOT:   arith.truncf
//   NARROW-NOT:   xf16>
//       NARROW:   return
func.func @ffn_chunks(%x: tensor<4096x768xf32>, %up: tensor<768x3072xf32>, %b1: tensor<3072xf32>,
                      %down: tensor<3072x768xf32>, %b2: tensor<768xf32>, %res: tensor<4096x768xf32>)
    -> tensor<4096x768xf32> {
  %0 = bpt.ffn gelu_tanh ins(%x : tensor<4096x768xf32>) up(%up : tensor<768x3072xf32>) up_bias(%b1 : tensor<3072xf32>)
         down(%down : tensor<3072x768xf32>) down_bias(%b2 : tensor<768xf32>)
         outs(%res : tensor<4096x768xf32>) -> tensor<4096x768xf32>
  return %0 : tensor<4096x768xf32>
}

// -----

// A narrow destination: the chunk loop accumulates in f32 and converts once.

// CHECK-LABEL: func @ffn_f16
// CHECK:      scf.forall
// CHECK:        %[[WIDE:.+]] = linalg.generic {{.*}} outs(%{{.+}} : tensor<64x64xf32>)
// CHECK:          arith.extf
// CHECK:        %[[ACC:.+]] = scf.for {{.*}} iter_args(%{{.+}} = %[[WIDE]]) -> (tensor<64x64xf32>)
// CHECK:        linalg.generic {{.*}} ins(%[[ACC]] : tensor<64x64xf32>) outs(%{{.+}} : tensor<64x64xf16>)
// CHECK:          arith.truncf
// NARROW-LABEL: func @ffn_f16
//       NARROW:   scf.for
//       NARROW:     %[[UP:.+]] = linalg.generic {{.*}} outs(%{{.+}} : tensor<64x256xf32>)
//       NARROW:     %[[H:.+]] = linalg.generic {{.*}} ins(%[[UP]] : tensor<64x256xf32>) outs(%{{.+}} : tensor<64x256xf16>)
//       NARROW:       arith.maximumf
//       NARROW:       arith.truncf %{{.+}} : f32 to f16
//       NARROW:     linalg.generic {{.*}} ins(%[[H]], %{{.+}} : tensor<64x256xf16>, tensor<256x64xf16>)
//       NARROW:       arith.extf
func.func @ffn_f16(%x: tensor<128x64xf16>, %up: tensor<64x512xf16>, %down: tensor<512x64xf16>)
    -> tensor<128x64xf16> {
  %0 = bpt.ffn relu ins(%x : tensor<128x64xf16>) up(%up : tensor<64x512xf16>)
         down(%down : tensor<512x64xf16>) outs(%x : tensor<128x64xf16>) -> tensor<128x64xf16>
  return %0 : tensor<128x64xf16>
}
