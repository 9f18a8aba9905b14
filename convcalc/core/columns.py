"""Column ("im2col") matrices in bounded blocks, and the scatter that undoes them.

Convolution, its gradients and transposed convolution all reduce to one matrix product per
sample between a kernel matrix and a column matrix whose rows are (channel, kernel tap) and
whose columns are output positions, spatial axis innermost, so the product lands directly in
NCHW layout. A column matrix is K times the input, so it is never built for the whole call:
:func:`blocks` splits the work over the batch, and over the first output axis when one sample
alone is too big, so that no column matrix exceeds :data:`convcalc.limits.COLUMN_BUDGET_BYTES`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from convcalc.limits import COLUMN_BUDGET_BYTES
from convcalc.numbers import Array

ALL = slice(None)


def item_bytes(dtype: np.dtype[Any]) -> int:
    """Bytes one entry costs; an object entry also holds a Python number (counted as 32)."""
    return 40 if dtype.kind == "O" else dtype.itemsize


def blocks(n: int, out_sizes: Sequence[int], row_bytes: int,
           budget: int | None = None) -> Iterator[tuple[slice, list[slice]]]:
    """Blocks of samples, each with its runs of first-axis output rows, whose column matrix fits.

    ``row_bytes`` is what one output row of one sample costs in the column matrix. Whole
    samples are grouped while they fit in ``budget`` bytes; a sample too big alone comes on
    its own, split into runs of rows (at least one row, the smallest unit).
    """
    budget = COLUMN_BUDGET_BYTES if budget is None else budget
    rows = out_sizes[0] if out_sizes else 1
    per_sample = max(1, rows * row_bytes)
    if per_sample <= budget:
        step = max(1, budget // per_sample)
        for n0 in range(0, n, step):
            yield slice(n0, min(n, n0 + step)), [slice(0, rows)]
        return
    run = max(1, budget // max(1, row_bytes))
    for i in range(n):
        yield slice(i, i + 1), [slice(r0, min(rows, r0 + run)) for r0 in range(0, rows, run)]


def _tap_slices(tap: Sequence[int], stride: Sequence[int], dilation: Sequence[int], rows: slice,
                rest: Sequence[int]) -> tuple[slice, ...]:
    """Where tap t meets outputs o: o·s + t·d, for first-axis outputs ``rows`` and all of ``rest``."""
    starts = [rows.start] + [0] * len(rest)
    counts = [rows.stop - rows.start, *rest]
    return tuple(slice(o0 * s + t * d, o0 * s + t * d + (c - 1) * s + 1, s)
                 for o0, c, t, s, d in zip(starts, counts, tap, stride, dilation, strict=True))


def im2col(xp: Array, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
           out_sizes: Sequence[int], rows: slice) -> Array:
    """Column matrix of a padded block (b, C, *P): (b, C, *K, r, *O[1:]), a fresh contiguous array.

    Entry [n, c, *t, *o] is xp[n, c, *(o·s + t·d)] for the output rows ``rows``. One strided
    copy per kernel tap keeps the spatial axis innermost.
    """
    r = rows.stop - rows.start
    cols = np.empty((*xp.shape[:2], *kernel, r, *out_sizes[1:]), dtype=xp.dtype)
    for tap in itertools.product(*(range(k) for k in kernel)):
        source: tuple[Any, ...] = (ALL, ALL, *_tap_slices(tap, stride, dilation, rows, out_sizes[1:]))
        here: tuple[Any, ...] = (ALL, ALL, *tap)
        cols[here] = xp[source]
    return cols


def col2im_add(canvas: Array, cols: Array, stride: Sequence[int], dilation: Sequence[int], rows: slice) -> None:
    """The adjoint of :func:`im2col`: canvas[n, c, *(o·s + t·d)] += cols[n, c, *t, *o], in place."""
    nsp = len(stride)
    kernel, rest = cols.shape[2:2 + nsp], cols.shape[3 + nsp:]
    for tap in itertools.product(*(range(k) for k in kernel)):
        target: tuple[Any, ...] = (ALL, ALL, *_tap_slices(tap, stride, dilation, rows, rest))
        here: tuple[Any, ...] = (ALL, ALL, *tap)
        canvas[target] += cols[here]


def kernel_matrix(w: Array, groups: int) -> Array:
    """(C_out, C_in/g, *K) → (g, C_out/g, C_in/g·prod K): one row per output channel, per group."""
    return w.reshape(groups, w.shape[0] // groups, math.prod(w.shape[1:]))


def _row_bytes(channels: int, kernel: Sequence[int], out_sizes: Sequence[int], dtype: np.dtype[Any]) -> int:
    """Bytes of one first-axis output row of one sample's column matrix."""
    return channels * math.prod(kernel) * math.prod(out_sizes[1:]) * item_bytes(dtype)


def _same(a: Array) -> Array:
    return a


