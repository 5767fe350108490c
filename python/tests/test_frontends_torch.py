"""bpt.from_torch end to end: a PyTorch module through torch-mlir into
bpt.compile, against torch (skipped when torch-mlir is not installed:
BPT_CORPUS=1 scripts/setup.sh installs it)."""

import numpy as np
import pytest

import bpt
from bpt import BPTError

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir")
F = torch.nn.functional


class Block(torch.nn.Module):
    """Causal attention with a fused QKV projection, out-projection,
    residual and a GELU FFN, as PyTorch users write it."""

    def __init__(self, d=32, heads=4, d_ff=64):
        super().__init__()
        self.heads = heads
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.out = torch.nn.Linear(d, d)
        self.up = torch.nn.Linear(d, d_ff)
        self.down = torch.nn.Linear(d_ff, d)

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)

        def split(t):
            return t.view(b, s, self.heads, d // self.heads).transpose(1, 2)
        a = F.scaled_dot_product_attention(split(q), split(k), split(v),
                                           is_causal=True)
        h = self.out(a.transpose(1, 2).reshape(b, s, d)) + x
        return self.down(F.gelu(self.up(h))) + h


@pytest.mark.parametrize("output", ["linalg-on-tensors", "tosa"])
def test_from_torch_compiles_and_matches_torch(output):
    torch.manual_seed(0)
    model = Block()
    x = torch.randn(1, 48, 32)
    text = bpt.from_torch(model, (x,), output=output)
    report = bpt.explain(text)
    assert report.attention == 1 and report.causal == 1
    y = bpt.compile(text, q_block=16, kv_block=16, ffn_chunk=32).forward(
        x.numpy())
    with torch.no_grad():
        want = model(x).numpy()
    assert np.abs(y - want).max() / max(1.0, np.abs(want).max()) <= 2e-5


def test_from_torch_refuses_what_is_not_a_module():
    with pytest.raises(BPTError, match="takes a torch.nn.Module, got int"):
        bpt.from_torch(3, (torch.randn(2),))
