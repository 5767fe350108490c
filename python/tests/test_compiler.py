"""The compile-and-call path; needs the built bpt-opt and LLVM 22 tools."""

import numpy as np
import pytest

from bpt import BPTError, compile_mlir
from bpt.compiler import parse_signatures

ADD = """
func.func @add(%a: tensor<4xf32>, %b: tensor<?xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %c = tensor.cast %b : tensor<?xf32> to tensor<4xf32>
  %r = linalg.add ins(%a, %c : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""


def test_parse_signatures():
    sigs = parse_signatures(ADD)
    args, results = sigs["add"]
    assert [a.shape for a in args] == [[4], [None]]
    assert [r.elem for r in results] == ["f32"]


def test_compile_and_call():
    m = compile_mlir(ADD)
    got = m.add(np.arange(4, dtype=np.float32), np.ones(4, np.float32))
    assert np.array_equal(got, np.arange(4) + 1.0)


def test_arguments_are_not_modified():
    m = compile_mlir(ADD)
    a = np.arange(4, dtype=np.float32)
    m.add(a, a)
    assert np.array_equal(a, np.arange(4))


def test_wrong_dtype_and_shape_are_clear_errors():
    m = compile_mlir(ADD)
    with pytest.raises(BPTError, match="must have dtype float32"):
        m.add(np.zeros(4), np.zeros(4, np.float32))
    with pytest.raises(BPTError, match="has shape \\(5,\\), expected"):
        m.add(np.zeros(5, np.float32), np.zeros(4, np.float32))
    with pytest.raises(BPTError, match="takes 2 arguments"):
        m.add(np.zeros(4, np.float32))


def test_unknown_function_names_the_ones_that_exist():
    m = compile_mlir(ADD)
    with pytest.raises(BPTError, match="no public function @sub.*@add"):
        m["sub"]


def test_compile_error_carries_the_diagnostic():
    with pytest.raises(BPTError, match="key head count 3 does not divide"):
        compile_mlir("""
func.func @f(%q: tensor<1x4x2x2xf32>, %k: tensor<1x3x2x2xf32>) -> tensor<1x4x2x2xf32> {
  %0 = bpt.attention ins(%q, %k, %k : tensor<1x4x2x2xf32>, tensor<1x3x2x2xf32>, tensor<1x3x2x2xf32>)
         outs(%q : tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  return %0 : tensor<1x4x2x2xf32>
}
""")
