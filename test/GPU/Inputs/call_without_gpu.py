"""Calls the compiled attention of a GPU module with host descriptors, on a
machine without a GPU: the runtime must end the process with a message."""
import ctypes
import sys

import numpy as np

from bpt.compiler import _descriptor, make_descriptor

lib = ctypes.CDLL(sys.argv[1])
arrays = [np.zeros((1, 4, 100, 64), np.float16),
          np.zeros((1, 2, 100, 64), np.float16),
          np.zeros((1, 2, 100, 64), np.float16)]
descs = [make_descriptor(a.ctypes.data, a.shape,
                         [s // a.itemsize for s in a.strides]) for a in arrays]
result = _descriptor(4)()
lib._mlir_ciface_attn(ctypes.byref(result), *(ctypes.byref(d) for d in descs))
print("returned without a GPU")
