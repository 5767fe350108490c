"""The `bpt` command line: compile, explain, and its error paths."""

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

from bpt.cli import main

REPO = Path(__file__).resolve().parents[2]
SDPA = REPO / "test" / "Corpus" / "torch-mlir" / "sdpa_causal_f32.mlir"


def test_compile_writes_a_loadable_shared_object(tmp_path, capsys):
    out = tmp_path / "sdpa.so"
    assert main(["compile", str(SDPA), "-o", str(out), "--q-block", "32"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    lib = ctypes.CDLL(str(out))
    assert hasattr(lib, "_mlir_ciface_sdpa_causal_f32")


def test_explain_prints_the_report(capsys):
    assert main(["explain", str(SDPA)]) == 0
    assert "raised:  1 attention (1 causal)" in capsys.readouterr().out


def test_missing_file_is_one_clear_error(tmp_path, capsys):
    assert main(["explain", str(tmp_path / "nope.mlir")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bpt: error: no such file")


def test_bad_option_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        main(["compile", str(SDPA), "-o", "x.so", "--target", "tpu"])
    assert exit_info.value.code == 2


def test_errors_never_show_a_traceback(tmp_path):
    bad = tmp_path / "bad.mlir"
    bad.write_text("func.func @f() {\n  bpt.nonsense\n}\n")
    proc = subprocess.run([sys.executable, "-m", "bpt.cli", "explain",
                           str(bad)], capture_output=True, text=True,
                          cwd=REPO / "python")
    assert proc.returncode == 1
    assert "bpt: error:" in proc.stderr
    assert "Traceback" not in proc.stderr
