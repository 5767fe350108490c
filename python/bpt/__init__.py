"""bpt: the Python side of bpt-mlir.

Compile MLIR with the bpt-opt pipelines into a shared object, call its
functions on NumPy arrays, and compare them with NumPy references. Needs no
MLIR Python bindings: the compiler is driven through its command-line tools
and the compiled code through ctypes.
"""

from .api import Explanation, compile, explain
from .compiler import CompiledModule, compile_mlir
from .errors import BPTError
from .frontends import from_torch

__all__ = ["BPTError", "CompiledModule", "Explanation", "compile",
           "compile_mlir", "explain", "from_torch"]
