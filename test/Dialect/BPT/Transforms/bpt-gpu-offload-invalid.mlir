// RUN: bpt-opt %s --bpt-gpu-offload --split-input-file -verify-diagnostics

// A host load of a device buffer.
func.func @host_load(%a: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @below {{'memref.load' would run on the host against device memory: bpt-gpu-offload moves only linalg ops, copies and allocations to the GPU}}
  %x = memref.load %a[%c0] : memref<8xf32>
  return %x : f32
}

// -----

// A full reduction has no parallel dimension to give threads.
#id = affine_map<(d0) -> (d0)>
#none = affine_map<(d0) -> ()>
func.func @full_reduction(%a: memref<8xf32>, %s: memref<f32>) {
  // expected-error @below {{bpt-gpu-offload: the op has no parallel dimension to spread over GPU threads (a full reduction)}}
  linalg.generic {indexing_maps = [#id, #none], iterator_types = ["reduction"]} ins(%a : memref<8xf32>) outs(%s : memref<f32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A call may touch the buffer on the host.
func.func private @consume(memref<8xf32>)
func.func @host_call(%a: memref<8xf32>) {
  // expected-error @below {{'func.call' would run on the host against device memory}}
  func.call @consume(%a) : (memref<8xf32>) -> ()
  return
}

// -----

// Linalg on tensors: the program was not bufferized.
func.func @tensors(%a: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @below {{bpt-gpu-offload: the op still computes on tensors (bufferize the program first)}}
  %r = linalg.add ins(%a, %a : tensor<8xf32>, tensor<8xf32>) outs(%a : tensor<8xf32>) -> tensor<8xf32>
  return %r : tensor<8xf32>
}
