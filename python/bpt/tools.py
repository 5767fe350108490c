"""Locating and running the command-line tools of bpt-mlir and LLVM."""

import os
import shutil
import subprocess
from pathlib import Path

from .errors import BPTError

_REPO = Path(__file__).resolve().parents[2]


def _llvm_bindir():
    env = os.environ.get("BPT_LLVM_TOOLS_DIR")
    if env:
        return Path(env)
    for cand in ("/usr/lib/llvm-22/bin",):
        if Path(cand, "mlir-translate").exists():
            return Path(cand)
    found = shutil.which("mlir-translate")
    if found:
        return Path(found).parent
    raise BPTError(
        "LLVM/MLIR 22 tools not found: run scripts/setup.sh, or set "
        "BPT_LLVM_TOOLS_DIR to the directory holding mlir-translate and llc")


def tool(name):
    """The path of a tool: bpt-opt from the build tree (or BPT_TOOLS_DIR),
    the LLVM tools from the LLVM 22 installation."""
    if name == "bpt-opt":
        env = os.environ.get("BPT_TOOLS_DIR")
        for cand in ([Path(env)] if env else []) + [_REPO / "build" / "bin"]:
            if (cand / name).exists():
                return str(cand / name)
        found = shutil.which(name)
        if found:
            return found
        raise BPTError("bpt-opt not found: build the project with "
                       "scripts/setup.sh, or set BPT_TOOLS_DIR")
    path = _llvm_bindir() / name
    if not path.exists():
        raise BPTError(f"{name} not found in {path.parent}")
    return str(path)


def run(cmd, what, stdin=None, env=None):
    """Runs a command; on failure raises BPTError with its diagnostics."""
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        raise BPTError(f"{what} failed (exit {proc.returncode}):\n"
                       f"  $ {' '.join(cmd)}\n{proc.stderr.strip()}")
    return proc.stdout


def run_capture(cmd, what, stdin=None):
    """Runs a command; returns (stdout, stderr), or raises BPTError with its
    diagnostics when it fails."""
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BPTError(f"{what} failed (exit {proc.returncode}):\n"
                       f"  $ {' '.join(cmd)}\n{proc.stderr.strip()}")
    return proc.stdout, proc.stderr
