"""Calls the compiled attention of a GPU module with host descriptors, on a
machine without a GPU: the runtime must end the process with a message."""
import ctypes
import sys

import numpy as np

from bpt.compiler import _descriptor

lib = ctypes.CDLL(sys.argv[1])
arrays = [np.zeros((1, 4, 100, 64), np.float16),
          np.zeros((1, 2, 100, 64), np.float16),
          np.zeros((1, 2, 100, 64), np.float16)]
descs = []
for a in arrays:
    d = _descriptor(4)()
    d.allocated = d.aligned = a.ctypes.data
    for i in range(4):
        d.sizes[i] = a.shape[i]
        d.strides[i] = a.strides[i] // a.itemsize
    descs.append(d)
result = _descriptor(4)()
lib._mlir_ciface_attn(ctypes.byref(result), *(ctypes.byref(d) for d in descs))
print("returned without a GPU")
