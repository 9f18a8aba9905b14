"""Receptive fields against an empirical measurement with torch.autograd.

All weights are 1, biases 0 and the input all ones, so every value is positive and nothing
cancels: an input pixel has a nonzero gradient for an output unit exactly when it can affect
it. Max pools are measured as average pools of the same geometry (the gradient of a max
reaches one pixel only). The set's span per axis, largest and smallest over units, must equal
the exact mode's fields; wherever a row is not marked ``approximate`` the recurrence must
give the exact window of every unit that lies wholly inside the input.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.net import parse_network, receptive_fields

from .helpers import Net, spec_text, torch_layers

torch = pytest.importorskip("torch")


@st.composite
def rf_network(draw: st.DrawFn, ndim: int, transposed: bool) -> Net:
    net: Net = []
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.sampled_from(["conv", "conv", "pool", "relu", "adaptive"] + ["convt"] * transposed))
        k = draw(st.integers(1, 4))
        stride = draw(st.integers(1, 3))
        kw: dict[str, object] = {"stride": stride, "dilation": draw(st.integers(1, 2))}
        if choice == "conv":
            kw["padding"] = draw(st.integers(0, 3))
            kw["padding_mode"] = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
            net.append((f"Conv{ndim}d", (1, 1, k), kw))
        elif choice == "convt":
            kw["padding"] = draw(st.integers(0, 2))
            kw["output_padding"] = draw(st.integers(0, max(stride, kw["dilation"]) - 1))  # type: ignore[call-overload]
            net.append((f"ConvTranspose{ndim}d", (1, 1, k), kw))
        elif choice == "pool":
            kind = draw(st.sampled_from(["Max", "Avg"]))
            net.append((f"{kind}Pool{ndim}d", (k,), {"stride": stride, "padding": draw(st.integers(0, k // 2)),
                                                     "ceil_mode": draw(st.booleans())}))
        elif choice == "relu":
            net.append(("ReLU", (), {}))
        else:
            net.append((f"AdaptiveAvgPool{ndim}d", (draw(st.integers(2, 6)),), {}))
    return net


def ones_modules(net: Net) -> list:
    modules = []
    for (kind, args, kw), m in zip(net, torch_layers(net), strict=True):
        if kind.startswith("MaxPool"):
            m = getattr(torch.nn, kind.replace("Max", "Avg"))(*args, **kw)
        if hasattr(m, "weight") and m.weight is not None:
            torch.nn.init.ones_(m.weight)
            torch.nn.init.zeros_(m.bias)
        modules.append(m.double())
    return modules


def empirical(net: Net, shape: tuple[int, ...]) -> list[list[tuple[np.ndarray, np.ndarray]]] | None:
    """Per layer, per axis: (lo, hi) of the input pixels each unit's gradient reaches (lo > hi: none)."""
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    outs, y = [], x
    try:
        for m in ones_modules(net):
            y = m(y)
            outs.append(y)
    except RuntimeError:
        return None
    if any(0 in o.shape for o in outs):
        return None
    ndim = len(shape) - 2
    result = []
    for out in outs:
        per_axis = []
        for axis in range(ndim):
            lo, hi = [], []
            for u in range(out.shape[2 + axis]):
                (g,) = torch.autograd.grad(out.select(2 + axis, u).sum(), x, retain_graph=True)
                other = tuple(a for a in range(2, 2 + ndim) if a != 2 + axis)
                hit = (g[0, 0] != 0).any(dim=tuple(a - 2 for a in other)) if other else g[0, 0] != 0
                idx = torch.nonzero(hit).flatten().numpy()
                lo.append(idx.min() if idx.size else 1)
                hi.append(idx.max() if idx.size else 0)
            per_axis.append((np.array(lo), np.array(hi)))
        result.append(per_axis)
    return result


def check(net: Net, shape: tuple[int, ...]) -> None:
    truth = empirical(net, shape)
    if truth is None:
        return
    layers = parse_network(spec_text(net))
    exact = receptive_fields(layers, shape, exact=True)
    textbook = receptive_fields(layers, shape)
    for row, plain, per_axis in zip(exact.rows, textbook.rows, truth, strict=True):
        spans = [np.where(hi >= lo, hi - lo + 1, 0) for lo, hi in per_axis]
        if min(int(s.max()) for s in spans) == 0:
            continue  # an axis with no reachable pixel at all empties the other axis's projection too
        for field, rec, span, (lo, hi) in zip(row.axes, plain.axes, spans, per_axis, strict=True):
            assert (field.receptive_field, field.receptive_field_min) == (span.max(), span.min()), (row.layer.text, field)
            if rec.approximate or rec.is_global:
                continue
            r, j, start = Fraction(rec.recurrence), Fraction(rec.jump), Fraction(rec.start)
            inside = 0
            for u in range(len(lo)):
                a, b = start + u * j - (r - 1) / 2, start + u * j + (r - 1) / 2
                if a >= 0 and b <= field.input_size - 1:
                    assert (lo[u], hi[u]) == (a, b), (row.layer.text, u)
                    inside += 1
            if inside:
                assert rec.receptive_field == span.max()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.booleans())
def test_1d_networks_match_gradients(data: st.DataObject, transposed: bool) -> None:
    net = data.draw(rf_network(1, transposed))
    check(net, (1, 1, data.draw(st.integers(5, 40))))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.booleans())
def test_2d_networks_match_gradients(data: st.DataObject, transposed: bool) -> None:
    net = data.draw(rf_network(2, transposed))
    check(net, (1, 1, data.draw(st.integers(5, 16)), data.draw(st.integers(5, 16))))


def test_transposed_units_differ_by_phase() -> None:
    """ConvTranspose1d(k=3, s=2): even outputs take two inputs, odd ones one."""
    layers = parse_network("Conv1d(1, 1, 5, stride=2, padding=2)\nConvTranspose1d(1, 1, 3, stride=2)")
    row = receptive_fields(layers, (1, 1, 64)).rows[1].axes[0]
    assert (row.receptive_field, row.receptive_field_min, row.jump) == (5 + 2, 5, 1)
    assert row.approximate


def test_global_after_flatten_and_linear() -> None:
    layers = parse_network("Conv2d(1, 2, 3)\nFlatten()\nLinear(72, 3)")
    rows = receptive_fields(layers, (1, 1, 8, 8), exact=True).rows
    assert rows[1].axes[0].receptive_field == 3 and not rows[1].axes[0].is_global
    assert all(a.is_global and a.receptive_field == 8 for a in rows[2].axes)


def test_linear_on_the_last_axis_is_global_along_w_only() -> None:
    rows = receptive_fields(parse_network("Conv2d(1, 1, 3)\nLinear(6, 4)"), (1, 1, 8, 8)).rows
    h, w = rows[1].axes
    assert (h.is_global, h.receptive_field) == (False, 3)
    assert (w.is_global, w.receptive_field) == (True, 8)
