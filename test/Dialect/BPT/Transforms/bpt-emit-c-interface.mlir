// RUN: bpt-opt %s --bpt-emit-c-interface | FileCheck %s

// CHECK-LABEL: func.func @public
// CHECK-SAME: attributes {llvm.emit_c_interface}
func.func @public(%a: f32) -> f32 {
  return %a : f32
}

// Negative: private functions and declarations are left alone.
// CHECK-LABEL: func.func private @helper
// CHECK-NOT: llvm.emit_c_interface
// CHECK-LABEL: func.func private @external
// CHECK-NOT: llvm.emit_c_interface
func.func private @helper(%a: f32) -> f32 {
  return %a : f32
}
func.func private @external(f32) -> f32
