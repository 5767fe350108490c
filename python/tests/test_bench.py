"""`bpt bench`: sequence lists, the table, the plot, progress on stderr and
the error paths."""

import json

import pytest

from bpt import BPTError, bench
from bpt.cli import main


def test_sequence_lists():
    assert bench.parse_seqs("1k..8k") == [1024, 2048, 4096, 8192]
    assert bench.parse_seqs("512,1k..2k,3000") == [512, 1024, 2048, 3000]
    for bad, message in (("1q", "bad sequence length"),
                         ("4k..1k", "empty range"), ("0", "positive")):
        with pytest.raises(BPTError, match=message):
            bench.parse_seqs(bad)


def test_bench_prints_tables_writes_plot_and_json(tmp_path, capsys):
    plot, figures = tmp_path / "b.png", tmp_path / "b.json"
    assert main(["bench", "--model", "bert", "--seq", "256..512",
                 "--measure", "256", "--budget-gib", "0.5", "--plot",
                 str(plot), "--json", str(figures)]) == 0
    captured = capsys.readouterr()
    assert "largest S within 0.5 GiB" in captured.out
    assert "tokens/s" in captured.out
    assert "bert S=256: running bpt" in captured.err   # progress
    data = json.loads(figures.read_text())["models"]["bert"]
    fits = data["fits"]
    assert fits["bpt"] > fits["attn-only"] > fits["vanilla"] > 0
    assert plot.stat().st_size > 0


def test_bench_errors(capsys):
    assert main(["bench", "--model", "gpt5"]) == 1
    assert "unsupported model 'gpt5'" in capsys.readouterr().err
    assert main(["bench", "--seq", "4k..1k"]) == 1
    assert "empty range" in capsys.readouterr().err
