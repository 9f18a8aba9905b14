"""Golden: the UBC CPEN455 homework in seeds/004 (§2 a 6-layer CNN, §7 receptive fields).

Shapes and parameter counts are also checked against torch; the §7 receptive fields against
autograd on the 1-D version of the same network (the layers act on H and W separately and
identically, so one axis is the whole story).
"""

from __future__ import annotations

import pytest

from convcalc.net import parse_network, propagate, receptive_fields

from .helpers import Net, spec_text
from .test_receptive import check

SHAPE = (100, 3, 512, 512)

SECTION_2: Net = [
    ("Conv2d", (3, 128, 5), {"stride": 2, "padding": 2}), ("ReLU", (), {}),
    ("Conv2d", (128, 64, 5), {"stride": 2, "padding": 2}), ("ReLU", (), {}),
    ("Conv2d", (64, 32, 3), {"stride": 2, "padding": 1}), ("ReLU", (), {}),
    ("Conv2d", (32, 16, 1), {}), ("ReLU", (), {}),
    ("AvgPool2d", (2, 2), {}),
    ("Flatten", (), {}),
    ("Linear", (16384, 10), {}),
]

SECTION_7 = """
nn.Sequential(
    nn.Conv2d(3, 32, 5, stride=2, padding=2), nn.ReLU(),              # H1
    nn.Conv2d(32, 32, 5, stride=2, padding=2, groups=32), nn.ReLU(),  # H2 depthwise
    nn.Conv2d(32, 64, 1), nn.ReLU(),                                  # H3 pointwise
    nn.ConvTranspose2d(64, 32, 3, stride=2, padding=0), nn.ReLU(),    # H4
    nn.AvgPool2d(2, 2),                                               # H5
    nn.Flatten(),
    nn.LazyLinear(10),                                                # Y
)
"""


def _text(net: Net, bias: bool) -> str:
    lines = []
    for kind, args, kw in net:
        kw = {**kw, "bias": False} if not bias and kind in ("Conv2d", "Linear") else kw
        lines.append(f"{kind}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kw.items())])})")
    return "\n".join(lines)


@pytest.mark.parametrize(("bias", "params"), [
    (False, [9600, 0, 204800, 0, 18432, 0, 512, 0, 0, 0, 163840]),   # 2.3, total 397184
    (True, [9728, 0, 204864, 0, 18464, 0, 528, 0, 0, 0, 163850]),    # 2.4, total 397434
])
def test_section_2_shapes_and_params(bias: bool, params: list[int]) -> None:
    result = propagate(parse_network(_text(SECTION_2, bias)), SHAPE)
    assert [r.output_shape for r in result.rows] == [
        (100, 128, 256, 256), (100, 128, 256, 256), (100, 64, 128, 128), (100, 64, 128, 128),
        (100, 32, 64, 64), (100, 32, 64, 64), (100, 16, 64, 64), (100, 16, 64, 64),
        (100, 16, 32, 32), (100, 16384), (100, 10),
    ]
    assert [r.params for r in result.rows] == params
    assert result.params == sum(params) == (397434 if bias else 397184)


def test_section_2_against_torch() -> None:
    torch = pytest.importorskip("torch")
    from .test_shapes_torch import torch_rows

    for bias in (False, True):
        net = [(k, a, {**kw, "bias": bias} if k in ("Conv2d", "Linear") else kw) for k, a, kw in SECTION_2]
        expected = torch_rows(net, (1, *SHAPE[1:]))
        assert expected is not None
        got = propagate(parse_network(_text(SECTION_2, bias)), (1, *SHAPE[1:]))
        assert [(r.output_shape, r.params, r.buffers) for r in got.rows] == expected
    del torch


def test_section_2_receptive_fields() -> None:
    """The recurrence gives the homework's 5, 13, 21, 21, 29; Y is global (512), not 29."""
    rows = receptive_fields(parse_network(_text(SECTION_2, True)), SHAPE).rows
    fields = [(r.axes[0].receptive_field, r.axes[0].jump, r.axes[0].is_global) for r in rows[::2]]
    assert fields == [(5, 2, False), (13, 4, False), (21, 8, False), (21, 8, False), (29, 16, False), (512, 16, True)]


