"""Upsampling and downsampling: naive loops, sizes, adjoints, exactness, and the torch ops they equal."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.core.resample import downsample, downsample_backward, upsample, upsample_backward
from convcalc.errors import ConvcalcError


def naive_upsample(x, ks):
    """Place x[i] at i·k; every other cell is 0."""
    nsp = len(ks)
    lead, size = x.shape[:-nsp], x.shape[-nsp:]
    out = np.zeros(lead + tuple((w - 1) * k + 1 for w, k in zip(size, ks, strict=True)), dtype=object)
    for idx in itertools.product(*map(range, x.shape)):
        out[idx[:-nsp] + tuple(i * k for i, k in zip(idx[-nsp:], ks, strict=True))] = x[idx]
    return out


def naive_downsample(x, ks):
    nsp = len(ks)
    keep = [[i for i in range(w) if i % k == 0] for w, k in zip(x.shape[-nsp:], ks, strict=True)]
    out = np.empty(x.shape[:-nsp] + tuple(map(len, keep)), dtype=object)
    for lead in itertools.product(*map(range, x.shape[:-nsp])):
        for pos, src in zip(itertools.product(*map(range, out.shape[-nsp:])), itertools.product(*keep),
                            strict=True):
            out[lead + pos] = x[lead + src]
    return out


cases = st.tuples(
    st.sampled_from([1, 2]),
    st.lists(st.integers(1, 7), min_size=2, max_size=2),
    st.lists(st.integers(1, 4), min_size=2, max_size=2),
    st.integers(0, 2**32 - 1),
)


def arrays(nsp, size, seed, lead=(2, 3)):
    return np.random.default_rng(seed).integers(-9, 10, lead + tuple(size[:nsp]))


@settings(max_examples=60, deadline=None)
@given(case=cases)
def test_against_naive_loops(case):
    nsp, size, ks, seed = case
    x, ks = arrays(nsp, size, seed), tuple(ks[:nsp])
    up, down = upsample(x, ks), downsample(x, ks)
    assert up.tolist() == naive_upsample(x, ks).tolist()
    assert down.tolist() == naive_downsample(x, ks).tolist()
    assert up.shape[-nsp:] == tuple(w * k - (k - 1) for w, k in zip(size[:nsp], ks, strict=True))
    assert down.shape[-nsp:] == tuple((w - 1) // k + 1 for w, k in zip(size[:nsp], ks, strict=True))
    assert downsample(up, ks).tolist() == x.tolist()  # down undoes up


@settings(max_examples=60, deadline=None)
@given(case=cases)
def test_backwards_are_each_other_and_adjoints(case):
    nsp, size, ks, seed = case
    ks = tuple(ks[:nsp])
    rng = np.random.default_rng(seed)
    x = arrays(nsp, size, seed)
    y_up = rng.integers(-9, 10, upsample(x, ks).shape)
    y_down = rng.integers(-9, 10, downsample(x, ks).shape)
    # upsample's backward is a downsample; downsample's backward is an upsample (zero-filled to W).
    assert upsample_backward(y_up, ks).tolist() == downsample(y_up, ks).tolist()
    back = downsample_backward(y_down, ks, x.shape[-nsp:])
    up = upsample(y_down, ks)
    assert back.shape == x.shape
    assert back[(Ellipsis, *(slice(0, n) for n in up.shape[-nsp:]))].tolist() == up.tolist()
    assert np.count_nonzero(back) == np.count_nonzero(up)  # nothing after the last kept sample
    # <up(x), y> = <x, up_backward(y)> and <down(x), y> = <x, down_backward(y)>.
    assert int(np.sum(upsample(x, ks) * y_up)) == int(np.sum(x * upsample_backward(y_up, ks)))
    assert int(np.sum(downsample(x, ks) * y_down)) == int(np.sum(x * back))


@settings(max_examples=30, deadline=None)
@given(case=cases)
def test_same_as_torch_transposed_conv_and_strided_pool(case):
    torch = pytest.importorskip("torch")
    nsp, size, ks, seed = case
    ks = tuple(ks[:nsp])
    x = arrays(nsp, size, seed)
    tx = torch.tensor(x, dtype=torch.float64)
    ct = torch.nn.functional.conv_transpose1d if nsp == 1 else torch.nn.functional.conv_transpose2d
    pool = torch.nn.functional.max_pool1d if nsp == 1 else torch.nn.functional.max_pool2d
    one = torch.ones((3, 1) + (1,) * nsp, dtype=torch.float64)
    assert upsample(x, ks).tolist() == ct(tx, one, stride=ks, groups=3).long().tolist()
    assert downsample(x, ks).tolist() == pool(tx, 1, stride=ks).long().tolist()


def test_seed_style_upsample_and_exact_zeros():
    assert upsample(np.array([1, 2, 3]), 2).tolist() == [1, 0, 2, 0, 3]
    x = np.array([[Fraction(1, 2), 3], [4, Fraction(-1, 3)]], dtype=object)
    up = upsample(x, 2, ndim=2)
    assert up.tolist() == [[Fraction(1, 2), 0, 3], [0, 0, 0], [4, 0, Fraction(-1, 3)]]
    assert all(type(v) is int for v in (up[0, 1], up[1, 1]))
    assert downsample(np.arange(7), 3).tolist() == [0, 3, 6]
    assert downsample_backward(np.array([1, 2]), 3, (5,)).tolist() == [1, 0, 0, 2, 0]


@pytest.mark.parametrize(("call", "where"), [
    (lambda: upsample(np.ones(3), 0), "--factor"),
    (lambda: downsample(np.ones((2, 2)), (2, 2, 2)), "--input"),
    (lambda: upsample(np.ones((2, 2)), (2,), ndim=2), "--factor"),
    (lambda: downsample_backward(np.ones(3), 2, (4,)), "--grad-output"),
])
def test_errors(call, where):
    with pytest.raises(ConvcalcError) as err:
        call()
    assert err.value.where == where
