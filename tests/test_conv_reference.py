"""convcalc.functional.conv1d/conv2d against an independent naive loop and against PyTorch.

The naive loop below shares nothing with convcalc: it pads by index arithmetic, walks every
batch item, output channel, output position, input channel and kernel tap with plain Python
loops, and sums Python numbers (so integers never overflow and Fractions stay exact).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc import functional as F

MODES = ("zeros", "reflect", "replicate", "circular")


# --- the independent oracle ----------------------------------------------------------------

def _source_index(p: int, lo: int, size: int, mode: str) -> int | None:
    """Index into the unpadded axis for padded coordinate p (None: a zero of zero padding)."""
    i = p - lo
    if 0 <= i < size:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return min(max(i, 0), size - 1)
    if mode == "reflect":  # edge not repeated; PyTorch requires pad < size so one bounce suffices
        return -i if i < 0 else 2 * (size - 1) - i
    if mode == "circular":
        return i % size
    raise AssertionError(mode)


def naive_conv(x, w, bias, stride, pads, dilation, groups, mode):
    """Cross-correlation of (N, C_in, *S) with (C_out, C_in/g, *K); pads is (lo, hi) per axis.

    Returns nested Python lists (N, C_out, *O) of Python numbers.
    """
    x, w = np.asarray(x, dtype=object), np.asarray(w, dtype=object)
    n_batch, c_in, *size = x.shape
    c_out, cg, *kernel = w.shape
    assert c_in == cg * groups and c_out % groups == 0
    og = c_out // groups
    out_size = [(n + lo + hi - d * (k - 1) - 1) // s + 1
                for n, (lo, hi), k, s, d in zip(size, pads, kernel, stride, dilation, strict=True)]
    out = np.empty((n_batch, c_out, *out_size), dtype=object)
    for n in range(n_batch):
        for o in range(c_out):
            g = o // og
            for pos in itertools.product(*map(range, out_size)):
                acc = 0
                for ci in range(cg):
                    c = g * cg + ci
                    for tap in itertools.product(*map(range, kernel)):
                        src = []
                        for q, t, s, d, (lo, _), sz in zip(pos, tap, stride, dilation, pads, size, strict=True):
                            src.append(_source_index(q * s + t * d, lo, sz, mode))
                        if None in src:
                            continue
                        acc = acc + x[(n, c, *src)] * w[(o, ci, *tap)]
                if bias is not None:
                    acc = acc + bias[o]
                out[(n, o, *pos)] = acc
    return out.tolist()


# --- random problems -------------------------------------------------------------------------

@st.composite
def problems(draw):
    """Shapes and settings of a valid conv1d/conv2d call (PyTorch's limits respected)."""
    nsp = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 4))
    cg = draw(st.integers(1, 4 // groups))
    og = draw(st.integers(1, max(1, 4 // groups)))
    batched = draw(st.booleans())
    n = draw(st.integers(1, 2)) if batched else 1
    mode = draw(st.sampled_from(MODES))
    kernel = [draw(st.integers(1, 3)) for _ in range(nsp)]
    dilation = [draw(st.integers(1, 3)) for _ in range(nsp)]
    kind = draw(st.sampled_from(["int", "per-axis", "same", "valid"]))
    stride = [1] * nsp if kind == "same" else [draw(st.integers(1, 3)) for _ in range(nsp)]
    if kind == "int":
        p = draw(st.integers(0, 3))
        padding: object = p
        pads = [(p, p)] * nsp
    elif kind == "per-axis":
        ps = [draw(st.integers(0, 3)) for _ in range(nsp)]
        padding = tuple(ps)
        pads = [(p, p) for p in ps]
    elif kind == "same":
        padding = "same"
        pads = []
        for k, d in zip(kernel, dilation, strict=True):
            total = d * (k - 1)  # PyTorch: the odd extra goes after
            pads.append((total // 2, total - total // 2))
    else:
        padding = "valid"
        pads = [(0, 0)] * nsp
    size = []
    for k, d, (lo, hi) in zip(kernel, dilation, pads, strict=True):
        need = max(1, d * (k - 1) + 1 - lo - hi)
        if mode == "reflect":
            need = max(need, max(lo, hi) + 1)
        elif mode == "circular":
            need = max(need, max(lo, hi))
        size.append(need + draw(st.integers(0, 3)))
    x_shape = (n, cg * groups, *size) if batched else (cg * groups, *size)
    return dict(nsp=nsp, x_shape=x_shape, w_shape=(og * groups, cg, *kernel), bias=draw(st.booleans()),
                stride=tuple(stride), padding=padding, pads=tuple(pads), dilation=tuple(dilation),
                groups=groups, mode=mode, batched=batched, seed=draw(st.integers(0, 2**32 - 1)))


def _ints(rng, shape, lo=-5, hi=5):
    return rng.integers(lo, hi + 1, size=shape).astype(np.int64)


def _fractions(rng, shape):
    flat = [Fraction(int(a), int(b)) for a, b in zip(rng.integers(-9, 10, size=int(np.prod(shape))),
                                                        rng.integers(1, 8, size=int(np.prod(shape))), strict=True)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(shape)


def _data(pr, make):
    rng = np.random.default_rng(pr["seed"])
    x, w = make(rng, pr["x_shape"]), make(rng, pr["w_shape"])
    b = make(rng, (pr["w_shape"][0],)) if pr["bias"] else None
    return x, w, b


def _convcalc(pr, x, w, b):
    fn = F.conv1d if pr["nsp"] == 1 else F.conv2d
    return fn(x, w, b, pr["stride"], pr["padding"], pr["dilation"], pr["groups"], padding_mode=pr["mode"])


def _naive(pr, x, w, b):
    xb = x if pr["batched"] else x[None]
    out = naive_conv(xb, w, None if b is None else np.asarray(b, dtype=object).tolist(), pr["stride"], pr["pads"], pr["dilation"],
                     pr["groups"], pr["mode"])
    return out if pr["batched"] else out[0]


def _torch(pr, x, w, b):
    """PyTorch's answer in float64: explicit F.pad for the padding mode, then conv with no padding."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional

    def t(a):
        return torch.tensor(np.asarray(a, dtype=np.float64).tolist(), dtype=torch.float64)

    xt = t(x if pr["batched"] else x[None])
    flat = [p for lo_hi in reversed(pr["pads"]) for p in lo_hi]  # F.pad lists the last axis first
    if any(flat):
        xt = tf.pad(xt, flat, mode="constant" if pr["mode"] == "zeros" else pr["mode"])
    conv = tf.conv1d if pr["nsp"] == 1 else tf.conv2d
    out = conv(xt, t(w), None if b is None else t(b), pr["stride"], 0, pr["dilation"], pr["groups"])
    out = out.numpy()
    return out if pr["batched"] else out[0]


def _flat(nested) -> list:
    a = np.asarray(nested, dtype=object)
    return list(a.reshape(-1))


# --- (a) + (b): integers, exact against the naive loop and against PyTorch -----------------

@settings(max_examples=80, deadline=None)
@given(problems())
def test_integers_exact_against_naive_loop_and_torch(pr):
    x, w, b = _data(pr, _ints)
    got = _convcalc(pr, x, w, b)
    want = _naive(pr, x, w, b)
    assert got.shape == np.asarray(want, dtype=object).shape
    assert got.dtype.kind == "i" or all(type(v) is int for v in got.flat), "integers in must give integers out"
    assert got.tolist() == want
    ref = _torch(pr, x, w, b)
    assert ref.shape == got.shape
    assert np.rint(ref).astype(np.int64).tolist() == got.tolist()


# --- (a) + (b): float64 -----------------------------------------------------------------------

def _floats(rng, shape):
    return rng.standard_normal(size=shape)


@settings(max_examples=80, deadline=None)
@given(problems())
def test_float64_against_naive_loop_and_torch(pr):
    x, w, b = _data(pr, _floats)
    got = _convcalc(pr, x, w, b)
    assert got.dtype == np.float64
    want = np.asarray(_naive(pr, x, w, b), dtype=np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    ref = _torch(pr, x, w, b)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)


# --- (c): Fractions stay exact ------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(problems())
def test_fractions_exact_and_close_to_torch(pr):
    x, w, b = _data(pr, _fractions)
    got = _convcalc(pr, x, w, b)
    assert got.dtype == object
    assert all(isinstance(v, int | Fraction) for v in got.flat), "Fractions in must give exact numbers out"
    assert _flat(got.tolist()) == _flat(_naive(pr, x, w, b))
    ref = _torch(pr, x, w, b)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), ref, rtol=1e-9, atol=1e-9)


def test_fraction_thirds_sum_to_exact_one():
    x = np.empty((1, 3), dtype=object)
    x[:] = [Fraction(1, 3)] * 3
    w = np.array([[1, 1, 1]], dtype=np.int64)
    out = F.conv2d(x[None], w[None, None])
    assert out.reshape(-1).tolist() == [1]
    assert out.reshape(-1)[0] == 1 and not isinstance(out.reshape(-1)[0], float)


# --- (d): int64 overflow is never silent ---------------------------------------------------------

def test_huge_integers_give_exact_python_ints():
    big = 2**40
    x = np.full((5, 5), big, dtype=np.int64)
    w = np.full((3, 3), big, dtype=np.int64)
    out = F.conv2d(x[None, None], w[None, None])
    assert out.shape == (1, 1, 3, 3)
    assert all(v == 9 * 2**80 for v in out.flat)
    assert all(type(v) is int for v in out.flat)
    assert out.tolist() == naive_conv(x[None, None], w[None, None], None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1, "zeros")


def test_sum_that_overflows_int64_only_when_accumulated_is_exact():
    # each product 9e18 < 2**63 but nine of them are not: a silent int64 sum would wrap
    v = 3 * 10**9
    x = np.full((1, 1, 3, 3), v, dtype=np.int64)
    w = np.full((1, 1, 3, 3), v, dtype=np.int64)
    b = np.array([v], dtype=np.int64)
    out = F.conv2d(x, w, b)
    assert out.reshape(-1).tolist() == [9 * v * v + v]
    assert 9 * v * v + v > 2**63


@settings(max_examples=25, deadline=None)
@given(problems())
def test_huge_random_integers_match_naive_loop(pr):
    x, w, b = _data(pr, lambda rng, shape: _ints(rng, shape, -(2**40), 2**40))
    got = _convcalc(pr, x, w, b)
    assert got.tolist() == _naive(pr, x, w, b)


def test_python_int_entries_beyond_int64():
    x = np.empty((1, 1, 2, 2), dtype=object)
    x.flat[:] = [2**70, -(2**70), 3, 1]
    w = np.ones((1, 1, 2, 2), dtype=np.int64)
    assert F.conv2d(x, w).reshape(-1).tolist() == [4]
    x.flat[:] = [2**70, 2**70, 3, 1]
    assert F.conv2d(x, w).reshape(-1).tolist() == [2**71 + 4]


# --- fixed spot checks the strategy might rarely draw ------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_each_padding_mode_at_its_limit_1d(mode):
    x = np.array([[[1, 2, 3, 4]]], dtype=np.int64)
    w = np.array([[[1, 10, 100]]], dtype=np.int64)
    p = 3 if mode == "reflect" else 4  # reflect: pad < size; circular: pad <= size
    got = F.conv1d(x, w, padding=p, padding_mode=mode)
    assert got.tolist() == naive_conv(x, w, None, (1,), ((p, p),), (1,), 1, mode)


def test_known_padding_values():
    x = np.array([[[1, 2, 3]]], dtype=np.int64)
    w = np.array([[[1]]], dtype=np.int64)
    assert F.conv1d(x, w, padding=2, padding_mode="reflect").reshape(-1).tolist() == [3, 2, 1, 2, 3, 2, 1]
    assert F.conv1d(x, w, padding=2, padding_mode="replicate").reshape(-1).tolist() == [1, 1, 1, 2, 3, 3, 3]
    assert F.conv1d(x, w, padding=2, padding_mode="circular").reshape(-1).tolist() == [2, 3, 1, 2, 3, 1, 2]
    assert F.conv1d(x, w, padding=2).reshape(-1).tolist() == [0, 0, 1, 2, 3, 0, 0]


def test_same_padding_even_kernel_puts_extra_after():
    x = np.arange(1, 6, dtype=np.int64).reshape(1, 1, 5)
    w = np.array([[[1, 1, 1, 1]]], dtype=np.int64)
    got = F.conv1d(x, w, padding="same")
    assert got.reshape(-1).tolist() == [6, 10, 14, 12, 9]  # pads (1, 2): [0,1,2,3,4,5,0,0]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_even_kernel_agrees_with_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(1, 13, dtype=np.int64).reshape(1, 1, 3, 4)
    w = np.arange(1, 9, dtype=np.int64).reshape(1, 1, 2, 4)
    ref = torch.nn.functional.conv2d(torch.tensor(x, dtype=torch.float64), torch.tensor(w, dtype=torch.float64),
                                     padding="same", dilation=(2, 1))
    assert F.conv2d(x, w, padding="same", dilation=(2, 1)).tolist() == np.rint(ref.numpy()).astype(int).tolist()