def test_section_7_shapes_params_and_lazy_inference() -> None:
    result = propagate(parse_network(SECTION_7), SHAPE)
    assert [r.output_shape for r in result.rows][::2] == [
        (100, 32, 256, 256), (100, 32, 128, 128), (100, 64, 128, 128), (100, 32, 257, 257),
        (100, 32, 128, 128), (100, 10),
    ]
    assert [r.params for r in result.rows] == [2432, 0, 832, 0, 2112, 0, 18464, 0, 0, 0, 5242890]
    assert result.rows[-1].inferred == (("in_features", 524288),)
    assert result.params == 5266730


def test_section_7_against_torch() -> None:
    pytest.importorskip("torch")
    from .test_shapes_torch import torch_rows

    net: Net = [
        ("Conv2d", (3, 32, 5), {"stride": 2, "padding": 2}), ("ReLU", (), {}),
        ("Conv2d", (32, 32, 5), {"stride": 2, "padding": 2, "groups": 32}), ("ReLU", (), {}),
        ("Conv2d", (32, 64, 1), {}), ("ReLU", (), {}),
        ("ConvTranspose2d", (64, 32, 3), {"stride": 2, "padding": 0}), ("ReLU", (), {}),
        ("AvgPool2d", (2, 2), {}), ("Flatten", (), {}), ("LazyLinear", (10,), {}),
    ]
    got = propagate(parse_network(SECTION_7), (1, *SHAPE[1:]))
    assert [(r.output_shape, r.params, r.buffers) for r in got.rows] == torch_rows(net, (1, *SHAPE[1:]))


def test_section_7_receptive_fields() -> None:
    """Claimed 5, 13, 13, 27, 29, 29: the first three are right, the rest are not.

    H4: a transposed conv (k=3, s=2) gives each unit 1 or 2 units of H3, 4 pixels apart:
    13 or 17, never 27; H5 pools one unit of each phase: 17 (the recurrence's 19 is wrong);
    Y sees the whole 512-pixel input. Border units see less (exact minimum).
    """
    layers = parse_network(SECTION_7)
    plain = [r.axes[1] for r in receptive_fields(layers, SHAPE).rows][::2]
    exact = [r.axes[1] for r in receptive_fields(layers, SHAPE, exact=True).rows][::2]
    # start: the centre of unit 0's true field; after the pool it is -2, the union of a 17- and a 13-wide
    # field (-10..6), where the recurrence, taking both as centred windows, puts it at -1
    assert [(a.recurrence, a.recurrence_min, a.jump, a.start) for a in plain] == [
        (5, 5, 2, 0), (13, 13, 4, 0), (13, 13, 4, 0), (17, 13, 2, -2), (19, 15, 4, -2), (512, 512, 4, -2)]
    # the default is exact for interior units: 13 or 17 by phase after the transposed conv, 17 after the pool
    assert [(a.receptive_field, a.receptive_field_min) for a in plain] == [
        (5, 5), (13, 13), (13, 13), (17, 13), (17, 17), (512, 512)]
    assert [(a.receptive_field, a.receptive_field_min) for a in exact] == [
        (5, 3), (13, 7), (13, 7), (17, 7), (17, 7), (512, 512)]
    assert [a.approximate for a in plain] == [False, False, False, True, True, True]
    assert exact[-1].is_global and plain[-1].is_global


def test_section_7_receptive_fields_against_autograd() -> None:
    pytest.importorskip("torch")
    net: Net = [
        ("Conv1d", (1, 1, 5), {"stride": 2, "padding": 2}), ("ReLU", (), {}),
        ("Conv1d", (1, 1, 5), {"stride": 2, "padding": 2}), ("ReLU", (), {}),
        ("Conv1d", (1, 1, 1), {}), ("ReLU", (), {}),
        ("ConvTranspose1d", (1, 1, 3), {"stride": 2, "padding": 0}), ("ReLU", (), {}),
        ("AvgPool1d", (2, 2), {}),
    ]
    check(net, (1, 1, 512))
    rows = receptive_fields(parse_network(spec_text(net)), (1, 1, 512), exact=True).rows
    assert (rows[-1].axes[0].receptive_field, rows[-1].axes[0].receptive_field_min) == (17, 7)
