"""Transposed convolution: scatter vs gather vs a naive loop vs PyTorch, the adjoint identity, errors."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc import functional as F
from convcalc.core.conv import conv_nd
from convcalc.core.transposed import conv_transpose_nd, conv_transpose_nd_gather
from convcalc.errors import ConvcalcError


def naive_conv_transpose(x, w, bias, stride, padding, output_padding, dilation, groups):
    """Scatter with plain Python loops over every input pixel, tap and channel pair."""
    n, c_in, *size = x.shape
    og, kernel = w.shape[1], w.shape[2:]
    cg = c_in // groups
    full = [(i - 1) * s + d * (k - 1) + 1 + op
            for i, k, s, d, op in zip(size, kernel, stride, dilation, output_padding, strict=True)]
    out = np.empty((n, og * groups, *full), dtype=object)
    out.fill(0)
    for b, ci in itertools.product(range(n), range(c_in)):
        g = ci // cg
        for pos in itertools.product(*map(range, size)):
            for tap in itertools.product(*map(range, kernel)):
                at = tuple(i * s + t * d for i, t, s, d in zip(pos, tap, stride, dilation, strict=True))
                for o in range(og):
                    out[(b, g * og + o, *at)] += x[(b, ci, *pos)] * w[(ci, o, *tap)]
    crop = tuple(slice(p, f - p) for p, f in zip(padding, full, strict=True))
    out = out[(slice(None), slice(None), *crop)]
    if bias is not None:
        for co in range(out.shape[1]):
            out[:, co] += bias[co]
    return out


@st.composite
def problems(draw, nsp=None):
    """A random valid transposed-conv problem: shapes and settings, no data."""
    nsp = nsp or draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    cg, og, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    size, kernel, stride, padding, op, dil = [], [], [], [], [], []
    for _ in range(nsp):
        i, k = draw(st.integers(1, 5)), draw(st.integers(1, 4))
        s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        o = draw(st.integers(0, max(s, d) - 1))
        full = (i - 1) * s + d * (k - 1) + 1 + o
        p = draw(st.integers(0, (full - 1) // 2))
        size.append(i), kernel.append(k), stride.append(s), padding.append(p), op.append(o), dil.append(d)
    bias = draw(st.booleans())
    return dict(x_shape=(n, cg * groups, *size), w_shape=(cg * groups, og, *kernel), bias=bias,
                stride=tuple(stride), padding=tuple(padding), output_padding=tuple(op),
                dilation=tuple(dil), groups=groups)


def make_data(pr, rng, integer):
    draw = (lambda shape: rng.integers(-9, 10, shape)) if integer else (lambda shape: rng.normal(size=shape))
    x, w = draw(pr["x_shape"]), draw(pr["w_shape"])
    b = draw((pr["w_shape"][1] * pr["groups"],)) if pr["bias"] else None
    return x, w, b


def settings_of(pr):
    return [pr[k] for k in ("stride", "padding", "output_padding", "dilation", "groups")]


@settings(max_examples=60, deadline=None)
@given(pr=problems(), seed=st.integers(0, 2**32 - 1), integer=st.booleans())
def test_matches_torch(pr, seed, integer):
    torch = pytest.importorskip("torch")
    x, w, b = make_data(pr, np.random.default_rng(seed), integer)
    nsp = len(pr["stride"])
    fn = F.conv_transpose1d if nsp == 1 else F.conv_transpose2d
    tfn = torch.nn.functional.conv_transpose1d if nsp == 1 else torch.nn.functional.conv_transpose2d
    args = (pr["stride"], pr["padding"], pr["output_padding"], pr["groups"], pr["dilation"])  # torch's order
    got = fn(x, w, b, *args)
    tb = None if b is None else torch.tensor(b, dtype=torch.float64)
    want = tfn(torch.tensor(x, dtype=torch.float64), torch.tensor(w, dtype=torch.float64), tb, *args).numpy()
    assert got.shape == want.shape
    if integer:
        assert got.dtype.kind == "i"
        np.testing.assert_array_equal(got, np.rint(want).astype(np.int64))
    else:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(pr=problems(), seed=st.integers(0, 2**32 - 1))
def test_scatter_gather_and_naive_agree_exactly(pr, seed):
    x, w, b = make_data(pr, np.random.default_rng(seed), integer=True)
    want = naive_conv_transpose(x, w, b, *settings_of(pr))
    scatter = conv_transpose_nd(x, w, b, *settings_of(pr))
    gather = conv_transpose_nd_gather(x, w, b, *settings_of(pr))
    assert scatter.shape == gather.shape == want.shape
    assert scatter.tolist() == want.tolist()
    assert gather.tolist() == want.tolist()


@settings(max_examples=40, deadline=None)
@given(pr=problems(), seed=st.integers(0, 2**32 - 1))
def test_adjoint_of_conv(pr, seed):
    """<conv(x), y> = <x, conv_transpose(y)>, with the same weight read both ways."""
    rng = np.random.default_rng(seed)
    s, p, d, g = pr["stride"], pr["padding"], pr["dilation"], pr["groups"]
    # Read the transposed weight (C_in_t, C_out_t/g, K) as a conv weight (C_out, C_in/g, K).
    w = rng.integers(-5, 6, pr["w_shape"])
    c_out, cg, kernel = w.shape[0], w.shape[1], w.shape[2:]
    size = [max(di * (k - 1) + 1 - 2 * pi, 1) + rng.integers(0, 4)
            for k, pi, di in zip(kernel, p, d, strict=True)]
    x = rng.integers(-5, 6, (2, cg * g, *size))
    y_conv = conv_nd(x, w, None, s, [(pi, pi) for pi in p], d, g)
    y = rng.integers(-5, 6, y_conv.shape)
    o = y_conv.shape[2:]
    op = tuple(i - ((oo - 1) * si - 2 * pi + di * (k - 1) + 1)
               for i, oo, si, pi, di, k in zip(size, o, s, p, d, kernel, strict=True))
    xt = conv_transpose_nd(y, w, None, s, p, op, d, g)
    assert xt.shape == x.shape
    assert y.shape[1] == c_out
    assert int(np.sum(y_conv * y)) == int(np.sum(x * xt))


def test_seed_example():
    x = np.array([[9, 8, 7], [6, 5, 4], [3, 2, 1]])
    k = np.array([[-1, 2, -3], [1, -2, 3], [3, 2, -1]])
    got = F.conv_transpose2d(x[None], k[None, None])[0]
    assert got.shape == (5, 5)
    assert got[-1].tolist() == [9, 12, 4, 0, -1]
    assert got.dtype == np.int64
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.conv_transpose2d(torch.tensor(x[None, None], dtype=torch.float64),
                                                torch.tensor(k[None, None], dtype=torch.float64))
    assert got.tolist() == np.rint(want[0, 0].numpy()).astype(int).tolist()


def test_fractions_stay_exact():
    x = np.array([[[Fraction(1, 3), Fraction(-2, 5), 1]]], dtype=object)
    w = np.array([[[Fraction(1, 2), 3]]], dtype=object)
    got = F.conv_transpose1d(x, w, stride=2)
    assert got[0, 0].tolist() == [Fraction(1, 6), 1, Fraction(-1, 5), Fraction(-6, 5), Fraction(1, 2), 3]
    assert got.tolist() == naive_conv_transpose(x, w, None, (2,), (0,), (0,), (1,), 1).tolist()


def test_large_integers_do_not_overflow():
    big = 2**40
    x = np.full((1, 1, 3), big, dtype=np.int64)
    w = np.full((1, 1, 2), big, dtype=np.int64)
    got = F.conv_transpose1d(x, w)
    assert got[0, 0].tolist() == [big * big, 2 * big * big, 2 * big * big, big * big]
    assert got.dtype == object


def test_unbatched_and_output_padding_extends_end():
    x = np.array([[1, 2]])
    w = np.array([[[1, 1]]])
    got = F.conv_transpose1d(x, w, stride=2, output_padding=1)
    assert got.tolist() == [[1, 1, 2, 2, 0]]


@pytest.mark.parametrize(("kwargs", "where"), [
    (dict(output_padding=1), "--output-padding"),               # op >= stride and >= dilation
    (dict(stride=2, output_padding=2), "--output-padding"),
    (dict(padding=3), "--padding"),                              # output size would be <= 0
    (dict(groups=2), "--groups"),                                # 3 channels not divisible by 2
])
def test_errors(kwargs, where):
    x = np.ones((1, 3, 3))
    w = np.ones((3, 1, 3))
    with pytest.raises(ConvcalcError) as err:
        F.conv_transpose1d(x, w, **kwargs)
    assert err.value.where == where


def test_output_padding_allowed_by_dilation():
    got = F.conv_transpose1d(np.ones((1, 1, 3), int), np.ones((1, 1, 3), int), dilation=2, output_padding=1)
    assert got.shape == (1, 1, 8)
    assert got[0, 0, -1] == 0


def test_channel_mismatch():
    with pytest.raises(ConvcalcError, match="channels") as err:
        F.conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((1, 1, 2, 2)))
    assert err.value.where == "--kernel"
