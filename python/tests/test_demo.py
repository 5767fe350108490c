"""The README's main job runs and checks itself; the shipped example is
what bpt.models writes."""

from pathlib import Path

from bpt import demo, models

REPO = Path(__file__).resolve().parents[2]


def test_demo_passes_on_a_generated_block(tmp_path, capsys):
    plot = tmp_path / "memory.png"
    assert demo.main(["--seq", "512", "--check-rows", "64",
                      "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "largest S in 8 GiB" in out
    assert plot.stat().st_size > 0


def test_shipped_example_is_the_generated_block():
    text = (REPO / "examples" / "gpt2_small_block.mlir").read_text()
    assert text == models.block(models.config("gpt2", seq=4096))
    assert demo._config_from_header(text).seq == 4096
