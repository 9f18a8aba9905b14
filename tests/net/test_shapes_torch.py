"""Shapes and parameter counts against real torch modules built from the same layer data.

PyTorch is the oracle: for random networks, wherever torch builds and runs the network,
convcalc must give the same output shape after every layer and the same parameter and
buffer counts; wherever torch refuses, convcalc must refuse with a ConvcalcError.
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.errors import ConvcalcError
from convcalc.net import parse_network, parse_shape, propagate

from .helpers import Net, network, spec_text, torch_layers

torch = pytest.importorskip("torch")


def torch_rows(net: Net, shape: tuple[int, ...]) -> list[tuple[tuple[int, ...], int, int]] | None:
    """(output shape, params, buffers) per layer, or None where torch refuses the network."""
    try:
        modules = torch_layers(net)
        x = torch.zeros(shape)
        rows = []
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            for m in modules:
                m.eval()
                x = m(x)
                if 0 in x.shape:  # torch lets a transposed conv return an empty tensor; convcalc calls it an error
                    return None
                rows.append((tuple(x.shape), sum(p.numel() for p in m.parameters()),
                             sum(b.numel() for b in m.buffers())))
        return rows
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None


@st.composite
def problem(draw: st.DrawFn) -> tuple[Net, tuple[int, ...]]:
    ndim = draw(st.sampled_from([1, 2]))
    channels = draw(st.integers(1, 4))
    spatial = tuple(draw(st.integers(3, 20)) for _ in range(ndim))
    return draw(network(ndim, channels)), (draw(st.integers(1, 2)), channels, *spatial)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem(), st.booleans())
def test_random_networks_agree_with_torch(case: tuple[Net, tuple[int, ...]], wrap: bool) -> None:
    net, shape = case
    expected = torch_rows(net, shape)
    text = spec_text(net, prefix="nn." if wrap else "", wrap=wrap)
    if expected is None:
        with pytest.raises(ConvcalcError):
            propagate(parse_network(text), shape)
        return
    result = propagate(parse_network(text), shape)
    got = [(r.output_shape, r.params, r.buffers) for r in result.rows]
    assert got == expected, text
    assert result.params == sum(p for _, p, _ in expected)


def test_linear_in_features_mismatch_names_the_line() -> None:
    layers = parse_network("Conv2d(3, 4, 3)\nFlatten()\nLinear(100, 10)")
    with pytest.raises(ConvcalcError, match=r"in_features=100.*last axis 144") as info:
        propagate(layers, (1, 3, 8, 8))
    assert info.value.where == "line 3 (Linear)"


@pytest.mark.parametrize(("spec", "shape", "words"), [
    ("Conv2d(4, 8, 3)", (1, 3, 8, 8), "in_channels=4 but the input (1, 3, 8, 8) has 3 channels"),
    ("Conv2d(3, 8, 9)", (1, 3, 8, 8), "less than 1"),
    ("LazyConv2d(8, 3, groups=2)", (1, 3, 8, 8), "not divisible by groups"),
    ("Conv1d(3, 8, 3)", (1, 3, 8, 8), "expects input (N, C, W)"),
    ("MaxPool2d(4)", (1, 3, 3, 3), "less than 1"),
    ("Conv1d(3, 3, 3, padding=3, padding_mode='reflect')", (1, 3, 3), "less than the input size"),
    ("BatchNorm2d(5)", (1, 3, 4, 4), "num_features=5"),
    ("Flatten(2, 1)", (1, 3, 4, 4), "comes after"),
])
def test_shape_errors(spec: str, shape: tuple[int, ...], words: str) -> None:
    with pytest.raises(ConvcalcError) as info:
        propagate(parse_network(spec), shape)
    assert words in str(info.value) and info.value.where and info.value.where.startswith("line 1")


@pytest.mark.parametrize(("text", "shape"), [
    ("100x3x512x512", (100, 3, 512, 512)), ("1,3,32,32", (1, 3, 32, 32)), ("(1, 3, 32)", (1, 3, 32)),
    ("2 × 8", (2, 8)),
])
def test_parse_shape(text: str, shape: tuple[int, ...]) -> None:
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["", "3", "1x2x3x4x5x6", "1x0x3", "ax3", "1x-3x4", "1x3x99999999999"])
def test_parse_shape_refuses(text: str) -> None:
    with pytest.raises(ConvcalcError):
        parse_shape(text)
