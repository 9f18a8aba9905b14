"""MACs against a brute-force count: naive loops that do the arithmetic and count products.

The loops are real convolutions (their outputs are checked against torch), so the count
they report is the number of multiplications a dense implementation performs, found
without the formula.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.net import parse_network, propagate

torch = pytest.importorskip("torch")


def naive_conv1d(x: np.ndarray, w: np.ndarray, s: int, p: int, d: int, g: int) -> tuple[np.ndarray, int]:
    """Cross-correlation over a zero-padded input, one product at a time."""
    n, _, length = x.shape
    c_out, per_group, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p)))
    out_len = (length + 2 * p - d * (k - 1) - 1) // s + 1
    y = np.zeros((n, c_out, out_len))
    count = 0
    for b, co, o in itertools.product(range(n), range(c_out), range(out_len)):
        group = co // (c_out // g)
        for ci, t in itertools.product(range(per_group), range(k)):
            y[b, co, o] += xp[b, group * per_group + ci, o * s + t * d] * w[co, ci, t]
            count += 1
    return y, count


def naive_conv_transpose1d(x: np.ndarray, w: np.ndarray, s: int, p: int, d: int, op: int,
                           g: int) -> tuple[np.ndarray, int]:
    """Scatter: every input value times every tap, added into a full buffer, then cropped."""
    n, c_in, length = x.shape
    _, per_group, k = w.shape
    full = np.zeros((n, per_group * g, (length - 1) * s + d * (k - 1) + 1 + op))
    count = 0
    for b, ci, i in itertools.product(range(n), range(c_in), range(length)):
        group = ci // (c_in // g)
        for co, t in itertools.product(range(per_group), range(k)):
            full[b, group * per_group + co, i * s + t * d] += x[b, ci, i] * w[ci, co, t]
            count += 1
    out_len = (length - 1) * s - 2 * p + d * (k - 1) + op + 1
    return full[:, :, p : p + out_len], count


@st.composite
def settings_1d(draw: st.DrawFn) -> dict[str, int]:
    g = draw(st.sampled_from([1, 2]))
    s, d = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    return {"n": draw(st.integers(1, 2)), "c_in": g * draw(st.integers(1, 2)), "c_out": g * draw(st.integers(1, 2)),
            "g": g, "k": draw(st.integers(1, 3)), "s": s, "p": draw(st.integers(0, 2)), "d": d,
            "op": draw(st.integers(0, max(s, d) - 1)), "length": draw(st.integers(4, 9))}


@settings(max_examples=30, deadline=None)
@given(settings_1d())
def test_conv_macs_match_a_naive_count(c: dict[str, int]) -> None:
    if c["length"] + 2 * c["p"] < c["d"] * (c["k"] - 1) + 1:
        return  # no output: both torch and convcalc refuse it (tested in test_shapes_torch)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((c["n"], c["c_in"], c["length"]))
    w = rng.standard_normal((c["c_out"], c["c_in"] // c["g"], c["k"]))
    y, count = naive_conv1d(x, w, c["s"], c["p"], c["d"], c["g"])
    ref = torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(w), stride=c["s"], padding=c["p"],
                                     dilation=c["d"], groups=c["g"])
    np.testing.assert_allclose(y, ref.numpy(), atol=1e-9)
    spec = f"Conv1d({c['c_in']}, {c['c_out']}, {c['k']}, stride={c['s']}, padding={c['p']}, " \
           f"dilation={c['d']}, groups={c['g']})"
    assert propagate(parse_network(spec), x.shape).macs == count


@settings(max_examples=30, deadline=None)
@given(settings_1d())
def test_transposed_macs_match_a_naive_count(c: dict[str, int]) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((c["n"], c["c_in"], c["length"]))
    w = rng.standard_normal((c["c_in"], c["c_out"] // c["g"], c["k"]))
    out_len = (c["length"] - 1) * c["s"] - 2 * c["p"] + c["d"] * (c["k"] - 1) + c["op"] + 1
    if out_len < 1:
        return
    y, count = naive_conv_transpose1d(x, w, c["s"], c["p"], c["d"], c["op"], c["g"])
    ref = torch.nn.functional.conv_transpose1d(torch.tensor(x), torch.tensor(w), stride=c["s"], padding=c["p"],
                                               output_padding=c["op"], groups=c["g"], dilation=c["d"])
    np.testing.assert_allclose(y, ref.numpy(), atol=1e-9)
    spec = f"ConvTranspose1d({c['c_in']}, {c['c_out']}, {c['k']}, stride={c['s']}, padding={c['p']}, " \
           f"output_padding={c['op']}, groups={c['g']}, dilation={c['d']})"
    assert propagate(parse_network(spec), x.shape).macs == count


def test_2d_macs_count_taps_per_axis() -> None:
    """2-D: a naive 2-D loop's count (one product per output, channel and tap pair)."""
    n, c_in, c_out, g, (kh, kw), (h, w) = 2, 4, 6, 2, (3, 2), (7, 5)
    spec = f"Conv2d({c_in}, {c_out}, ({kh}, {kw}), stride=(2, 1), padding=(1, 0), groups={g})"
    row = propagate(parse_network(spec), (n, c_in, h, w)).rows[0]
    _, _, oh, ow = row.output_shape
    count = sum(1 for _ in itertools.product(range(n), range(c_out), range(oh), range(ow), range(c_in // g),
                                             range(kh), range(kw)))
    assert row.macs == count


def test_linear_and_zero_mac_layers() -> None:
    rows = propagate(parse_network("MaxPool2d(2)\nBatchNorm2d(3)\nReLU()\nFlatten()\nLinear(48, 5)"),
                     (4, 3, 8, 8)).rows
    assert [r.macs for r in rows] == [0, 0, 0, 0, 4 * 48 * 5]
    assert all(any("0 MACs" in note for note in r.notes) for r in rows[:4])