def correlate(x: Array, w: Array, stride: Sequence[int], dilation: Sequence[int], groups: int,
              out_sizes: Sequence[int], pad: Callable[[Array], Array] = _same, budget: int | None = None) -> Array:
    """out[n, o, *y] = Σ_c Σ_t w[o, c, t]·xp[n, c, y·s + t·d] within each group: the forward conv.

    ``x`` (N, C_in, *S), padded block by block by ``pad`` into xp; ``w`` (C_out, C_in/g, *K)
    → (N, C_out, *O).
    """
    n, kernel, lo = x.shape[0], w.shape[2:], math.prod(out_sizes[1:])
    wm = kernel_matrix(w, groups)  # (g, C_out/g, C_in/g·K)
    out = np.empty((n, w.shape[0], *out_sizes), dtype=np.result_type(x, w))
    for nb, runs in blocks(n, out_sizes, _row_bytes(x.shape[1], kernel, out_sizes, x.dtype), budget):
        xp = pad(x[nb])
        for rows in runs:
            cols = im2col(xp, kernel, stride, dilation, out_sizes, rows)
            b, r = cols.shape[0], rows.stop - rows.start
            cols = cols.reshape(b, groups, wm.shape[2], r * lo)
            if r == out_sizes[0]:  # whole samples: the product lands in place
                np.matmul(wm, cols, out=out[nb].reshape(b, groups, wm.shape[1], r * lo))
            else:
                out[nb, :, rows] = np.matmul(wm, cols).reshape(b, w.shape[0], r, *out_sizes[1:])
            del cols  # before the next block's is allocated: one column matrix alive at a time
        del xp
    return out


def correlate_weight(a: Array, src: Array, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
                     groups: int, pad: Callable[[Array], Array] = _same, budget: int | None = None) -> Array:
    """gw[j, c, t] = Σ_n Σ_y a[n, j, y]·sp[n, c, y·s + t·d] within each group: a weight gradient.

    ``a`` (N, A, *Y); ``src`` (N, C, *S), padded block by block by ``pad`` into sp, long
    enough for Y (extra trailing positions are ignored) → (A, C/g, *K).
    """
    n, out_sizes, lo = a.shape[0], a.shape[2:], math.prod(a.shape[3:])
    ag, cgk = a.shape[1] // groups, src.shape[1] // groups * math.prod(kernel)
    acc = np.zeros((groups, ag, cgk), dtype=np.result_type(a, src))
    for nb, runs in blocks(n, out_sizes, _row_bytes(src.shape[1], kernel, out_sizes, src.dtype), budget):
        sp = pad(src[nb])
        for rows in runs:
            cols = im2col(sp, kernel, stride, dilation, out_sizes, rows)
            b, r = cols.shape[0], rows.stop - rows.start
            cols = cols.reshape(b, groups, cgk, r * lo)
            ab = a[nb, :, rows].reshape(b, groups, ag, r * lo)
            acc += np.matmul(ab, cols.swapaxes(-1, -2)).sum(axis=0)
            del cols  # before the next block's is allocated: one column matrix alive at a time
        del sp
    return acc.reshape(a.shape[1], src.shape[1] // groups, *kernel)


def scatter(a: Array, wt: Array, kernel: Sequence[int], canvas_sizes: Sequence[int], stride: Sequence[int],
            dilation: Sequence[int], finish: Callable[[Array], Array] = _same,
            budget: int | None = None) -> Array:
    """canvas[n, m, y·s + t·d] += Σ_j wt[m, t, j]·a[n, j, y] within each group: conv's adjoint.

    ``a`` (N, g·J, *Y), ``wt`` (g, M·prod K, J). The canvas (N, g·M, *canvas_sizes) is zero
    where no position y·s + t·d lands; it is built block by block and each block passed
    through ``finish`` (fold the padding back, crop), so only the finished result is whole.
    Gives conv's grad_input (on the padded input) and transposed conv's forward (uncropped).
    """
    n, out_sizes, lo = a.shape[0], a.shape[2:], math.prod(a.shape[3:])
    groups, m = wt.shape[0], wt.shape[1] // math.prod(kernel)
    dtype = np.result_type(a, wt)
    out: Array | None = None
    for nb, runs in blocks(n, out_sizes, _row_bytes(groups * m, kernel, out_sizes, dtype), budget):
        b = nb.stop - nb.start
        canvas = np.zeros((b, groups * m, *canvas_sizes), dtype=dtype)  # object zeros are Python int 0
        for rows in runs:
            r = rows.stop - rows.start
            ab = a[nb, :, rows].reshape(b, groups, wt.shape[2], r * lo)
            cols = np.matmul(wt, ab).reshape(b, groups * m, *kernel, r, *out_sizes[1:])
            col2im_add(canvas, cols, stride, dilation, rows)
            del cols  # before the next block's is allocated: one column matrix alive at a time
        done = finish(canvas)
        del canvas
        if out is None:
            out = np.empty((n, *done.shape[1:]), dtype=done.dtype)
        out[nb] = done
    if out is None:  # no samples
        return finish(np.zeros((0, groups * m, *canvas_sizes), dtype=dtype))
    return out
