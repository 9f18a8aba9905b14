"""Exact receptive fields along one axis, by passing index sets through each layer.

Every layer here connects units separately along each spatial axis, so the input pixels
that can affect a unit are a product of one set per axis. The size of a receptive field is
the span of that set (largest index − smallest + 1), and the smallest and largest index of a
union are the min of the mins and the max of the maxes. So each unit's set is carried as two
integer arrays, ``lo`` and ``hi`` (an empty set has lo > hi), and each layer maps them with
NumPy in O(units × kernel) — cheap for any input a laptop can hold.
"""

from __future__ import annotations

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.formulas import adaptive_widths

Sets = tuple[np.ndarray, np.ndarray]
EMPTY_LO = np.iinfo(np.int64).max
EMPTY_HI = np.iinfo(np.int64).min
MAX_PAIRS = 50_000_000  # unit×tap pairs per layer and axis; beyond that, refuse rather than swap


def _guard(pairs: int, where: str) -> None:
    if pairs > MAX_PAIRS:
        raise ConvcalcError(f"exact receptive fields would visit {pairs} unit/tap pairs on one axis; "
                            f"the limit is {MAX_PAIRS}", where)


def input_sets(n: int, where: str = "") -> Sets:
    """The input itself: unit i sees exactly pixel i."""
    if n > MAX_PAIRS:
        raise ConvcalcError(f"exact receptive fields would follow {n} input positions on one axis; "
                            f"the limit is {MAX_PAIRS}", where)
    idx = np.arange(n, dtype=np.int64)
    return idx, idx.copy()


def _combine(lo: np.ndarray, hi: np.ndarray, q: np.ndarray, valid: np.ndarray) -> Sets:
    """Union over the last axis of ``q`` (indices into the previous layer) where ``valid``."""
    safe = np.where(valid, q, 0)
    return (np.where(valid, lo[safe], EMPTY_LO).min(axis=1),
            np.where(valid, hi[safe], EMPTY_HI).max(axis=1))


def through_window(sets: Sets, out: int, k: int, s: int, pad_before: int, d: int,
                   padding_mode: str = "zeros", where: str = "") -> Sets:
    """A convolution or pooling window: unit u reads positions u·s − pad_before + t·d.

    Positions outside the previous layer are padding: zeros (and pooling's −∞) carry no
    input; reflect, replicate and circular padding copy a real position, which is followed.
    """
    lo, hi = sets
    n = len(lo)
    _guard(out * k, where)
    q = np.arange(out, dtype=np.int64)[:, None] * s - pad_before + np.arange(k, dtype=np.int64)[None, :] * d
    if padding_mode == "reflect":  # PyTorch allows padding < n, so one reflection suffices
        q = np.where(q < 0, -q, q)
        q = np.where(q >= n, 2 * (n - 1) - q, q)
    elif padding_mode == "replicate":
        q = np.clip(q, 0, n - 1)
    elif padding_mode == "circular":
        q = q % n
    return _combine(lo, hi, q, (q >= 0) & (q < n))


def through_transposed(sets: Sets, out: int, k: int, s: int, p: int, d: int, where: str = "") -> Sets:
    """A transposed convolution: input unit i scatters to outputs i·s − p + t·d, t = 0..k−1.

    Outputs that fall in the cropped ``padding`` are dropped; outputs no input reaches
    (phases between the strides, or ``output_padding``) keep an empty set.
    """
    lo, hi = sets
    n = len(lo)
    _guard(max(n * k, out), where)
    o = np.arange(n, dtype=np.int64)[:, None] * s - p + np.arange(k, dtype=np.int64)[None, :] * d
    valid = (o >= 0) & (o < out)
    new_lo = np.full(out, EMPTY_LO, dtype=np.int64)
    new_hi = np.full(out, EMPTY_HI, dtype=np.int64)
    np.minimum.at(new_lo, o[valid], np.broadcast_to(lo[:, None], o.shape)[valid])
    np.maximum.at(new_hi, o[valid], np.broadcast_to(hi[:, None], o.shape)[valid])
    return new_lo, new_hi


def through_adaptive(sets: Sets, out: int, where: str = "") -> Sets:
    """Adaptive pooling: unit u reads the window ``adaptive_window(u, n, out)``."""
    lo, hi = sets
    n = len(lo)
    widest = adaptive_widths(n, out)[1]
    _guard(out * widest, where)
    u = np.arange(out, dtype=np.int64)
    begin, end = (u * n) // out, -((-(u + 1) * n) // out)
    q = begin[:, None] + np.arange(widest, dtype=np.int64)[None, :]
    return _combine(lo, hi, q, q < end[:, None])


def whole(sets: Sets, out: int) -> Sets:
    """A layer that mixes the whole axis (Linear over it, Softmax along it): one union for all."""
    lo, hi = sets
    _guard(out, "")
    return np.full(out, lo.min(), dtype=np.int64), np.full(out, hi.max(), dtype=np.int64)


def span_range(sets: Sets) -> tuple[int, int]:
    """(largest, smallest) span over units; an empty set has span 0."""
    lo, hi = sets
    seen = hi >= lo
    spans = np.zeros(len(lo), dtype=np.int64)
    spans[seen] = hi[seen] - lo[seen] + 1  # masked first: hi − lo of an empty set would overflow
    return int(spans.max()), int(spans.min())


def through_gather(sets: Sets, out: int, period: int, step: int, taps: tuple[tuple[int, ...], ...], mode: str,
                   where: str = "") -> Sets:
    """Any periodic gather (``convcalc.net.axis_maps.Gather``): unit φ + m·period reads m·step + t.

    At the border: zeros read nothing; reflect, replicate, circular copy a real position, and
    interpolation clamps to the edge pixel.
    """
    lo, hi = sets
    n = len(lo)
    width = max(1, max(len(t) for t in taps))
    _guard(out * width, where)
    table = np.zeros((period, width), dtype=np.int64)
    ok = np.zeros((period, width), dtype=bool)
    for phi, ts in enumerate(taps):
        table[phi, : len(ts)] = ts
        ok[phi, : len(ts)] = True
    o = np.arange(out, dtype=np.int64)
    q = (o // period)[:, None] * step + table[o % period]
    valid = ok[o % period]
    if mode == "reflect":
        q = np.where(q < 0, -q, q)
        q = np.where(q >= n, 2 * (n - 1) - q, q)
    elif mode in ("replicate", "clamp"):
        q = np.clip(q, 0, n - 1)
    elif mode == "circular":
        q = q % n
    return _combine(lo, hi, q, valid & (q >= 0) & (q < n))
