"""Receptive fields through the newer layers (interpolation, padding, pixel shuffles), exact and
interior, against torch.autograd on the same layer lists (ones weights, float64)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from convcalc.errors import ConvcalcError
from convcalc.net import parse_network
from convcalc.net.graph import chain
from convcalc.net.receptive import graph_fields

from .helpers import Net, spec_text, torch_layers
from .test_fields_graph import ones_model, spans_along_w
from .test_receptive import check

torch = pytest.importorskip("torch")


@st.composite
def stack(draw: st.DrawFn, ndim: int) -> Net:
    net: Net = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "convt", "nearest", "linear", "pad", "reflect", "replicate"]))
        if kind == "conv":
            net.append((f"Conv{ndim}d", (1, 1, draw(st.integers(1, 4))),
                        {"stride": draw(st.integers(1, 3)), "dilation": draw(st.integers(1, 2))}))
        elif kind == "convt":
            net.append((f"ConvTranspose{ndim}d", (1, 1, draw(st.integers(1, 4))), {"stride": draw(st.integers(1, 3))}))
        elif kind == "nearest":
            net.append(("Upsample", (), {"scale_factor": draw(st.integers(2, 3))}))
        elif kind == "linear":
            mode = "linear" if ndim == 1 else "bilinear"
            net.append(("Upsample", (), {"scale_factor": draw(st.integers(2, 3)), "mode": mode,
                                         "align_corners": draw(st.booleans())}))
        else:
            name = {"pad": "ZeroPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad"}[kind]
            net.append((f"{name}{ndim}d", ((draw(st.integers(0, 2)), draw(st.integers(0, 2))) * ndim,), {}))
    return net


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack(1), st.integers(5, 24))
def test_exact_fields_of_new_layers_match_autograd(net: Net, n: int) -> None:
    check(net, (1, 1, n))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack(1))
@example([("Conv1d", (1, 1, 3), {"stride": 2}), ("Upsample", (), {"scale_factor": 3, "mode": "linear"}),
          ("Conv1d", (1, 1, 2), {"dilation": 2})])
@example([("ConvTranspose1d", (1, 1, 3), {"stride": 2}), ("ReflectionPad1d", ((2, 1),), {}),
          ("Upsample", (), {"scale_factor": 2, "mode": "linear"}), ("Conv1d", (1, 1, 3), {})])
@example([("ZeroPad1d", ((0, 1),), {}), ("Upsample", (), {"scale_factor": 3, "mode": "linear", "align_corners": True}),
          ("ConvTranspose1d", (1, 1, 3), {"stride": 1}), ("Upsample", (), {"scale_factor": 3})])
def test_interior_fields_of_new_layers_match_autograd(net: Net) -> None:
    shape = (1, 1, 160)
    try:
        layers = parse_network(spec_text(net))
        graph = chain(layers, shape)
    except ConvcalcError:  # a stack torch would refuse too; the shape tests cover refusals
        return
    fields = graph_fields(graph)
    if fields.exact:
        return  # units repeat too rarely (align_corners ratios): every unit's fields, checked above
    field = fields.rows[-1].axes[0]
    out = graph.output_shape[-1]
    if field.receptive_field > 40 or out < 2 * field.phases + 8:
        return  # not enough interior units on this input to measure
    model = ones_model(torch.nn.Sequential(*torch_layers(net)))
    middle = out // 2
    central = spans_along_w(model, shape, units=range(middle, middle + field.phases))
    if not all(lo > 0 and hi < shape[-1] - 1 for lo, hi, _ in central):
        return  # the units measured reach the input's border (align_corners maps are not periodic): not interior
    spans = [hi - lo + 1 if seen else 0 for lo, hi, seen in central]
    assert (field.receptive_field, field.receptive_field_min) == (max(spans), min(spans)), net



def test_fields_fall_back_to_every_unit_where_phases_are_too_many() -> None:
    net: Net = [("ConvTranspose1d", (1, 1, 1), {"stride": 3}),
                ("Upsample", (), {"scale_factor": 3, "mode": "linear", "align_corners": True}),
                ("Upsample", (), {"scale_factor": 3})]
    fields = graph_fields(chain(parse_network(spec_text(net)), (1, 1, 160)))
    assert fields.exact and "every unit" in fields.rows[0].notes[0]
    check(net, (1, 1, 20))


def test_pixel_shuffles_and_2d_interpolation_match_autograd() -> None:
    for net in ([("Conv2d", (1, 4, 3), {}), ("PixelShuffle", (2,), {})],
                [("PixelUnshuffle", (2,), {}), ("Conv2d", (4, 1, 3), {})],
                [("Upsample", (), {"scale_factor": 2, "mode": "bicubic"}), ("Conv2d", (1, 1, 2), {})],
                [("Upsample", (), {"size": (7, 9), "mode": "bilinear"}), ("ReflectionPad2d", (1,), {})]):
        check(net, (1, 1, 6, 8))
