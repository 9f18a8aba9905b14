"""Operations in forward outside modules (F.interpolate, F.pad, x.mean, x * gate, matmul, view),
and the newer layers inside a class source, against torch running the same text."""

from __future__ import annotations

import pytest

from convcalc.net.read import read_network

torch = pytest.importorskip("torch")

SOURCE = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class SqueezeExcite(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class Net(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.norm = nn.GroupNorm(2, c)
        self.se = SqueezeExcite(c)
        self.shuffle = nn.PixelShuffle(2)
        self.head = nn.Conv3d(1, 2, (1, 3, 3), padding=(0, 1, 1))
        self.fc = nn.Linear(2 * 8 * 8, 10)

    def forward(self, x):
        x = self.se(self.norm(self.stem(x)))
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        x = F.max_pool2d(x, 2, ceil_mode=True)
        x = self.shuffle(x)
        n = x.size(0)
        x = x.view(n, 1, 2, x.size(2), x.size(3))
        x = self.head(x)
        x = F.adaptive_avg_pool3d(x, (1, 8, 8))
        g = torch.matmul(x.reshape(n, 2, 64), x.reshape(n, 64, 2))
        return self.fc(x.flatten(1)) + g.sum() * 0 if False else self.fc(x.flatten(1))
'''


def test_ops_and_new_layers_agree_with_torch() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    ns: dict = {}
    exec(compile(SOURCE, "net.py", "exec"), ns)
    model = ns["Net"]().eval()
    x = torch.zeros(2, 3, 8, 8)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(x)
    graph = read_network(SOURCE, tuple(x.shape))
    assert graph.output_shape == tuple(out.shape)
    assert graph.params == sum(p.numel() for p in model.parameters())
    assert 2 * graph.macs == counter.get_total_flops()
    ops = {n.layer.kind for n in graph.nodes if not n.module}
    assert {"mean", "mul", "Upsample", "ReflectionPad2d", "MaxPool2d", "reshape", "matmul", "flatten"} <= ops
    matmul = next(n for n in graph.nodes if n.layer.kind == "matmul")
    products = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
    assert 2 * matmul.row.macs == products["aten.bmm"]  # torch's count of the matmul, in its own row
