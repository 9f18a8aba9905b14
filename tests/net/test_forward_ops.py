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


FROZEN = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
        self.extra = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 2)
        for p in self.features.parameters():
            p.requires_grad = False
        self.extra.requires_grad_(False)

    def forward(self, x):
        x = self.extra(self.features(x))
        return self.fc(x.mean((2, 3)))
'''


def test_frozen_parameters_are_counted_apart() -> None:
    ns: dict = {}
    exec(compile(FROZEN, "net.py", "exec"), ns)
    model = ns["Net"]()
    graph = read_network(FROZEN, (1, 3, 8, 8))
    assert graph.params == sum(p.numel() for p in model.parameters())
    assert graph.trainable_params == sum(p.numel() for p in model.parameters() if p.requires_grad)


SE_PRINTOUT = """Net(
  (blocks): Sequential(
    (0-1): 2 x SqueezeExcitation(
      (avgpool): AdaptiveAvgPool2d(output_size=1)
      (fc1): Conv2d(16, 4, kernel_size=(1, 1), stride=(1, 1))
      (fc2): Conv2d(4, 16, kernel_size=(1, 1), stride=(1, 1))
      (activation): ReLU()
      (scale_activation): Sigmoid()
    )
  )
)
"""


def test_squeeze_excitation_printout_against_torch() -> None:
    """'(0-1): 2 x Block(' (how torch prints identical children) is two blocks; an SE block multiplies its input."""
    class SE(torch.nn.Module):  # torchvision.ops.SqueezeExcitation's layout and forward
        def __init__(self) -> None:
            super().__init__()
            self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
            self.fc1 = torch.nn.Conv2d(16, 4, 1)
            self.fc2 = torch.nn.Conv2d(4, 16, 1)
            self.activation = torch.nn.ReLU()
            self.scale_activation = torch.nn.Sigmoid()

        def forward(self, x):
            return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x))))) * x

    model = torch.nn.Sequential(SE(), SE())
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(torch.zeros(1, 16, 5, 5))
    graph = read_network(SE_PRINTOUT, (1, 16, 5, 5))
    assert graph.output_shape == tuple(out.shape) and graph.params == sum(p.numel() for p in model.parameters())
    assert 2 * graph.macs == counter.get_total_flops()
    assert [n.layer.kind for n in graph.nodes].count("mul") == 2 and any("SqueezeExcitation" in a
                                                                        for a in graph.assumptions)
