"""The README's main job runs and checks itself."""

from bpt import demo


def test_demo_passes(capsys):
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "S x S score buffers" in out
