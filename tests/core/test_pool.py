"""Pooling against PyTorch, against naive loops written from PyTorch's C++ kernels, and exactness."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc import functional as F
from convcalc.core.pool import avg_divisors, pool_geometry, pool_window
from convcalc.errors import ConvcalcError

torch = pytest.importorskip("torch")
TF = torch.nn.functional


# --- Naive oracles: per-cell loops following PyTorch's CPU kernels, not the code under test ----

def naive_out_size(i, k, s, p, d, ceil_mode):
    span = d * (k - 1) + 1
    num = i + 2 * p - span
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= i + p:
        out -= 1
    return out


def naive_max_pool(x, k, s, p, d, ceil_mode):
    """PyTorch's loop: start at the first tap >= 0, keep `val > max or isnan(val)`."""
    n, c, *size = x.shape
    outs = [naive_out_size(*a, ceil_mode) for a in zip(size, k, s, p, d, strict=True)]
    values = np.empty((n, c, *outs), dtype=object)
    indices = np.empty((n, c, *outs), dtype=np.int64)
    for b, ch, *o in itertools.product(range(n), range(c), *map(range, outs)):
        starts = [oi * si - pi for oi, si, pi in zip(o, s, p, strict=True)]
        firsts = [st0 + (-(st0) + di - 1) // di * di if st0 < 0 else st0 for st0, di in zip(starts, d, strict=True)]
        best, best_at = -math.inf, firsts
        ranges = [range(f, min(st0 + di * (ki - 1) + 1, si), di)
                  for f, st0, di, ki, si in zip(firsts, starts, d, k, size, strict=True)]
        for pos in itertools.product(*ranges):
            v = x[(b, ch, *pos)]
            if v > best or (isinstance(v, float) and math.isnan(v)):
                best, best_at = v, list(pos)
        values[(b, ch, *o)] = best
        flat = 0
        for coord, si in zip(best_at, size, strict=True):
            flat = flat * si + coord
        indices[(b, ch, *o)] = flat
    return values, indices


def naive_avg_pool(x, k, s, p, ceil_mode, count_include_pad, divisor_override=None):
    """PyTorch's avg_pool: clip the window to the padded input for the divisor, to the input for the sum."""
    n, c, *size = x.shape
    outs = [naive_out_size(i, ki, si, pi, 1, ceil_mode) for i, ki, si, pi in zip(size, k, s, p, strict=True)]
    out = np.empty((n, c, *outs), dtype=object)
    for b, ch, *o in itertools.product(range(n), range(c), *map(range, outs)):
        lo = [oi * si - pi for oi, si, pi in zip(o, s, p, strict=True)]
        hi = [min(a + ki, i + pi) for a, ki, i, pi in zip(lo, k, size, p, strict=True)]
        pool_size = math.prod(h - a for a, h in zip(lo, hi, strict=True))
        lo = [max(a, 0) for a in lo]
        hi = [min(h, i) for h, i in zip(hi, size, strict=True)]
        total = sum((x[(b, ch, *pos)] for pos in itertools.product(*map(range, lo, hi))), start=0)
        div = divisor_override or (pool_size if count_include_pad else math.prod(h - a for a, h in zip(lo, hi,
                                                                                                      strict=True)))
        out[(b, ch, *o)] = Fraction(total) / div if not isinstance(total, float) else total / div
    return out


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


@st.composite
def pool_problems(draw, dilation=True, padding=True):
    nsp = draw(st.sampled_from([1, 2]))
    k, s, p, d, size = [], [], [], [], []
    for _ in range(nsp):
        ki = draw(st.integers(1, 4))
        di = draw(st.integers(1, 3)) if dilation else 1
        k.append(ki), d.append(di)
        s.append(draw(st.integers(1, 4)))
        p.append(draw(st.integers(0, ki // 2)) if padding else 0)
        lo = max(1, di * (ki - 1) + 1 - 2 * p[-1])
        size.append(draw(st.integers(lo, lo + 6)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size)
    return dict(shape=shape, k=tuple(k), s=tuple(s), p=tuple(p), d=tuple(d), ceil_mode=draw(st.booleans()))


def data(shape, seed, integer):
    rng = np.random.default_rng(seed)
    # Few distinct integers, so ties are common and tie-breaking gets exercised.
    return rng.integers(-4, 5, shape) if integer else rng.normal(size=shape)


def fn(name, nsp):
    return getattr(F, f"{name}{nsp}d"), getattr(TF, f"{name}{nsp}d")


# --- max pool ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(pr=pool_problems(), seed=st.integers(0, 2**32 - 1), integer=st.booleans())
def test_max_pool_matches_torch_and_naive(pr, seed, integer):
    x = data(pr["shape"], seed, integer)
    ours, theirs = fn("max_pool", len(pr["k"]))
    args = (pr["k"], pr["s"], pr["p"], pr["d"], pr["ceil_mode"])
    values, indices = ours(x, *args, return_indices=True)
    tv, ti = theirs(t64(x), *args, return_indices=True)
    assert indices.tolist() == ti.numpy().tolist()
    nv, ni = naive_max_pool(x.astype(object) if integer else x, *args)
    assert indices.tolist() == ni.tolist()
    if integer and torch.isfinite(tv).all():
        assert values.dtype == np.int64
        assert values.tolist() == np.rint(tv.numpy()).astype(int).tolist() == nv.tolist()
    elif integer:  # a window of only padding (dilation) gives -inf; the ints stay Python ints
        assert values.dtype == object
        assert values.tolist() == nv.tolist()
        assert [float(v) for v in values.flat] == tv.flatten().tolist()
    else:
        np.testing.assert_allclose(values, tv.numpy(), rtol=1e-12)


def test_seed_max_pool():
    x = np.array([[109, 92, 72], [108, 85, 74], [110, 74, 79]])
    got = F.max_pool2d(x[None], 2, stride=1)[0]
    assert got.tolist() == [[109, 92], [110, 85]]
    assert got.dtype == np.int64
    assert TF.max_pool2d(t64(x[None]), 2, stride=1)[0].tolist() == [[109, 92], [110, 85]]


def test_ties_go_to_first_position_in_row_major_order():
    x = np.array([[[1.0, 3.0], [3.0, 3.0]]])
    values, idx = F.max_pool2d(x, 2, return_indices=True)
    _, t_idx = TF.max_pool2d(t64(x), 2, return_indices=True)
    assert idx.tolist() == t_idx.tolist() == [[[1]]]
    assert values.tolist() == [[[3.0]]]
    # 1-D, ties far apart, and with -inf values tied with -inf padding: first real cell.
    _, idx = F.max_pool1d(np.array([[3, 1, 3, 3]]), 4, return_indices=True)
    assert idx.tolist() == [[0]]
    x = np.array([[-np.inf, -np.inf]])
    _, idx = F.max_pool1d(x, 2, 1, 1, return_indices=True)
    assert idx.tolist() == TF.max_pool1d(t64(x), 2, 1, 1, return_indices=True)[1].tolist() == [[0, 0, 1]]


def test_nan_wins_and_the_last_nan_is_reported():
    x = np.array([[[1.0, np.nan, 2.0, np.nan]]])
    for ours, theirs in ((F.max_pool1d, TF.max_pool1d), (F.adaptive_max_pool1d, TF.adaptive_max_pool1d)):
        v, i = ours(x, 4 if ours is F.max_pool1d else 1, return_indices=True)
        tv, ti = theirs(t64(x), 4 if ours is F.max_pool1d else 1, return_indices=True)
        assert np.isnan(v).all() and torch.isnan(tv).all()
        assert i.tolist() == ti.tolist() == [[[3]]]


@pytest.mark.parametrize(("shape", "k", "p", "d"),
                         [((3,), 2, 1, 4), ((3, 3), 2, 1, 4), ((3, 4), (2, 1), (1, 0), (4, 1))])
def test_windows_of_only_padding_give_minus_inf_and_torch_index(shape, k, p, d):
    x = np.arange(math.prod(shape)).reshape((1, *shape))
    ours, theirs = fn("max_pool", len(shape))
    v, i = ours(x, k, 1, p, d, return_indices=True)
    tv, ti = theirs(t64(x), k, 1, p, d, return_indices=True)
    assert i.tolist() == ti.tolist()
    assert [float(a) for a in v.flat] == tv.flatten().tolist()
    assert -math.inf in v.flat


def test_max_pool_of_fractions_stays_exact():
    x = np.array([[Fraction(1, 3), Fraction(1, 2), Fraction(-7, 2)]], dtype=object)
    assert F.max_pool1d(x, 2, 1).tolist() == [[Fraction(1, 2), Fraction(1, 2)]]


# --- avg pool ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(pr=pool_problems(dilation=False), seed=st.integers(0, 2**32 - 1), integer=st.booleans(),
       cip=st.booleans(), override=st.sampled_from([None, None, 1, 3, -2]))
def test_avg_pool_matches_torch_and_naive(pr, seed, integer, cip, override):
    nsp = len(pr["k"])
    override = override if nsp == 2 else None  # avg_pool1d has no divisor_override in torch
    x = data(pr["shape"], seed, integer)
    args = (pr["k"], pr["s"], pr["p"], pr["ceil_mode"], cip)
    extra = (override,) if nsp == 2 else ()
    ours, theirs = fn("avg_pool", nsp)
    got = ours(x, *args, *extra)
    want = theirs(t64(x), *args, *extra).numpy()
    naive = naive_avg_pool(x.astype(object) if integer else x, *args, override)
    if integer:
        assert got.dtype == object
        assert got.tolist() == naive.tolist()
        assert all(isinstance(v, int) or v.denominator > 1 for v in got.flat)
        np.testing.assert_allclose(got.astype(float), want, rtol=1e-9, atol=1e-12)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got, naive.astype(float), rtol=1e-12, atol=1e-12)


def test_avg_pool_ceil_mode_divisors():
    x = np.ones((1, 5), int)
    assert F.avg_pool1d(x, 2, 2, 1, ceil_mode=True).tolist() == [[Fraction(1, 2), 1, 1]]
    got = F.avg_pool1d(np.arange(1, 6)[None], 2, 2, ceil_mode=True, count_include_pad=False)
    assert got.tolist() == [[Fraction(3, 2), Fraction(7, 2), 5]]
    # count_include_pad=True still leaves out the part of the clipped window past the padding.
    assert F.avg_pool1d(np.arange(1, 6)[None], 2, 2, ceil_mode=True).tolist() == [[Fraction(3, 2), Fraction(7, 2), 5]]


def test_avg_pool_large_integers_stay_exact():
    x = np.array([[[2**62, 2**62, 1]]])
    got = F.avg_pool1d(x, 2, 1)
    assert got.tolist() == [[[2**62, Fraction(2**62 + 1, 2)]]]


# --- lp pool ----------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(pr=pool_problems(dilation=False, padding=False), seed=st.integers(0, 2**32 - 1),
       p=st.sampled_from([1, 2, 3, 1.5, 0.5, math.inf, -math.inf]), positive=st.booleans())
def test_lp_pool_matches_torch(pr, seed, p, positive):
    x = data(pr["shape"], seed, integer=False)
    x = np.abs(x) + 0.1 if positive else x
    ours, theirs = fn("lp_pool", len(pr["k"]))
    k = pr["k"][0] if len(pr["k"]) == 1 else pr["k"]
    got = ours(x, p, k, pr["s"], pr["ceil_mode"])
    want = theirs(t64(x), p, k, pr["s"], pr["ceil_mode"]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_lp_pool_ceil_mode_scales_the_clipped_window():
    # torch computes avg_pool(x^p)·k: the last window [5] counts as 5²·2, not 5².
    x = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    got = F.lp_pool1d(x, 2, 2, ceil_mode=True)
    np.testing.assert_allclose(got, [[math.sqrt(5), 5.0, math.sqrt(50)]])
    np.testing.assert_allclose(got, TF.lp_pool1d(t64(x), 2, 2, ceil_mode=True).numpy())


def test_lp_pool_exact_for_p1_and_nan_for_negative_odd_root():
    assert F.lp_pool1d(np.array([[-1, -2, 3, 4, 5]]), 1, 2).tolist() == [[-3, 7]]
    got = F.lp_pool1d(np.array([[-1.0, -2.0, 3.0, 4.0]]), 3, 2)
    assert np.isnan(got[0, 0]) and got[0, 1] == pytest.approx((27 + 64) ** (1 / 3))


# --- adaptive ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(nsp=st.sampled_from([1, 2]), size=st.lists(st.integers(1, 9), min_size=2, max_size=2),
       out=st.lists(st.integers(1, 11), min_size=2, max_size=2), seed=st.integers(0, 2**32 - 1),
       integer=st.booleans())
def test_adaptive_pools_match_torch(nsp, size, out, seed, integer):
    x = data((2, 2, *size[:nsp]), seed, integer)
    o = out[0] if nsp == 1 else tuple(out)
    avg = getattr(F, f"adaptive_avg_pool{nsp}d")(x, o)
    want = getattr(TF, f"adaptive_avg_pool{nsp}d")(t64(x), o).numpy()
    np.testing.assert_allclose(np.asarray(avg, dtype=float), want, rtol=1e-9, atol=1e-12)
    if integer:
        assert avg.dtype == object and all(isinstance(v, int | Fraction) for v in avg.flat)
    v, i = getattr(F, f"adaptive_max_pool{nsp}d")(x, o, return_indices=True)
    tv, ti = getattr(TF, f"adaptive_max_pool{nsp}d")(t64(x), o, return_indices=True)
    assert i.tolist() == ti.tolist()
    np.testing.assert_allclose(v.astype(float), tv.numpy())
    assert v.dtype == x.dtype


def test_adaptive_none_keeps_axis_and_avg_is_exact():
    x = np.array([[[1, 3, 3, 2, 5]]])
    assert F.adaptive_avg_pool1d(x, 3).tolist() == [[[2, Fraction(8, 3), Fraction(7, 2)]]]
    assert F.adaptive_max_pool2d(np.ones((1, 4, 5)), (2, None)).shape == (1, 2, 5)


# --- window helper, geometry, errors ----------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(pr=pool_problems(), seed=st.integers(0, 2**32 - 1))
def test_pool_window_agrees_with_pooling(pr, seed):
    x = data((1, 1, *pr["shape"][2:]), seed, integer=True)
    k, s, p, d, ceil_mode = pr["k"], pr["s"], pr["p"], pr["d"], pr["ceil_mode"]
    geom = pool_geometry(x.shape[2:], k, s, p, d, ceil_mode)
    values = (F.max_pool1d if len(k) == 1 else F.max_pool2d)(x[0], k, s, p, d, ceil_mode)[0]
    for o in itertools.product(*map(range, geom.output_size)):
        taps = pool_window(o, x.shape[2:], k, s, p, d, ceil_mode)
        real = [t for t in taps if not t.is_padding]
        assert len(taps) == math.prod(k)
        assert all(t.beyond <= t.is_padding for t in taps)
        assert values[o] == max((x[(0, 0, *t.input)] for t in real), default=-math.inf)
    if all(di == 1 for di in d):
        div_pad, div_real = avg_divisors(geom, True), avg_divisors(geom, False)
        for o in itertools.product(*map(range, geom.output_size)):
            taps = pool_window(o, x.shape[2:], k, s, p, d, ceil_mode)
            assert div_pad[o] == sum(not t.beyond for t in taps)
            assert div_real[o] == sum(not t.is_padding for t in taps)


@settings(max_examples=60, deadline=None)
@given(nsp=st.sampled_from([1, 2]), i=st.integers(1, 6), k=st.integers(0, 5), s=st.integers(0, 3),
       p=st.integers(0, 3), d=st.integers(1, 3), ceil_mode=st.booleans())
def test_errors_exactly_when_torch_errors(nsp, i, k, s, p, d, ceil_mode):
    x = np.ones((1,) + (i,) * nsp)
    ours, theirs = fn("max_pool", nsp)
    try:
        theirs(t64(x), k, s, p, d, ceil_mode)
        torch_ok = True
    except RuntimeError:
        torch_ok = False
    if torch_ok:
        assert ours(x, k, s, p, d, ceil_mode).shape == theirs(t64(x), k, s, p, d, ceil_mode).shape
    else:
        with pytest.raises(ConvcalcError):
            ours(x, k, s, p, d, ceil_mode)


def test_error_messages_name_the_setting():
    with pytest.raises(ConvcalcError, match="half of kernel size") as err:
        F.max_pool1d(np.ones((1, 5)), 3, padding=2)
    assert err.value.where == "--padding"
    with pytest.raises(ConvcalcError, match="too small"):
        F.avg_pool2d(np.ones((1, 2, 2)), 3)
    with pytest.raises(ConvcalcError) as err:
        F.avg_pool2d(np.ones((1, 4, 4)), 2, divisor_override=0)
    assert err.value.where == "--divisor-override"
    with pytest.raises(ConvcalcError) as err:
        pool_window((5,), (5,), (2,), (2,))
    assert err.value.where == "--cell"
