"""The layers beyond conv/pool/linear, against torch modules built from the same text.

Each spec line is parsed by convcalc and, separately, built by torch from the same text
(``eval`` over ``torch.nn`` here in the test only: the oracle, never convcalc's path).
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.errors import ConvcalcError
from convcalc.net import parse_network, propagate

torch = pytest.importorskip("torch")

CASES = [
    ("Conv3d(2, 4, 3, padding=1, stride=(1, 2, 2))", (1, 2, 6, 8, 8)),
    ("ConvTranspose3d(2, 4, 2, stride=2, output_padding=1, dilation=2)", (1, 2, 3, 4, 5)),
    ("MaxPool3d(2, ceil_mode=True)", (2, 3, 5, 6, 7)),
    ("AvgPool3d((1, 2, 2), padding=(0, 1, 1))", (1, 3, 4, 5, 6)),
    ("BatchNorm3d(3)", (2, 3, 2, 2, 2)),
    ("Upsample(scale_factor=2)", (1, 3, 5, 7)),
    ("Upsample(scale_factor=1.5, mode='bilinear')", (1, 3, 5, 7)),
    ("Upsample(size=(9, 4), mode='bicubic', align_corners=True)", (1, 3, 5, 7)),
    ("Upsample(scale_factor=(2, 1.5, 3), mode='trilinear')", (1, 2, 3, 5, 7)),
    ("Upsample(scale_factor=3, mode='linear')", (1, 2, 5)),
    ("Upsample(scale_factor=2, mode='linear')", (1, 2, 5, 5)),
    ("UpsamplingNearest2d(scale_factor=2)", (1, 3, 4, 5)),
    ("UpsamplingBilinear2d(size=(6, 9))", (1, 3, 4, 5)),
    ("GroupNorm(4, 8)", (2, 8, 5, 5)),
    ("GroupNorm(3, 8)", (2, 8, 5, 5)),
    ("GroupNorm(2, 8, affine=False)", (2, 8, 5)),
    ("LayerNorm((5, 5))", (2, 8, 5, 5)),
    ("LayerNorm(7, bias=False)", (2, 8, 7)),
    ("LayerNorm(6)", (2, 8, 7)),
    ("InstanceNorm1d(4)", (2, 4, 9)),
    ("InstanceNorm2d(4, affine=True, track_running_stats=True)", (2, 4, 3, 3)),
    ("InstanceNorm2d(5, affine=True)", (2, 4, 3, 3)),
    ("ZeroPad2d((1, 2, 3, 4))", (1, 2, 5, 5)),
    ("ZeroPad2d((-1, 0, 2, -2))", (1, 2, 5, 5)),
    ("ZeroPad1d(2)", (1, 2, 5)),
    ("ConstantPad3d(1, 3.5)", (1, 2, 2, 2, 2)),
    ("ReflectionPad2d(2)", (1, 2, 3, 3)),
    ("ReflectionPad2d(3)", (1, 2, 3, 3)),
    ("ReplicationPad1d((3, 1))", (1, 2, 4)),
    ("CircularPad2d(1)", (1, 2, 3, 3)),
    ("PixelShuffle(2)", (1, 8, 3, 4)),
    ("PixelShuffle(2)", (1, 6, 3, 4)),
    ("PixelUnshuffle(2)", (1, 3, 4, 6)),
    ("PixelUnshuffle(3)", (1, 3, 4, 6)),
    ("Dropout1d(0.2)", (1, 3, 4)),
    ("Dropout2d()", (1, 3, 4, 4)),
    ("Dropout3d()", (1, 3, 4, 4, 4)),
    ("Identity()", (1, 3)),
    ("ReLU6()", (1, 3)),
    ("Hardswish()", (1, 3)),
    ("SiLU()", (1, 3)),
    ("GELU()", (1, 3)),
    ("Linear(8 * 24, 2 ** 3)", (1, 192)),
    ("Linear(32*4*4, 10 // 3)", (2, 512)),
]


def torch_row(spec: str, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = eval(spec, {k: getattr(torch.nn, k) for k in dir(torch.nn)})  # the oracle's own build
            module.eval()
            out = module(torch.zeros(shape))
        return tuple(out.shape), sum(p.numel() for p in module.parameters()), sum(b.numel() for b in module.buffers())
    except (RuntimeError, ValueError, TypeError, NotImplementedError):
        return None


@pytest.mark.parametrize(("spec", "shape"), CASES)
def test_layer_agrees_with_torch(spec: str, shape: tuple[int, ...]) -> None:
    expected = torch_row(spec, shape)
    if expected is None:
        with pytest.raises(ConvcalcError):
            propagate(parse_network(spec), shape)
        return
    row = propagate(parse_network(spec), shape).rows[0]
    assert (row.output_shape, row.params, row.buffers) == expected


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["Upsample(scale_factor={s})", "Upsample(scale_factor={s}, mode='bilinear')",
                        "Upsample(size={n})", "ZeroPad2d({n})", "GroupNorm({g}, 12)", "PixelShuffle({r})",
                        "PixelUnshuffle({r})", "ReflectionPad2d({r})", "LayerNorm({n})"]),
       st.floats(0.5, 3.0).map(lambda x: round(x, 2)), st.integers(1, 9), st.sampled_from([1, 2, 3, 4, 6, 12]),
       st.integers(1, 3), st.integers(2, 9), st.integers(2, 9))
def test_random_settings_agree_with_torch(form: str, s: float, n: int, g: int, r: int, h: int, w: int) -> None:
    spec = form.format(s=s, n=n, g=g, r=r)
    test_layer_agrees_with_torch(spec, (1, 12, h, w))


def test_refused_arguments_name_the_line() -> None:
    for spec, words in [("GroupNorm(5, 8)", "divisible"), ("Upsample()", "exactly one"),
                        ("Upsample(scale_factor=2, mode='cubic')", "mode"), ("ZeroPad2d((1, 2, 3))", "4 integers"),
                        ("ReflectionPad2d(-1)", "negative"), ("Upsample(scale_factor=2, align_corners=True)",
                                                             "align_corners")]:
        with pytest.raises(ConvcalcError, match=words) as info:
            parse_network("ReLU()\n" + spec)
        assert info.value.where and info.value.where.startswith("line 2")
