"""Random 1-D networks with residual adds, concatenations, strided and upsampling layers,
written as a class source: convcalc reads the text, torch runs the same text (the oracle)."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.errors import ConvcalcError
from convcalc.net.read import read_network
from convcalc.net.receptive import graph_fields

from .test_fields_graph import ones_model, spans_along_w

torch = pytest.importorskip("torch")


@st.composite
def net_source(draw: st.DrawFn) -> str:
    c = 2
    init, forward = [], []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["res", "cat", "down", "pool", "up", "upsample", "relu"]))
        k = draw(st.sampled_from([1, 3, 5]))
        d = draw(st.integers(1, 2))
        if kind == "res":
            init.append(f"self.b{i} = nn.Conv1d({c}, {c}, {k}, padding={(k - 1) // 2 * d}, dilation={d})")
            forward.append(f"x = x + self.b{i}(x)")
        elif kind == "cat":
            init.append(f"self.b{i} = nn.Sequential(nn.Conv1d({c}, 1, {k}, padding={(k - 1) // 2}), nn.ReLU())")
            forward.append(f"x = torch.cat([x, self.b{i}(x)], dim=1)")
            c += 1
        elif kind == "down":
            init.append(f"self.b{i} = nn.Conv1d({c}, {c}, {k}, stride={draw(st.integers(1, 3))}, "
                        f"padding={draw(st.integers(0, k // 2))})")
            forward.append(f"x = self.b{i}(x)")
        elif kind == "pool":
            forward.append(f"x = F.avg_pool1d(x, {draw(st.integers(1, 3))})")  # a max would pass one pixel's gradient
        elif kind == "up":
            s = draw(st.integers(1, 3))
            init.append(f"self.b{i} = nn.ConvTranspose1d({c}, {c}, {k}, stride={s}, padding={min(k // 2, s - 1)})")
            forward.append(f"x = self.b{i}(x)")
        elif kind == "upsample":
            init.append(f"self.b{i} = nn.Upsample(scale_factor={draw(st.integers(2, 3))})")
            forward.append(f"x = self.b{i}(x)")
        else:
            forward.append("x = F.relu(x)")
    body = "\n        ".join(init or ["pass"])
    steps = "\n        ".join(forward)
    return f'''import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        {body}

    def forward(self, x):
        {steps}
        return x
'''


def torch_model(text: str):
    ns: dict = {}
    exec(compile(text, "net.py", "exec"), ns)
    return ns["Net"]()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net_source(), st.integers(6, 30))
def test_random_skip_networks_agree_with_torch(text: str, width: int) -> None:
    shape = (1, 2, width)
    model = torch_model(text)
    calls: list = []
    for path, m in model.named_modules():
        if path and not list(m.children()):
            m.register_forward_hook(lambda mod, i, o, path=path: calls.append((path, tuple(o.shape))))
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            out = model(torch.zeros(shape))
        if 0 in out.shape:
            raise RuntimeError("empty")
    except RuntimeError:
        with pytest.raises(ConvcalcError):
            read_network(text, shape)
        return
    graph = read_network(text, shape)
    assert [(n.name, n.row.output_shape) for n in graph.nodes if n.module] == calls
    assert graph.output_shape == tuple(out.shape)
    assert graph.params == sum(p.numel() for p in model.parameters())
    truth = spans_along_w(ones_model(model), shape)
    spans = [hi - lo + 1 if seen else 0 for lo, hi, seen in truth]
    field = graph_fields(graph, exact=True).rows[-1].axes[0] if graph.nodes else None
    if field is not None and max(spans) > 0:
        assert (field.receptive_field, field.receptive_field_min) == (max(spans), min(spans)), text
