// RUN: bpt-opt %s --bpt-approximate-math | FileCheck %s

// exp, log, tanh and erf on f32 become arithmetic.
// CHECK-LABEL: func @transcendental
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK:     math.fma
// CHECK:     return
func.func @transcendental(%x: f32) -> (f32, f32, f32, f32) {
  %0 = math.exp %x : f32
  %1 = math.log %x : f32
  %2 = math.tanh %x : f32
  %3 = math.erf %x : f32
  return %0, %1, %2, %3 : f32, f32, f32, f32
}

// Negative: other math functions are left to libm.
// CHECK-LABEL: func @others
// CHECK: math.sqrt
// CHECK: math.cos
func.func @others(%x: f32) -> (f32, f32) {
  %0 = math.sqrt %x : f32
  %1 = math.cos %x : f32
  return %0, %1 : f32, f32
}
