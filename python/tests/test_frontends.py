"""bpt.from_torch's errors, which need neither torch nor torch-mlir (the
end-to-end tests are in test_frontends_torch.py)."""

import builtins

import pytest

import bpt
from bpt import BPTError


def test_missing_torch_mlir_is_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def no_torch_mlir(name, *args, **kwargs):
        if name.startswith("torch_mlir"):
            raise ImportError("No module named 'torch_mlir'", name=name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_torch_mlir)
    with pytest.raises(BPTError, match="needs PyTorch and torch-mlir"):
        bpt.from_torch(object(), ())


def test_unknown_output_is_an_error():
    with pytest.raises(BPTError, match="unknown output 'stablehlo'"):
        bpt.from_torch(object(), (), output="stablehlo")
