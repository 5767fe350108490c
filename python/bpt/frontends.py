"""Frontends: PyTorch modules to the linalg on tensors that bpt compiles.

`from_torch(module, example_inputs)` exports a torch.nn.Module with
torch-mlir's FX importer (an optional extra: `pip install bpt[torch]`, or
`BPT_CORPUS=1 scripts/setup.sh`) and returns MLIR text, the input of
`bpt.compile` / `bpt.explain`:

    import bpt
    text = bpt.from_torch(model, (x,))
    module = bpt.compile(text)
    y = module.forward(x.numpy())

`output="tosa"` exports TOSA instead and lowers it to linalg with upstream
MLIR's tosa-to-linalg passes (mlir-opt of the LLVM bpt is built with).
"""

import subprocess

from .errors import BPTError
from .tools import tool

OUTPUTS = ("linalg-on-tensors", "tosa")
TOSA_TO_LINALG = ("builtin.module(func.func(tosa-to-linalg-named,"
                  "tosa-to-linalg,tosa-to-arith,tosa-to-tensor),canonicalize)")


def tosa_to_linalg(module_text, mlir_opt=None):
    """TOSA MLIR text lowered to linalg by upstream MLIR, or None when some
    TOSA op does not lower."""
    proc = subprocess.run([mlir_opt or tool("mlir-opt"),
                           f"--pass-pipeline={TOSA_TO_LINALG}"],
                          input=str(module_text), capture_output=True,
                          text=True)
    if proc.returncode != 0 or "tosa." in proc.stdout:
        return None
    return proc.stdout


def _import_torch():
    try:
        import torch
        from torch_mlir import fx
    except ImportError as e:
        raise BPTError(
            "bpt.from_torch needs PyTorch and torch-mlir, which are not "
            f"installed ({e.name or e}): install them with "
            "'.venv/bin/pip install -r python/requirements-corpus.txt' "
            "(see that file: torch-mlir goes in with --no-deps) or run "
            "'BPT_CORPUS=1 scripts/setup.sh'") from None
    return torch, fx


def from_torch(module, example_inputs, func_name="forward",
               output="linalg-on-tensors"):
    """MLIR text of `module` applied to `example_inputs` (a tuple of
    tensors, or one tensor), exported by torch-mlir in eval mode without
    gradients. The function is named `func_name`."""
    if output not in OUTPUTS:
        raise BPTError(f"unknown output {output!r}: expected one of "
                       f"{', '.join(OUTPUTS)}")
    torch, fx = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise BPTError(f"bpt.from_torch takes a torch.nn.Module, got "
                       f"{type(module).__name__}")
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    if not all(isinstance(t, torch.Tensor) for t in example_inputs):
        raise BPTError("example_inputs must be tensors")
    module.eval()
    try:
        with torch.no_grad():
            exported = fx.export_and_import(module, *example_inputs,
                                            output_type=output,
                                            func_name=func_name)
    except Exception as e:  # torch.export and torch-mlir raise many kinds
        raise BPTError(f"torch-mlir could not export {type(module).__name__}:"
                       f" {type(e).__name__}: {str(e).splitlines()[0]}") from e
    text = str(exported)
    if output == "tosa":
        lowered = tosa_to_linalg(text)
        if lowered is None:
            raise BPTError(f"the TOSA export of {type(module).__name__} does "
                           "not lower to linalg with upstream's "
                           "tosa-to-linalg passes")
        text = lowered
    return text
